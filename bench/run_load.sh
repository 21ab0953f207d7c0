#!/bin/sh
# run_load.sh — the load table of `make bench`: wsecho and, in the same run,
# tcpecho (the same event loop in raw mode, no protocol: the ceiling), both
# driven by bench/wsload over loopback, the server on CPU 0 and wsload on
# CPU 1. Every measurement gets a fresh server process (no state, no pool
# or heap left from the previous one), the two servers take turns, and
# each figure is the median of the runs with their spread (min-max).
# Then wsecho with permessage-deflate against without, on a JSON echo
# workload (wsload --json, with and without --deflate), the same way.
# Prints Markdown tables (see bench/PERFORMANCE.md).
#
#   sh bench/run_load.sh --wsload PATH --tcpecho PATH --wsecho PATH
#                        [--smoke] [--time SEC] [--runs N] [--idle N]
#
# Each server is started with --port 0, its port read from the line it
# prints, and it is stopped by its PID when it is no longer needed or when
# the script ends, however it ends. --smoke: a second of small load and a
# hundred idle connections against each server, checking only that every
# message came back in order and every connection was held (no timings).
set -eu
here=$(cd "$(dirname "$0")" && pwd) # bench/: stats.awk, the tables' helpers

time=3 runs=5 idle=10000 smoke=0 warmup=0.5
wsload= tcpecho= wsecho=
while [ $# -gt 0 ]; do
    case $1 in
    --wsload) wsload=$2; shift 2 ;;
    --tcpecho) tcpecho=$2; shift 2 ;;
    --wsecho) wsecho=$2; shift 2 ;;
    --time) time=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    --smoke) smoke=1; shift ;;
    *) echo "usage: run_load.sh --wsload PATH --tcpecho PATH --wsecho PATH" \
            "[--smoke] [--time SEC] [--runs N] [--idle N]" >&2; exit 2 ;;
    esac
done
if [ "$smoke" = 0 ] && [ "$runs" -lt 5 ]; then
    echo "run_load: --runs must be at least 5 (a median and a spread)" >&2
    exit 2
fi
for b in "$wsload" "$tcpecho" "$wsecho"; do
    [ -x "$b" ] || { echo "run_load: not an executable: '$b'" >&2; exit 2; }
done
if [ "$smoke" = 1 ]; then
    time=0.5 runs=1 idle=100 warmup=0.2
fi

tmp=$(mktemp -d)
prog=run_load
. "$here/servers.sh" # start, stop, cleanup, pinning, busy_now

