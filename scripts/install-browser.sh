#!/usr/bin/env bash
# scripts/install-browser.sh: installs Debian's headless-capable Chromium for
# __test__/browser.spec.js (which skips only when /usr/bin/chromium is missing).
#
#   bash scripts/install-browser.sh
#
# Does nothing when /usr/bin/chromium is already there. Otherwise runs
# apt-get as root, or through sudo. Prints one line; apt's output goes to a
# log, shown only on failure. Exits non-zero if Chromium is still missing.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
# fonts-liberation: readable text in screenshots; the other recommends
# (upower, udev, printing, a notification daemon) are not needed headless.
PACKAGES=(chromium fonts-liberation)

if [ -x "$CHROMIUM" ]; then
  echo "install-browser: $CHROMIUM already present"
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "install-browser: ERROR: $CHROMIUM missing and apt-get not available" >&2
  exit 1
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "install-browser: ERROR: not root and sudo not available" >&2
    exit 1
  fi
  SUDO="sudo -n"
fi

LOG="$(mktemp "${TMPDIR:-/tmp}/install-browser.XXXXXX")"
echo "install-browser: installing ${PACKAGES[*]} with apt-get (log: $LOG)"
if ! { $SUDO apt-get update -qq \
  && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"; } >"$LOG" 2>&1; then
  tail -n 20 "$LOG" >&2
  echo "install-browser: ERROR: apt-get failed" >&2
  exit 1
fi

if [ ! -x "$CHROMIUM" ]; then
  echo "install-browser: ERROR: apt-get finished but $CHROMIUM is missing" >&2
  exit 1
fi
echo "install-browser: $("$CHROMIUM" --version 2>/dev/null | head -n 1)"
