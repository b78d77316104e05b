#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the editor tests (test/e2e/editor.test.ts),
# which drive it with playwright-core: Playwright's own browser download does not work here (the
# machine reaches only the npm registry and Debian's packages).
# Installs it with apt-get when missing: as root directly, otherwise through sudo (non-interactive).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
echo "[chromium] /usr/bin/chromium is missing: installing Debian's chromium with apt-get (about 30 s)" >&2
install=(sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null')
if [ "$(id -u)" -eq 0 ]; then
  "${install[@]}"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo -n env DEBIAN_FRONTEND=noninteractive "${install[@]}"
else
  echo "[chromium] cannot install chromium: not root and no password-less sudo." >&2
  echo "[chromium] install it yourself (as root: apt-get update && apt-get install -y chromium), then run again." >&2
  exit 1
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "[chromium] apt-get finished but /usr/bin/chromium is still missing" >&2
  exit 1
fi
echo "[chromium] installed: $(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown')" >&2
