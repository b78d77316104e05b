#!/usr/bin/env bash
# `npm run deploy-check`: the package where users really run it — n8n in queue mode (PostgreSQL,
# Redis, workers, webhook processors), the Community Nodes install from a registry, an S3 that checks
# Signature V4 — then one summary line (scripts/deploy-summary.ts). `npm test` runs the same checks
# among its other tests and ends with the same line.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-deps.sh
bash scripts/build.sh
npx tsx e2e/ensure-n8n.ts
bash scripts/ensure-redis.sh
npx tsx scripts/deploy-summary.ts --fresh
status=0
npx jest --ci --selectProjects deploy "$@" || status=$?
npx tsx scripts/deploy-summary.ts || status=$?
exit "$status"
