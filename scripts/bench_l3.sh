#!/usr/bin/env bash
# One sidecar with its L3 in PostgreSQL against the same sidecar with the SQLite L3, side by side in one run.
#
# Usage: scripts/bench_l3.sh
#   For --fsync everysec and always, with L1, a SQLite L2 and L3 (SQLite file or a PostgreSQL on a local Unix
#   socket that this script starts, with its default fsync on), measures with redis-benchmark over 50 clients:
#     SET     requests/s over 100,000 keys (the reply waits for the journal; under always with PostgreSQL, for its
#             commit too)
#     applied writes/s reaching L3: the SETs divided by the time until L3's writer has no write pending
#     GET     requests/s with a 1,000-entry L1, so most reads go to the disk tiers
# The invalidation latency between two sidecars is measured by PostgresFleetStalenessMeasurement (docs/benchmarks.md).
# Environment:
#   CACHESRVD_BIN   use this cachesrvd binary instead of building one (swift build -c release into .build-bench)
#   BENCH_REQUESTS  requests per redis-benchmark run (default 200000)
# Needs initdb and pg_ctl (Debian: postgresql) and redis-benchmark (redis-tools). As root, PostgreSQL runs as the
# `postgres` user. Speed is never asserted: this only measures. Markdown to stdout, progress to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

requests="${BENCH_REQUESTS:-200000}"
[[ "$requests" =~ ^[1-9][0-9]*$ ]] || {
    echo "bench_l3: BENCH_REQUESTS must be a positive integer" >&2
    exit 2
}
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$pg_bin/initdb" ] || {
    echo "bench_l3: PostgreSQL is not installed (apt-get install -y postgresql)" >&2
    exit 1
}
command -v redis-benchmark >/dev/null || {
    echo "bench_l3: redis-benchmark is missing (apt-get install -y redis-tools)" >&2
    exit 1
}
if [ -n "${CACHESRVD_BIN:-}" ]; then
    bin="$CACHESRVD_BIN"
else
    echo "== building cachesrvd (release, .build-bench)" >&2
    swift build -c release --scratch-path .build-bench --product cachesrvd >&2
    bin=".build-bench/release/cachesrvd"
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

work="$(mktemp -d /tmp/cachesrvd-bl3.XXXXXX)"
chmod 755 "$work"
as_postgres() {
    if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi
}
server_pid=""
cleanup() {
    [ -z "$server_pid" ] || { kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true; }
    [ ! -f "$work/pg/data/postmaster.pid" ] || as_postgres "$pg_bin/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "== starting PostgreSQL in $work/pg" >&2
mkdir -p "$work/pg"
[ "$(id -u)" != 0 ] || chown postgres "$work/pg"
as_postgres "$pg_bin/initdb" -D "$work/pg/data" -A trust -U postgres >/dev/null
as_postgres "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories='$work/pg'" start >/dev/null
key="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_')"
database=0

# start NAME ARGS...: starts cachesrvd with ARGS in $work/NAME and waits for its socket.
start() {
    local name="$1"
    shift
    mkdir -p "$work/$name"
    CACHESRVD_ENCRYPTION_KEY="$key" "$bin" --socket "$work/$name/s.sock" --data-dir "$work/$name/data" "$@" \
        >"$work/$name/log" 2>&1 &
    server_pid=$!
    for _ in $(seq 200); do
        [ -S "$work/$name/s.sock" ] && redis-cli -s "$work/$name/s.sock" PING >/dev/null 2>&1 && return
        sleep 0.05
    done
    echo "bench_l3: $name did not start:" >&2
    tail -20 "$work/$name/log" >&2
    exit 1
}
stop() {
    kill -TERM "$server_pid"
    wait "$server_pid" || true
    server_pid=""
}
rps() { # rps SOCKET TEST: requests/s of redis-benchmark
    redis-benchmark -s "$1" -c 50 -n "$requests" -r 100000 -t "$2" --csv -q | awk -F'"' 'NR==2 {print int($4)}'
}
pending() { redis-cli -s "$1" INFO persistence | tr -d '\r' | awk -F: '$1=="l3_pending_writes" {print $2}'; }

echo "| fsync | L3 | SET requests/s | writes/s applied to L3 | GET requests/s, L1 of 1,000 |"
echo "|---|---|---|---|---|"
for fsync in everysec always; do
    for backend in sqlite postgresql; do
        name="$backend-$fsync"
        url=()
        if [ "$backend" = postgresql ]; then
            database=$((database + 1))
            as_postgres "$pg_bin/psql" -h "$work/pg" -U postgres -qc "CREATE DATABASE b$database" postgres
            url=(--l3-url "postgres://postgres@/b$database?host=$work/pg")
        fi
        echo "== $name" >&2
        start "$name" --tiers l1,l2,l3 --fsync "$fsync" --l1-max-entries 1000 "${url[@]}"
        sock="$work/$name/s.sock"
        started=$(date +%s.%N)
        set_rps=$(rps "$sock" set)
        while [ "$(pending "$sock")" != 0 ]; do sleep 0.02; done
        applied=$(awk -v n="$requests" -v s="$started" -v e="$(date +%s.%N)" 'BEGIN {print int(n / (e - s))}')
        get_rps=$(rps "$sock" get)
        stop
        echo "| $fsync | $backend | $set_rps | $applied | $get_rps |"
    done
done
