#!/usr/bin/env bash
# Drives a real cachesrvd with the standard tools: nc -U, redis-cli -s, redis-benchmark -s and redis-py.
# Usage: scripts/interop.sh [path-to-cachesrvd]   (default: the debug build)
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${1:-$(swift build --show-bin-path)/cachesrvd}"
work="$(mktemp -d /tmp/cachesrvd-interop.XXXXXX)"
sock="$work/s.sock"
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [ -f "$work/server.log" ] && tail -n 20 "$work/server.log" >&2; exit 1; }
check() { # check NAME EXPECTED ACTUAL
    if [ "$2" != "$3" ]; then fail "$1: expected [$2], got [$3]"; fi
    echo "ok: $1"
}

"$bin" --socket "$sock" --data-dir "$work/data" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
    if redis-cli -s "$sock" PING >/dev/null 2>&1; then break; fi
    kill -0 "$pid" 2>/dev/null || fail "server exited at start"
    sleep 0.05
done
check "socket is owner-only" "srw-------" "$(stat -c %A "$sock")"

# nc -U: inline commands, quoting, pipelining.
out=$(printf 'PING\r\nSET k1 "http://1.2.3.4:8080"\r\nGET k1\r\nQUIT\r\n' | nc -U -q 2 "$sock" | tr -d '\r')
check "nc -U inline session" $'+PONG\n+OK\n$19\nhttp://1.2.3.4:8080\n+OK' "$out"
out=$(printf '*1\r\n$4\r\nPING\r\n*-5\r\nECHO "a\\x41b"\r\nQUIT\r\n' | nc -U -q 2 "$sock" | tr -d '\r')
check "nc -U multibulk + escapes" $'+PONG\n$3\naAb\n+OK' "$out"
out=$(printf '*1\r\n$foo\r\n' | nc -U -q 2 "$sock" | tr -d '\r')
check "protocol error text" "-ERR Protocol error: invalid bulk length" "$out"

# redis-cli -s
rc() { redis-cli -s "$sock" "$@"; }
check "redis-cli set" "OK" "$(rc SET proxy:1 http://10.0.0.1:3128 EX 100)"
check "redis-cli get" "http://10.0.0.1:3128" "$(rc GET proxy:1)"
check "redis-cli ttl" "100" "$(rc TTL proxy:1)"
check "redis-cli hset" "2" "$(rc HSET proxy:2 proxy_url http://10.0.0.2:3128 source feedA)"
check "redis-cli hget" "feedA" "$(rc HGET proxy:2 source)"
check "redis-cli put" "OK" "$(rc PUT proxy:3 http://u@10.0.0.3:1080 username alice password s3cret source feedB)"
check "redis-cli health fail" "unhealthy" "$(rc HEALTH proxy:3 fail 1200 timeout https://check.example)"
check "redis-cli health ok" "healthy" "$(rc HEALTH proxy:3 ok 85)"
check "redis-cli history" "1" "$(rc HISTORY proxy:3 | grep -c '^timeout$')"
check "redis-cli dbsize" "4" "$(rc DBSIZE)"
rc INFO cache | grep -q '^l1_size:4' || fail "INFO cache lacks l1_size:4"
echo "ok: redis-cli INFO cache"
check "redis-cli unknown command" "ERR unknown command 'NOPE', with args beginning with: 'x' " "$(rc NOPE x)"

# Prometheus's redis_exporter scraping over the socket (docs/monitoring.md).
if command -v prometheus-redis-exporter >/dev/null 2>&1; then
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    prometheus-redis-exporter --redis.addr="unix://$sock" --web.listen-address="127.0.0.1:$port" >"$work/exporter.log" 2>&1 &
    exporter=$!
    metrics=""
    for _ in $(seq 1 200); do
        metrics=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' \
            "http://127.0.0.1:$port/metrics" 2>/dev/null) && break
        sleep 0.05
    done
    kill "$exporter" 2>/dev/null || true
    wait "$exporter" 2>/dev/null || true
    metric() { grep -F "$1 " <<<"$metrics" | grep -v '^#' | head -n 1 | cut -d' ' -f2; }
    check "redis_exporter: redis_up" "1" "$(metric 'redis_up')"
    check "redis_exporter: no scrape error" "0" "$(metric 'redis_exporter_last_scrape_error{err=""}')"
    check "redis_exporter: db0 keys" "4" "$(metric 'redis_db_keys{db="db0"}')"
    check "redis_exporter: L1 size" "4" "$(metric 'redis_db0_l1_size')"
else
    echo "skip: redis_exporter (prometheus-redis-exporter is not installed)"
fi

# redis-benchmark: a short run (it stops at the first error reply).
redis-benchmark -s "$sock" -q -n 20000 -c 20 -t ping,set,get,hset >"$work/bench.txt" 2>&1 || fail "redis-benchmark: $(cat "$work/bench.txt")"
grep -q "SET:" "$work/bench.txt" || fail "redis-benchmark printed no SET line: $(cat "$work/bench.txt")"
grep -q "HSET:" "$work/bench.txt" || fail "redis-benchmark printed no HSET line: $(cat "$work/bench.txt")"
redis-benchmark -s "$sock" -q -n 20000 -c 10 -P 16 -t set,get >>"$work/bench.txt" 2>&1 || fail "redis-benchmark -P 16"
echo "ok: redis-benchmark"; sed 's/^/    /' "$work/bench.txt" | tr '\r' '\n' | grep -v '^\s*$' | grep 'requests per second' || true

# redis-py
python3 scripts/interop_redis_py.py "$sock" || fail "redis-py"

# SIGTERM: exit 0 and the socket file is gone.
kill -TERM "$pid"
wait "$pid" && status=0 || status=$?
pid=""
check "SIGTERM exit status" "0" "$status"
[ ! -e "$sock" ] || fail "socket file left behind after SIGTERM"
echo "ok: SIGTERM removes the socket"
echo "interop: all passed"
