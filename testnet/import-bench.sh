#!/bin/bash
# Usage: SUYUAN_BIN=<binary> testnet/import-bench.sh [ROWS] [enterprise|regulator|both]
#
# `suyuan import` end to end, rows per second from the start of the command to its last commit
# (reading, checking and signing the file included):
#
# - enterprise: `suyuan dev` (4 validators, each with its own RocksDB and libp2p listener, in
#   one process) and the cable maker's ERP export of ROWS rows (default 100000): lots made and,
#   ten rows later, each sold to the distributor (named by USCC alone), signed with the cable
#   maker's key. Half the rows depend on a row of an earlier batch or the same one.
# - regulator: a 4-validator testnet of processes (testnet/init.sh, start.sh) and the bureau's
#   market-sampling results, ROWS inspections of sampled products, signed with its key.
#
# Prints each run's JSON summary line (committed, refused, seconds, rows per second).
set -euo pipefail
BIN=${SUYUAN_BIN:?set SUYUAN_BIN to the suyuan binary}
ROWS=${1:-100000}
WHICH=${2:-both}
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(mktemp -d /tmp/suyuan-import-bench.XXXXXX)
DEV=
cleanup() {
  if [ -n "$DEV" ]; then kill -INT "$DEV" 2>/dev/null || true; wait "$DEV" || true; fi
  if [ -d "$DIR/testnet" ]; then "$HERE/stop.sh" "$DIR/testnet" --kill >/dev/null 2>&1 || true; fi
  rm -rf "$DIR"
}
trap cleanup EXIT

summary() {
  python3 - "$1" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]}: rows {s['total']}, committed {s['committed']}, refused {s['refused']}, "
      f"prepare {s['prepare_seconds']:.1f} s, total {s['seconds']:.1f} s, "
      f"{s['rows_per_second']:.0f} rows/s end to end")
for r in s["refusals"][:5]:
    print("  refused:", r)
PY
}

if [ "$WHICH" = enterprise ] || [ "$WHICH" = both ]; then
  "$BIN" dev --dir "$DIR/dev" --p2p-port 47300 --api-port 47400 > "$DIR/dev.log" 2>&1 &
  DEV=$!
  for _ in $(seq 1 120); do grep -q "Ctrl-C stops" "$DIR/dev.log" && break; sleep 1; done
  python3 - "$DIR/dev/examples/import.csv" "$ROWS" "$DIR/erp.csv" <<'PY'
import sys
example, rows, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(example, encoding="utf-8").read().splitlines()
header = lines[0]
commission = next(l for l in lines[1:] if l.startswith("commission,")).split(",")
sale = next(l for l in lines[1:] if l.startswith("ship,")).split(",")
gtin = commission[2]
lot = lambda n: f"(01){gtin}(10)B{n:07d}"
with open(out, "w", encoding="utf-8") as f:
    f.write(header + "\n")
    lots = rows // 2
    for n in range(lots + 10):
        if n < lots:
            c = list(commission)
            c[3], c[4], c[5], c[8] = lot(n), "1000", "2026-02-20", f"FI-{n}"
            f.write(",".join(c) + "\n")
        if n >= 10:
            s = list(sale)
            s[13], s[14], s[15], s[16] = "2026-03-01 10:00", lot(n - 10), "10", f"SO-{n - 10}"
            f.write(",".join(s) + "\n")
PY
  "$BIN" import --api http://127.0.0.1:47400 --key "$DIR/dev/keys/cable-maker.key" \
    --json "$DIR/erp.csv" > "$DIR/erp.json" || true
  summary "$DIR/erp.json" "enterprise (suyuan dev)"
  kill -INT "$DEV"; wait "$DEV" || true; DEV=
fi

if [ "$WHICH" = regulator ] || [ "$WHICH" = both ]; then
  "$HERE/init.sh" "$DIR/testnet" 4 --chain-id suyuan-import-bench --p2p-port 47500 \
    --api-port 47600 > /dev/null
  "$HERE/start.sh" "$DIR/testnet" > /dev/null
  python3 - "$ROWS" "$DIR/sampling.csv" <<'PY'
import datetime, sys
rows, out = int(sys.argv[1]), sys.argv[2]
today = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).date()
with open(out, "w", encoding="utf-8") as f:
    f.write("sampled_maker,sampled_maker_name,sampled_product_name,sampled_model,"
            "sampled_category,sampled_on,sampled_in,sampled_place,outcome,standards,"
            "inspected_on,report_number,report_sha256\n")
    for n in range(rows):
        f.write(f"91420100MA4K5D9T3L,武汉某电缆厂,聚氯乙烯绝缘电缆,BV 4 mm²,wires_cables,{today},"
                f"420104,汉正街五金市场 {n},conformant,GB/T 5023.3-2008,{today},WH-CJ-{n:07d},"
                + "ab" * 32 + "\n")
PY
  "$BIN" import --api http://127.0.0.1:47600 --key "$DIR/testnet/keys/bureau.key" \
    --kind inspect --json "$DIR/sampling.csv" > "$DIR/sampling.json" || true
  summary "$DIR/sampling.json" "regulator (4 processes)"
fi
