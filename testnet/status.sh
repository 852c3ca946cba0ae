#!/usr/bin/env bash
# Usage: testnet/status.sh DIR
#
# Prints one line per validator of the testnet in DIR: whether it runs (and its pid), its API,
# and, from `suyuan status --api URL --json`, its height, head block hash, consensus view and
# sync state. Exits 0 when every validator runs and answers, 1 otherwise.
set -euo pipefail
# shellcheck source=testnet/lib.sh source-path=SCRIPTDIR/..
source "$(dirname "$0")/lib.sh"
handle_help "$@"

[[ $# -eq 1 ]] || { usage >&2; exit 2; }
dir=$(testnet_dir "$1")
bin=$(suyuan_bin)

# Prints the value of the first "KEY": scalar in the JSON on stdin.
json_scalar() {
  grep -o "\"$1\"[[:space:]]*:[[:space:]]*\(\"[^\"]*\"\|[0-9]*\)" | head -n 1 |
    sed 's/^[^:]*:[[:space:]]*//; s/"//g'
}

all_up=true
printf '%-14s %-16s %-22s %8s %-66s %6s %s\n' validator process api height head view sync
while read -r index; do
  address=$(api_address "$dir" "$index")
  pid=$(running_pid "$dir" "$index")
  if [[ -z $pid ]]; then
    printf '%-14s %-16s %-22s\n' "validator-$index" stopped "$address"
    all_up=false
    continue
  fi
  if ! status=$("$bin" status --api "http://$address" --json 2>&1); then
    printf '%-14s %-16s %-22s %s\n' "validator-$index" "running $pid" "$address" \
      "no answer: $(echo "$status" | tail -n 1)"
    all_up=false
    continue
  fi
  printf '%-14s %-16s %-22s %8s %-66s %6s %s\n' "validator-$index" "running $pid" "$address" \
    "$(json_scalar height <<<"$status")" "$(json_scalar head_hash <<<"$status")" \
    "$(json_scalar view <<<"$status")" "$(json_scalar state <<<"$status")"
done < <(all_validators "$dir")
$all_up
