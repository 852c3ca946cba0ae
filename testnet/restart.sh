#!/usr/bin/env bash
# Usage: testnet/restart.sh DIR [--kill] i...
#
# Stops the named validators of the testnet in DIR (SIGTERM, or SIGKILL with --kill) if they
# run, then starts them again on the same data and waits for their APIs, as stop.sh and
# start.sh do.
set -euo pipefail
# shellcheck source=testnet/lib.sh source-path=SCRIPTDIR/..
source "$(dirname "$0")/lib.sh"
handle_help "$@"

[[ $# -ge 2 ]] || { usage >&2; exit 2; }
dir=$1
shift
kill_option=()
indexes=()
for arg in "$@"; do
  case "$arg" in
    --kill) kill_option=(--kill) ;;
    -*) die "unknown option $arg" ;;
    *) indexes+=("$arg") ;;
  esac
done
[[ ${#indexes[@]} -gt 0 ]] || die "name the validators to restart"

"$testnet_scripts/stop.sh" "$dir" ${kill_option[@]+"${kill_option[@]}"} "${indexes[@]}"
"$testnet_scripts/start.sh" "$dir" "${indexes[@]}"
