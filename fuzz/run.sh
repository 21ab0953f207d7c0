#!/bin/sh
# fuzz/run.sh — run libFuzzer targets built by `make fuzz` (see README.md).
#
#   sh fuzz/run.sh smoke SECONDS TARGET...   each target for SECONDS, from
#       its seed corpus; new inputs go to a temporary directory that is
#       deleted afterwards. Exit status 1 if any target found anything.
#   sh fuzz/run.sh long SECONDS TARGET       one target for SECONDS; the
#       corpus it grows is kept in build/fuzz/corpus/TARGET for the next
#       run. FUZZ_JOBS=n (n > 1) runs n fuzzing processes (-fork=n).
#
# A finding (crash, leak, sanitizer report, timeout, out-of-memory) is
# saved under build/fuzz/artifacts/TARGET/ and replayed with
#   make fuzz-repro TARGET=TARGET FILE=build/fuzz/artifacts/TARGET/<file>
set -u
cd "$(dirname "$0")/.."

mode=$1
secs=$2
shift 2
targets="$*"
B=build/fuzz
status=0
start=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wsfuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# abort_on_error: a sanitizer report ends the process the way libFuzzer
# expects, so the input is saved. UBSan stops at the first report
# (-fno-sanitize-recover) and prints where.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

for t in $targets; do
    bin=$B/$t
    art=$B/artifacts/$t/
    if [ ! -x "$bin" ]; then
        echo "fuzz: $bin missing: run make fuzz" >&2
        exit 2
    fi
    mkdir -p "$art"
    if [ "$mode" = smoke ]; then
        work=$tmp/$t
    else
        work=$B/corpus/$t
    fi
    mkdir -p "$work"
    set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -error_exitcode=77 -timeout_exitcode=77 -print_final_stats=1 \
        -artifact_prefix="$art"
    if [ -f "fuzz/$t.dict" ]; then
        set -- "$@" -dict="fuzz/$t.dict"
    fi
    if [ "$mode" != smoke ] && [ "${FUZZ_JOBS:-1}" -gt 1 ]; then
        set -- "$@" -fork="$FUZZ_JOBS"
    fi
    log=$B/$t.log
    echo "fuzz: $t for ${secs}s (log: $log)"
    if nice "$bin" "$@" "$work" "fuzz/corpus/$t" >"$log" 2>&1; then
        # The last status line has coverage and corpus size; the final
        # stats have executions and speed.
        grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | sed 's/^/  /'
        grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' \
            "$log" | sed 's/^/  /'
    else
        status=1
        echo "fuzz: $t FAILED. End of $log:" >&2
        tail -n 40 "$log" >&2
        find "$art" -type f -newer "$tmp" | while read -r f; do
            echo "fuzz: reproduce with: make fuzz-repro TARGET=$t FILE=$f" >&2
        done
    fi
done
echo "fuzz: $mode run took $(($(date +%s) - start))s"
exit $status
