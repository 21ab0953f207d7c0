#!/bin/sh
# bench.sh — the messenger's round-trip figures (make messenger-bench, part
# of make bench): for each --fsync mode a fresh messenger-server (temporary
# data directory on the build's file system, --port 0), then bench_messenger
# with 1 and with 100 clients; prints a table. Servers are stopped by PID.
#
#   sh examples/messenger/tests/bench.sh SERVER BENCH [DURATION]
set -u
SERVER=$1
BENCH=$2
DURATION=${3:-2}
# Data on the build's disk (not a tmpfs /tmp), so fsync costs what it costs.
WORK=$(mktemp -d "$(dirname "$BENCH")/bench-data.XXXXXX") || exit 1
PID=
cleanup() {
    if [ -n "$PID" ]; then
        kill "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

status=0
ROWS=""
for mode in always batch never; do
    mkdir -p "$WORK/$mode"
    "$SERVER" --host 127.0.0.1 --port 0 --data-dir "$WORK/$mode" --fsync "$mode" \
        >"$WORK/$mode.out" 2>"$WORK/$mode.err" &
    PID=$!
    port=
    for _ in $(seq 1 100); do
        port=$(sed -n 's/^messenger-server listening on .*:\([0-9]*\)$/\1/p' "$WORK/$mode.out")
        [ -n "$port" ] && break
        sleep 0.05
    done
    if [ -z "$port" ]; then
        echo "bench.sh: messenger-server --fsync $mode did not start:" >&2
        cat "$WORK/$mode.err" >&2
        exit 1
    fi
    # Disjoint IDs: the 1-client run's ID may not be released yet when the
    # 100-client run associates.
    for clients in 1 100; do
        if [ "$clients" = 1 ]; then base=200; else base=0; fi
        line=$("$BENCH" --port "$port" --clients "$clients" --duration "$DURATION" --id-base "$base")
        if [ $? -ne 0 ] || [ -z "$line" ]; then
            echo "bench.sh: bench_messenger failed (--fsync $mode, $clients clients)" >&2
            status=1
            continue
        fi
        set -- $line # clients N push/s X get/s Y ...
        ROWS="$ROWS$(printf '%-8s %8s %12s %12s' "$mode" "$2" "$4" "$6")
"
    done
    kill "$PID"
    wait "$PID"
    PID=
done

echo "messenger: round trips per second (one request in flight per client,"
echo "32-byte payloads, ${DURATION} s per figure, server and clients on loopback)"
printf '%-8s %8s %12s %12s\n' fsync clients push/s get/s
printf '%s' "$ROWS"
exit $status
