#!/bin/sh
# run_tls.sh — the wss:// table of `make bench`: wsecho with --tls-cert
# against wsecho without, the same echo workloads as the load table
# (connections × size, one message in flight on each) and the handshake
# rate, both driven by bench/tlsbench over loopback, the server on CPU 0
# and tlsbench on CPU 1. Prints Markdown tables.
#
#   sh bench/run_tls.sh --tlsbench PATH --wsecho PATH [--smoke]
#                       [--time SEC] [--runs N]
#
# The certificate (ECDSA P-256, self-signed) is made with openssl in a
# temporary directory. --smoke: a short run of each kind, checking only
# that every echo came back and every handshake completed (no timings).
set -eu
here=$(cd "$(dirname "$0")" && pwd) # bench/: stats.awk, the tables' helpers

tmp=$(mktemp -d)
prog=run_tls
. "$here/servers.sh" # options, start, stop, cleanup, pinning, busy_now
bench_args tlsbench wsecho "$@"
tlsbench=$gen wsecho=$server
if ! "$wsecho" --tls-cert /dev/null --tls-key /dev/null 2>&1 |
    grep -q "cannot load"; then
    echo "run_tls: $wsecho was built without TLS (install libssl-dev):" \
        "no wss:// table"
    [ "$smoke" = 1 ] && exit 1
    exit 0
fi
[ "$smoke" = 1 ] && time=0.5 runs=1 warmup=0.2

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 1 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>"$tmp/openssl.err" || {
    cat "$tmp/openssl.err" >&2
    exit 1
}

# start_echo TAG ARGS: wsecho on a free port; sets $pid and $port.
start_echo() {
    tag=$1
    shift
    start "$tag" "^wsecho listening on 127\.0\.0\.1:[0-9]+\$" "$wsecho" \
        --host 127.0.0.1 --port 0 --ping-interval 0 "$@"
    port=${line##*:}
}

# run TAG SCHEME PORT PID ARGS: one tlsbench run, its line tagged into
# $tmp/results; a failed run ends the script.
run() {
    tag=$1 scheme=$2 p=$3 spid=$4
    shift 4
    measure "$tag $scheme" "tlsbench $scheme $*" \
        $gen_pin "$tlsbench" --url "$scheme://127.0.0.1:$p/" --pid "$spid" \
        -d "$time" --warmup "$warmup" "$@"
}

start_echo ws
ws_pid=$pid ws_port=$port
start_echo wss --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem"
wss_pid=$pid wss_port=$port

kex=$(echo | timeout 5 openssl s_client -connect "127.0.0.1:$wss_port" \
    2>/dev/null | sed -n 's/^Server Temp Key: //p' | head -1)

if [ "$smoke" = 1 ]; then
    workloads="4:4K"
    hs_conns=2
else
    workloads="1:16 100:16 100:4K 10:1M"
    hs_conns=8
fi
busy=0
[ "$smoke" = 0 ] && busy=$(busy_now)

: >"$tmp/results"
w=0
for spec in $workloads; do
    w=$((w + 1))
    c=${spec%%:*} size=${spec#*:}
    r=1
    while [ $r -le "$runs" ]; do # turns: ws first on odd runs
        if [ $((r % 2)) = 1 ]; then order="ws wss"; else order="wss ws"; fi
        for s in $order; do
            if [ $s = ws ]; then
                run "echo $w" ws "$ws_port" "$ws_pid" -c "$c" -s "$size"
            else
                run "echo $w" wss "$wss_port" "$wss_pid" -c "$c" -s "$size"
            fi
        done
        r=$((r + 1))
    done
done
r=1
while [ $r -le "$runs" ]; do
    run "hs 1" ws "$ws_port" "$ws_pid" --handshakes -c "$hs_conns"
    run "hs 1" wss "$wss_port" "$wss_pid" --handshakes -c "$hs_conns"
    r=$((r + 1))
done

if [ "$smoke" = 1 ]; then
    awk '{ printf "run_tls: smoke: %s %s", $1, $3; none = 1
           for (i = 4; i <= NF; i++) {
               if ($i ~ /^(msgs|hs_s|tls|errors)=/) printf " %s", $i
               if ($i ~ /^(msgs|hs_s)=[1-9]/) none = 0
           }
           printf "\n"; if (none) bad = 1 }
         END { exit bad }' "$tmp/results" || {
        echo "run_tls: smoke: a run echoed nothing and opened nothing" >&2
        exit 1
    }
    echo "run_tls: smoke: every echo came back, every handshake completed"
    exit 0
