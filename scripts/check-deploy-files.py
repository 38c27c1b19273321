#!/usr/bin/python3
"""Static checks of the deployment files in cluster/ and the Dockerfile
(docs/deploy.md says what was and was not run). Docker and Kubernetes do
not run on the machines that test HMA, so this checks what can be checked
without them:

- every YAML file parses (all documents);
- every `hma` command line in them (compose commands, Kubernetes args,
  systemd ExecStart) names a real subcommand and only flags that
  subcommand has, asked of the built binary's --help;
- every file they reference exists (compose build context and bind
  mounts, Dockerfile COPY sources and scripts it runs);
- ports agree: the --http and --listen ports are the ports the container
  declares, probes and Services point at declared ports;
- every HMA_ variable set is a configuration key of docs/operations.md or
  one the file itself uses; systemd's ${VARS} are set in its example env;
- Kubernetes volume mounts name a volume or claim template, and Secrets
  they mount are declared in secrets.yaml.

Usage: scripts/check-deploy-files.py [path/to/hma]. Exits 1 listing every
problem found.
"""
import glob
import os
import re
import shlex
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HMA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/debug/hma")
problems = []
checked = {"yaml": 0, "commands": 0, "files": 0, "ports": 0, "env": 0, "mounts": 0}


def problem(where, what):
    problems.append(f"{os.path.relpath(where, ROOT)}: {what}")


_flags = {}


def flags_of(subcommand):
    """The long flags `hma SUBCOMMAND --help` lists (SUBCOMMAND may be
    nested: "certs issue")."""
    if subcommand not in _flags:
        result = subprocess.run([HMA, *subcommand.split(), "--help"], capture_output=True, text=True)
        if result.returncode != 0:
            _flags[subcommand] = None
        else:
            flags = set(re.findall(r"(--[a-z][a-z0-9-]*)", result.stdout))
            # A command whose default subcommand takes the arguments
            # (`hma worker` runs `hma worker run`).
            default = re.search(r"^\s+(\S+) \(default\)", result.stdout, re.M)
            if default:
                flags |= flags_of(f"{subcommand} {default.group(1)}") or set()
            _flags[subcommand] = flags
    return _flags[subcommand]


def check_command(where, argv):
    """argv: the words after `hma`."""
    if not argv:
        return
    checked["commands"] += 1
    sub = argv[0]
    # Nested subcommands (`certs issue`) take their own flags.
    if sub == "certs" and len(argv) > 1 and not argv[1].startswith("-"):
        sub, argv = f"{sub} {argv[1]}", [f"{sub} {argv[1]}"] + argv[2:]
    known = flags_of(sub)
    if known is None:
        problem(where, f"`hma {sub}` is not a subcommand")
        return
    for word in argv[1:]:
        if word.startswith("--"):
            flag = word.split("=", 1)[0]
            if flag not in known:
                problem(where, f"`hma {sub}` has no flag {flag}")


def flag_value(argv, flag):
    for index, word in enumerate(argv):
        if word == flag and index + 1 < len(argv):
            return argv[index + 1]
        if word.startswith(flag + "="):
            return word.split("=", 1)[1]
    return None


def port_of(endpoint):
    return int(endpoint.rsplit(":", 1)[1]) if endpoint and ":" in endpoint else None


def config_keys():
    """Configuration keys of docs/operations.md, as HMA_ variables."""
    text = open(os.path.join(ROOT, "docs/operations.md"), encoding="utf-8").read()
    keys = set(re.findall(r"^\| `([a-z][A-Za-z0-9.]*)` \|", text, re.M))
    names = set()
    for key in keys:
        parts = key.split(".")
        # swift-configuration: camelCase parts become snake_case.
        names.add("HMA_" + "_".join(re.sub(r"([a-z])([A-Z])", r"\1_\2", part).upper() for part in parts))
    return names


KEYS = config_keys()


def check_env(where, name, extra=()):
    if not name.startswith("HMA_"):
        return
    checked["env"] += 1
    if name not in KEYS and name not in extra:
        problem(where, f"{name} is not a configuration key of docs/operations.md")


def load_yaml(path):
    try:
        with open(path, encoding="utf-8") as handle:
            documents = [d for d in yaml.safe_load_all(handle) if d is not None]
        checked["yaml"] += 1
        return documents
    except yaml.YAMLError as error:
        problem(path, f"does not parse: {error}")
        return []


