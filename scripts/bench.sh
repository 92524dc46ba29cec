#!/usr/bin/env bash
# cachesrvd against redis-server, side by side in one run, with redis-benchmark over Unix sockets.
#
# Usage: scripts/bench.sh            (builds cachesrvd in release into .build-bench, then benchmarks)
# Environment:
#   CACHESRVD_BIN        use this cachesrvd binary instead of building one
#   BENCH_SECONDS        target seconds per measured run (default 2); -n is sized from a short calibration run
#   BENCH_ROUNDS         runs of each test on each server (default 2); the best one is reported
#   BENCH_BUDGET         seconds the benchmarking may take in all (default 270); tests past it are skipped
#   BENCH_CACHESRVD_ARGS extra arguments for every cachesrvd (e.g. "--threads 1")
#
# Every server runs at once, idle between its tests; each test (PING_INLINE, SET, GET, without pipelining and with
# -P 16, 50 clients, 100000 random keys) is run against redis-server and each cachesrvd configuration in turn, twice,
# in reverse order the second time, and the better run of each server counts, so the noise of this shared machine
# is spread over all of them. Before any test each server is filled with the
# 100000 keys redis-benchmark uses (key:000000000000 ...), so GET always finds its key; after each cachesrvd run the
# script waits until its disk writers are drained, and that work is counted in its CPU.
# CPU per request is utime+stime of the server process (every thread) from /proc/PID/stat, before and after.
# The Markdown table goes to stdout, progress to stderr. Speed is never asserted: this only measures.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds_per_test="${BENCH_SECONDS:-2}"
rounds="${BENCH_ROUNDS:-2}"
budget="${BENCH_BUDGET:-270}"
extra_args=(${BENCH_CACHESRVD_ARGS:-})
keyspace=100000
clients=50

for tool in redis-server redis-benchmark redis-cli; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "bench: $tool is missing (apt-get install -y redis-server redis-tools)" >&2
        exit 1
    }
done

if [ -n "${CACHESRVD_BIN:-}" ]; then
    bin="$CACHESRVD_BIN"
else
    echo "== building cachesrvd (release, .build-bench)" >&2
    swift build -c release --scratch-path .build-bench --product cachesrvd >&2
    bin=".build-bench/release/cachesrvd"
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

work="$(mktemp -d /tmp/cachesrvd-bench.XXXXXX)"
declare -A pid_of sock_of
servers=()

stop_all() {
    local name pid
    for name in "${servers[@]}"; do
        pid="${pid_of[$name]}"
        kill -TERM "$pid" 2>/dev/null || true
    done
    for name in "${servers[@]}"; do
        pid="${pid_of[$name]}"
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    servers=()
}
cleanup() {
    stop_all
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_ready() { # wait_ready NAME
    local name="$1"
    for _ in $(seq 1 200); do
        redis-cli -s "${sock_of[$name]}" PING >/dev/null 2>&1 && return 0
        kill -0 "${pid_of[$name]}" 2>/dev/null || break
        sleep 0.05
    done
    echo "bench: server $name did not start; its log:" >&2
    tail -n 20 "$work/$name.log" >&2
    exit 1
}

start_redis() { # start_redis NAME [redis-server options]
    local name="$1"
    shift
    mkdir -p "$work/$name"
    sock_of[$name]="$work/$name.sock"
    redis-server --port 0 --unixsocket "${sock_of[$name]}" --unixsocketperm 700 --dir "$work/$name" \
        --save '' --daemonize no "$@" >"$work/$name.log" 2>&1 &
    pid_of[$name]=$!
    servers+=("$name")
    wait_ready "$name"
}

start_cachesrvd() { # start_cachesrvd NAME [cachesrvd options]
    local name="$1"
    shift
    sock_of[$name]="$work/$name.sock"
    "$bin" --socket "${sock_of[$name]}" --data-dir "$work/$name" --log-level warning "$@" ${extra_args[@]+"${extra_args[@]}"} \
        >"$work/$name.log" 2>&1 &
    pid_of[$name]=$!
    servers+=("$name")
    wait_ready "$name"
}

cpu_ticks() { # utime + stime of every thread of a process, in clock ticks
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# Waits (at most 60 s) until a cachesrvd's disk writers have committed everything queued.
drain() {
    local name="$1" info
    [[ "$name" == redis* ]] && return 0
    for _ in $(seq 1 1200); do
        info="$(redis-cli -s "${sock_of[$name]}" INFO persistence 2>/dev/null | tr -d '\r')"
        if ! grep -Eq '^l[23]_pending_writes:[1-9]' <<<"$info"; then return 0; fi
        sleep 0.05
    done
    echo "bench: $name still has pending writes after 60 s" >&2
}

# Sets every key redis-benchmark's -r $keyspace can name, with its default 3-byte value.
fill() {
    local name="$1"
    awk -v n="$keyspace" 'BEGIN {
        for (i = 0; i < n; i++) {
            k = sprintf("key:%012d", i)
            printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$3\r\nxxx\r\n", length(k), k
        }
    }' | redis-cli -s "${sock_of[$name]}" --pipe >"$work/$name.fill" 2>&1 \
        || { echo "bench: filling $name failed: $(cat "$work/$name.fill")" >&2; exit 1; }
    drain "$name"
}

# run_one NAME TEST PIPELINE N -> prints "rps cpu_us_per_request" (or "- -" on failure)
run_one() {
    local name="$1" test="$2" pipeline="$3" n="$4" before after rps out
    local pid="${pid_of[$name]}"
    before="$(cpu_ticks "$pid")"
    out="$(timeout 60 redis-benchmark -s "${sock_of[$name]}" --csv -c "$clients" -r "$keyspace" -n "$n" \
        -P "$pipeline" -t "$test" 2>&1)" || true
    drain "$name"
    after="$(cpu_ticks "$pid")"
    rps="$(awk -F'","' -v t="$test" '$1 == "\"" t { print $2 }' <<<"$out")"
    if [ -z "$rps" ]; then
        echo "bench: $name $test -P $pipeline failed: $(tail -n 3 <<<"$out")" >&2
        echo "- -"
        return
    fi
    awk -v r="$rps" -v d="$((after - before))" -v n="$n" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "%.0f %.2f\n", r, d * 1e6 / hz / n }'
}

