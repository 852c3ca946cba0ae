#!/usr/bin/env bash
# Manage a local testnet on 127.0.0.1 from the files `suyuan testnet init` writes.
#   local.sh init [N] [DIR]    generate keys and genesis for N validators (default 4) in DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# The binary: $SUYUAN, else the workspace's release build.
suyuan=${SUYUAN:-${CARGO_TARGET_DIR:-$here/../target}/release/suyuan}

command=${1:-help}
case "$command" in
  init)
    validators=${2:-4}
    dir=${3:-.suyuan-testnet}
    exec "$suyuan" testnet init --validators "$validators" --dir "$dir"
    ;;
  *)
    sed -n '2,3p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
