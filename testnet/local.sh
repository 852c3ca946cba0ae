#!/usr/bin/env bash
# Usage: testnet/local.sh COMMAND DIR [ARGS...]
#
# Runs testnet/COMMAND.sh DIR ARGS..., for COMMAND one of init, start, stop, restart, status
# and down; see each script's --help and testnet/README.md.
set -euo pipefail
# shellcheck source=testnet/lib.sh source-path=SCRIPTDIR/..
source "$(dirname "$0")/lib.sh"

case "${1:-}" in
  init | start | stop | restart | status | down)
    command=$1
    shift
    exec "$testnet_scripts/$command.sh" "$@"
    ;;
  -h | --help)
    usage
    ;;
  *)
    usage >&2
    exit 2
    ;;
esac
