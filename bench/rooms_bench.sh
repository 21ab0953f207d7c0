#!/bin/sh
# rooms_bench.sh — the UDP relay table of `make rooms-bench`: rooms-server
# (examples/rooms) and, in the same run, a Python asyncio relay doing the
# same work (bench/rooms_ref_relay.py), driven by bench/roomsload over
# loopback, the relay on CPU 0 and roomsload on CPU 1: stage 1 (broadcast
# to every client) and rooms (500 rooms × 10 members, made with TCRP
# create and join over TCP in both relays), each at the assignment's
# load and at five times it. Every run gets a fresh relay process, the
# relays take turns, and each figure is the median of the runs with
# their spread (min-max). Prints Markdown tables (bench/PERFORMANCE.md).
#
#   sh bench/rooms_bench.sh --roomsload PATH --rooms-server PATH [--smoke]
#                           [--time SEC] [--runs N]
#
# Without /usr/bin/python3 the Python columns say n/a. --smoke: a short
# run of each kind, small, against each relay, checking only that nothing
# reached the wrong member, twice or out of order, and that at most a
# tenth was lost (no timings).
set -eu
here=$(cd "$(dirname "$0")" && pwd) # bench/
prog=rooms_bench

tmp=$(mktemp -d)
. "$here/servers.sh"
bench_args roomsload rooms-server "$@"
roomsload=$gen
mkdir "$tmp/web"

relays=ours py_ver="not found (/usr/bin/python3)"
if v=$(/usr/bin/python3 -c 'import sys; print(sys.version.split()[0])' \
    2>/dev/null); then
    relays="ours py" py_ver="Python $v asyncio"
fi

# Workloads: MODE:GROUPS:MEMBERS:RATE (datagrams in per second, each
# relayed to the MEMBERS - 1 others of its group).
if [ "$smoke" = 1 ]; then
    time=0.3 runs=1 warmup=0.1
    workloads="stage1:1:10:200 rooms:20:5:200"
else
    workloads="stage1:1:100:1000 stage1:1:100:5000 rooms:500:10:10000
               rooms:500:10:50000"
fi

# run W RELAY MODE:GROUPS:MEMBERS:RATE: one roomsload run against a fresh
# RELAY; its key=value line, tagged, goes to $tmp/results. A failed run
# ends the script.
run() {
    w=$1 s=$2
    IFS=: read -r mode groups members rate <<EOF
$3
EOF
    if [ "$s" = ours ]; then
        start rooms-server "listening chat=" "$server" --host 127.0.0.1 \
            --chat-port 0 --udp-port 0 --tcp-port 0 --http-port 0 \
            --web "$tmp/web" # the GUI is not benched: an empty directory
    else
        start rooms-ref-relay "listening chat=" /usr/bin/python3 \
            "$here/rooms_ref_relay.py" --host 127.0.0.1
    fi
    chat=$(echo "$line" | sed 's/.* chat=[^ ]*:\([0-9]*\).*/\1/')
    udp=$(echo "$line" | sed 's/.* udp=[^ ]*:\([0-9]*\).*/\1/')
    tcp=$(echo "$line" | sed 's/.* tcp=[^ ]*:\([0-9]*\).*/\1/')
    if [ "$mode" = stage1 ]; then
        args="--mode stage1 --chat-port $chat --clients $members"
    else
        args="--mode rooms --udp-port $udp --tcp-port $tcp --rooms $groups"
        args="$args --members $members"
    fi
    measure "udp $w $s" "roomsload $args against $s" \
        "$roomsload" $cpu_opt --kv --pid "$pid" $args --rate "$rate" \
        --time "$time" --warmup "$warmup"
    stop "$pid"
}

run_all "$relays"

if [ "$smoke" = 1 ]; then
    awk -f "$here/stats.awk" -f - "$tmp/results" <<'AWK' |
{ printf "%s: %s, %s × %s members, %s sent, %s relayed, loss %s %%\n", $3,
         kv("mode"), kv("rooms"), kv("members"), kv("sent"), kv("relayed"),
         kv("loss_pct") }
AWK
        sed "s/^/$prog: smoke: /"
    # A few hundred datagrams a second on loopback are not lost unless a
    # relay drops them: more than a tenth lost is a failure.
    if ! awk -f "$here/stats.awk" -f - "$tmp/results" <<'AWK'
kv("loss_pct") > 10 { bad = 1; print "rooms_bench: smoke: " $3 " lost " kv("loss_pct") " % in " kv("mode") > "/dev/stderr" }
END { exit bad }
AWK
    then
        exit 1
    fi
    echo "$prog: smoke: nothing reached the wrong member, twice or out of" \
        "order, nearly nothing was lost ($relays)"
    exit 0
fi

