#!/usr/bin/env bash
# cachesrvd against redis-server 7.0, side by side in one run on this machine, everything over Unix sockets.
#
# Usage: scripts/bench.sh [goal|matrix]
#   goal    (the default) every row of issue 8's goal table, with redis-server's figure, cachesrvd's, the ratio, the
#           goal and whether it is met: SET and GET under each persistence setting, `redis-cli --pipe` of 1,000,000
#           SETs, resident memory with 1,000,000 entries, restart with 1,000,000 entries until the first reply, and
#           SET/GET requests/s and p99 latency with every setting at its default. About 5 minutes.
#   matrix  the older table (before issue 8): PING_INLINE, SET and GET, -P 1 and 16, against four cachesrvd
#           configurations, each against redis-server without persistence (or with appendfsync always), kept so that
#           new runs compare with the earlier ones in docs/benchmarks.md. About 3 minutes.
# Environment:
#   CACHESRVD_BIN        use this cachesrvd binary instead of building one (swift build -c release into .build-bench)
#   BENCH_QUICK=1        iterate quickly: 100,000 entries in the bulk rows, 1 s runs, one round (explicit settings win)
#   BENCH_ENTRIES        entries of the bulk rows (--pipe, resident memory, restart); default 1000000
#   BENCH_SECONDS        target seconds per measured redis-benchmark run (default 2); -n is sized by a short run
#   BENCH_ROUNDS         runs of each measurement on each server (default 3, 2 in matrix); the best one counts
#   BENCH_BUDGET         seconds the measuring may take in all (default 480); measurements past it are skipped
#   BENCH_CACHESRVD_ARGS extra arguments for every cachesrvd (e.g. "--threads 1"); printed in the header
#   BENCH_TMPDIR         where the temporary directory (sockets, data directories) goes; default $TMPDIR, else /tmp.
#                        It must be on the disk whose fsync you mean to measure (not a tmpfs)
#
# Both servers are started by this script in one temporary directory, each on its own socket (redis-server with
# --port 0 --unixsocket) and data directory, and stopped at the end, however the script ends. redis-server never
# writes RDB snapshots (--save ''), so its "default persistence" is its AOF: appendonly yes, appendfsync everysec.
# Measurements of the same row alternate between the servers (redis first in odd rounds, last in even ones) and the
# best round of each server counts, so the noise of a shared machine falls on both. After every run the script waits
# until the server has no background work left (cachesrvd's pending disk writes, redis's AOF rewrite) and counts
# that work in its CPU: utime+stime of the process and its reaped children from /proc/PID/stat.
# The Markdown tables go to stdout, progress to stderr. Speed is never asserted: this only measures.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-goal}"
case "$mode" in
    goal | matrix) ;;
    *)
        echo "usage: scripts/bench.sh [goal|matrix]" >&2
        exit 2
        ;;
esac

quick="${BENCH_QUICK:-0}"
[ "$quick" = 0 ] || [ "$quick" = 1 ] || {
    echo "bench: BENCH_QUICK takes 0 or 1" >&2
    exit 2
}
entries="${BENCH_ENTRIES:-$([ "$quick" = 1 ] && echo 100000 || echo 1000000)}"
seconds_per_test="${BENCH_SECONDS:-$([ "$quick" = 1 ] && echo 1 || echo 2)}"
rounds="${BENCH_ROUNDS:-$([ "$quick" = 1 ] && echo 1 || { [ "$mode" = matrix ] && echo 2 || echo 3; })}"
budget="${BENCH_BUDGET:-480}"
read -r -a extra_args <<<"${BENCH_CACHESRVD_ARGS:-}"
keyspace=100000
clients=50
small_l1=1000
for setting in entries seconds_per_test rounds budget; do
    [[ "${!setting}" =~ ^[1-9][0-9]*$ ]] || {
        echo "bench: $setting must be a positive integer, got '${!setting}'" >&2
        exit 2
    }
done

for tool in redis-server redis-benchmark redis-cli awk timeout; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "bench: $tool is missing (apt-get install -y redis-server redis-tools)" >&2
        exit 1
    }
done

command_line="$(
    for variable in CACHESRVD_BIN BENCH_QUICK BENCH_ENTRIES BENCH_SECONDS BENCH_ROUNDS BENCH_BUDGET \
        BENCH_CACHESRVD_ARGS BENCH_TMPDIR; do
        [ -z "${!variable:-}" ] || printf '%s=%q ' "$variable" "${!variable}"
    done
    printf 'scripts/bench.sh'
    [ $# -eq 0 ] || printf ' %q' "$@"
)"

