#!/usr/bin/env bash
# Check, and where possible install, what building Suyuan needs beyond the Rust toolchain.
#
# - cargo (rustup's toolchain);
# - libclang, which RocksDB's Rust bindings (bindgen) load at build time;
# - a C++ compiler, which builds RocksDB itself.
#
# Running as root, missing Debian packages are installed with apt-get; otherwise the exact
# command to run is printed and the script fails.
set -euo pipefail

export PATH="$HOME/.cargo/bin:$PATH"

missing=()
command -v cargo >/dev/null 2>&1 || {
  echo "cargo is missing: install Rust with rustup (https://rustup.rs), then run this again." >&2
  exit 1
}
if ! ldconfig -p 2>/dev/null | grep -Eq 'libclang(-[0-9.]+)?\.so'; then
  missing+=(libclang-dev)
fi
command -v c++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} (needed to build RocksDB's bindings) ..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "missing: ${missing[*]}. Install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
