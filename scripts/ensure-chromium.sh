#!/usr/bin/env bash
# The portal test drives Debian's headless Chromium. Install it when missing (needs root and apt).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the portal test (one time)..."
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "chromium is not installed and cannot be installed here (need root + apt): the portal test will fail." >&2
  echo "install it with: sudo apt-get install chromium" >&2
fi