# calibrate NAME TEST PIPELINE -> prints the -n that takes about BENCH_SECONDS, from a short run
calibrate() {
    local name="$1" test="$2" pipeline="$3" rps
    read -r rps _ < <(run_one "$name" "$test" "$pipeline" $((pipeline > 1 ? 40000 : 5000)))
    [ "$rps" = "-" ] && { echo 10000; return; }
    awk -v r="$rps" -v s="$seconds_per_test" 'BEGIN { n = int(r * s / 1000) * 1000; if (n < 10000) n = 10000; print n }'
}

echo "== starting servers in $work" >&2
start_redis redis --appendonly no
start_redis redis-aof-always --appendonly yes --appendfsync always
start_cachesrvd l1 --tiers l1 --l1-max-entries 200000
start_cachesrvd everysec --fsync everysec --l1-max-entries 200000
start_cachesrvd small-l1 --fsync everysec --l1-max-entries 10000
start_cachesrvd always --fsync always --l1-max-entries 200000
for name in "${servers[@]}"; do
    echo "== filling $name with $keyspace keys" >&2
    fill "$name"
done

declare -A label=(
    [l1]="--tiers l1, L1 200000"
    [everysec]="l1,l2,l3, --fsync everysec, L1 200000"
    [small-l1]="l1,l2,l3, --fsync everysec, L1 10000 (L2 5000)"
    [always]="l1,l2,l3, --fsync always, L1 200000"
)
rows=()
start=$SECONDS
for pipeline in 1 16; do
    for test in PING_INLINE SET GET; do
        pairs=("redis:l1" "redis:everysec" "redis:small-l1")
        [ "$test" = SET ] && pairs+=("redis-aof-always:always")
        order=()
        for pair in "${pairs[@]}"; do
            for name in "${pair%%:*}" "${pair##*:}"; do
                [[ " ${order[*]} " == *" $name "* ]] || order+=("$name")
            done
        done
        # Every server once per round, redis first in odd rounds and last in even ones; the best round counts.
        declare -A n_of=() best=()
        for round in $(seq 1 "$rounds"); do
            if ((round % 2 == 0)); then
                reversed=()
                for ((i = ${#order[@]} - 1; i >= 0; i--)); do reversed+=("${order[$i]}"); done
                order=("${reversed[@]}")
            fi
            for name in "${order[@]}"; do
                if ((SECONDS - start > budget)); then
                    echo "== $test -P $pipeline on $name: skipped, past the ${budget} s budget" >&2
                    continue
                fi
                [ -n "${n_of[$name]:-}" ] || n_of[$name]="$(calibrate "$name" "$test" "$pipeline")"
                echo "== round $round: $test -P $pipeline on $name, -n ${n_of[$name]}" >&2
                read -r rps cpu < <(run_one "$name" "$test" "$pipeline" "${n_of[$name]}")
                echo "   $rps req/s, $cpu CPU µs/req" >&2
                [ "$rps" = "-" ] && continue
                read -r best_rps _ <<<"${best[$name]:-0 -}"
                if ((rps > best_rps)); then best[$name]="$rps $cpu"; fi
            done
        done
        for pair in "${pairs[@]}"; do
            read -r r_rps r_cpu <<<"${best[${pair%%:*}]:-- -}"
            read -r c_rps c_cpu <<<"${best[${pair##*:}]:-- -}"
            ratio="$(awk -v a="$c_rps" -v b="$r_rps" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }')"
            redis_label="redis"
            [ "${pair%%:*}" = redis-aof-always ] && redis_label="redis, appendfsync always"
            rows+=("| $test | $pipeline | ${label[${pair##*:}]} | $redis_label | $r_rps | $c_rps | $ratio | $r_cpu | $c_cpu |")
        done
        unset n_of best
    done
done

echo
echo "redis-benchmark -s SOCKET --csv -c $clients -r $keyspace -P {1,16} -t TEST -n N (N sized for ~${seconds_per_test} s),"
echo "best of $rounds rounds (server order reversed every other round);"
echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), client and servers on the same cores;"
echo "redis-server $(redis-server --version | awk '{ print $3 }' | sed 's/v=//'), cachesrvd at $(git rev-parse --short HEAD 2>/dev/null || echo '?')\
$(git diff --quiet HEAD -- Sources 2>/dev/null || echo ' (Sources modified)') ${extra_args[*]:-}; $(date -u '+%Y-%m-%d %H:%M UTC'); $((SECONDS - start)) s."
echo
echo "| test | -P | cachesrvd configuration | against | redis req/s | cachesrvd req/s | cachesrvd/redis | redis CPU µs/req | cachesrvd CPU µs/req |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
