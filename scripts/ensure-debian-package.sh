#!/usr/bin/env bash
# Usage: scripts/ensure-debian-package.sh <command or path> <Debian package> <what it is for>
# Makes sure a program from Debian's packages is there (a path that must be executable, or a command
# on PATH) and installs the package with apt-get when it is missing: as root directly, otherwise
# through password-less sudo. The machines this runs on reach only the npm registry and Debian's
# packages, so test tools come from one or the other. No service is started here.
set -euo pipefail
want="$1" package="$2" purpose="$3"
present() { if [[ "$want" == /* ]]; then [ -x "$want" ]; else command -v "$want" >/dev/null 2>&1; fi; }
if present; then exit 0; fi
echo "[$package] $want is missing ($purpose): installing Debian's $package with apt-get (10-60 s)" >&2
install=(sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $package >/dev/null")
if [ "$(id -u)" -eq 0 ]; then
  "${install[@]}"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo -n env DEBIAN_FRONTEND=noninteractive "${install[@]}"
else
  echo "[$package] cannot install $package: not root and no password-less sudo." >&2
  echo "[$package] install it yourself (as root: apt-get update && apt-get install -y $package), then run again." >&2
  exit 1
fi
if ! present; then
  echo "[$package] apt-get finished but $want is still missing" >&2
  exit 1
fi
echo "[$package] installed" >&2
