#!/usr/bin/env bash
# The whole check, as CI runs it: lint, build, then every test (unit, contract servers, nodes through
# n8n-core, and a real n8n process). Runs under Node 24 (scripts/node24.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS=0
bash scripts/ensure-deps.sh
echo "== lint"
bash scripts/lint.sh
echo "== build"
bash scripts/build.sh
if [ -f e2e/ensure-n8n.ts ]; then
  echo "== real n8n for the end-to-end tests"
  npx tsx e2e/ensure-n8n.ts --all
fi
echo "== Chromium for the editor check, Redis for queue mode (Debian's packages)"
bash scripts/ensure-chromium.sh
bash scripts/ensure-redis.sh
echo "== tests"
mkdir -p .tmp
npx tsx scripts/deploy-summary.ts --fresh
status=0
npx jest --ci --json --outputFile=.tmp/jest-results.json "$@" || status=$?
echo "== done in $SECONDS s"
# One plain closing line, whatever the runner printed above it.
node -e '
const r = JSON.parse(require("fs").readFileSync(".tmp/jest-results.json", "utf8"));
console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
' || echo "tests: the runner left no results (exit $status)"
# The deployment checks' line (test/deploy/), last, as `npm run deploy-check` prints it; a filtered
# run (arguments given) may not have run them, so their line cannot fail it.
if [ $# -eq 0 ]; then npx tsx scripts/deploy-summary.ts || status=$?; else npx tsx scripts/deploy-summary.ts || true; fi
exit "$status"
