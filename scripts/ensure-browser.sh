#!/usr/bin/env bash
# Make sure Debian's Chromium and ChromeDriver are installed for the browser tests.
# Installs them with apt-get when run as root (or with passwordless sudo); otherwise says how.
set -u
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  SUDO=""
elif sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "Chromium/ChromeDriver are missing and I can't install them without root:"
  echo "  sudo apt-get install -y chromium chromium-driver"
  echo "Browser tests will be skipped until then."
  exit 0
fi
echo "Installing Debian's chromium and chromium-driver for the browser tests..."
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null && \
  $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null || \
  echo "apt-get could not install chromium; browser tests will be skipped."
