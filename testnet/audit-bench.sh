#!/usr/bin/env bash
# Usage: testnet/audit-bench.sh [--records N] [--rate R] [--p2p-port P] [--api-port A]
#
# Measures `suyuan audit` on a real chain: writes a fresh 4-validator testnet into a temporary
# directory (p2p from 17600, API from 18600), loads at least N commissionings through
# `suyuan bench --mix commission` (default 100000, at R transactions per second, default 5000),
# audits the four running nodes through their APIs (`suyuan audit --api` x4), stops the
# testnet, and audits validator 0's data directory (`suyuan audit --data-dir`). Prints each
# audit's summary line, records per second and peak memory; exits 1 if an audit finds
# anything. Stops and deletes the testnet whatever happens. Build first: cargo build --release
# --workspace --bins.
set -euo pipefail
# shellcheck source=testnet/lib.sh source-path=SCRIPTDIR/..
source "$(dirname "$0")/lib.sh"
handle_help "$@"

records=100000
rate=5000
p2p_port=17600
api_port=18600
while [[ $# -gt 0 ]]; do
  option=$1
  case "$option" in
    --records | --rate | --p2p-port | --api-port)
      [[ $# -ge 2 ]] || die "$option needs a value"
      value=$2
      [[ $value =~ ^[0-9]+$ && $value -gt 0 ]] || die "$option needs a positive number, not $value"
      shift 2
      case "$option" in
        --records) records=$value ;;
        --rate) rate=$value ;;
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
[[ -x /usr/bin/time ]] || die "/usr/bin/time is not installed (Debian: apt-get install time)"

bin=$(suyuan_bin)
work=$(mktemp -d "${TMPDIR:-/tmp}/suyuan-audit.XXXXXX")
dir=$work/testnet

# shellcheck disable=SC2317 # invoked by the EXIT trap
teardown() {
  local status=$?
  trap - EXIT INT TERM
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

# The bench stops at its duration; load 10% more than asked, so that enough are committed.
seconds=$(((records * 11 / 10 + rate - 1) / rate))
note "loading about $records records: $rate tx/s for $seconds s"
"$bin" bench --testnet "$dir" --mix commission --rate "$rate" --duration "$seconds" --warmup 0 >"$work/fill.txt"
grep -E '^committed:' "$work/fill.txt" >&2 || true

# Runs one audit, timed; prints its result line, speed and peak memory.
run_audit() {
  local label=$1 status=0
  shift
  /usr/bin/time -f '%M' -o "$work/rss" "$bin" audit --genesis "$dir/genesis.json" "$@" --json \
    >"$work/audit.json" 2>"$work/audit.log" || status=$?
  [[ $status -le 1 ]] || die "$label: audit failed: $(tail -3 "$work/audit.log")"
  python3 - "$label" "$work/audit.json" "$(cat "$work/rss")" "$records" <<'PY'
import json, sys
label, path, rss_kib, wanted = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
summary = json.load(open(path))
for source in summary["sources"]:
    rate = source["records"] / source["seconds"] if source["seconds"] else 0
    print(f"{label}: {source['source']}: {source['blocks']} blocks, {source['records']} records "
          f"in {source['seconds']:.2f} s = {rate:,.0f} records/s "
          f"({source['store_check_seconds']:.2f} s of it checking the store after the replay)")
print(f"{label}: findings {len(summary['findings'])}, validators seen "
      f"{summary['validators_seen']} of {summary['validators']}, peak memory {rss_kib / 1024:.0f} MiB")
for finding in summary["findings"][:10]:
    print(f"  FINDING [{finding['kind']}] height {finding['height']}: {finding['message']}")
if min(source["records"] for source in summary["sources"]) < wanted:
    sys.exit(f"{label}: fewer than {wanted} records were committed; raise --rate or --records")
PY
  return "$status"
}

findings=0
apis=()
for index in $(all_validators "$dir"); do
  apis+=(--api "http://$(api_address "$dir" "$index")")
done
run_audit "api x4 (running)" "${apis[@]}" || findings=1

"$testnet_scripts/stop.sh" "$dir" >&2
run_audit "data dir (stopped)" --data-dir "$dir/validator-0/data" || findings=1
exit "$findings"
