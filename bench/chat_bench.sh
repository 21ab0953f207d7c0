#!/bin/sh
# chat_bench.sh — the broadcast chat table of `make chat-bench`:
# chat-server (examples/chat, plain-text mode) and, in the same run, two
# reference servers doing the same work — Node ws (bench/chat_ref_node.js)
# and Python websockets (bench/chat_ref_py.py) — each driven by
# bench/chatload with 10, 100 and 1000 clients over loopback, the server
# on CPU 0 and chatload on CPU 1. Every run gets a fresh server process,
# the servers take turns, and each figure is the median of the runs with
# their spread (min-max). Prints Markdown tables (bench/PERFORMANCE.md).
#
#   sh bench/chat_bench.sh --chatload PATH --chat-server PATH [--smoke]
#                          [--time SEC] [--runs N]
#
# A reference whose runtime is missing (node and tests/interop's ws;
# /usr/bin/python3 with Debian's python3-websockets) gets n/a. --smoke:
# a short run of 10 clients against each server, checking only that every
# message reached every other client once, in order (no timings).
set -eu
here=$(cd "$(dirname "$0")" && pwd) # bench/
prog=chat_bench

tmp=$(mktemp -d)
. "$here/servers.sh"
bench_args chatload chat-server "$@"
chatload=$gen
mkdir "$tmp/web"

servers="ours nosync"
node_ver="not found (node, and npm ci in tests/interop)"
if command -v node >/dev/null &&
    [ -f "$here/../tests/interop/node_modules/ws/package.json" ]; then
    servers="$servers node"
    node_ver="ws $(sed -n 's/^ *"version": "\(.*\)",*$/\1/p' \
        "$here/../tests/interop/node_modules/ws/package.json" | head -1)"
    node_ver="$node_ver on Node $(node --version)"
fi
py_ver="not found (Debian python3-websockets for /usr/bin/python3)"
if v=$(/usr/bin/python3 -c 'import sys, websockets
print(websockets.__version__, sys.version.split()[0])' 2>/dev/null); then
    servers="$servers py"
    py_ver="websockets ${v% *} on Python ${v#* }"
fi

# Workloads: clients:deliveries in flight. The first three keep the
# servers busy (throughput, and latency under that load); the last three
# send one message at a time (each is sent when the previous one reached
# every other client): the latency of a broadcast on an idle server.
if [ "$smoke" = 1 ]; then
    time=0.3 runs=1 warmup=0.1
    workloads="10:200"
else
    workloads="10:2000 100:5000 1000:20000 10:9 100:99 1000:999"
fi

# run W SERVER CLIENTS:INFLIGHT: one chatload run against a fresh SERVER;
# its key=value line, tagged, goes to $tmp/results. A failed run ends the
# script.
run() {
    w=$1 s=$2 clients=${3%%:*} inflight=${3#*:}
    case $s in
    # chatload's clients send far faster than a person: no rate limit.
    # The browser client is not benched: an empty --web directory.
    # "nosync": the same with --fsync never, to show what the default's
    # one fdatasync per loop round (before the round's output) costs.
    ours | nosync)
        fsync=batch
        [ "$s" = nosync ] && fsync=never
        start chat-server "listening on 127\.0\.0\.1:[0-9]+$" "$server" \
            --host 127.0.0.1 --port 0 --data-dir "$tmp/data$w" \
            --rate-limit 0 --web "$tmp/web" --fsync "$fsync" ;;
    node) start chat-ref-node "listening on 127\.0\.0\.1:[0-9]+$" \
              node "$here/chat_ref_node.js" 0 ;;
    py) start chat-ref-py "listening on 127\.0\.0\.1:[0-9]+$" \
            /usr/bin/python3 "$here/chat_ref_py.py" 0 ;;
    esac
    port=${line##*:}
    measure "chat $w $s" "chatload against $s ($clients clients)" \
        "$chatload" $cpu_opt --kv --pid "$pid" --port "$port" \
        --clients "$clients" --inflight "$inflight" --time "$time" \
        --warmup "$warmup"
    stop "$pid"
    rm -rf "$tmp/data$w"
}

run_all "$servers"

if [ "$smoke" = 1 ]; then
    awk -f "$here/stats.awk" -f - "$tmp/results" <<'AWK' |
{ printf "%s: %s clients, %s sent, %s delivered, %s lost\n", $3,
         kv("clients"), kv("sent"), kv("delivered"), kv("lost") }
