#!/usr/bin/env bash
# Drives a real cachesrvd with the standard tools (nc -U, redis-cli -s, redis-benchmark -s, redis_exporter) and with the
# current releases of the Python Redis clients from PyPI, each made with its default constructor: redis-py 8 (sync and
# asyncio, with and without hiredis), valkey-py, coredis, and Django's cache through django-redis.
#
# Usage: scripts/interop.sh [path-to-cachesrvd]   (default: the debug build)
#
# A failing check does not stop the run: every failure is collected and listed at the end, and the exit status is 1.
# Environment:
#   INTEROP_FAIL_FAST=1         stop at the first failure instead
#   INTEROP_VENV_DIR=DIR        where the two virtual environments live (default .cache/ of the repository); they are
#                               created when missing and upgraded to the newest releases on every run
#   INTEROP_CLIENT_TIMEOUT=SECS how long one client script may run (default 300)
#   INTEROP_TRACEBACK=1         print the Python traceback of every exception a client raised
#   INTEROP_FORCE_PROTOCOL=2    a diagnostic, never for CI: make redis-py, valkey-py and django-redis use RESP2, to see
#                               what fails behind a refused HELLO 3 (coredis speaks only RESP3)
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
failures="$work/failures.txt"
: >"$failures"
export INTEROP_FAIL_FAST="${INTEROP_FAIL_FAST:-0}"
fail_fast() { [ "$INTEROP_FAIL_FAST" != "0" ] && [ -n "$INTEROP_FAIL_FAST" ]; }

# Ends the run at once: for what makes every later check meaningless (no server, no virtual environment).
die() {
    echo "FAIL: $*" >&2
    [ -f "$work/server.log" ] && tail -n 20 "$work/server.log" >&2
    exit 1
}
# Records a failure and goes on (unless INTEROP_FAIL_FAST is set).
fail() {
    echo "FAIL: $*" >&2
    echo "FAIL: $*" >>"$failures"
    if fail_fast; then die "stopping at the first failure (INTEROP_FAIL_FAST)"; fi
}
check() { # check NAME EXPECTED ACTUAL
    if [ "$2" != "$3" ]; then fail "$1: expected [$2], got [$3]"; else echo "ok: $1"; fi
}

start_server() {
    "$bin" --socket "$sock" --data-dir "$work/data" >>"$work/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 200); do
        if redis-cli -s "$sock" PING >/dev/null 2>&1; then return 0; fi
        kill -0 "$pid" 2>/dev/null || die "server exited at start"
        sleep 0.05
    done
    die "server did not answer PING"
}
# After a client ran: a server that died is a failure of that client; start it again so the others still run.
server_survived() { # server_survived CLIENT
    if kill -0 "$pid" 2>/dev/null && timeout 10 redis-cli -s "$sock" PING >/dev/null 2>&1; then return 0; fi
    local status=0 what="stopped answering PING"
    if ! kill -0 "$pid" 2>/dev/null || ! ps -o stat= -p "$pid" | grep -qv Z; then
        wait "$pid" 2>/dev/null || status=$?
        what="exited with status $status"
    else
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    fail "$1: the server $what; its last log lines: $(tail -n 3 "$work/server.log" | tr '\n' ' ')"
    rm -f "$sock"
    start_server
}

start_server
check "socket is owner-only" "srw-------" "$(stat -c %A "$sock")"

# nc -U: inline commands, quoting, pipelining.
out=$(printf 'PING\r\nSET k1 "http://1.2.3.4:8080"\r\nGET k1\r\nQUIT\r\n' | nc -U -q 2 "$sock" | tr -d '\r') || true
check "nc -U inline session" $'+PONG\n+OK\n$19\nhttp://1.2.3.4:8080\n+OK' "$out"
out=$(printf '*1\r\n$4\r\nPING\r\n*-5\r\nECHO "a\\x41b"\r\nQUIT\r\n' | nc -U -q 2 "$sock" | tr -d '\r') || true
check "nc -U multibulk + escapes" $'+PONG\n$3\naAb\n+OK' "$out"
out=$(printf '*1\r\n$foo\r\n' | nc -U -q 2 "$sock" | tr -d '\r') || true
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
if rc INFO cache | grep -q '^l1_size:4'; then echo "ok: redis-cli INFO cache"; else fail "INFO cache lacks l1_size:4"; fi
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

