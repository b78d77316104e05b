#!/usr/bin/env bash
# Makes sure Debian's redis-server is on PATH for the queue-mode cluster (e2e/queue.ts), which starts
# its own Redis on a free loopback port for each cluster (n8n's queue mode keeps its job queue there).
# apt-get installs it when missing. Only the binary is wanted: the cluster runs redis-server itself
# (a service the package may start on 6379 under an init system is not the one the cluster uses).
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/ensure-debian-package.sh" redis-server redis-server "n8n's queue mode keeps its job queue in Redis"