if [ -n "${CACHESRVD_BIN:-}" ]; then
    bin="$CACHESRVD_BIN"
else
    echo "== building cachesrvd (release, .build-bench)" >&2
    swift build -c release --scratch-path .build-bench --product cachesrvd >&2
    bin=".build-bench/release/cachesrvd"
fi
[ -x "$bin" ] || {
    echo "bench: $bin is not an executable" >&2
    exit 1
}
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
serve_help="$("$bin" serve --help 2>&1)"
has_option() { grep -q -- "--$1[ =<]" <<<"$serve_help"; }

work="$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/cachesrvd-bench.XXXXXX")"
((${#work} < 80)) || {
    echo "bench: $work is too long a path for Unix sockets; set BENCH_TMPDIR" >&2
    rm -rf "$work"
    exit 1
}
declare -A pid_of sock_of kind_of args_of
servers=()

# stop_servers SECONDS NAME...: SIGTERM to each, then waits for each to exit (a graceful stop finishes the server's
# disk work) and SIGKILLs one still running SECONDS later; fails if it had to kill.
stop_servers() {
    local limit="$1" name pid i status=0
    shift
    declare -A stopping=()
    for name in "$@"; do
        pid="${pid_of[$name]:-}"
        [ -n "$pid" ] || continue
        pid_of[$name]=""
        stopping[$name]="$pid"
        kill -TERM "$pid" 2>/dev/null || true
    done
    for name in "${!stopping[@]}"; do
        pid="${stopping[$name]}"
        for ((i = 0; i < limit * 20; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
            echo "bench: $name did not stop within $limit s of SIGTERM; killed" >&2
            status=1
        fi
        wait "$pid" 2>/dev/null || true
    done
    return "$status"
}
stop_server() { stop_servers "${2:-60}" "$1"; } # stop_server NAME [SECONDS]
cleanup() {
    stop_servers 30 "${servers[@]}" || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail_server() { # fail_server NAME MESSAGE: stops the run with the server's log
    echo "bench: $1: $2; the end of its log:" >&2
    tail -n 20 "$work/$1.log" >&2
    exit 1
}

# launch NAME: starts a declared server in the background (no waiting); sets pid_of[NAME].
launch() {
    local name="$1"
    local -a args
    read -r -a args <<<"${args_of[$name]}"
    if [ "${kind_of[$name]}" = redis ]; then
        redis-server --port 0 --unixsocket "${sock_of[$name]}" --unixsocketperm 700 --dir "$work/$name" \
            --daemonize no --save '' "${args[@]}" >>"$work/$name.log" 2>&1 &
    else
        env -u CACHESRVD_ENCRYPTION_KEY -u CACHESRVD_SOCKET -u CACHESRVD_DATA_DIR \
            "$bin" serve --socket "${sock_of[$name]}" --data-dir "$work/$name" "${args[@]}" \
            ${extra_args[@]+"${extra_args[@]}"} >>"$work/$name.log" 2>&1 &
    fi
    pid_of[$name]=$!
}

wait_ready() { # wait_ready NAME: until it answers PING (60 s at most)
    local name="$1" i
    for ((i = 0; i < 1200; i++)); do
        [ "$(redis-cli -s "${sock_of[$name]}" PING 2>/dev/null)" = PONG ] && return 0
        kill -0 "${pid_of[$name]}" 2>/dev/null || fail_server "$name" "exited at start"
        sleep 0.05
    done
    fail_server "$name" "did not answer PING within 60 s"
}

# declare_server NAME redis|cachesrvd [options]: names a configuration (options without spaces in them; '' is kept
# for redis's --save '', which launch adds itself).
declare_server() {
    local name="$1" kind="$2"
    shift 2
    kind_of[$name]="$kind"
    sock_of[$name]="$work/$name.sock"
    args_of[$name]="$*"
    servers+=("$name")
    mkdir -p "$work/$name"
}

start_server() { # start_server NAME KIND [options]: declares, starts and waits until it answers
    declare_server "$@"
    launch "$1"
    wait_ready "$1"
}

describe_server() { # the command line of a configuration, with S for its socket and D for its data directory
    local name="$1"
    if [ "${kind_of[$name]}" = redis ]; then
        echo "redis-server --port 0 --unixsocket S --dir D --daemonize no --save '' ${args_of[$name]}"
    else
        echo "cachesrvd serve --socket S --data-dir D ${args_of[$name]} ${extra_args[*]:-}" | sed 's/ *$//'
    fi
}

cpu_ticks() { # utime + stime of a process and its reaped children (redis's AOF rewrite), in clock ticks
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 + $14 + $15 }'
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

now_ns() { date +%s%N; }

# drain NAME: waits (at most 600 s) until the server has no background work: cachesrvd's INFO persistence shows no
# pending writes in any field named *pending*, redis-server has no AOF rewrite or save in progress or scheduled.
drain() {
    local name="$1" info pattern i
    if [ "${kind_of[$name]}" = redis ]; then
        pattern='^(aof_rewrite_in_progress|aof_rewrite_scheduled|rdb_bgsave_in_progress):[1-9]'
        sleep 0.3 # redis starts an automatic AOF rewrite from serverCron, every 100 ms: let a due one start first
    else
        pattern='^[a-z0-9_]*pending[a-z0-9_]*:[1-9]'
    fi
    for ((i = 0; i < 12000; i++)); do
        info="$(redis-cli -s "${sock_of[$name]}" INFO persistence 2>/dev/null | tr -d '\r')"
        grep -Eq "$pattern" <<<"$info" || return 0
        sleep 0.05
    done
    echo "bench: $name still has background work after 600 s" >&2
}

# write_sets FILE COUNT VALUE: the RESP requests SET key:<12 digits> VALUE for keys 0..COUNT-1 (the names
# redis-benchmark's -r gives); VALUE "url" gives each key its own proxy URL, http://10.a.b.c:3128.
write_sets() {
    awk -v n="$2" -v value="$3" 'BEGIN {
        for (i = 0; i < n; i++) {
            k = sprintf("key:%012d", i)
            v = value == "url" ? sprintf("http://10.%d.%d.%d:3128", int(i / 65536) % 256, int(i / 256) % 256, i % 256) : value
            printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v
        }
    }' >"$1"
}

pipe_seconds=""
# pipe_into NAME FILE: redis-cli --pipe of FILE into the server; sets pipe_seconds (until redis-cli has every reply).
pipe_into() {
    local name="$1" file="$2" t0 t1 out
    t0="$(now_ns)"
    out="$(redis-cli -s "${sock_of[$name]}" --pipe <"$file" 2>&1)" || fail_server "$name" "redis-cli --pipe failed: $out"
    t1="$(now_ns)"
    grep -q 'errors: 0,' <<<"$out" || fail_server "$name" "redis-cli --pipe had errors: $out"
    pipe_seconds="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
}

# run_one NAME TESTS PIPELINE N: one redis-benchmark run; prints "TEST rps p99_ms cpu_us_per_request" per test
# (the CPU is the server's for the whole run and its aftermath, divided by every request of every test).
run_one() {
    local name="$1" tests="$2" pipeline="$3" n="$4" before after out pid="${pid_of[$1]}"
    before="$(cpu_ticks "$pid")"
    out="$(timeout 300 redis-benchmark -s "${sock_of[$name]}" --csv -c "$clients" -r "$keyspace" -n "$n" \
        -P "$pipeline" -t "$tests" 2>&1)" || true
    drain "$name"
    after="$(cpu_ticks "$pid")"
    awk -F'","' -v d="$((after - before))" -v n="$n" -v k="$(tr ',' '\n' <<<"$tests" | wc -l)" \
        -v hz="$(getconf CLK_TCK)" '
        $1 ~ /^"[A-Z]/ && $2 + 0 > 0 {
            sub(/^"/, "", $1)
            printf "%s %.0f %s %.2f\n", $1, $2, $7, d * 1e6 / hz / (n * k)
        }' <<<"$out"
    grep -q '^"[A-Z]' <<<"$out" || echo "bench: $name -t $tests -P $pipeline failed: $(tail -n 3 <<<"$out")" >&2
}

# calibrate NAME TESTS PIPELINE: the -n that takes about BENCH_SECONDS per test, from a short run
calibrate() {
    local rps
    rps="$(run_one "$1" "$2" "$3" $(($3 > 1 ? 40000 : 5000)) | awk 'NR == 1 || $2 < min { min = $2 } END { print min + 0 }')"
    awk -v r="$rps" -v s="$seconds_per_test" 'BEGIN { n = int(r * s / 1000) * 1000; if (n < 10000) n = 10000; print n }'
}

start_time=$SECONDS
past_budget() { ((SECONDS - start_time > budget)); }

# Results of redis-benchmark runs, best round of each server: keyed "NAME|TESTS|PIPELINE|TEST".
declare -A best_rps best_p99 best_cpu

# measure TESTS PIPELINE NAME...: each server once per round, the order reversed every other round; keeps the best.
measure() {
    local tests="$1" pipeline="$2" round name i test rps p99 cpu key
    shift 2
    local -a order=("$@") reversed
    declare -A n_of=()
    for ((round = 1; round <= rounds; round++)); do
        if ((round % 2 == 0)); then
            reversed=()
            for ((i = ${#order[@]} - 1; i >= 0; i--)); do reversed+=("${order[$i]}"); done
            order=("${reversed[@]}")
        fi
        for name in "${order[@]}"; do
            if past_budget; then
                echo "== -t $tests -P $pipeline on $name: skipped, past the ${budget} s budget" >&2
                continue
            fi
            [ -n "${n_of[$name]:-}" ] || n_of[$name]="$(calibrate "$name" "$tests" "$pipeline")"
            echo "== round $round: -t $tests -P $pipeline on $name, -n ${n_of[$name]}" >&2
            while read -r test rps p99 cpu; do
                echo "   $test $rps req/s, p99 $p99 ms, $cpu CPU µs/req" >&2
                key="$name|$tests|$pipeline|$test"
                if ((rps > ${best_rps[$key]:-0})); then
                    best_rps[$key]="$rps"
                    best_cpu[$key]="$cpu"
                fi
                if [ -z "${best_p99[$key]:-}" ] || awk -v a="$p99" -v b="${best_p99[$key]}" 'BEGIN { exit !(a < b) }'; then
                    best_p99[$key]="$p99"
                fi
            done < <(run_one "$name" "$tests" "$pipeline" "${n_of[$name]}")
        done
    done
}

# The matrix mode: the table of the earlier runs in docs/benchmarks.md, unchanged in what it starts and runs.
run_matrix() {
    start_server redis redis --appendonly no
    start_server redis-aof-always redis --appendonly yes --appendfsync always
    start_server l1 cachesrvd --log-level warning --tiers l1 --l1-max-entries 200000
    start_server everysec cachesrvd --log-level warning --fsync everysec --l1-max-entries 200000
    start_server small-l1 cachesrvd --log-level warning --fsync everysec --l1-max-entries 10000
    start_server always cachesrvd --log-level warning --fsync always --l1-max-entries 200000
    write_sets "$work/keys.resp" "$keyspace" xxx
    local name pipeline test pair
    for name in "${servers[@]}"; do
        echo "== filling $name with $keyspace keys" >&2
        pipe_into "$name" "$work/keys.resp"
        drain "$name"
    done
    declare -A label=(
        [l1]="--tiers l1, L1 200000"
        [everysec]="l1,l2,l3, --fsync everysec, L1 200000"
        [small-l1]="l1,l2,l3, --fsync everysec, L1 10000 (L2 5000)"
        [always]="l1,l2,l3, --fsync always, L1 200000"
    )
    local -a rows=() pairs
    start_time=$SECONDS
    for pipeline in 1 16; do
        for test in PING_INLINE SET GET; do
            pairs=("redis:l1" "redis:everysec" "redis:small-l1")
            [ "$test" = SET ] && pairs+=("redis-aof-always:always")
            measure "$test" "$pipeline" redis l1 everysec small-l1 $([ "$test" = SET ] && echo redis-aof-always always)
            for pair in "${pairs[@]}"; do
                local r="${pair%%:*}|$test|$pipeline|$test" c="${pair##*:}|$test|$pipeline|$test"
                local ratio redis_label="redis"
                ratio="$(awk -v a="${best_rps[$c]:-0}" -v b="${best_rps[$r]:-0}" \
                    'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }')"
                [ "${pair%%:*}" = redis-aof-always ] && redis_label="redis, appendfsync always"
                rows+=("| $test | $pipeline | ${label[${pair##*:}]} | $redis_label | ${best_rps[$r]:--} | ${best_rps[$c]:--} | $ratio | ${best_cpu[$r]:--} | ${best_cpu[$c]:--} |")
            done
        done
    done
    echo
    echo "redis-benchmark -s SOCKET --csv -c $clients -r $keyspace -P {1,16} -t TEST -n N (N sized for ~${seconds_per_test} s),"
    echo "best of $rounds rounds (server order reversed every other round);"
    echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), client and servers on the same cores;"
    echo "redis-server $(redis-server --version | awk '{ print $3 }' | sed 's/v=//'), cachesrvd at $(git rev-parse --short HEAD 2>/dev/null || echo '?')\
$(git diff --quiet HEAD -- Sources 2>/dev/null || echo ' (Sources modified)') ${extra_args[*]:-}; $(date -u '+%Y-%m-%d %H:%M UTC'); $((SECONDS - start_time)) s."
    echo
    echo "| test | -P | cachesrvd configuration | against | redis req/s | cachesrvd req/s | cachesrvd/redis | redis CPU µs/req | cachesrvd CPU µs/req |"
    echo "|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
}

if [ "$mode" = matrix ]; then
    echo "== starting servers in $work" >&2
    run_matrix
    exit 0
fi

# ---- goal mode ----

# The options that give cachesrvd an L1 able to hold COUNT entries: --l1-max-entries, and a generous
# --l1-max-memory (bytes) when this binary has that option.
big_l1() {
    local count="$1"
    local -a options=(--l1-max-entries "$count")
    has_option l1-max-memory && options+=(--l1-max-memory 17179869184)
    echo "${options[*]}"
}
l1_for_keyspace="$(big_l1 "$keyspace")"
l1_for_entries="$(big_l1 "$entries")"

declare -a rows cpu_rows

# row_text WORK REDIS_VALUE CACHESRVD_VALUE UNIT KIND GOAL: one row of the goal table. KIND is "higher" (ratio
# cachesrvd/redis, at least GOAL), "lower" (cachesrvd/redis, at most GOAL) or "time" (redis/cachesrvd: the throughput
# of a timed job, at least GOAL); GOAL "-" makes the row information only. A value "-" (skipped or failed) gives no
# ratio and "no".
row_text() {
    local work_label="$1" r="$2" c="$3" unit="$4" kind="$5" goal="$6" cells
    cells="$(awk -v r="$r" -v c="$c" -v unit="$unit" -v kind="$kind" -v goal="$goal" 'BEGIN {
        info = (goal == "-")
        rv = (r == "-" ? "-" : r unit); cv = (c == "-" ? "-" : c unit)
        if (r == "-" || c == "-" || r + 0 <= 0 || c + 0 <= 0) { ratio = "-"; met = (info ? "-" : "no") }
        else {
            x = (kind == "time" ? r / c : c / r)
            ratio = sprintf("%.2fx", x)
            if (info) met = "-"
            else if (kind == "lower") met = (x <= goal ? "yes" : "no")
            else met = (x >= goal ? "yes" : "no")
        }
        g = (info ? "(information)" : (kind == "lower" ? "at most " goal "x" : "at least " goal "x"))
        printf "%s | %s | %s | %s | %s", rv, cv, ratio, g, met
    }')"
    echo "| $work_label | $cells |"
}
add_row() { rows+=("$(row_text "$@")"); }

# bench_row WORK TESTS PIPELINE TEST REDIS CACHESRVD GOAL: the requests/s row of a measurement, and its CPU row
# (one per measurement: a run of -t set,get gives one CPU figure for both tests).
bench_row() {
    local work_label="$1" tests="$2" pipeline="$3" test="$4" r="$5" c="$6" goal="$7"
    local rk="$r|$tests|$pipeline|$test" ck="$c|$tests|$pipeline|$test"
    add_row "$work_label: requests/s" "${best_rps[$rk]:--}" "${best_rps[$ck]:--}" "" higher "$goal"
    [ "${tests%%,*}" = "${test,,}" ] || return 0
    cpu_rows+=("| $work_label$([ "$tests" = "${test,,}" ] || echo " (-t $tests)") | ${best_cpu[$rk]:--} | ${best_cpu[$ck]:--} |")
}

echo "== starting servers in $work" >&2
# The servers of the redis-benchmark rows, each filled with the keys redis-benchmark's -r $keyspace names.
start_server redis-aof redis --appendonly yes --appendfsync everysec
start_server redis-always redis --appendonly yes --appendfsync always
start_server redis-memory redis --appendonly no
start_server cachesrvd-default cachesrvd
cachesrvd_version="$(redis-cli -s "${sock_of[cachesrvd-default]}" INFO server | tr -d '\r' |
    awk -F: '$1 == "cachesrvd_version" { print $2 }')"
start_server cachesrvd-always cachesrvd --fsync always
start_server cachesrvd-small-l1 cachesrvd --l1-max-entries "$small_l1"
start_server cachesrvd-memory cachesrvd --tiers l1 $l1_for_keyspace
write_sets "$work/keys.resp" "$keyspace" xxx
for name in "${servers[@]}"; do
    echo "== filling $name with $keyspace keys (key:000000000000 ..., value xxx)" >&2
    pipe_into "$name" "$work/keys.resp"
    drain "$name"
done
configurations=()
for name in "${servers[@]}"; do configurations+=("| $name | \`$(describe_server "$name")\` |"); done

measure set 1 redis-aof cachesrvd-default redis-always cachesrvd-always redis-memory cachesrvd-memory
measure set 16 redis-aof cachesrvd-default redis-memory cachesrvd-memory
measure get 1 redis-aof cachesrvd-small-l1 redis-memory cachesrvd-memory
measure get 16 redis-memory cachesrvd-memory
measure set,get 1 redis-aof cachesrvd-default
stop_servers 60 "${servers[@]}" || true

bench_row "SET, $clients clients, default persistence" set 1 SET redis-aof cachesrvd-default 0.8
bench_row "SET, $clients clients, -P 16, default persistence" set 16 SET redis-aof cachesrvd-default 0.5
pipe_row_index=${#rows[@]}
rows+=("") # the --pipe row, filled in below
bench_row "SET, $clients clients, always: appendfsync always / --fsync always" set 1 SET redis-always cachesrvd-always 1.0
bench_row "GET, $clients clients, keys only on disk (cachesrvd L1 $small_l1 entries)" get 1 GET redis-aof \
    cachesrvd-small-l1 0.5
bench_row "SET, $clients clients, memory only" set 1 SET redis-memory cachesrvd-memory 1.0
bench_row "GET, $clients clients, memory only" get 1 GET redis-memory cachesrvd-memory 1.0
bench_row "SET, $clients clients, -P 16, memory only" set 16 SET redis-memory cachesrvd-memory 0.8
bench_row "GET, $clients clients, -P 16, memory only" get 16 GET redis-memory cachesrvd-memory 0.8

# Resident memory: fresh memory-only servers filled by --pipe with $entries distinct keys, then VmRSS.
entries_file="$work/entries.resp"
write_sets "$entries_file" "$entries" url
last_key="$(printf 'key:%012d' $((entries - 1)))"
last_value="$(awk -v i=$((entries - 1)) 'BEGIN { printf "http://10.%d.%d.%d:3128", int(i / 65536) % 256, int(i / 256) % 256, i % 256 }')"
entries_label="$(sed ':a; s/\B[0-9]\{3\}\>/,&/; ta' <<<"$entries")" # 1000000 -> 1,000,000
mem_r="-" mem_c="-" mem_pipe_r="-" mem_pipe_c="-"
if past_budget; then
    echo "== resident memory: skipped, past the ${budget} s budget" >&2
else
    start_server redis-memory-full redis --appendonly no
    start_server cachesrvd-memory-full cachesrvd --tiers l1 $l1_for_entries
    configurations+=("| redis-memory-full | \`$(describe_server redis-memory-full)\` |")
    configurations+=("| cachesrvd-memory-full | \`$(describe_server cachesrvd-memory-full)\` |")
    for name in redis-memory-full cachesrvd-memory-full; do
        echo "== filling $name with $entries entries" >&2
        pipe_into "$name" "$entries_file"
        drain "$name"
        echo "   $pipe_seconds s; VmRSS $(rss_kib "${pid_of[$name]}") KiB" >&2
        if [ "${kind_of[$name]}" = redis ]; then mem_pipe_r="$pipe_seconds"; else mem_pipe_c="$pipe_seconds"; fi
    done
    [ "$(redis-cli -s "${sock_of[cachesrvd-memory-full]}" GET key:000000000000)" = "http://10.0.0.0:3128" ] \
        || fail_server cachesrvd-memory-full "lost key:000000000000 with an L1 of $entries entries"
    mem_r="$(awk -v k="$(rss_kib "${pid_of[redis-memory-full]}")" 'BEGIN { printf "%.1f", k / 1024 }')"
    mem_c="$(awk -v k="$(rss_kib "${pid_of[cachesrvd-memory-full]}")" 'BEGIN { printf "%.1f", k / 1024 }')"
    stop_server redis-memory-full || true
    stop_server cachesrvd-memory-full || true
fi

# --pipe of $entries SETs at default persistence, on fresh servers each round; the last round's servers then
# give the resident memory at defaults and are restarted.
pipe_r="" pipe_c="" cpu_pipe_r="-" cpu_pipe_c="-" def_mem_r="-" def_mem_c="-"
for ((round = 1; round <= rounds; round++)); do
    if past_budget; then
        echo "== --pipe round $round: skipped, past the ${budget} s budget" >&2
        continue
    fi
    order=(redis-aof-full cachesrvd-default-full)
    ((round % 2 == 0)) && order=(cachesrvd-default-full redis-aof-full)
    for name in redis-aof-full cachesrvd-default-full; do
        stop_server "$name" 60 || true
        rm -rf "${work:?}/$name" "$work/$name.log"
    done
    if ((round == 1)); then
        start_server redis-aof-full redis --appendonly yes --appendfsync everysec
        start_server cachesrvd-default-full cachesrvd
        configurations+=("| redis-aof-full | \`$(describe_server redis-aof-full)\` |")
        configurations+=("| cachesrvd-default-full | \`$(describe_server cachesrvd-default-full)\` |")
    else
        for name in redis-aof-full cachesrvd-default-full; do
            mkdir -p "$work/$name"
            launch "$name"
            wait_ready "$name"
        done
    fi
    for name in "${order[@]}"; do
        echo "== round $round: --pipe of $entries SETs into $name" >&2
        before="$(cpu_ticks "${pid_of[$name]}")"
        pipe_into "$name" "$entries_file"
        t0="$(now_ns)"
        drain "$name"
        cpu="$(awk -v d="$(($(cpu_ticks "${pid_of[$name]}") - before))" -v n="$entries" -v hz="$(getconf CLK_TCK)" \
            'BEGIN { printf "%.2f", d * 1e6 / hz / n }')"
        echo "   $pipe_seconds s, then $(awk -v a="$t0" -v b="$(now_ns)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }') s of background work; $cpu CPU µs/SET" >&2
        if [ "${kind_of[$name]}" = redis ]; then
            if [ -z "$pipe_r" ] || awk -v a="$pipe_seconds" -v b="$pipe_r" 'BEGIN { exit !(a < b) }'; then
                pipe_r="$pipe_seconds"
                cpu_pipe_r="$cpu"
            fi
            def_mem_r="$(awk -v k="$(rss_kib "${pid_of[$name]}")" 'BEGIN { printf "%.1f", k / 1024 }')"
        else
            if [ -z "$pipe_c" ] || awk -v a="$pipe_seconds" -v b="$pipe_c" 'BEGIN { exit !(a < b) }'; then
                pipe_c="$pipe_seconds"
                cpu_pipe_c="$cpu"
            fi
            def_mem_c="$(awk -v k="$(rss_kib "${pid_of[$name]}")" 'BEGIN { printf "%.1f", k / 1024 }')"
        fi
    done
done
rows[pipe_row_index]="$(row_text "\`redis-cli --pipe\` of $entries_label SETs, default persistence: seconds" \
    "${pipe_r:--}" "${pipe_c:--}" " s" time 0.5)"
cpu_rows+=("| \`redis-cli --pipe\` of $entries_label SETs, default persistence (with the background work after it) | $cpu_pipe_r | $cpu_pipe_c |")
add_row "resident memory with $entries_label entries set by SET, memory only (cachesrvd --tiers l1): MiB" \
    "$mem_r" "$mem_c" " MiB" lower 2
add_row "resident memory with $entries_label entries set by SET, default persistence (cachesrvd defaults): MiB" \
    "$def_mem_r" "$def_mem_c" " MiB" lower -
add_row "\`redis-cli --pipe\` of $entries_label SETs, memory only: seconds" "$mem_pipe_r" "$mem_pipe_c" " s" time -

# Restart: both stopped gracefully (SIGTERM: redis syncs its AOF, cachesrvd drains its writers), then each started
# alone and timed from its start until GET of the last key written answers with that key's value.
restart_seconds=""
timed_restart() {
    local name="$1" t0 out i
    t0="$(now_ns)"
    launch "$name"
    for ((i = 0; i < 60000; i++)); do
        out="$(redis-cli -s "${sock_of[$name]}" GET "$last_key" 2>/dev/null || true)"
        [ "$out" = "$last_value" ] && break
        kill -0 "${pid_of[$name]}" 2>/dev/null || fail_server "$name" "exited during the restart"
        sleep 0.01
    done
    [ "$out" = "$last_value" ] || fail_server "$name" "GET $last_key did not answer $last_value within 10 minutes"
    restart_seconds="$(awk -v a="$t0" -v b="$(now_ns)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
}
restart_r="" restart_c=""
if [ -n "${pid_of[redis-aof-full]:-}" ] && [ -n "${pid_of[cachesrvd-default-full]:-}" ]; then
    for name in redis-aof-full cachesrvd-default-full; do
        stop_server "$name" 600 || fail_server "$name" "a graceful stop was needed for the restart"
    done
    echo "== redis's AOF: $(du -sh "$work/redis-aof-full" | cut -f1) ($(ls "$work/redis-aof-full"/appendonlydir 2>/dev/null | tr '\n' ' '))," \
        "cachesrvd's data directory: $(du -sh "$work/cachesrvd-default-full" | cut -f1)" >&2
    for ((round = 1; round <= rounds; round++)); do
        order=(redis-aof-full cachesrvd-default-full)
        ((round % 2 == 0)) && order=(cachesrvd-default-full redis-aof-full)
        for name in "${order[@]}"; do
            if past_budget && ((round > 1)); then
                echo "== restart round $round of $name: skipped, past the ${budget} s budget" >&2
                continue
            fi
            timed_restart "$name"
            echo "== round $round: $name answered GET $last_key after $restart_seconds s" >&2
            if [ "${kind_of[$name]}" = redis ]; then
                if [ -z "$restart_r" ] || awk -v a="$restart_seconds" -v b="$restart_r" 'BEGIN { exit !(a < b) }'; then
                    restart_r="$restart_seconds"
                fi
            elif [ -z "$restart_c" ] || awk -v a="$restart_seconds" -v b="$restart_c" 'BEGIN { exit !(a < b) }'; then
                restart_c="$restart_seconds"
            fi
            stop_server "$name" 600 || fail_server "$name" "a graceful stop was needed for the restart"
        done
    done
fi
add_row "restart with $entries_label entries (default persistence) until GET of the last key answers: seconds" \
    "${restart_r:--}" "${restart_c:--}" " s" lower 2

defaults="$clients clients over $keyspace keys, every setting at its default"
bench_row "SET, $defaults" set,get 1 SET redis-aof cachesrvd-default 0.8
bench_row "GET, $defaults" set,get 1 GET redis-aof cachesrvd-default 0.8
for test in SET GET; do
    add_row "$test, $defaults: p99 latency" "${best_p99[redis-aof|set,get|1|$test]:--}" \
        "${best_p99[cachesrvd-default|set,get|1|$test]:--}" " ms" lower 2
done

# ---- the report ----
cachesrvd_commit="$(git rev-parse --short HEAD 2>/dev/null || echo '?')"
git diff --quiet HEAD -- Sources Package.swift 2>/dev/null || cachesrvd_commit+=" with uncommitted changes to Sources"
if [ -n "${CACHESRVD_BIN:-}" ]; then
    cachesrvd_commit="binary $CACHESRVD_BIN (given; the work tree is at $cachesrvd_commit)"
else
    cachesrvd_commit="built from commit $cachesrvd_commit"
fi
echo "# cachesrvd against redis-server: issue 8's goal table"
echo
echo "- command: \`$command_line\`"
echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), Linux $(uname -r)," \
    "$(awk '/^MemTotal:/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo), temporary directory on" \
    "$(df --output=fstype,source "$work" | tail -n 1 | awk '{ print $1 " (" $2 ")" }'); load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- $(redis-server --version | sed 's/ sha=[^ ]*//; s/ build=.*//'); cachesrvd ${cachesrvd_version:-?}," \
    "$cachesrvd_commit"
echo "- $(date -u '+%Y-%m-%d %H:%M UTC'), $((SECONDS - start_time)) s of measuring; best of $rounds round(s)," \
    "redis-benchmark -n sized for about $seconds_per_test s per run; client and servers share the same cores"
echo "- default persistence: redis-server \`--appendonly yes --appendfsync everysec --save ''\` (AOF, no RDB" \
    "snapshots) against cachesrvd with no options (all tiers, \`--fsync everysec\`); memory only: redis-server" \
    "\`--appendonly no --save ''\` against cachesrvd \`--tiers l1\` with an L1 that holds every key"
echo "- ratio: cachesrvd/redis-server, except for \`--pipe\` (redis's time/cachesrvd's: throughput)"
echo
echo "| work | redis-server | cachesrvd | ratio | goal | met |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "CPU of the server per request, µs (utime+stime from /proc/PID/stat, with the background work after the run):"
echo
echo "| work | redis-server | cachesrvd |"
echo "|---|---|---|"
printf '%s\n' "${cpu_rows[@]}"
echo
echo "The servers (S: the socket, D: the data directory, both in the temporary directory):"
echo
echo "| server | command line |"
echo "|---|---|"
printf '%s\n' "${configurations[@]}"
