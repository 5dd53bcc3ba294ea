#!/usr/bin/env bash
# System packages the tests use beyond the Python environment: a headless browser (Debian's `chromium`) that
# opens the interpretation report. Idempotent: does nothing when chromium is already on PATH; needs root to
# install (otherwise prints why and exits 1, and the browser test skips).
set -euo pipefail

if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "setup_system: chromium is missing and installing it needs root (apt-get install -y chromium)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