AWK
        sed "s/^/$prog: smoke: /"
    echo "$prog: smoke: every message reached every other client once, in" \
        "order ($servers)"
    exit 0
fi

heading "chat-bench: broadcast chat, plain-text protocol, loopback" server
awk -v node_ver="$node_ver" -v py_ver="$py_ver" -f "$here/stats.awk" -f - \
    "$tmp/results" <<'EOF'
{
    w = $2; s = $3; k = w SUBSEP s SUBSEP
    clients[w] = kv("clients"); inflight[w] = kv("inflight")
    if (w > nw) nw = w
    have[w, s] = 1
    add(k "msg", kv("msg_s")); add(k "p50", kv("p50_us"))
    add(k "p99", kv("p99_us")); add(k "cpu", kv("server_cpu"))
}
function cell(w, s,    k) {
    k = w SUBSEP s SUBSEP
    if (!have[w, s]) return "n/a | n/a |"
    return sprintf("%s (%s-%s) | %s / %s |", si(median(k "msg")),
        si(lo(k "msg")), si(hi(k "msg")), ms(median(k "p50")),
        ms(median(k "p99")))
}
function ratio(w, a, b, f) {
    if (!have[w, a] || !have[w, b]) return "n/a"
    return sprintf("%.2f", median(w SUBSEP a SUBSEP f) / median(w SUBSEP b SUBSEP f))
}
function cpu(w, s) { return have[w, s] ? sprintf("%.0f", median(w SUBSEP s SUBSEP "cpu")) : "n/a" }
END {
    print "| clients | deliveries in flight | chat-server delivered msg/s (min-max) | p50 / p99 ms | chat-server --fsync never msg/s (min-max) | p50 / p99 ms | Node ws msg/s (min-max) | p50 / p99 ms | Python websockets msg/s (min-max) | p50 / p99 ms | chat-server / Node msg/s | Node / chat-server p99 | server CPU % ours / never / Node / Python |"
    print "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    for (w = 1; w <= nw; w++) {
        printf "| %s | %s | %s %s %s %s %s | %s | %s / %s / %s / %s |\n",
            clients[w], inflight[w] == clients[w] - 1 ? "1 message" : thousands(inflight[w]),
            cell(w, "ours"), cell(w, "nosync"), cell(w, "node"), cell(w, "py"),
            ratio(w, "ours", "node", "msg"), ratio(w, "node", "ours", "p99"),
            cpu(w, "ours"), cpu(w, "nosync"), cpu(w, "node"), cpu(w, "py")
        if (clients[w] == 1000 && inflight[w] != 999) t_rate = ratio(w, "ours", "node", "msg")
        if (clients[w] == 1000 && inflight[w] != 999) t_p99 = ratio(w, "node", "ours", "p99")
        if (clients[w] == 1000 && inflight[w] == 999) t_p99_1 = ratio(w, "node", "ours", "p99")
    }
    print ""
    print "Each client logs in (its name as its first message), hears the others join, then the clients take turns sending 64-byte lines; every line reaches every other client as \"name: text\", which is one delivery. Deliveries in flight: sent but not yet received, kept at that number (1 message: the next is sent when the previous one reached every other client). msg/s: deliveries per second; latency: from the send (a timestamp in the text) to each delivery. Every delivery is checked (sender, order, none twice, none lost). Server CPU: its user + system time over the run (100 = one core). chat-server: examples/chat with --rate-limit 0 and otherwise its defaults (every lobby line is appended to its durable history log, one fdatasync per loop round before the round's output: --fsync batch), a fresh --data-dir for every run; --fsync never: the same log, left to the kernel; the references keep no history. Node: " node_ver ", bench/chat_ref_node.js; Python: " py_ver ", bench/chat_ref_py.py (websockets.broadcast)."
    print ""
    print "| target (1000 clients) | wanted | this run | |"
    print "|---|--:|--:|---|"
    target("chat-server / Node ws delivered msg/s, 20 000 in flight", 2, t_rate)
    target("Node ws / chat-server p99, 20 000 in flight", 1, t_p99)
    target("Node ws / chat-server p99, one message at a time", 1, t_p99_1)
}
function target(what, want, got) {
    printf "| %s | %s %s | %s | %s |\n", what, want == 1 ? ">" : ">=", want, got,
        got == "n/a" ? "not measured" : (want == 1 ? got + 0 > 1 : got + 0 >= want) ? "met" : "NOT met"
}
EOF