# redis-benchmark: it stops at the first error reply, so every test must print its requests-per-second line.
bench() { # bench NAME TESTS ARGS...
    local name=$1 tests=$2 status=0
    shift 2
    redis-benchmark -s "$sock" -q -n 20000 -t "$tests" "$@" >"$work/bench-out.txt" 2>&1 || status=$?
    tr '\r' '\n' <"$work/bench-out.txt" | grep -v '^\s*$' >"$work/bench.txt" || true
    local missing=()
    for test in ${tests//,/ }; do
        # PING prints PING_INLINE and PING_MBULK, MSET prints "MSET (10 keys)".
        grep -qE "^\s*${test^^}[A-Z_]*( \([0-9]+ keys\))?: [0-9.]+ requests per second" "$work/bench.txt" \
            || missing+=("${test^^}")
    done
    if [ "$status" -ne 0 ] || [ ${#missing[@]} -gt 0 ]; then
        fail "$name: exit status $status, no result for ${missing[*]:-(none)}:" \
            "$(grep -iv 'rps=' "$work/bench.txt" | tr '\n' ' ')"
    else
        echo "ok: $name"
        grep 'requests per second' "$work/bench.txt" | sed 's/^ */    /'
    fi
}
bench "redis-benchmark -c 20 -t ping,set,get" ping,set,get -c 20
bench "redis-benchmark -c 10 -P 16 -t set,get" set,get -c 10 -P 16
bench "redis-benchmark -t set,get,incr,mset,hset" set,get,incr,mset,hset
server_survived "redis-benchmark"

# redis-cli --bigkeys and --memkeys: exit 0, no command of theirs refused (they warn on stderr and go on), and the
# summary counts every key there is.
keyspace_scan() { # keyspace_scan OPTION
    local status=0 keys sampled
    keys=$(rc DBSIZE) || true
    rc "$1" >"$work/scan.out" 2>"$work/scan.err" || status=$?
    sampled=$(sed -n 's/^Sampled \([0-9]*\) keys in the keyspace!$/\1/p' "$work/scan.out")
    if [ "$status" -ne 0 ]; then
        fail "redis-cli $1: exit status $status: $(tr '\n' ' ' <"$work/scan.err")"
    elif [ -s "$work/scan.err" ]; then
        fail "redis-cli $1: warnings on stderr: $(sort -u "$work/scan.err" | head -n 5 | tr '\n' ' ')"
    elif [ "$sampled" != "$keys" ]; then
        fail "redis-cli $1: the summary sampled [${sampled:-no line}] keys, DBSIZE is [$keys]"
    else
        echo "ok: redis-cli $1 (sampled $sampled keys)"
    fi
}
keyspace_scan --bigkeys
keyspace_scan --memkeys
server_survived "redis-cli --bigkeys/--memkeys"

# The Python clients, current releases from PyPI, in virtual environments of their own: one without any C parser
# (redis-py's and valkey-py's pure-Python parsers), one with hiredis (redis-py's hiredis parser).
venv_dir="${INTEROP_VENV_DIR:-$PWD/.cache}"
pure_venv="$venv_dir/interop-venv"
hiredis_venv="$venv_dir/interop-venv-hiredis"
setup_venv() { # setup_venv DIR IMPORTS PACKAGES...
    local dir=$1 imports=$2
    shift 2
    if [ ! -x "$dir/bin/python" ]; then
        python3 -m venv "$dir" || die "python3 -m venv $dir failed (is python3-venv installed?)"
    fi
    if ! "$dir/bin/python" -m pip install -q --disable-pip-version-check -U "$@" >"$work/pip.log" 2>&1; then
        "$dir/bin/python" -c "import $imports" 2>/dev/null || die "pip install -U $*: $(tail -n 5 "$work/pip.log")"
        echo "warning: pip could not upgrade $* (using the versions installed): $(tail -n 1 "$work/pip.log")"
    fi
}
echo "== installing the current releases from PyPI into $venv_dir"
setup_venv "$pure_venv" "redis, valkey, coredis, django, django_redis" redis valkey coredis django django-redis
# Nothing may bring a C parser into this one: it is the pure-Python run.
"$pure_venv/bin/python" -m pip uninstall -q -y hiredis libvalkey >/dev/null 2>&1 || true
setup_venv "$hiredis_venv" "redis, hiredis" redis hiredis
versions() { "$1/bin/python" -m pip list --format=freeze 2>/dev/null | grep -iE "^($2)==" | tr '\n' ' '; }
echo "versions (pure-Python venv):" \
    "$(versions "$pure_venv" 'redis|valkey|coredis|django|django-redis|hiredis|libvalkey')"
echo "versions (hiredis venv): $(versions "$hiredis_venv" 'redis|hiredis')"

run_client() { # run_client NAME COMMAND...
    local name=$1 status=0
    shift
    echo "== $name"
    timeout "${INTEROP_CLIENT_TIMEOUT:-300}" "$@" 2>&1 | tee "$work/client.log" || status=$?
    grep -a "^FAIL: " "$work/client.log" >>"$failures" || true
    if [ "$status" -ne 0 ] && ! grep -aq "^FAIL: " "$work/client.log"; then
        if [ "$status" -eq 124 ]; then
            fail "$name: no answer within ${INTEROP_CLIENT_TIMEOUT:-300} s"
        else
            fail "$name: exited with status $status: $(tail -n 3 "$work/client.log" | tr '\n' ' ')"
        fi
    elif [ "$status" -ne 0 ] && fail_fast; then
        die "stopping at the first failure (INTEROP_FAIL_FAST)"
    fi
    server_survived "$name"
}
run_client "redis-py sync" "$pure_venv/bin/python" scripts/interop_redis_py.py "$sock" --expect-hiredis no
run_client "redis-py sync, hiredis" "$hiredis_venv/bin/python" scripts/interop_redis_py.py "$sock" --expect-hiredis yes
run_client "redis-py asyncio" "$pure_venv/bin/python" scripts/interop_redis_asyncio.py "$sock" --expect-hiredis no
run_client "redis-py asyncio, hiredis" \
    "$hiredis_venv/bin/python" scripts/interop_redis_asyncio.py "$sock" --expect-hiredis yes
run_client "valkey-py sync" "$pure_venv/bin/python" scripts/interop_redis_py.py "$sock" --module valkey
run_client "coredis" "$pure_venv/bin/python" scripts/interop_coredis.py "$sock"
run_client "django-redis" \
    env CACHESRVD_SOCKET="$sock" "$pure_venv/bin/python" scripts/interop_django/manage.py cachecheck

# SIGTERM: exit 0 and the socket file is gone.
kill -TERM "$pid"
wait "$pid" && status=0 || status=$?
pid=""
check "SIGTERM exit status" "0" "$status"
if [ -e "$sock" ]; then fail "socket file left behind after SIGTERM"; else echo "ok: SIGTERM removes the socket"; fi

if [ -s "$failures" ]; then
    echo
    echo "interop: $(wc -l <"$failures") failures (in ${SECONDS} s):"
    cat "$failures"
    exit 1
fi
echo "interop: all passed (in ${SECONDS} s)"