# start NAME PROGRAM: a server on a free port, waiting for "NAME listening
# on 127.0.0.1:PORT"; sets $pid and $port.
start_echo() {
    name=$1
    start "$name" "^$name listening on 127\.0\.0\.1:[0-9]+\$" "$2" \
        --host 127.0.0.1 --port 0
    port=${line##*:}
}

# load TAG SERVER_PID ARGS...: one wsload run; its key=value line, tagged,
# goes to $tmp/results. A failed run (errors, no server) ends the script.
load() {
    tag=$1
    spid=$2
    shift 2
    measure "$tag" "wsload $*" \
        "$wsload" $cpu_opt --spin --kv --pid "$spid" "$@"
}

busy=0 busy_after=0
[ "$smoke" = 0 ] && busy=$(busy_now)

: >"$tmp/results"
if [ "$smoke" = 1 ]; then
    workloads="4:4:4K"
else
    workloads="1:1:16 100:1:16 100:1:4K 10:1:1M"
fi

# The servers' runs take turns (ws first on odd runs, tcp first on even),
# so a slow spell of a shared machine falls on both sides of a ratio; each
# run has a server of its own, started for it and stopped after it.
w=0
for spec in $workloads; do
    w=$((w + 1))
    c=${spec%%:*} rest=${spec#*:}
    inflight=${rest%%:*} size=${rest#*:}
    args="-c $c -w $inflight -s $size -d $time --warmup $warmup"
    r=1
    while [ $r -le "$runs" ]; do
        if [ $((r % 2)) = 1 ]; then order="ws tcp"; else order="tcp ws"; fi
        for s in $order; do
            if [ $s = ws ]; then
                start_echo wsecho "$wsecho"
                load "load $w ws" "$pid" --port "$port" $args
            else
                start_echo tcpecho "$tcpecho"
                load "load $w tcp" "$pid" --port "$port" --raw $args
            fi
            stop "$pid"
        done
        r=$((r + 1))
    done
done

# permessage-deflate: wsecho (it accepts the offer by default) with JSON
# payloads, plain and compressed runs taking turns, a fresh server each.
if [ "$smoke" = 1 ]; then
    dworkloads="4:4:4K"
else
    dworkloads="100:1:1K 10:1:16K"
fi
w=0
for spec in $dworkloads; do
    w=$((w + 1))
    c=${spec%%:*} rest=${spec#*:}
    inflight=${rest%%:*} size=${rest#*:}
    args="-c $c -w $inflight -s $size -d $time --warmup $warmup --json"
    r=1
    while [ $r -le "$runs" ]; do
        if [ $((r % 2)) = 1 ]; then order="plain on"; else order="on plain"; fi
        for s in $order; do
            start_echo wsecho "$wsecho"
            if [ $s = on ]; then
                load "deflate $w on" "$pid" --port "$port" --deflate $args
            else
                load "deflate $w plain" "$pid" --port "$port" $args
            fi
            stop "$pid"
        done
        r=$((r + 1))
    done
done

# Idle connections against fresh servers, so that memory freed by the load
# runs cannot be reused for connections and hide their cost.
hold=2
[ "$smoke" = 1 ] && hold=0.2
start_echo wsecho "$wsecho"
load "idle ws" "$pid" --port "$port" --idle "$idle" --hold "$hold"
stop "$pid"
start_echo tcpecho "$tcpecho"
load "idle tcp" "$pid" --port "$port" --raw --idle "$idle" --hold "$hold"
stop "$pid"

if [ "$smoke" = 1 ]; then
    awk '{ for (i = 3; i <= NF; i++) if ($i ~ /^(mode|msgs|held|errors)=/) \
           printf "%s ", $i; printf "(%s)\n", $1 }' "$tmp/results" |
        sed 's/^/run_load: smoke: /'
    echo "run_load: smoke: every echo came back in order, every connection held"
    exit 0
fi

[ "$smoke" = 0 ] && busy_after=$(busy_now)
model=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
echo "loadbench: wsecho against tcpecho, loopback, ${model:-unknown CPU}," \
    "$(date -u +%Y-%m-%d)"
echo "$pinned; wsload polls without sleeping (--spin);" \
    "each figure: median (and min-max) of $runs runs of $time s after a" \
    "$warmup s warm-up, a fresh server process for every run"
busy_warning "$busy" "$busy_after"
echo
awk -v idle="$idle" -f "$here/stats.awk" -f - "$tmp/results" <<'EOF'
# A WebSocket echo cannot beat the same loop echoing raw TCP: a ratio
# above 1 is the machine's noise, and is shown as such.
function vs_tcp(r) {
    if (r > 1) return sprintf("≈ 1 (noise: %.2f)", r)
    return sprintf("%.2f", r)
}
$1 == "load" {
    k = $2 SUBSEP $3
    name[$2] = kv("conns") " × " size(kv("size"))
    if (kv("inflight") != 1) name[$2] = name[$2] " × " kv("inflight")
    if ($2 > nw) nw = $2
    add(k SUBSEP "msg", kv("msg_s")); add(k SUBSEP "mb", kv("mb_s"))
    add(k SUBSEP "p50", kv("p50_us")); add(k SUBSEP "p99", kv("p99_us"))
    add(k SUBSEP "cpu", kv("server_cpu")); add(k SUBSEP "self", kv("self_cpu"))
}
$1 == "deflate" {
    k = "d" $2 SUBSEP $3
    dname[$2] = kv("conns") " × " size(kv("size")) " JSON"
    if (kv("inflight") != 1) dname[$2] = dname[$2] " × " kv("inflight")
    if ($2 > nd) nd = $2
    add(k SUBSEP "msg", kv("msg_s")); add(k SUBSEP "mb", kv("mb_s"))
    add(k SUBSEP "p50", kv("p50_us")); add(k SUBSEP "p99", kv("p99_us"))
    add(k SUBSEP "cpu", kv("server_cpu")); add(k SUBSEP "wire", kv("wire_b"))
}
$1 == "idle" {
    s = $2
    held[s] = kv("held"); errs[s] = kv("errors"); rss0[s] = kv("rss_before")
    rss1[s] = kv("rss_idle"); per[s] = kv("per_conn")
}
END {
    print "| workload | wsecho msg/s (min-max) | wsecho MB/s | wsecho p50 / p99 µs | tcpecho msg/s (min-max) | tcpecho MB/s | tcpecho p50 / p99 µs | wsecho / tcpecho msg/s | server CPU % ws / tcp |"
    print "|---|--:|--:|--:|--:|--:|--:|--:|--:|"
    for (w = 1; w <= nw; w++) {
        a = w SUBSEP "ws" SUBSEP; b = w SUBSEP "tcp" SUBSEP
        ws = median(a "msg"); tcp = median(b "msg")
        ratio[w] = tcp > 0 ? ws / tcp : 0
        printf "| %s | %s (%s-%s) | %.2f | %s / %s | %s (%s-%s) | %.2f | %s / %s | %s | %.0f / %.0f |\n",
            name[w], si(ws), si(lo(a "msg")), si(hi(a "msg")),
            median(a "mb"), us(median(a "p50")), us(median(a "p99")),
            si(tcp), si(lo(b "msg")), si(hi(b "msg")), median(b "mb"),
            us(median(b "p50")), us(median(b "p99")), vs_tcp(ratio[w]),
            median(a "cpu"), median(b "cpu")
    }
    print ""
    print "Workload: connections × message size, one message in flight on each connection (the next is sent when its echo is back). wsecho: binary messages, one masked frame each, echoed whole. tcpecho: the same bytes unframed. msg/s: median of the runs, their spread in brackets; every run against a server process started for it. MB/s: 10^6 bytes of payload echoed per second. wsecho / tcpecho: the medians' ratio; above 1 it is noise (the same loop with a protocol on top cannot beat it), shown as ≈ 1. Server CPU: the server's user + system time over the run (100 = one core busy)."
    print ""
    print "| JSON workload | plain msg/s | plain MB/s | plain wire B/msg | plain p50 / p99 µs | deflate msg/s | deflate MB/s | deflate wire B/msg | deflate p50 / p99 µs | wire deflate/plain | server CPU µs/msg plain / deflate |"
    print "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    for (w = 1; w <= nd; w++) {
        a = "d" w SUBSEP "plain" SUBSEP; b = "d" w SUBSEP "on" SUBSEP
        wa = median(a "wire"); wb = median(b "wire")
        printf "| %s | %s | %.2f | %.0f | %s / %s | %s | %.2f | %.0f | %s / %s | %.3f | %.1f / %.1f |\n",
            dname[w], si(median(a "msg")), median(a "mb"), wa,
            us(median(a "p50")), us(median(a "p99")), si(median(b "msg")),
            median(b "mb"), wb, us(median(b "p50")), us(median(b "p99")),
            (wa > 0 ? wb / wa : 0), cpu_us(a), cpu_us(b)
    }
    print ""
    print "permessage-deflate (RFC 7692, the library's codec, level 6, 15-bit windows, context takeover) against none, the same wsecho, JSON records as payload (binary messages), each message another slice of a stream of records. wsload compresses and inflates with the same library (wsload --deflate). Wire B/msg: bytes read and written by wsload per message, each way, frame headers included. Server CPU µs/msg: the server's CPU time per echoed message (it inflates and compresses each one). wsload does as much work with --deflate as the server, on the other core: msg/s is bounded by the slower of the two."
    print ""
    printf "| %s idle connections | held | errors | server VmRSS before | with the connections | per connection |\n", thousands(idle)
    print "|---|--:|--:|--:|--:|--:|"
    split("ws tcp", order, " ")
    for (i = 1; i <= 2; i++) {
        s = order[i]
        printf "| %s | %s | %s | %s | %s | %.0f B |\n",
            s == "ws" ? "wsecho" : "tcpecho", thousands(held[s]), errs[s],
            mib(rss0[s]), mib(rss1[s]), per[s]
    }
    print ""
    print "Each server fresh; N connections opened (WebSocket handshake for wsecho), held 2 s, then one message echoed on each. Per connection: (VmRSS with them − VmRSS before) / N; the kernel's socket memory is not in VmRSS."
    print ""
    print "| target | wanted | this run | |"
    print "|---|--:|--:|---|"
    target("100 × 16 B, wsecho/tcpecho msg/s", ">=", 0.9, ratio[2], "%.2f")
    target("100 × 4 KiB, wsecho/tcpecho msg/s", ">=", 0.95, ratio[3], "%.2f")
    target("10 × 1 MiB, wsecho/tcpecho msg/s", ">=", 0.95, ratio[4], "%.2f")
    target("wsecho memory per idle connection, bytes", "<=", 1024, per["ws"], "%.0f")
    target("idle WebSocket connections held without error", ">=", idle, errs["ws"] == 0 ? held["ws"] : 0, "%d")
}
# Server CPU time per echoed message, µs (CPU % of one core / msg/s).
function cpu_us(k,    m) {
    m = median(k "msg")
    return m > 0 ? median(k "cpu") * 1e4 / m : 0
}
function target(what, cmp, want, got, fmt,    shown) {
    ok = cmp == ">=" ? got >= want : got <= want
    shown = sprintf(fmt, got)
    if (what ~ /tcpecho/ && got > 1) shown = vs_tcp(got)
    printf "| %s | %s %s | %s | %s |\n", what, cmp, want, shown, ok ? "met" : "NOT met"
}
EOF
