#!/usr/bin/env bash
# Installs the package's dependencies from the lockfile when node_modules is missing or older than
# the lockfile, then runs the given command. Called through scripts/node24.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
stamp="node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "[deps] installing from package-lock.json (first run, or the lockfile changed)" >&2
  # Not `npm ci`: npm 11 leaves other platforms' optional packages (@swc/core-darwin-*, …) out of
  # the lockfile and `npm ci` then refuses it as out of sync. `npm install --no-save` installs the
  # locked versions and leaves the lockfile as it is.
  npm install --no-save --no-audit --no-fund --loglevel=error >&2
fi
if [ $# -gt 0 ]; then exec "$@"; fi
