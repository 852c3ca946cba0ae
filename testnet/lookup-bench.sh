#!/usr/bin/env bash
# Usage: testnet/lookup-bench.sh [--records N] [--duration S] [--connections C] [--threads T]
#                                [--background-rate R] [--p2p-port P] [--api-port A]
#                                [--endpoint products|proofs|both] [--fill-rate F] [--sync]
#
# Measures product lookups on one node of a busy local testnet: writes a fresh 4-validator
# testnet into a temporary directory (p2p from 17500, API from 18500), loads at least N
# commission records through `suyuan bench` (default 100000; a tenth more is offered, at F per
# second, default 5000: keep F under the testnet's capacity; fewer than 95% of N committed is an
# error, fewer than N a note, and the figures are then at the count committed),
# then, while a background `suyuan bench` keeps submitting R transactions per second (default
# 500) so that blocks keep being finalized, sends GET /v1/products/{code} for random committed
# codes to validator 0 with wrk for S seconds (default 30) over C connections (default 32) on
# T threads (default 2).
# With --endpoint proofs it asks GET /v1/proofs/{code} (the proof bundle of each code) instead;
# with --endpoint both, lookups then proof bundles, each for S seconds, on the same filled node.
# Also prints validator 0's bytes on disk per committed transaction (its data directory, after
# the fill) beside the mean canonical envelope size of 200 stored records.
# With --sync, afterwards, validator 3 is stopped, its data directory deleted and the node started
# again: it syncs every block from the others, and the time until it reaches validator 0's height
# gives block sync's rate in records per second.
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
sync=false
while [[ $# -gt 0 ]]; do
  option=$1
  case "$option" in
    --sync)
      sync=true
      shift
      ;;
    --endpoint)
      [[ $# -ge 2 ]] || die "--endpoint needs a value"
      [[ $2 == products || $2 == proofs || $2 == both ]] ||
        die "--endpoint is products, proofs or both, not $2"
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

# A tenth more than N is offered, so that what a loaded node refuses for a moment (503 busy or
# mempool_full while a block commits) still leaves N committed.
fill_seconds=$(((records * 11 / 10 + fill_rate - 1) / fill_rate))
note "loading at least $records records: $fill_rate tx/s for $fill_seconds s"
"$bin" bench --testnet "$dir" --mix commission --rate "$fill_rate" --duration "$fill_seconds" --warmup 0 \
  --codes-out "$work/paths" >"$work/fill.txt"
stored=$(wc -l <"$work/paths")
grep -E '^committed:' "$work/fill.txt" >&2 || true
# The fill offers a tenth more than asked; on a machine slower than the fill rate assumes, a
# few per cent short is still a measurement at that size (the report says how many), more is not.
if ((stored < records)); then
  ((stored * 100 >= records * 95)) || die "only $stored of $records records were committed"
  note "$stored of $records records were committed; measuring at $stored"
fi
case $endpoint in
  both) endpoints=(products proofs) ;;
  *) endpoints=("$endpoint") ;;
esac

# Bytes on disk per committed transaction (validator 0's data directory: RocksDB's files, its
# write-ahead log and the node's own), and the mean canonical size of 200 stored envelopes
# (payload, 4-byte length, 32-byte signer, 64-byte signature).
committed_txs=$(curl -sS --fail "$api/v1/blocks/latest" | grep -o '"log_size":[0-9]*' | head -1 | cut -d: -f2)
disk_bytes=$(du -sb "$(node_dir "$dir" 0)/data" | cut -f1)
envelope_bytes=$(shuf -n 200 "$work/paths" | while read -r path; do
  curl -sS --fail "$api$path" | python3 -c '
import base64, json, sys
print(len(base64.b64decode(json.load(sys.stdin)["latest"]["envelope"]["payload"])) + 100)'
done | awk '{ sum += $1 } END { printf "%.0f", sum / NR }')

