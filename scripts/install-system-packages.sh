#!/usr/bin/env bash
# Installs the Debian packages given as arguments when they are missing.
# Used by `make dev` and `make test` so a fresh Debian 12 machine needs
# nothing installed by hand. Uses sudo when not root; retries while another
# apt/dpkg process holds the lock.
set -euo pipefail

missing=()
for package in "$@"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "error: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
else
  SUDO=
fi

echo "Installing system packages: ${missing[*]}" >&2
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
     && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
    exit 0
  fi
  echo "apt-get failed (attempt $attempt; another apt may hold the dpkg lock); retrying in 6 s" >&2
  sleep 6
done
echo "error: could not install ${missing[*]}" >&2
exit 1
