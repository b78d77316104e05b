#!/usr/bin/env bash
# ESLint (n8n's community-node rules for nodes and credentials, TypeScript's for tests, e2e, bench, chaos and
# scripts; the layering rule of docs/architecture.md), then a type check of the tests and scripts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-deps.sh
npx eslint --max-warnings 0 credentials nodes package.json test e2e bench chaos scripts
npx tsc -p tsconfig.test.json
