#!/usr/bin/env bash
# tsc, then gulp copies icons and codex files into dist/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-deps.sh
rm -rf dist
npx tsc -p tsconfig.json
npx gulp --silent
