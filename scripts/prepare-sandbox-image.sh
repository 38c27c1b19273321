#!/usr/bin/env bash
# Builds the container image the docker sandbox backend is tested with,
# without a container registry: a minimal Debian 12 root made by
# debootstrap from the Debian archive apt already uses, imported into podman as
# localhost/hma-sandbox:bookworm. Run by `make test`; does nothing when the
# image exists, or when podman is missing or we are not root (the docker
# backend's tests are then skipped).
set -euo pipefail
IMAGE=localhost/hma-sandbox:bookworm

[ "$(id -u)" -eq 0 ] || exit 0
command -v podman >/dev/null || exit 0
podman image exists "$IMAGE" && exit 0

# The Debian archive apt already uses for bookworm (not a third-party or
# security source); debootstrap's own default when none is found.
mirror=$( { cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } | awk '
  /^$/ { if (suites ~ /(^| )bookworm( |$)/ && uris !~ /security/) { print uris; exit } uris = ""; suites = ""; next }
  /^URIs:/ { uris = $2 } /^Suites:/ { $1 = ""; suites = $0 }
  END { if (suites ~ /(^| )bookworm( |$)/ && uris !~ /security/) print uris }' | head -1)
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { if ($(i+1) == "bookworm") { print $i; exit } } }' /etc/apt/sources.list)
fi
root=$(mktemp -d /tmp/hma-sandbox-image.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "Building $IMAGE with debootstrap (about 30 s, once)" >&2
debootstrap --variant=minbase bookworm "$root" ${mirror:+"$mirror"} > "$root.log" 2>&1 || { cat "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
tar -C "$root" -c . | podman import -q --change 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null
echo "Built $IMAGE" >&2
