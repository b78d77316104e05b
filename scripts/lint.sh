#!/usr/bin/env bash
# ESLint with n8n's community-node rules, then a type check of the tests and scripts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-deps.sh
npx eslint --max-warnings 0 credentials nodes package.json
npx tsc -p tsconfig.test.json
