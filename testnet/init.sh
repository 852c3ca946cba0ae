#!/usr/bin/env bash
# Usage: testnet/init.sh DIR [N] [OPTIONS...]
#
# Writes a new N-validator testnet (default 4) on 127.0.0.1 into DIR with
# `suyuan testnet init`: genesis.json, keys/bureau.key (registrar and regulator),
# keys/association.key (registrar), and validator-<i>/validator.key and config.toml for
# i in 0..N. OPTIONS go to `suyuan testnet init` (--chain-id C, --p2p-port P, --api-port A).
# DIR must not hold a testnet already. Then: testnet/start.sh DIR.
set -euo pipefail
# shellcheck source=testnet/lib.sh source-path=SCRIPTDIR/..
source "$(dirname "$0")/lib.sh"
handle_help "$@"

[[ $# -ge 1 ]] || { usage >&2; exit 2; }
dir=$1
shift
validators=4
if [[ $# -ge 1 && $1 != -* ]]; then
  validators=$1
  shift
fi
[[ $validators =~ ^[0-9]+$ ]] || die "N must be a number of validators, not $validators"

bin=$(suyuan_bin)
"$bin" testnet init --validators "$validators" --dir "$dir" "$@"
