#!/usr/bin/env bash
# Makes sure Debian's redis-server is on PATH for the queue-mode cluster (e2e/queue.ts), which starts
# its own Redis on a free loopback port for each cluster (n8n's queue mode keeps its job queue there).
# Installs it with apt-get when missing: as root directly, otherwise through sudo (non-interactive).
# Only the binary is wanted: the cluster runs redis-server itself, so no service is started here.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
echo "[redis] redis-server is missing: installing Debian's redis-server with apt-get (about 10-30 s)" >&2
# A Redis service the package may start on 6379 (with an init system) is not the one the cluster uses.
install=(sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null')
if [ "$(id -u)" -eq 0 ]; then
  "${install[@]}"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo -n env DEBIAN_FRONTEND=noninteractive "${install[@]}"
else
  echo "[redis] cannot install redis-server: not root and no password-less sudo." >&2
  echo "[redis] install it yourself (as root: apt-get update && apt-get install -y redis-server), then run again." >&2
  exit 1
fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "[redis] apt-get finished but redis-server is still missing" >&2
  exit 1
fi
echo "[redis] installed: $(redis-server --version 2>/dev/null || echo 'version unknown')" >&2
