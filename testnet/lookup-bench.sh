#!/usr/bin/env bash
# Usage: testnet/lookup-bench.sh [--records N] [--duration S] [--connections C] [--threads T]
#                                [--background-rate R] [--p2p-port P] [--api-port A]
#                                [--endpoint products|proofs] [--fill-rate F]
#
# Measures product lookups on one node of a busy local testnet: writes a fresh 4-validator
# testnet into a temporary directory (p2p from 17500, API from 18500), loads at least N
# commission records through `suyuan bench` (default 100000, offered at F per second, default
# 5000: keep F under the testnet's capacity, or fewer than N are committed), then, while a
# background `suyuan bench` keeps submitting R transactions per second (default 500) so that
# blocks keep being finalized, sends GET /v1/products/{code} for random committed codes to
# validator 0 with wrk for S seconds (default 30) over C connections (default 32) on T threads
# (default 2).
# With --endpoint proofs it asks GET /v1/proofs/{code} (the proof bundle of each code) instead.
# Prints lookups per second, latency percentiles, non-2xx answers and the blocks finalized
# during the lookups; stops and deletes the testnet whatever happens. Needs wrk (Debian:
# apt-get install wrk). Build first: cargo build --release --workspace --bins.
set -euo pipefail
# shellcheck source=testnet/lib.sh source-path=SCRIPTDIR/..
source "$(dirname "$0")/lib.sh"
handle_help "$@"

records=100000
duration=30
connections=32
threads=2
background_rate=500
fill_rate=5000
p2p_port=17500
api_port=18500
endpoint=products
while [[ $# -gt 0 ]]; do
  option=$1
  case "$option" in
    --endpoint)
      [[ $# -ge 2 ]] || die "--endpoint needs a value"
      [[ $2 == products || $2 == proofs ]] || die "--endpoint is products or proofs, not $2"
      endpoint=$2
      shift 2
      ;;
    --records | --duration | --connections | --threads | --background-rate | --fill-rate | --p2p-port | --api-port)
      [[ $# -ge 2 ]] || die "$option needs a value"
      value=$2
      [[ $value =~ ^[0-9]+$ && $value -gt 0 ]] || die "$option needs a positive number, not $value"
      shift 2
      case "$option" in
        --records) records=$value ;;
        --duration) duration=$value ;;
        --connections) connections=$value ;;
        --threads) threads=$value ;;
        --background-rate) background_rate=$value ;;
        --fill-rate) fill_rate=$value ;;
        --p2p-port) p2p_port=$value ;;
        --api-port) api_port=$value ;;
      esac
      ;;
    *)
      usage >&2
      die "unknown option $option"
      ;;
  esac
done
command -v wrk >/dev/null || die "wrk is not installed: apt-get install wrk"
command -v curl >/dev/null || die "curl is not installed: apt-get install curl"

bin=$(suyuan_bin)
work=$(mktemp -d "${TMPDIR:-/tmp}/suyuan-lookups.XXXXXX")
dir=$work/testnet
background=

# shellcheck disable=SC2317 # invoked by the EXIT trap
teardown() {
  local status=$?
  trap - EXIT INT TERM
  [[ -n $background ]] && kill "$background" 2>/dev/null
  if [[ -f $dir/genesis.json ]]; then
    "$testnet_scripts/stop.sh" "$dir" >&2 || "$testnet_scripts/stop.sh" "$dir" --kill >&2 || true
    "$testnet_scripts/down.sh" "$dir" >&2 || "$testnet_scripts/down.sh" "$dir" --kill >&2 || true
  fi
  rm -rf -- "$work"
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$bin" testnet init --validators 4 --dir "$dir" --p2p-port "$p2p_port" --api-port "$api_port" >&2
"$testnet_scripts/start.sh" "$dir" >&2
api="http://$(api_address "$dir" 0)"

# The committed height of validator 0.
height() {
  curl -sS --fail "$api/v1/status" | grep -o '"height":[0-9]*' | head -1 | cut -d: -f2
}

fill_seconds=$(((records + fill_rate - 1) / fill_rate))
note "loading $records records: $fill_rate tx/s for $fill_seconds s"
"$bin" bench --testnet "$dir" --mix commission --rate "$fill_rate" --duration "$fill_seconds" --warmup 0 \
  --codes-out "$work/paths" >"$work/fill.txt"
stored=$(wc -l <"$work/paths")
grep -E '^committed:' "$work/fill.txt" >&2 || true
[[ $stored -ge $records ]] || die "only $stored of $records records were committed"
if [[ $endpoint == proofs ]]; then
  sed -i 's#^/v1/products/#/v1/proofs/#' "$work/paths"
fi

note "background load: $background_rate tx/s while the lookups run"
"$bin" bench --testnet "$dir" --mix commission --rate "$background_rate" --duration $((duration + 20)) \
  --warmup 0 >"$work/background.txt" 2>"$work/background.log" &
background=$!
# The background run enrols its enterprises and signs first; wait until it is loading.
for _ in $(seq 1 120); do
  grep -q 'loading at' "$work/background.log" && break
  kill -0 "$background" 2>/dev/null || die "the background load stopped: $(tail -3 "$work/background.log")"
  sleep 0.5
done
sleep 2

cat >"$work/lookups.lua" <<'LUA'
local paths = {}
for line in io.lines(os.getenv("SUYUAN_LOOKUP_PATHS")) do
  paths[#paths + 1] = line
end
math.randomseed(os.time() + math.floor(os.clock() * 1e6))
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("lookups: %d in %.1f s = %.0f/s; non-2xx %d, socket errors %d\n",
    summary.requests, seconds, summary.requests / seconds, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("latency: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n",
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency:percentile(99.9) / 1e3, latency.max / 1e3))
end
LUA

before=$(height)
SUYUAN_LOOKUP_PATHS=$work/paths wrk --threads "$threads" --connections "$connections" \
  --duration "${duration}s" --script "$work/lookups.lua" "$api" >"$work/wrk.txt"
after=$(height)
wait "$background" || note "the background load exited with status $?"
background=

echo "GET /v1/$endpoint/{code} on validator 0 of a 4-validator testnet on this machine ($(nproc) cores)"
echo "records stored: $stored commission records (one lot code each), looked up at random"
echo "wrk: $threads threads, $connections connections, ${duration} s"
grep -E '^(lookups|latency):' "$work/wrk.txt"
echo "blocks finalized during the lookups: $((after - before)) (height $before -> $after)"
grep -E '^committed:' "$work/background.txt" | sed 's/^/background load /' || true
