# shellcheck shell=bash
# Shared by the testnet scripts (sourced, not run): finding the binary, the layout that
# `suyuan testnet init` writes, and whether a validator's process is running.
#
# A validator i of testnet DIR is DIR/validator-<i>/: config.toml, node.log, node.pid, data/.

testnet_scripts=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(dirname "$testnet_scripts")

# Seconds start.sh waits for a node's /healthz, and stop.sh for a node to exit.
# shellcheck disable=SC2034 # used by the scripts that source this file
start_timeout_secs=${SUYUAN_TESTNET_START_TIMEOUT:-60}
# shellcheck disable=SC2034 # likewise
stop_timeout_secs=${SUYUAN_TESTNET_STOP_TIMEOUT:-30}

# The script's name, for messages.
script_name=$(basename "$0")

die() {
  echo "$script_name: $*" >&2
  exit 1
}

note() {
  echo "$script_name: $*"
}

# Prints the usage comment at the top of the calling script (the lines after the shebang up to
# the first line that is not a comment).
usage() {
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
}

# Exits with the usage when the arguments ask for help.
handle_help() {
  local arg
  for arg in "$@"; do
    case "$arg" in
      -h | --help)
        usage
        exit 0
        ;;
    esac
  done
}

# The suyuan binary: $SUYUAN_BIN, else a release build under $CARGO_TARGET_DIR or the
# repository's target/, else `suyuan` on PATH.
suyuan_bin() {
  if [[ -n ${SUYUAN_BIN:-} ]]; then
    [[ -x $SUYUAN_BIN ]] || die "SUYUAN_BIN=$SUYUAN_BIN is not an executable file"
    echo "$SUYUAN_BIN"
    return
  fi
  local candidate
  for candidate in ${CARGO_TARGET_DIR:+"$CARGO_TARGET_DIR/release/suyuan"} \
    "$repo_root/target/release/suyuan"; do
    if [[ -x $candidate ]]; then
      echo "$candidate"
      return
    fi
  done
  command -v suyuan || die "no suyuan binary: build it (cargo build --release --workspace --bins), set SUYUAN_BIN, or put suyuan on PATH"
}

# Dies unless DIR holds the files `suyuan testnet init` writes; prints DIR as an absolute path.
testnet_dir() {
  local dir=$1
  [[ -d $dir ]] || die "$dir is not a directory"
  [[ -f $dir/genesis.json && -f $dir/validator-0/config.toml ]] ||
    die "$dir is not a testnet directory (no genesis.json and validator-0/config.toml; run testnet/init.sh first)"
  (cd "$dir" && pwd)
}

# Prints the indexes of DIR's validators, in numeric order.
all_validators() {
  local dir=$1 config index
  for config in "$dir"/validator-*/config.toml; do
    index=${config#"$dir"/validator-}
    index=${index%/config.toml}
    [[ $index =~ ^[0-9]+$ ]] && echo "$index"
  done | sort -n
}

# Dies unless INDEX names a validator of DIR.
check_validator() {
  local dir=$1 index=$2
  [[ $index =~ ^[0-9]+$ ]] || die "$index is not a validator index"
  [[ -f $dir/validator-$index/config.toml ]] || die "$dir has no validator-$index"
}

node_dir() { echo "$1/validator-$2"; }
config_file() { echo "$1/validator-$2/config.toml"; }
log_file() { echo "$1/validator-$2/node.log"; }
pid_file() { echo "$1/validator-$2/node.pid"; }

# True if process PID exists and has not exited. A process that exited but was not reaped yet
# (a zombie, state Z) counts as exited: orphaned nodes are reparented to an init that may be
# slow to reap them.
process_alive() {
  local pid=$1 stat
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r /proc/$pid/stat ]]; then
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
  fi
}

# Prints the pid of validator INDEX of DIR if it is running. The pid file alone is not trusted:
# the process must be alive and have the validator's configuration on its command line, so a
# stale pid file whose pid was reused by another program is not mistaken for the node.
running_pid() {
  local dir=$1 index=$2 file pid
  file=$(pid_file "$dir" "$index")
  [[ -f $file ]] || return 0
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  process_alive "$pid" || return 0
  if [[ -r /proc/$pid/cmdline ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$(config_file "$dir" "$index")" || return 0
  fi
  echo "$pid"
}

# Prints HOST:PORT where validator INDEX's API is reached, from `[api] listen` of its
# configuration (a wildcard address is reached on loopback).
api_address() {
  local dir=$1 index=$2 listen
  listen=$(awk '
    /^[[:space:]]*\[/ { section = $0; gsub(/[][[:space:]]/, "", section); next }
    section == "api" && /^[[:space:]]*listen[[:space:]]*=/ {
      value = $0; sub(/^[^=]*=[[:space:]]*/, "", value); gsub(/["[:space:]]/, "", value)
      print value; exit
    }' "$(config_file "$dir" "$index")")
  [[ -n $listen ]] || die "validator-$index: no [api] listen in its config.toml"
  listen=${listen/#0.0.0.0:/127.0.0.1:}
  listen=${listen/#\[::\]:/[::1]:}
  echo "$listen"
}

# True if GET /healthz at HOST:PORT answers 200, within two seconds. Uses bash's /dev/tcp so
# that no HTTP client needs to be installed.
healthz_ok() {
  local address=$1 host port status_line
  host=${address%:*}
  host=${host#[}
  host=${host%]}
  port=${address##*:}
  (
    exec 3<>"/dev/tcp/$host/$port" || exit 1
    printf 'GET /healthz HTTP/1.0\r\nHost: %s\r\n\r\n' "$address" >&3
    IFS= read -r -t 2 status_line <&3 || exit 1
    # Read the rest too, so that the server is not cut off mid-response.
    while IFS= read -r -t 2 _ <&3; do :; done
    [[ $status_line =~ ^HTTP/1\.[01]\ 200 ]]
  ) 2>/dev/null
}

# Prints the last lines of validator INDEX's log to stderr.
log_tail() {
  local dir=$1 index=$2 file
  file=$(log_file "$dir" "$index")
  if [[ -f $file ]]; then
    echo "--- last lines of $file ---" >&2
    tail -n "${3:-20}" "$file" >&2
  fi
}

[[ $start_timeout_secs =~ ^[0-9]+$ ]] || die "SUYUAN_TESTNET_START_TIMEOUT must be whole seconds"
[[ $stop_timeout_secs =~ ^[0-9]+$ ]] || die "SUYUAN_TESTNET_STOP_TIMEOUT must be whole seconds"
