#!/usr/bin/env bash
# Usage: testnet/bench.sh [--validators N] [--rate R] [--duration S] [--warmup S] [--batch B]
#                         [--mix realistic|commission] [--signers K] [--zipf X]
#                         [--submit-to all|first] [--p2p-port P] [--api-port A] [--json]
#                         [--logs DIR] [--byzantine I]
#
# Benchmarks a fresh local testnet the way an operator would run one: writes an N-validator
# testnet (default 4) into a new temporary directory on non-default ports (p2p from 17400, API
# from 18400), starts it with testnet/start.sh, runs `suyuan bench` against it (R transactions
# per second, default 5000, for S seconds, default 60, after a warmup, default 5), prints the
# report (JSON with --json), and stops and deletes the testnet whatever happens (even on Ctrl-C).
# The load is the realistic mix by default: K enterprises (default 10000) in three roles, each
# role's traffic skewed by a Zipf law of exponent X (default 1), commissioning 35%, shipments
# between enterprises 30%, sales to persons 25% and inspections 10%; --mix commission is the
# first benchmark's load, new lots only, the enterprises (default 16) in turn. Setup enrols the
# enterprises and stocks them before the clock starts (BENCHMARKS.md describes both mixes).
# Exits with the benchmark's status; when the benchmark fails, the end of each node's log is
# printed first. With --logs DIR, the nodes' logs are copied to DIR (validator-<i>.log) before
# the testnet is deleted. With --byzantine I, validator I runs as suyuan-byzantine (built beside
# suyuan), misbehaving as the BYZANTINE_* variables in the environment say (see
# tools/byzantine), for the figures of honest throughput under one faulty validator. Build
# first: cargo build --release --workspace --bins.
set -euo pipefail
# shellcheck source=testnet/lib.sh source-path=SCRIPTDIR/..
source "$(dirname "$0")/lib.sh"
handle_help "$@"

validators=4
p2p_port=17400
api_port=18400
logs=
byzantine=
bench_args=()
while [[ $# -gt 0 ]]; do
  option=$1
  case "$option" in
    --validators | --p2p-port | --api-port | --logs | --byzantine | --rate | --duration | --warmup | --batch | --submit-to | --mix | --signers | --zipf)
      [[ $# -ge 2 ]] || die "$option needs a value"
      value=$2
      shift 2
      case "$option" in
        --validators) validators=$value ;;
        --p2p-port) p2p_port=$value ;;
        --api-port) api_port=$value ;;
        --logs) logs=$value ;;
        --byzantine) byzantine=$value ;;
        *) bench_args+=("$option" "$value") ;;
      esac
      ;;
    --json)
      bench_args+=(--json)
      shift
      ;;
    *)
      usage >&2
      die "unknown option $option"
      ;;
  esac
done
for number in "$validators" "$p2p_port" "$api_port" ${byzantine:+"$byzantine"}; do
  [[ $number =~ ^[0-9]+$ ]] || die "$number is not a number"
done

bin=$(suyuan_bin)
work=$(mktemp -d "${TMPDIR:-/tmp}/suyuan-bench.XXXXXX")
dir=$work/testnet

# Stops and deletes the testnet and the temporary directory; exits with the run's status.
# shellcheck disable=SC2317 # invoked by the EXIT trap
teardown() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -f $dir/genesis.json ]]; then
    "$testnet_scripts/stop.sh" "$dir" >&2 || "$testnet_scripts/stop.sh" "$dir" --kill >&2 || true
    if [[ -n $logs ]]; then
      local index
      mkdir -p -- "$logs"
      for index in $(all_validators "$dir"); do
        cp -- "$(log_file "$dir" "$index")" "$logs/validator-$index.log" || true
      done
      echo "$script_name: node logs copied to $logs" >&2
    fi
    "$testnet_scripts/down.sh" "$dir" >&2 || "$testnet_scripts/down.sh" "$dir" --kill >&2 || true
  fi
  rm -rf -- "$work"
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$bin" testnet init --validators "$validators" --dir "$dir" \
  --p2p-port "$p2p_port" --api-port "$api_port" >&2
if [[ -n $byzantine ]]; then
  ((byzantine < validators)) || die "--byzantine $byzantine: there are $validators validators"
  byzantine_bin=$(dirname "$bin")/suyuan-byzantine
  [[ -x $byzantine_bin ]] || die "$byzantine_bin is missing: cargo build --release --workspace --bins"
  honest=()
  for index in $(all_validators "$dir"); do
    [[ $index == "$byzantine" ]] || honest+=("$index")
  done
  "$testnet_scripts/start.sh" "$dir" "${honest[@]}" >&2
  SUYUAN_BIN=$byzantine_bin "$testnet_scripts/start.sh" "$dir" "$byzantine" >&2
else
  "$testnet_scripts/start.sh" "$dir" >&2
fi

status=0
"$bin" bench --testnet "$dir" ${bench_args[@]+"${bench_args[@]}"} || status=$?
if [[ $status -ne 0 ]]; then
  for index in $(all_validators "$dir"); do
    log_tail "$dir" "$index" 20
  done
fi
exit "$status"
