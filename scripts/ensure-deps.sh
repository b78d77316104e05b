#!/usr/bin/env bash
# Installs the package's dependencies from the lockfile when node_modules is missing or older than
# the lockfile, then runs the given command. Called through scripts/node24.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
stamp="node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "[deps] npm ci (first run, or the lockfile changed)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
if [ $# -gt 0 ]; then exec "$@"; fi