def check_compose(path):
    for compose in load_yaml(path):
        base = os.path.dirname(path)
        for name, service in compose.get("services", {}).items():
            build = service.get("build")
            if isinstance(build, dict):
                context = os.path.join(base, build.get("context", "."))
                checked["files"] += 1
                if not os.path.isdir(context):
                    problem(path, f"{name}: build context {context} does not exist")
                elif not os.path.isfile(os.path.join(context, build.get("dockerfile", "Dockerfile"))):
                    problem(path, f"{name}: no Dockerfile in {context}")
            for volume in service.get("volumes", []):
                source = volume.split(":", 1)[0]
                if source.startswith("."):
                    checked["files"] += 1
                    if not os.path.exists(os.path.join(base, source)):
                        problem(path, f"{name}: mounts {source}, which does not exist")
                elif source not in (compose.get("volumes") or {}):
                    problem(path, f"{name}: volume {source} is not declared")
            command = service.get("command")
            argv = command if isinstance(command, list) else None
            if argv and service.get("entrypoint") is None:
                check_command(path, argv)
                published = {int(p.split(":")[-1]) for p in service.get("ports", [])}
                for flag in ("--http", "--listen"):
                    port = port_of(flag_value(argv, flag))
                    if port is not None:
                        checked["ports"] += 1
                        if published and port not in published and flag == "--http":
                            problem(path, f"{name}: --http port {port} is not published")
            elif isinstance(command, list) and service.get("entrypoint") == ["/bin/sh", "-c"]:
                for line in command[0].splitlines():
                    words = line.split("||")[-1].strip().lstrip("{ ").split()
                    if words[:1] == ["hma"]:
                        check_command(path, [w for w in words[1:] if "$$" not in w])
            for variable in (service.get("environment") or {}):
                check_env(path, variable, extra={"HMA_SERVER_NAME", "HMA_UPSTREAM", "HMA_TLS_CERT", "HMA_TLS_KEY", "HMA_FRONTEND"})
            for dependency in (service.get("depends_on") or {}):
                if dependency not in compose["services"]:
                    problem(path, f"{name}: depends on unknown service {dependency}")