heading "rooms-bench: UDP relaying, loopback" relay
awk -v py_ver="$py_ver" -f "$here/stats.awk" -f - "$tmp/results" <<'AWK'
{
    w = $2; s = $3; k = w SUBSEP s SUBSEP
    if (w > nw) nw = w
    have[w, s] = 1
    if (kv("mode") == "stage1")
        name[w] = "stage 1, " kv("members") " clients"
    else
        name[w] = "rooms, " kv("rooms") " × " kv("members")
    rate[w] = kv("rate"); out[w] = kv("rate") * (kv("members") - 1)
    add(k "out", kv("out_s")); add(k "loss", kv("loss_pct"))
    add(k "p50", kv("p50_us")); add(k "p99", kv("p99_us"))
    add(k "cpu", kv("server_cpu")); add(k "self", kv("self_cpu"))
}
function cell(w, s,    k) {
    k = w SUBSEP s SUBSEP
    if (!have[w, s]) return "n/a | n/a | n/a |"
    return sprintf("%s (%s-%s) | %.2f | %s / %s |", si(median(k "out")),
        si(lo(k "out")), si(hi(k "out")), median(k "loss"),
        ms(median(k "p50")), ms(median(k "p99")))
}
function m(w, s, f) { return median(w SUBSEP s SUBSEP f) }
function cpu(w, s) { return have[w, s] ? sprintf("%.0f", m(w, s, "cpu")) : "n/a" }
function gen(w, s) { return have[w, s] ? sprintf("%.0f", m(w, s, "self")) : "n/a" }
END {
    print "| workload | offered in/s (out/s) | rooms-server relayed/s (min-max) | loss % | p50 / p99 ms | Python relayed/s (min-max) | loss % | p50 / p99 ms | rooms-server / Python relayed/s | relay CPU % ours / Python | roomsload CPU % with ours / Python |"
    print "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    for (w = 1; w <= nw; w++) {
        r = have[w, "py"] && m(w, "py", "out") > 0 ? sprintf("%.2f", m(w, "ours", "out") / m(w, "py", "out")) : "n/a"
        printf "| %s | %s (%s) | %s %s %s | %s / %s | %s / %s |\n", name[w],
            thousands(rate[w]), thousands(out[w]), cell(w, "ours"),
            cell(w, "py"), r, cpu(w, "ours"), cpu(w, "py"), gen(w, "ours"),
            gen(w, "py")
        if (name[w] ~ /^rooms/ && rate[w] == 10000) { t_loss = m(w, "ours", "loss"); t_out = m(w, "ours", "out") }
        if (have[w, "py"] && m(w, "ours", "out") > best_ours) best_ours = m(w, "ours", "out")
        if (have[w, "py"] && name[w] ~ /^rooms/ && m(w, "py", "out") > best_py) best_py = m(w, "py", "out")
        if (name[w] ~ /^rooms/ && m(w, "ours", "out") > best_ours_rooms) best_ours_rooms = m(w, "ours", "out")
    }
    print ""
    print "Members take turns sending datagrams at the offered rate (datagrams in per second over all members, each member its own UDP socket and address); each datagram is relayed to every other member of its room (stage 1: to every other client), so out/s = in/s × (members − 1). relayed/s: datagrams that reached a member, per second; loss: 1 − relayed / (sent × (members − 1)) over the whole run, counting what arrived within a second after the sending stopped; latency: from the send (a timestamp in the message) to its arrival. Every datagram is checked (a member of the same room, not its own, each sender's sequence in order). Rooms are made before the timing in both relays the same way: one TCRP create (operation 1) and nine joins (operation 2) over TCP per room, then an empty heartbeat from each member's socket binds its token to its address; every chat datagram carries its token, which both relays check (room, token, address) before relaying the JSON {\"type\": \"chat\", ...}. Relay CPU: user + system time over the run (100 = one core); roomsload's own beside it (it reads every relayed datagram: near 100 it, not the relay, sets the pace). Python: " py_ver ", bench/rooms_ref_relay.py (transport.sendto per datagram, the JSON built once per datagram)."
    print ""
    print "| target | wanted | this run | |"
    print "|---|--:|--:|---|"
    printf "| rooms 500 × 10 at 10 000 in/s: rooms-server loss %% | < 1 | %.2f | %s |\n", t_loss, (t_loss < 1 ? "met" : "NOT met")
    printf "| rooms 500 × 10 at 10 000 in/s: rooms-server relayed/s | >= 89 100 (99 %%) | %s | %s |\n", thousands(t_out), (t_out >= 89100 ? "met" : "NOT met")
    if (best_py > 0)
        printf "| rooms: rooms-server's highest relayed/s / Python's highest | >= 10 | %.2f | %s |\n", best_ours_rooms / best_py, (best_ours_rooms / best_py >= 10 ? "met" : "NOT met")
    else
        print "| rooms: rooms-server's highest relayed/s / Python's highest | >= 10 | n/a | not measured |"
}
AWK
