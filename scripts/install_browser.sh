#!/usr/bin/env bash
# Installs Debian's Chromium, which the report's browser test drives through Playwright (Playwright's
# own browser download is not reachable here). Needs root or sudo; without either it says so and
# the browser test skips (under CI=true it fails).
set -euo pipefail
command -v chromium >/dev/null && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo -n"; else
    echo "install_browser: not root; run 'apt-get install -y chromium' to enable the report's browser test" >&2
    exit 0
fi
echo "install_browser: installing Debian's chromium (for the report's browser test)..." >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -qq chromium >/dev/null 2>&1 \
    || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo apt-get install -y -qq chromium >/dev/null; } \
    || echo "install_browser: could not install chromium; the report's browser test skips" >&2
