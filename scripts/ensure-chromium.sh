#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the editor tests (test/e2e/editor.test.ts),
# which drive it with playwright-core: Playwright's own browser download does not work here (the
# machine reaches only the npm registry and Debian's packages). apt-get installs it when missing.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/ensure-debian-package.sh" /usr/bin/chromium chromium 'the editor check drives it'
