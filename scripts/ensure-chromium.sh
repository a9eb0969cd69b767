#!/usr/bin/env bash
# The monitor's browser test drives Debian's chromium with playwright-core (browser downloads
# are not possible on these machines): install the package when it is missing.
set -euo pipefail
bin="${PARTITA_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$bin" ]; then echo "chromium: $("$bin" --version 2>/dev/null || echo "$bin")"; exit 0; fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || { $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends chromium >/dev/null; }
echo "chromium: $("$bin" --version)"