note "background load: $background_rate tx/s while the lookups run"
"$bin" bench --testnet "$dir" --mix commission --rate "$background_rate" \
  --duration $((duration * ${#endpoints[@]} + 20)) \
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
local threads = {}
setup = function(thread)
  threads[#threads + 1] = thread
end
-- Per thread: answers other than 2xx by status, and the first such body.
refused = {}
example = ""
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
response = function(status, headers, body)
  if status >= 300 then
    refused[status] = (refused[status] or 0) + 1
    if example == "" then
      example = string.sub(body, 1, 200)
    end
  end
end
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("lookups: %d in %.1f s = %.0f/s; non-2xx %d, socket errors %d\n",
    summary.requests, seconds, summary.requests / seconds, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("refused")) do
      io.write(string.format("refused: %d answered %d\n", count, status))
    end
    local body = thread:get("example")
    if body ~= "" then
      io.write("refused: e.g. " .. body .. "\n")
    end
  end
  io.write(string.format("latency: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n",
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency:percentile(99.9) / 1e3, latency.max / 1e3))
end
LUA

for name in "${endpoints[@]}"; do
  sed "s#^/v1/products/#/v1/$name/#" "$work/paths" >"$work/paths-$name"
  before=$(height)
  SUYUAN_LOOKUP_PATHS=$work/paths-$name wrk --threads "$threads" --connections "$connections" \
    --duration "${duration}s" --script "$work/lookups.lua" "$api" >"$work/wrk-$name.txt"
  after=$(height)
  echo "$before $after" >"$work/heights-$name"
done
wait "$background" || note "the background load exited with status $?"
background=

echo "validator 0 of a 4-validator testnet on this machine ($(nproc) cores)"
echo "records stored: $stored commission records (one lot code each), looked up at random"
echo "wrk: $threads threads, $connections connections, ${duration} s per endpoint"
for name in "${endpoints[@]}"; do
  read -r before after <"$work/heights-$name"
  echo "GET /v1/$name/{code}:"
  grep -E '^(lookups|latency|refused):' "$work/wrk-$name.txt" | sed 's/^/  /'
  echo "  blocks finalized meanwhile: $((after - before)) (height $before -> $after)"
done
grep -E '^committed:' "$work/background.txt" | sed 's/^/background load /' || true

if $sync; then
  target=$(height)
  "$testnet_scripts/stop.sh" "$dir" 3 >&2
  rm -rf -- "$(node_dir "$dir" 3)/data"
  note "validator 3 emptied; syncing $committed_txs+ transactions up to height $target"
  sync_start=$(date +%s.%N)
  "$testnet_scripts/start.sh" "$dir" 3 >&2
  api3="http://$(api_address "$dir" 3)"
  while true; do
    synced=$(curl -sS --fail "$api3/v1/status" 2>/dev/null | grep -o '"height":[0-9]*' | head -1 | cut -d: -f2)
    [[ -n $synced && $synced -ge $target ]] && break
    process_alive "$(running_pid "$dir" 3)" || die "validator 3 stopped while syncing: $(log_tail "$dir" 3)"
    sleep 0.2
  done
  sync_end=$(date +%s.%N)
  synced_txs=$(curl -sS --fail "$api3/v1/blocks/$target" | grep -o '"log_size":[0-9]*' | head -1 | cut -d: -f2)
  awk -v a="$sync_start" -v b="$sync_end" -v n="$synced_txs" -v h="$target" 'BEGIN {
    printf "block sync of an emptied validator 3: %d transactions (%d blocks) in %.1f s = %.0f records/s (from start, including opening the store)\n",
      n, h, b - a, n / (b - a) }'
fi
awk -v disk="$disk_bytes" -v txs="$committed_txs" -v env="$envelope_bytes" 'BEGIN {
  printf "disk after the fill: %.1f MiB for %d transactions = %.0f bytes each; mean envelope %d bytes; ratio %.2f\n",
    disk / 1048576, txs, disk / txs, env, disk / txs / env }'
