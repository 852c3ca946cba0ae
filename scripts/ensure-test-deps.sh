#!/usr/bin/env bash
# Check, and where possible install, the real components some tests use beyond the build's needs.
#
# - PostgreSQL's server (Debian's `postgresql`), for the yardstick's test
#   (tools/pg-baseline/tests/postgres.rs).
#
# Running as root, a missing package is installed with apt-get. Otherwise, or when installing
# fails, the exact command is printed and the tests that need it say they were skipped; this
# script never fails the test run.
set -uo pipefail

if find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -name postgres -path '*/bin/*' 2>/dev/null | grep -q .; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing postgresql (the yardstick's test needs its server) ..." >&2
  if DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; then
    exit 0
  fi
  echo "installing postgresql failed: the yardstick's test will be skipped" >&2
else
  echo "postgresql is missing: the yardstick's test will be skipped. Install it with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y postgresql" >&2
fi
exit 0
