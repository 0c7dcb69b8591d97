#!/usr/bin/env bash
# Make sure the system packages the test suite needs are present:
# Debian's Chromium (browser tests, launched by Playwright from /usr/bin/chromium)
# and poppler-utils (pdftotext, PDF checks).
# Installs them with apt-get when running as root; otherwise fails with a clear message.
# Playwright's own browser download is never used (`playwright install` is not needed).
set -euo pipefail

CHROMIUM="${HUB_CHROMIUM:-/usr/bin/chromium}"

missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
      echo "ERROR: apt-get could not install ${missing[*]} (no network or no Debian mirror?)." >&2
      exit 1
    fi
  else
    echo "ERROR: the test suite needs these Debian packages: ${missing[*]}" >&2
    echo "       install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# Installed is not enough: the browser must start headless here.
if ! version="$("$CHROMIUM" --headless --no-sandbox --disable-gpu --version 2>/dev/null)"; then
  echo "ERROR: $CHROMIUM is installed but does not start (try: $CHROMIUM --headless --no-sandbox --version)." >&2
  exit 1
fi
echo "System packages ok: ${version}, $(pdftotext -v 2>&1 | head -n1)"
