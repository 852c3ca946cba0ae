#!/usr/bin/env bash
# Check, and where possible install, the real components some tests use beyond the build's needs.
#
# - PostgreSQL's server (Debian's `postgresql`), for the yardstick's test
#   (tools/pg-baseline/tests/postgres.rs).
# - zbarimg (Debian's `zbar-tools`), a QR decoder independent of ours, for the label test
#   (tests/tests/cli.rs), which decodes printed labels with it as a phone's scanner would.
# - Chromium (Debian's `chromium`), the real browser the page tests open pages in
#   (tests/tests/cli.rs): headless, DOM dumps and screenshots at desktop and phone widths.
#
# Running as root, a missing package is installed with apt-get. Otherwise, or when installing
# fails, the exact command is printed and the tests that need it say they were skipped; this
# script never fails the test run.
set -uo pipefail

missing=()
if ! find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -name postgres -path '*/bin/*' 2>/dev/null | grep -q .; then
  missing+=(postgresql)
fi
if ! command -v zbarimg >/dev/null 2>&1; then
  missing+=(zbar-tools)
fi
if ! command -v chromium >/dev/null 2>&1; then
  missing+=(chromium)
fi
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} (tests use them as real components) ..." >&2
  if DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; then
    exit 0
  fi
  echo "installing ${missing[*]} failed: the tests that need them will say they were skipped" >&2
else
  echo "${missing[*]} missing: the tests that need them will say they were skipped. Install with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
fi
exit 0
