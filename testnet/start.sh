#!/usr/bin/env bash
# Usage: testnet/start.sh DIR [i...]
#
# Starts validators of the testnet in DIR (all, or the indexes named) in the background:
# `suyuan run --config DIR/validator-<i>/config.toml`, logging to DIR/validator-<i>/node.log
# (appended) with its pid in DIR/validator-<i>/node.pid. Refuses, starting none, if one of them
# is running already. Waits until each answers GET /healthz on its API, at most
# $SUYUAN_TESTNET_START_TIMEOUT seconds (default 60); exits 1 with the end of its log if one
# exits or does not answer in time. Environment variables such as SUYUAN_LOG_FORMAT=text reach
# the nodes.
set -euo pipefail
# shellcheck source=testnet/lib.sh source-path=SCRIPTDIR/..
source "$(dirname "$0")/lib.sh"
handle_help "$@"

[[ $# -ge 1 ]] || { usage >&2; exit 2; }
dir=$(testnet_dir "$1")
shift
bin=$(suyuan_bin)

if [[ $# -gt 0 ]]; then
  indexes=("$@")
else
  mapfile -t indexes < <(all_validators "$dir")
fi
declare -A named=()
for index in "${indexes[@]}"; do
  check_validator "$dir" "$index"
  [[ -z ${named[$index]:-} ]] || die "validator-$index is named twice"
  named[$index]=1
  pid=$(running_pid "$dir" "$index")
  [[ -z $pid ]] || die "validator-$index is running already (pid $pid); stop it first"
done

pids=()
for index in "${indexes[@]}"; do
  # `suyuan run` reads every SUYUAN_<SECTION>_<KEY> variable as configuration and refuses
  # other SUYUAN_ names (a typo must not pass), so the scripts' own variables and the
  # client's SUYUAN_API stay out of its environment. nohup: the node outlives this script and
  # the terminal it was started from.
  env -u SUYUAN_BIN -u SUYUAN_TESTNET_START_TIMEOUT -u SUYUAN_TESTNET_STOP_TIMEOUT -u SUYUAN_API \
    nohup "$bin" run --config "$(config_file "$dir" "$index")" \
    </dev/null >>"$(log_file "$dir" "$index")" 2>&1 &
  pids[index]=$!
  echo "${pids[index]}" >"$(pid_file "$dir" "$index")"
done

deadline=$((SECONDS + start_timeout_secs))
for index in "${indexes[@]}"; do
  address=$(api_address "$dir" "$index")
  until healthz_ok "$address"; do
    # The pid itself, not running_pid: until the forked shell has exec'd the node, its
    # command line does not name the configuration yet.
    if ! process_alive "${pids[index]}"; then
      log_tail "$dir" "$index"
      die "validator-$index exited during start-up"
    fi
    if ((SECONDS >= deadline)); then
      log_tail "$dir" "$index"
      die "validator-$index does not answer http://$address/healthz after ${start_timeout_secs}s (still running as pid ${pids[index]})"
    fi
    sleep 0.2
  done
  # Something else answering on the port is not this node.
  process_alive "${pids[index]}" || die "validator-$index exited; is http://$address another program's?"
  note "validator-$index running (pid ${pids[index]}, API http://$address)"
done
