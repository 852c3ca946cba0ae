#!/usr/bin/env bash
# Show what Suyuan does so far: check codes, create a testnet's keys and genesis, and run the
# demo consortium's story through the ledger's rules.
set -euo pipefail
suyuan=$1
dir=.suyuan-dev

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "suyuan code inspect 91350100M000100Y43   (an enterprise's unified social credit code)"
"$suyuan" code inspect 91350100M000100Y43
step "suyuan code inspect 09520123456789   (a GTIN with a wrong check digit: exit status 1)"
"$suyuan" code inspect 09520123456789 || true
step "suyuan testnet init --validators 4 --dir $dir/testnet"
rm -rf "$dir/testnet"
"$suyuan" testnet init --validators 4 --dir "$dir/testnet"
step "suyuan demo   (the demo consortium's records, executed under the ledger's rules)"
"$suyuan" demo
