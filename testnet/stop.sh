#!/usr/bin/env bash
# Usage: testnet/stop.sh DIR [--kill] [i...]
#
# Stops validators of the testnet in DIR (all, or the indexes named): sends SIGTERM, so each
# shuts down cleanly, and waits until they have exited, at most $SUYUAN_TESTNET_STOP_TIMEOUT
# seconds (default 30; exits 1 naming those still running after it). With --kill, sends SIGKILL
# instead: a crash, as after a power cut. Validators that are not running are skipped.
set -euo pipefail
# shellcheck source=testnet/lib.sh source-path=SCRIPTDIR/..
source "$(dirname "$0")/lib.sh"
handle_help "$@"

[[ $# -ge 1 ]] || { usage >&2; exit 2; }
dir=$(testnet_dir "$1")
shift
signal=TERM
indexes=()
for arg in "$@"; do
  case "$arg" in
    --kill) signal=KILL ;;
    -*) die "unknown option $arg" ;;
    *) indexes+=("$arg") ;;
  esac
done
if [[ ${#indexes[@]} -eq 0 ]]; then
  mapfile -t indexes < <(all_validators "$dir")
fi

stopping=()
for index in "${indexes[@]}"; do
  check_validator "$dir" "$index"
  pid=$(running_pid "$dir" "$index")
  if [[ -z $pid ]]; then
    note "validator-$index is not running"
    rm -f "$(pid_file "$dir" "$index")"
    continue
  fi
  kill "-$signal" "$pid" 2>/dev/null || true
  stopping+=("$index:$pid")
done

deadline=$((SECONDS + stop_timeout_secs))
for entry in ${stopping[@]+"${stopping[@]}"}; do
  index=${entry%%:*}
  pid=${entry#*:}
  while process_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      log_tail "$dir" "$index"
      die "validator-$index (pid $pid) still runs ${stop_timeout_secs}s after SIG$signal; use --kill"
    fi
    sleep 0.1
  done
  rm -f "$(pid_file "$dir" "$index")"
  note "validator-$index stopped (SIG$signal)"
done
