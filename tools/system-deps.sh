#!/usr/bin/env bash
# Make sure the system packages the test suite needs are present:
# Debian's Chromium (browser tests) and poppler-utils (PDF checks).
# Installs them with apt-get when running as root; otherwise fails with a clear message.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "ERROR: the test suite needs these Debian packages: ${missing[*]}" >&2
echo "       install them with: sudo apt-get install -y ${missing[*]}" >&2
exit 1
