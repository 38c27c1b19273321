#!/usr/bin/python3
"""Checks that Package.swift declares exactly what each target imports
(the repository's rule: a target's dependencies are the modules its
sources import, no more, no fewer).

For every target: the modules its Swift sources `import` (the toolchain's
own — Foundation, Distributed, Testing, … — aside) must each be a declared
dependency, and every declared library dependency must be imported
somewhere. Executables a test target depends on are build-order
dependencies (the tests start them), not imports, and are exempt.

Usage: scripts/check-imports.py [Package.swift ...]. Exits 1 listing
every mismatch.
"""
import glob
import os
import re
import sys

TOOLCHAIN = {"Foundation", "FoundationEssentials", "FoundationNetworking", "Dispatch", "Distributed",
             "Synchronization", "Testing", "XCTest", "Glibc", "Musl", "Darwin", "_Concurrency", "os"}


def balanced(text, start):
    """The text inside the bracket opening at text[start] (matched)."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] in "([":
            depth += 1
        elif text[i] in ")]":
            depth -= 1
            if depth == 0:
                return text[start + 1:i]
    raise ValueError("unbalanced Package.swift")


def targets(manifest):
    for match in re.finditer(r"\.(target|executableTarget|testTarget|systemLibrary)\(", manifest):
        body = balanced(manifest, match.end() - 1)
        name = re.search(r'name:\s*"([^"]+)"', body).group(1)
        path = re.search(r'path:\s*"([^"]+)"', body)
        deps = re.search(r"dependencies:\s*\[", body)
        declared = set()
        if deps:
            inner = balanced(body, deps.end() - 1)
            inner = re.sub(r"//[^\n]*", "", inner)
            declared |= set(re.findall(r'\.product\(name:\s*"([^"]+)"', inner))
            declared |= set(re.findall(r'(?<![:\w])"([A-Za-z0-9_-]+)"(?!\s*,\s*package)', re.sub(r"\.product\([^)]*\)", "", inner)))
        yield match.group(1), name, path.group(1) if path else None, declared


def check(manifest_path):
    root = os.path.dirname(os.path.abspath(manifest_path))
    manifest = open(manifest_path).read()
    found = list(targets(manifest))
    executables = {name for kind, name, _, _ in found if kind == "executableTarget"}
    problems = []
    for kind, name, path, declared in found:
        if kind == "systemLibrary":
            continue
        folder = os.path.join(root, path or ("Tests/" + name if kind == "testTarget" else "Sources/" + name))
        imported = set()
        for source in glob.glob(folder + "/**/*.swift", recursive=True):
            in_string = False  # inside a """ literal (embedded scripts import too)
            for line in open(source, encoding="utf-8"):
                if line.count('"""') % 2 == 1:
                    in_string = not in_string
                    continue
                if in_string:
                    continue
                match = re.match(r"\s*(?:@testable\s+|@_spi\([^)]*\)\s+|@preconcurrency\s+)*import\s+(?:(?:struct|class|enum|func|protocol|typealias)\s+)?([A-Za-z0-9_]+)", line)
                if match:
                    imported.add(match.group(1))
        imported -= TOOLCHAIN
        modules = {d.replace("-", "_") for d in declared}
        missing = sorted(imported - modules - {name})
        unused = sorted(d for d in declared - executables if d.replace("-", "_") not in imported)
        if missing:
            problems.append(f"{manifest_path}: {name}: imports {', '.join(missing)} without declaring it")
        if unused:
            problems.append(f"{manifest_path}: {name}: declares {', '.join(unused)} without importing it")
    return len(found), problems


def main():
    total, problems = 0, []
    for manifest_path in sys.argv[1:] or ["Package.swift"]:
        count, found = check(manifest_path)
        total += count
        problems += found
    for problem in problems:
        print(problem)
    if problems:
        sys.exit(1)
    print(f"imports: {total} targets declare exactly what they import")


if __name__ == "__main__":
    main()
