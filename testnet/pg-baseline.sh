#!/usr/bin/env bash
# Usage: testnet/pg-baseline.sh [--rate R] [--duration S] [--warmup S] [--batch B] [--signers N]
#                               [--connections C] [--port P] [--json]
#                               [--with-suyuan] [--reports DIR]
#
# Measures issue 16's yardstick: a central service that verifies the envelopes Suyuan's
# benchmark sends, by the same signature rule on every core, and stores them with their lookup
# indexes in PostgreSQL, acknowledging each batch once its rows are committed. Creates a
# throwaway PostgreSQL cluster in a new temporary directory (initdb; Unix socket only, no TCP;
# fsync and synchronous_commit on), starts `suyuan-pg-baseline serve` on 127.0.0.1:P (default
# 18600) against it, loads it with `suyuan-pg-baseline drive` (R transactions per second,
# default 5000, for S seconds, default 60, after a warmup, default 5, in batches of B, default
# 100, signed by N enterprises, default 16; the service commits over C database sessions,
# default 4), prints the report (JSON with --json), and stops and deletes the cluster whatever
# happens (even on Ctrl-C).
#
# With --with-suyuan, then runs testnet/bench.sh with the same rate, duration, warmup and batch
# in the same session, and prints both throughputs and `ratio suyuan/postgres = X.XX` (issue
# 16's target is at least 0.5). Offer more than either can commit (e.g. --rate 20000) for the
# ratio to compare capacities: at a rate both keep up with it is about 1 and says only that.
# With --reports DIR, the JSON reports (postgres.json, and suyuan.json with --with-suyuan) are
# copied to DIR.
#
# PostgreSQL is Debian's package: when its server is missing and this runs as root, it is
# installed with apt-get; otherwise the command to install it is printed. The server runs as
# the `postgres` user when this runs as root (it refuses to run as root). SUYUAN_PG_BIN names
# the directory of initdb and pg_ctl if they are elsewhere. Build first: cargo build --release
# --workspace --bins.
set -euo pipefail
# shellcheck source=testnet/lib.sh source-path=SCRIPTDIR/..
source "$(dirname "$0")/lib.sh"
handle_help "$@"

port=18600
connections=4
json=
with_suyuan=
reports=
drive_args=()
# The yardstick's driver loads new lots only, so the consortium is loaded the same way.
bench_args=(--mix commission)
while [[ $# -gt 0 ]]; do
  option=$1
  case "$option" in
    --rate | --duration | --warmup | --batch | --signers | --connections | --port | --reports)
      [[ $# -ge 2 ]] || die "$option needs a value"
      value=$2
      shift 2
      case "$option" in
        --connections) connections=$value ;;
        --port) port=$value ;;
        --reports) reports=$value ;;
        *)
          drive_args+=("$option" "$value")
          bench_args+=("$option" "$value")
          ;;
      esac
      ;;
    --json)
      json=1
      shift
      ;;
    --with-suyuan)
      with_suyuan=1
      shift
      ;;
    *)
      usage >&2
      die "unknown option $option"
      ;;
  esac
done
for number in "$port" "$connections"; do
  [[ $number =~ ^[0-9]+$ ]] || die "$number is not a number"
done

bin=$(suyuan_bin)
baseline_bin=$(dirname "$bin")/suyuan-pg-baseline
[[ -x $baseline_bin ]] || die "$baseline_bin is missing: cargo build --release --workspace --bins"

# Prints the directory of PostgreSQL's server programs (initdb, pg_ctl), or nothing.
postgres_bin_dir() {
  if [[ -n ${SUYUAN_PG_BIN:-} ]]; then
    [[ -x $SUYUAN_PG_BIN/initdb ]] || die "SUYUAN_PG_BIN=$SUYUAN_PG_BIN holds no initdb"
    echo "$SUYUAN_PG_BIN"
    return
  fi
  # Debian keeps them out of PATH, one directory per major version: take the newest.
  local dir
  dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
  if [[ -n $dir && -x $dir/initdb ]]; then
    echo "$dir"
  elif command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  fi
}

