#!/usr/bin/env bash
# Runs the pinned n8n CLI (e2e/n8n-<major.minor>, installed on first use) under Node 24.
# Usage: scripts/n8n.sh <n8n arguments>   e.g. N8N_USER_FOLDER=/tmp/n8n scripts/n8n.sh start
# Set N8N_E2E_VERSION to run another pinned version (exact, e.g. 2.41.1). Not for 2.8.4: it needs
# Node 20, which the tests give it through startN8n({ version }) (e2e/n8n.ts, runtimeFor).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="${N8N_E2E_VERSION:-}"
out="$(cd "$root" && bash scripts/node24.sh bash scripts/ensure-deps.sh npx tsx e2e/ensure-n8n.ts $version)"
bin="$(printf '%s\n' "$out" | tail -n 1)"
exec bash "$root/scripts/node24.sh" node "$bin" "$@"