def check_kubernetes(paths):
    documents = []
    for path in paths:
        documents += [(path, d) for d in load_yaml(path)]
    secrets = {d["metadata"]["name"] for _, d in documents if d.get("kind") == "Secret"}
    for path, document in documents:
        for key in ("apiVersion", "kind", "metadata"):
            if key not in document:
                problem(path, f"a document has no {key}")
        spec = document.get("spec", {})
        if document.get("kind") == "Service":
            selector = spec.get("selector", {})
            targets = [p.get("targetPort") for p in spec.get("ports", [])]
            pods = [d for _, d in documents if d.get("kind") in ("StatefulSet", "Deployment")
                    and d["spec"]["template"]["metadata"]["labels"].items() >= selector.items()]
            if not pods:
                problem(path, f"Service {document['metadata']['name']} selects no pod")
            for target in targets:
                checked["ports"] += 1
                names = {p.get("name") for pod in pods for c in pod["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
                numbers = {p.get("containerPort") for pod in pods for c in pod["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
                if target not in names and target not in numbers:
                    problem(path, f"Service {document['metadata']['name']} targets port {target}, which no selected container declares")
        if document.get("kind") not in ("StatefulSet", "Deployment"):
            continue
        pod = spec["template"]["spec"]
        volumes = {v["name"] for v in pod.get("volumes", [])} | {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])}
        for volume in pod.get("volumes", []):
            secret = volume.get("secret", {}).get("secretName")
            if secret and secret not in secrets:
                problem(path, f"volume {volume['name']} mounts Secret {secret}, which secrets.yaml does not declare")
        if document.get("kind") == "StatefulSet" and spec.get("serviceName") not in {d["metadata"]["name"] for _, d in documents if d.get("kind") == "Service"}:
            problem(path, f"StatefulSet {document['metadata']['name']} names Service {spec.get('serviceName')}, which is not declared")
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            for mount in container.get("volumeMounts", []):
                checked["mounts"] += 1
                if mount["name"] not in volumes:
                    problem(path, f"{container['name']} mounts {mount['name']}, which is not a volume")
            declared = {p["containerPort"] for p in container.get("ports", [])}
            names = {p.get("name") for p in container.get("ports", [])}
            args = container.get("args")
            if args:
                check_command(path, args)
                for flag in ("--http", "--listen"):
                    port = port_of(flag_value(args, flag))
                    if port is not None:
                        checked["ports"] += 1
                        if port not in declared:
                            problem(path, f"{container['name']}: {flag} port {port} is not a declared containerPort")
            for probe in ("readinessProbe", "livenessProbe"):
                handler = container.get(probe, {})
                port = (handler.get("httpGet") or handler.get("tcpSocket") or {}).get("port")
                if port is not None:
                    checked["ports"] += 1
                    if port not in names and port not in declared:
                        problem(path, f"{container['name']}: {probe} uses port {port}, which is not declared")
                if handler.get("httpGet", {}).get("path") not in (None, "/health"):
                    problem(path, f"{container['name']}: {probe} checks {handler['httpGet']['path']}; the gateway serves /health")
            for variable in container.get("env", []):
                check_env(path, variable["name"])


def check_systemd(paths):
    for path in paths:
        text = open(path, encoding="utf-8").read().replace("\\\n", " ")
        environment_file = re.search(r"^EnvironmentFile=-?(\S+)", text, re.M)
        example = os.path.join(os.path.dirname(path), os.path.basename(environment_file.group(1))) if environment_file else None
        defined = set()
        if example and os.path.exists(example):
            for line in open(example, encoding="utf-8"):
                if "=" in line and not line.startswith("#"):
                    name = line.split("=", 1)[0].strip()
                    defined.add(name)
                    check_env(example, name, extra={"HMA_NODE_NAME", "HMA_MESH_LISTEN", "HMA_HTTP_LISTEN", "HMA_JOIN"})
        elif example:
            problem(path, f"no example environment file {os.path.relpath(example, ROOT)}")
        start = re.search(r"^ExecStart=(.*)$", text, re.M)
        if not start:
            problem(path, "no ExecStart")
            continue
        argv = shlex.split(start.group(1))
        if not argv[0].endswith("/hma"):
            problem(path, f"ExecStart runs {argv[0]}, not hma")
        check_command(path, argv[1:])
        for variable in re.findall(r"\$\{([A-Z_]+)\}", start.group(1)):
            checked["env"] += 1
            if variable not in defined:
                problem(path, f"ExecStart uses ${{{variable}}}, which its example env file does not set")


def check_dockerfile(path):
    text = open(path, encoding="utf-8").read().replace("\\\n", " ")
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            for source in words[1:-1]:
                checked["files"] += 1
                if not os.path.exists(os.path.join(ROOT, source)):
                    problem(path, f"COPY {source}: not in the repository")
        if words[:1] == ["RUN"]:
            for script in re.findall(r"(scripts/[\w.-]+)", line):
                checked["files"] += 1
                if not os.path.exists(os.path.join(ROOT, script)):
                    problem(path, f"runs {script}, which does not exist")
            for product in re.findall(r"--product (\S+)", line):
                if f'name: "{product}"' not in open(os.path.join(ROOT, "Package.swift"), encoding="utf-8").read():
                    problem(path, f"builds product {product}, which Package.swift does not declare")
        if words[:1] == ["ENV"]:
            for name in re.findall(r"(HMA_[A-Z_]+)=", line):
                check_env(path, name)
        if words[:1] == ["EXPOSE"]:
            checked["ports"] += 1


if not os.access(HMA, os.X_OK):
    sys.exit(f"check-deploy-files: {HMA} is not built (swift build --product hma)")
check_dockerfile(os.path.join(ROOT, "Dockerfile"))
check_compose(os.path.join(ROOT, "cluster/docker-compose.yml"))
check_kubernetes(sorted(glob.glob(os.path.join(ROOT, "cluster/k8s/*.yaml"))))
check_systemd(sorted(glob.glob(os.path.join(ROOT, "cluster/systemd/*.service"))))
summary = ", ".join(f"{count} {what}" for what, count in checked.items())
if problems:
    print("check-deploy-files: problems in the deployment files:", *problems, sep="\n  ")
    sys.exit(1)
print(f"check-deploy-files: ok ({summary} checked)")
