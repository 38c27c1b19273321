#!/usr/bin/env bash
# Builds the container image the docker sandbox backend is tested with,
# offline: a minimal Debian 12 root made by debootstrap from the Debian
# archive apt already uses, imported into podman as
# localhost/hma-sandbox:bookworm. Run by `make test`; does nothing when the
# image exists, or when podman is missing or we are not root (the docker
# backend's tests are then skipped).
set -euo pipefail
IMAGE=localhost/hma-sandbox:bookworm

[ "$(id -u)" -eq 0 ] || exit 0
command -v podman >/dev/null || exit 0
podman image exists "$IMAGE" && exit 0

# The archive apt is set up with (debootstrap's own default otherwise).
mirror=$( { cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true; } \
  | sed -n 's/^URIs: *//p; s/^deb  *\(\[[^]]*\] *\)\{0,1\}\(http[^ ]*\) .*/\2/p' | { grep -v security || true; } | head -1)
root=$(mktemp -d /tmp/hma-sandbox-image.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "Building $IMAGE with debootstrap (about 30 s, once)" >&2
debootstrap --variant=minbase bookworm "$root" ${mirror:+"$mirror"} > "$root.log" 2>&1 || { cat "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
tar -C "$root" -c . | podman import -q --change 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null
echo "Built $IMAGE" >&2
