#!/usr/bin/env bash
# The disk-tier figures against proxywhirl's own targets, and warming end to end.
#
# Usage: scripts/bench_tiers.sh [cachesrvd-bench arguments]   (default: --sizes 10000,1000000 --reads 10000)
#
# 1. Builds cachesrvd, cachectl and cachesrvd-bench in release (.build-bench) and runs cachesrvd-bench (TierBench),
#    which prints two Markdown tables (stores at each size; the tiered cache over each L3).
# 2. Starts a real cachesrvd (default tiers and bounds) under --fsync everysec, then --fsync always, and times
#    `cachectl warm` of a 10,000-row CSV file (a quarter of the rows with credentials, so Fernet runs) three times
#    on each: the first run fills an empty cache, the next two replace the same entries. "acknowledged" is when
#    cachectl exits (every PUT answered); "committed" adds the wait until both disk writers have nothing pending.
# Speed is never asserted: this only measures. Temporary files and the servers it starts are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

bench_args=("$@")
[ ${#bench_args[@]} -gt 0 ] || bench_args=(--sizes 10000,1000000 --reads 10000)

echo "== building (release, .build-bench)" >&2
for product in cachesrvd cachectl cachesrvd-bench; do
    swift build -c release --scratch-path .build-bench --product "$product" >&2
done
bin=".build-bench/release"

work="$(mktemp -d /tmp/cachesrvd-bench-tiers.XXXXXX)"
pid=""
stop_server() {
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== cachesrvd-bench ${bench_args[*]}" >&2
start=$SECONDS
"$bin/cachesrvd-bench" "${bench_args[@]}" --dir "$work/tierbench"
echo
echo "cachesrvd-bench ${bench_args[*]}: $((SECONDS - start)) s"

csv="$work/proxies.csv"
awk 'BEGIN {
    print "proxy_url,username,password,source"
    for (i = 0; i < 10000; i++) {
        url = sprintf("http://10.%d.%d.%d:%d", int(i / 65536) % 256, int(i / 256) % 256, i % 256, 3128 + i % 7)
        if (i % 4 == 0) printf "%s,user%d,secret%d,feed%d\n", url, i, i, i % 3
        else printf "%s,,,feed%d\n", url, i % 3
    }
}' >"$csv"

now() { date +%s.%N; }
pending() {
    redis-cli -s "$sock" INFO persistence | tr -d '\r' \
        | awk -F: '/^l[23]_pending_writes:/ { n += $2 } END { print n + 0 }'
}

echo
echo "| cachectl warm, 10,000-row CSV | run | acknowledged | committed | loaded |"
echo "|---|---|---|---|---|"
for fsync in everysec always; do
    sock="$work/$fsync.sock"
    "$bin/cachesrvd" --socket "$sock" --data-dir "$work/$fsync" --fsync "$fsync" --log-level warning \
        >"$work/$fsync.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 200); do
        "$bin/cachectl" ping --socket "$sock" >/dev/null 2>&1 && break
        kill -0 "$pid" 2>/dev/null || { echo "cachesrvd did not start: $(tail -n 5 "$work/$fsync.log")" >&2; exit 1; }
        sleep 0.05
    done
    for run in 1 2 3; do
        t0="$(now)"
        out="$("$bin/cachectl" warm "$csv" --socket "$sock")"
        t1="$(now)"
        for _ in $(seq 1 1200); do
            [ "$(pending)" = 0 ] && break
            sleep 0.01
        done
        t2="$(now)"
        awk -v f="$fsync" -v r="$run" -v a="$t0" -v b="$t1" -v c="$t2" -v o="$out" \
            'BEGIN { printf "| --fsync %s | %d | %.2f s | %.2f s | %s |\n", f, r, b - a, c - a, o }'
    done
    echo "   l3 holds $("$bin/cachectl" size l3 --socket "$sock") entries" >&2
    stop_server
done
echo
echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), shared; cachesrvd at\
 $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- Sources 2>/dev/null || echo ' (Sources modified)');\
 $(date -u '+%Y-%m-%d %H:%M UTC')."