fi

model=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
aesni=no
grep -q '^flags.* aes' /proc/cpuinfo && aesni=yes
echo "tlsbench: wsecho --tls-cert (wss://) against wsecho (ws://), loopback," \
    "${model:-unknown CPU} (AES-NI: $aesni), $(date -u +%Y-%m-%d)"
echo "$pinned; each figure: median of $runs runs of $time s after a" \
    "$warmup s warm-up; $(openssl version | cut -d' ' -f1-2)"
echo "NOTE: the machine is shared: other processes kept the CPUs $busy %" \
    "busy just before the run; these figures are noisy."
echo
awk -v kex="${kex:-unknown}" -f "$here/stats.awk" -f - "$tmp/results" <<'EOF'
# µs of server CPU per echoed message, from its CPU % of one core.
function per(cpu, rate) {
    return rate > 0 ? sprintf("%.1f", cpu * 1e4 / rate) : "-"
}
{
    k = $1 SUBSEP $2 SUBSEP $3
    if ($1 == "echo") {
        name[$2] = kv("conns") " × " size(kv("size"))
        if ($2 > nw) nw = $2
    }
    if ($3 == "wss" && kv("tls") != "none") tls = kv("tls")
    add(k SUBSEP "msg", kv("msg_s")); add(k SUBSEP "mb", kv("mb_s"))
    add(k SUBSEP "hs", kv("hs_s")); add(k SUBSEP "cpu", kv("server_cpu"))
    if ($1 == "hs") hsconns = kv("conns")
}
END {
    gsub("/", " ", tls)
    print "| workload | ws:// msg/s | wss:// msg/s | ws:// MB/s | wss:// MB/s | wss/ws | server CPU % ws / wss | server CPU µs per message ws / wss |"
    print "|---|--:|--:|--:|--:|--:|--:|--:|"
    for (w = 1; w <= nw; w++) {
        a = "echo" SUBSEP w SUBSEP "ws" SUBSEP; b = "echo" SUBSEP w SUBSEP "wss" SUBSEP
        ws = median(a "msg"); wss = median(b "msg")
        ratio[w] = ws > 0 ? wss / ws : 0
        printf "| %s | %s | %s | %.2f | %.2f | %.2f | %.0f / %.0f | %s / %s |\n", name[w],
            si(ws), si(wss), median(a "mb"), median(b "mb"), ratio[w],
            median(a "cpu"), median(b "cpu"), per(median(a "cpu"), ws),
            per(median(b "cpu"), wss)
    }
    a = "hs" SUBSEP 1 SUBSEP "ws" SUBSEP; b = "hs" SUBSEP 1 SUBSEP "wss" SUBSEP
    hsr = median(a "hs") > 0 ? median(b "hs") / median(a "hs") : 0
    printf "| handshakes/s, %d at a time | %s | %s | | | %.2f | %.0f / %.0f | %s / %s |\n",
        hsconns, si(median(a "hs")), si(median(b "hs")), hsr,
        median(a "cpu"), median(b "cpu"), per(median(a "cpu"), median(a "hs")),
        per(median(b "cpu"), median(b "hs"))
    print ""
    printf "wss://: %s, key exchange %s, server certificate ECDSA P-256; no session resumption (every handshake is a full one). ", tls, kex
    print "Echo: binary messages, one masked frame each, echoed whole; MB/s: 10^6 payload bytes echoed per second. Handshakes: connect, (TLS), WebSocket handshake, close handshake, TCP close, then the next connection. The client is wsx too, so it pays for TLS as well: when the server's CPU % is well under 100 the client (or the machine) set the pace, and the server's CPU per message is the fairer comparison of the two transports."
    print ""
    print "| target | wanted | this run | |"
    print "|---|--:|--:|---|"
    target("100 × 4 KiB, wss/ws msg/s", 0.8, ratio[3])
    target("10 × 1 MiB, wss/ws msg/s", 0.8, ratio[4])
}
function target(what, want, got) {
    printf "| %s | >= %s | %.2f | %s |\n", what, want, got, (got >= want ? "met" : "NOT met")
}
EOF