pg_bin=$(postgres_bin_dir)
if [[ -z $pg_bin ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    note "installing Debian's postgresql (the yardstick's database server) ..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    pg_bin=$(postgres_bin_dir)
  fi
  [[ -n $pg_bin ]] || die "PostgreSQL's server is missing. Install it with:
  sudo apt-get update && sudo apt-get install -y postgresql"
fi

# The server refuses to run as root: as root, it runs as the postgres user Debian's package
# creates (or one made here for it).
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
  pg_user=postgres
  if ! id "$pg_user" >/dev/null 2>&1; then
    pg_user=suyuan-pg
    id "$pg_user" >/dev/null 2>&1 ||
      useradd --system --no-create-home --shell /usr/sbin/nologin "$pg_user"
  fi
  as_pg=(runuser -u "$pg_user" --)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/suyuan-pg-baseline.XXXXXX")
cluster=$work/pg
data=$cluster/data
service_pid=

# Stops the service and the cluster (idempotent).
stop_yardstick() {
  if [[ -n $service_pid ]]; then
    kill -TERM "$service_pid" 2>/dev/null || true
    wait "$service_pid" 2>/dev/null || true
    service_pid=
  fi
  if [[ -f $data/postmaster.pid ]]; then
    ${as_pg[@]+"${as_pg[@]}"} "$pg_bin/pg_ctl" stop -D "$data" -m fast -w >/dev/null 2>&1 ||
      ${as_pg[@]+"${as_pg[@]}"} "$pg_bin/pg_ctl" stop -D "$data" -m immediate -w >/dev/null 2>&1 || true
  fi
}

# Stops everything and deletes the temporary directory; exits with the run's status.
# shellcheck disable=SC2317 # invoked by the EXIT trap
teardown() {
  local status=$?
  trap - EXIT INT TERM
  stop_yardstick
  rm -rf -- "$work"
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The postgres user must reach the cluster's directory inside the private temporary one.
chmod 0711 "$work"
mkdir -m 0700 "$cluster"
[[ ${#as_pg[@]} -eq 0 ]] || chown "$pg_user" "$cluster"

note "creating a throwaway PostgreSQL cluster in $cluster ($pg_bin)" >&2
${as_pg[@]+"${as_pg[@]}"} "$pg_bin/initdb" --pgdata="$data" --username=postgres --auth=trust \
  --encoding=UTF8 --locale=C >"$work/initdb.log" 2>&1 ||
  {
    cat "$work/initdb.log" >&2
    die "initdb failed"
  }
# Durability as a regulator's database would have it (the defaults, said aloud), sized for a
# write-heavy service on this machine: a 1 GiB cache and checkpoints far enough apart that a
# minute's run does not spend itself on them.
cat >>"$data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$cluster'
fsync = on
synchronous_commit = on
full_page_writes = on
shared_buffers = 1GB
max_wal_size = 8GB
checkpoint_timeout = 15min
EOF
${as_pg[@]+"${as_pg[@]}"} "$pg_bin/pg_ctl" start -D "$data" -l "$cluster/server.log" -w -t 60 >/dev/null ||
  {
    tail -n 20 "$cluster/server.log" >&2 || true
    die "the PostgreSQL server did not start"
  }
postgres_pid=$(head -n 1 "$data/postmaster.pid")

"$baseline_bin" serve --listen "127.0.0.1:$port" --connections "$connections" \
  --postgres "host=$cluster user=postgres dbname=postgres" 2>"$work/service.log" &
service_pid=$!
address=127.0.0.1:$port
deadline=$((SECONDS + start_timeout_secs))
until healthz_ok "$address"; do
  if ! process_alive "$service_pid" || ((SECONDS >= deadline)); then
    cat "$work/service.log" >&2
    die "the service did not answer on $address"
  fi
  sleep 0.2
done

report=$work/postgres.json
status=0
"$baseline_bin" drive --service "http://$address" \
  --service-pid "$service_pid" --postgres-pid "$postgres_pid" --json-out "$report" \
  ${json:+--json} ${drive_args[@]+"${drive_args[@]}"} || status=$?
stop_yardstick
if [[ $status -ne 0 ]]; then
  cat "$work/service.log" >&2
  exit "$status"
fi
if [[ -n $reports ]]; then
  mkdir -p -- "$reports"
  cp -- "$report" "$reports/postgres.json"
fi
[[ -n $with_suyuan ]] || exit 0

note "the yardstick is stopped; now Suyuan with the same load: testnet/bench.sh ${bench_args[*]}" >&2
suyuan_report=$work/suyuan.json
"$testnet_scripts/bench.sh" --json ${bench_args[@]+"${bench_args[@]}"} >"$suyuan_report"
[[ -z $reports ]] || cp -- "$suyuan_report" "$reports/suyuan.json"
"$baseline_bin" compare --suyuan "$suyuan_report" --postgres "$report" ${json:+--json}
