#!/bin/bash
# Usage: SUYUAN_BIN=<binary> testnet/epcis-bench.sh [EVENTS]
#
# GS1 EPCIS capture end to end: starts `suyuan dev` (4 validators in one process) in a fresh
# directory, exports the cable lot's commissioning event, makes EVENTS (default 5000, at most
# 10000, one document) commissioning events of new lots from it (testnet/epcis-gen.py), and
# times `suyuan epcis capture` with the cable maker's key in batches of 1000: mapped, signed,
# submitted and each batch committed. Prints the statuses and committed events per second.
set -euo pipefail
BIN=${SUYUAN_BIN:?set SUYUAN_BIN to the suyuan binary}
EVENTS=${1:-5000}
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(mktemp -d /tmp/suyuan-epcis-bench.XXXXXX)
"$BIN" dev --dir "$DIR/dev" --p2p-port 47100 --api-port 47200 > "$DIR/dev.log" 2>&1 &
DEV=$!
trap 'kill -INT $DEV; wait $DEV || true; rm -rf "$DIR"' EXIT
for _ in $(seq 1 120); do grep -q "Ctrl-C stops" "$DIR/dev.log" && break; sleep 1; done
API=http://127.0.0.1:47200
"$BIN" epcis export --api $API --code 01/06950123450012/10/C2601A > "$DIR/template.json"
python3 "$HERE/epcis-gen.py" "$DIR/template.json" "$EVENTS" "$DIR/doc.json"
start=$(date +%s.%N)
"$BIN" epcis capture --api $API --key "$DIR/dev/keys/cable-maker.key" "$DIR/doc.json" \
  --batch 1000 --timeout-secs 300 --json > "$DIR/out.json" || true
end=$(date +%s.%N)
python3 - "$start" "$end" "$DIR/out.json" <<'PY'
import json, sys
outcomes = json.load(open(sys.argv[3]))
statuses = {}
for outcome in outcomes:
    statuses[outcome["status"]] = statuses.get(outcome["status"], 0) + 1
seconds = float(sys.argv[2]) - float(sys.argv[1])
committed = statuses.get("committed", 0)
print(f"events {len(outcomes)}, statuses {statuses}, {seconds:.1f} s, "
      f"{committed / seconds:.0f} committed events/s end to end")
PY
