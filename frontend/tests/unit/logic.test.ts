import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveBackend } from "../../src/config";
import { treeKey } from "../../src/components/treeKeys";
import { changeLetter, classifyDiff, groupChanges } from "../../src/features/git/gitStatus";
import { encodeFile, isSkipped, stripCommonRoot } from "../../src/features/projects/importFiles";
import { KeystrokeBatcher } from "../../src/features/terminal/keystrokes";
import { languageForPath } from "../../src/lib/language";
import { ancestorsOf, normalizePath } from "../../src/lib/paths";

test("the backend is the page's origin unless configured", () => {
  assert.deepEqual(resolveBackend("", { protocol: "http:", host: "127.0.0.1:8080" }), {
    httpBase: "http://127.0.0.1:8080",
    webSocketUrl: "ws://127.0.0.1:8080/ws",
  });
  assert.deepEqual(resolveBackend("https://hma.example.org/ide/", { protocol: "http:", host: "x" }), {
    httpBase: "https://hma.example.org/ide",
    webSocketUrl: "wss://hma.example.org/ide/ws",
  });
});

test("tree keys follow the ARIA tree pattern", () => {
  const rows = [
    { depth: 0, expandable: true, expanded: true },
    { depth: 1, expandable: false, expanded: false },
    { depth: 0, expandable: true, expanded: false },
  ];
  assert.deepEqual(treeKey(rows, 0, "ArrowDown"), { kind: "focus", index: 1 });
  assert.deepEqual(treeKey(rows, 1, "ArrowLeft"), { kind: "focus", index: 0 });
  assert.deepEqual(treeKey(rows, 0, "ArrowLeft"), { kind: "toggle", index: 0, expand: false });
  assert.deepEqual(treeKey(rows, 0, "ArrowRight"), { kind: "focus", index: 1 });
  assert.deepEqual(treeKey(rows, 2, "ArrowRight"), { kind: "toggle", index: 2, expand: true });
  assert.deepEqual(treeKey(rows, 1, "Enter"), { kind: "activate", index: 1 });
  assert.deepEqual(treeKey(rows, 1, "End"), { kind: "focus", index: 2 });
  assert.deepEqual(treeKey(rows, 2, "x"), { kind: "none" });
});

test("git changes are grouped staged / unstaged / untracked", () => {
  const groups = groupChanges([
    { path: "b.py", staged: "modified", unstaged: "modified", untracked: false },
    { path: "a.py", staged: "added", untracked: false },
    { path: "new.txt", untracked: true },
  ]);
  assert.deepEqual(groups.staged.map((file) => file.path), ["a.py", "b.py"]);
  assert.deepEqual(groups.unstaged.map((file) => file.path), ["b.py"]);
  assert.deepEqual(groups.untracked.map((file) => file.path), ["new.txt"]);
  assert.equal(changeLetter("typeChanged"), "T");
  assert.deepEqual(classifyDiff("@@ -1 +1 @@\n-a\n+b\n c").map((line) => line.kind), ["hunk", "remove", "add", "context"]);
});

test("imports: text stays text, binary becomes base64, a shared top folder goes", () => {
  assert.deepEqual(encodeFile("./a.py", new TextEncoder().encode("print(1)")), { path: "a.py", content: "print(1)", encoding: "text" });
  assert.deepEqual(encodeFile("b.bin", new Uint8Array([0, 1, 2, 255])), { path: "b.bin", content: "AAEC/w==", encoding: "base64" });
  assert.deepEqual(
    stripCommonRoot([
      { path: "app/src/x.py", content: "" },
      { path: "app/README.md", content: "" },
    ]).map((file) => file.path),
    ["src/x.py", "README.md"],
  );
  assert.ok(isSkipped("app/node_modules/x/index.js"));
  assert.ok(!isSkipped("app/src/build.py"));
});

test("keystrokes are batched, and long pastes split", () => {
  const sent: string[] = [];
  const scheduled: (() => void)[] = [];
  const batcher = new KeystrokeBatcher((data) => sent.push(data), (callback) => scheduled.push(callback), 8, 4);
  batcher.push("l");
  batcher.push("s");
  assert.deepEqual(sent, []);
  scheduled.shift()?.();
  assert.deepEqual(sent, ["ls"]);
  batcher.push("0123456789");
  assert.deepEqual(sent, ["ls", "0123", "4567", "89"]);
});

test("paths and languages", () => {
  assert.equal(normalizePath("./a//b/"), "a/b");
  assert.deepEqual(ancestorsOf("a/b/c.py"), ["a", "a/b"]);
  assert.equal(languageForPath("src/app.py"), "python");
  assert.equal(languageForPath("Dockerfile"), "dockerfile");
  assert.equal(languageForPath("x.unknown"), "plaintext");
});
