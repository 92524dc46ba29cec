#!/usr/bin/env bash
# Two cachesrvd binaries side by side: CPU time per request (utime+stime of the server from /proc/PID/stat) and
# requests/s of redis-benchmark SET and GET, memory only, 50 clients over 100,000 keys, in alternating runs, so the
# noise of a shared machine falls on both alike. For telling what a change costs per request.
#
# Usage: scripts/bench_ab.sh OLD_BINARY NEW_BINARY [ROUNDS]   (e.g. release builds of two commits)
# Speed is never asserted: this only measures.
set -euo pipefail
old=$1
new=$2
rounds=${3:-3}
requests=400000
hz=$(getconf CLK_TCK)
work=$(mktemp -d /tmp/cachesrvd-ab.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

start() { # start LABEL BINARY
    "$2" --socket "$work/$1.sock" --data-dir "$work/$1-data" --tiers l1 --l1-max-entries 200000 >"$work/$1.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 200); do redis-cli -s "$work/$1.sock" PING >/dev/null 2>&1 && return; sleep 0.05; done
    echo "$1 did not start: $(tail -n 5 "$work/$1.log")" >&2
    exit 1
}
start old "$old"
start new "$new"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "| round | test | binary | CPU ns/request | requests/s |"
echo "|---|---|---|---|---|"
for round in $(seq 1 "$rounds"); do
    for test in set get; do
        for index in 0 1; do
            label=$([ "$index" = 0 ] && echo old || echo new)
            before=$(ticks "${pids[$index]}")
            rps=$(redis-benchmark -s "$work/$label.sock" -q -n "$requests" -c 50 -r 100000 -t "$test" 2>&1 \
                | tr '\r' '\n' | grep "requests per second" | tail -n 1 | awk '{print $2}')
            after=$(ticks "${pids[$index]}")
            echo "| $round | ${test^^} | $label | $(((after - before) * 1000000000 / hz / requests)) | $rps |"
        done
    done
done
