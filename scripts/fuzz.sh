#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/, docs/fuzzing.md) with AddressSanitizer in .build-fuzz and runs each for a
# bounded time. Exits non-zero if any run found a crash, a trapped invariant, a hang or a memory blow-up; the input
# that did it is left in $FUZZ_ARTIFACTS (default .build-fuzz/artifacts/) and its path is printed.
#
#   scripts/fuzz.sh [--seconds N] [run ...]
#
# Runs: request-parser, commands (memory-only cache), commands-sqlite (real L2/L3 SQLite files), commands-jsonl,
# connection (the whole ConnectionHandler on an EmbeddedChannel, and that it is freed after the channel closes).
# Default runs: request-parser commands commands-sqlite connection. Settings (environment, or --seconds):
#   FUZZ_SECONDS   seconds per run (60)
#   FUZZ_RSS_MB    resident memory limit per run, MB, also the largest single allocation allowed (2048)
#   FUZZ_TIMEOUT   seconds one input may take before it counts as a hang (10)
#   FUZZ_MAX_LEN   longest input, bytes (20000)
#   FUZZ_ARTIFACTS where crashing inputs go (.build-fuzz/artifacts/)
#   FUZZ_BUILD=0   skip the build (use the binaries already in .build-fuzz)
# Reproduce a failure: .build-fuzz/release/fuzz-<target> <artifact> (set CACHESRVD_FUZZ_TIERS for commands-*).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

seconds="${FUZZ_SECONDS:-60}"
runs=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --seconds=*) seconds="${1#--seconds=}"; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) runs+=("$1"); shift ;;
    esac
done
[ ${#runs[@]} -gt 0 ] || runs=(request-parser commands commands-sqlite connection)
rss_mb="${FUZZ_RSS_MB:-2048}"
timeout_s="${FUZZ_TIMEOUT:-10}"
max_len="${FUZZ_MAX_LEN:-20000}"
artifacts="${FUZZ_ARTIFACTS:-.build-fuzz/artifacts/}"
scratch=.build-fuzz

build() {
    # Its own scratch path: the sanitized build never touches .build. `--sanitize=fuzzer` makes SwiftPM link
    # libFuzzer's main instead of the target's; the later `-sanitize=fuzzer,address` is what the compiler applies, as
    # swiftc keeps only the last -sanitize flag (`--sanitize=fuzzer --sanitize=address` would leave the libraries
    # without coverage). lld: gold warns about ASan's local symbols.
    CACHESRVD_FUZZ=1 CACHESRVD_WERROR="${CACHESRVD_WERROR:-0}" nice -n 10 swift build \
        --scratch-path "$scratch" -c release --sanitize=fuzzer \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -use-ld=lld \
        --product "$1"
}

declare -A target=(
    [request-parser]=fuzz-request-parser [commands]=fuzz-commands
    [commands-sqlite]=fuzz-commands [commands-jsonl]=fuzz-commands [connection]=fuzz-connection
)
declare -A tiers=([commands]=memory [commands-sqlite]=sqlite [commands-jsonl]=jsonl)
for run in "${runs[@]}"; do
    [ -n "${target[$run]:-}" ] || { echo "unknown run '$run' (request-parser, commands, commands-sqlite, commands-jsonl, connection)" >&2; exit 2; }
done

if [ "${FUZZ_BUILD:-1}" != 0 ]; then
    built=""
    for run in "${runs[@]}"; do
        case " $built " in *" ${target[$run]} "*) continue ;; esac
        echo "== fuzz: building ${target[$run]}"
        build "${target[$run]}"
        built="$built ${target[$run]}"
    done
fi

mkdir -p "$artifacts"
failed=()
for run in "${runs[@]}"; do
    binary="$scratch/release/${target[$run]}"
    seeds="Fuzz/corpus/${target[$run]#fuzz-}"
    [ "$run" != connection ] || seeds=Fuzz/corpus/request-parser   # the same input layout
    corpus="$scratch/corpus/$run"   # grows as the fuzzer finds new paths; the committed seeds stay as they are
    mkdir -p "$corpus"
    data=""
    if [ -n "${tiers[$run]:-}" ] && [ "${tiers[$run]}" != memory ]; then
        data="$(mktemp -d "${TMPDIR:-/tmp}/cachesrvd-fuzz-XXXXXX")"
    fi
    echo "== fuzz: $run for ${seconds}s (rss limit ${rss_mb} MB, timeout ${timeout_s}s)"
    status=0
    CACHESRVD_FUZZ_TIERS="${tiers[$run]:-memory}" CACHESRVD_FUZZ_DATA_DIR="$data" \
        timeout -k 30 $((seconds + timeout_s + 120)) nice -n 10 "$binary" "$corpus" "$seeds" \
        -dict=Fuzz/resp.dict \
        -max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb="$rss_mb" -max_len="$max_len" \
        -artifact_prefix="$artifacts$run-" -print_final_stats=1 \
        > "$scratch/$run.log" 2>&1 || status=$?
    [ -z "$data" ] || rm -rf "$data"
    grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$scratch/$run.log" || true
    if [ "$status" != 0 ]; then
        echo "!! fuzz: $run failed (exit $status); log $scratch/$run.log" >&2
        grep -E 'fuzz invariant violated|ERROR: (libFuzzer|AddressSanitizer)|Fatal error|Test unit written to' \
            "$scratch/$run.log" | head -n 20 >&2 || true
        failed+=("$run")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "!! fuzz: failures in ${failed[*]}; crashing inputs are in $artifacts" >&2
    exit 1
fi
echo "== fuzz: no failures"
