#!/usr/bin/env bash
# tsc, then gulp copies icons and codex files into dist/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-deps.sh
rm -rf dist
# What n8n loads is the .js (plus the codex .json and icons gulp copies): source maps would point at
# TypeScript sources the package does not ship, and no one imports a node package's declarations,
# so neither is emitted (the tarball and the installed package are about half the size without them).
npx tsc -p tsconfig.json --sourceMap false --declaration false
npx gulp --silent
