#!/usr/bin/env bash
# Usage: testnet/down.sh DIR [--kill]
#
# Stops every validator of the testnet in DIR (SIGTERM, or SIGKILL with --kill) and deletes
# DIR with its keys and data. Refuses unless DIR looks like what testnet/init.sh writes: a
# genesis.json, keys/ and validator-<i>/ directories, and nothing else.
set -euo pipefail
# shellcheck source=testnet/lib.sh source-path=SCRIPTDIR/..
source "$(dirname "$0")/lib.sh"
handle_help "$@"

[[ $# -ge 1 && $# -le 2 ]] || { usage >&2; exit 2; }
kill_option=()
if [[ $# -eq 2 ]]; then
  [[ $2 == --kill ]] || die "unknown option $2"
  kill_option=(--kill)
fi
dir=$(testnet_dir "$1")
[[ -d $dir/keys ]] || die "$dir has no keys/: not deleting it"
for entry in "$dir"/* "$dir"/.[!.]*; do
  [[ -e $entry ]] || continue
  name=$(basename "$entry")
  [[ $name == genesis.json || $name == keys || $name =~ ^validator-[0-9]+$ ]] ||
    die "$dir holds $name, which testnet/init.sh does not write: not deleting it"
done

"$testnet_scripts/stop.sh" "$dir" ${kill_option[@]+"${kill_option[@]}"}
rm -rf -- "$dir"
note "deleted $dir"
