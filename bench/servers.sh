# servers.sh — what the bench scripts that start servers share, sourced
# (after `set -eu`, with $tmp a scratch directory and $prog the script's
# name for messages): starting a server and learning its ports from the
# line it prints, stopping it, cleaning up however the script ends,
# pinning to CPUs, and how busy other processes keep the machine.

pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || :; done
    for p in $pids; do wait "$p" 2>/dev/null || :; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The server on CPU 0 and the load generator on CPU 1 when there are two
# CPUs to pin to: $pin prefixes the server's command, $cpu_opt is the
# generator's option (or $gen_pin its command's prefix).
pin= cpu_opt= gen_pin= pinned="not pinned (fewer than 2 CPUs or no taskset)"
if [ "$(getconf _NPROCESSORS_ONLN)" -ge 2 ] && command -v taskset >/dev/null
then
    pin="taskset -c 0" cpu_opt="--cpu 1" gen_pin="taskset -c 1"
    pinned="server on CPU 0, load generator on CPU 1"
fi

# start NAME PATTERN COMMAND [ARGS]: run a server (pinned), wait up to
# 10 s for a line of its stdout matching the grep -E PATTERN; sets $pid
# (taskset execs the program, so $! is the server itself) and $line.
start() {
    name=$1 pattern=$2
    shift 2
    : >"$tmp/$name.out" # there before it is read (the server is async)
    $pin "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pid=$!
    pids="$pids $pid"
    tries=0
    while :; do
        line=$(grep -E -m1 "$pattern" "$tmp/$name.out" 2>/dev/null || :)
        [ -n "$line" ] && return 0
        if ! kill -0 "$pid" 2>/dev/null || [ $tries -ge 200 ]; then
            echo "$prog: $name did not start:" >&2
            cat "$tmp/$name.err" >&2
            exit 1
        fi
        tries=$((tries + 1))
        sleep 0.05
    done
}

# stop PID: SIGTERM, wait, forget.
stop() {
    kill "$1" 2>/dev/null || :
    wait "$1" 2>/dev/null || :
    rest=
    for p in $pids; do [ "$p" = "$1" ] || rest="$rest $p"; done
    pids=$rest
}

# How busy other processes keep the CPUs, in percent over 1 s (taken when
# none of ours runs: before the measurements and after them).
cpu_busy() {
    awk '/^cpu / { idle = $5 + $6; t = 0; for (i = 2; i <= NF; i++) t += $i;
                   print t, idle }' /proc/stat
}
busy_now() {
    set -- $(cpu_busy)
    t0=$1 i0=$2
    sleep 1
    set -- $(cpu_busy)
    echo $(( (($1 - t0) - ($2 - i0)) * 100 / (($1 - t0) > 0 ? ($1 - t0) : 1) ))
}

# busy_warning BEFORE AFTER: the line a table gets on a busy machine.
busy_warning() {
    if [ "$1" -ge 10 ] || [ "$2" -ge 10 ]; then
        echo "WARNING: other processes kept the CPUs $1 % busy just before" \
            "the run and $2 % just after it: these figures are noisy (they" \
            "share the cores)"
    fi
}

# each_run CONTENDERS: for every workload of $workloads (W = 1, 2, ...) and
# each of $runs runs, `run W CONTENDER SPEC` for every contender (a word
# of CONTENDERS), run r starting with the r-th of them: they take turns,
# so a slow spell of a shared machine falls on all of them.
each_run() {
    all=$1 w=0
    for spec in $workloads; do
        w=$((w + 1)) r=1
        while [ "$r" -le "$runs" ]; do
            order=$all k=1
            while [ $k -lt $r ]; do
                set -- $order
                first=$1
                shift
                order="$* $first"
                k=$((k + 1))
            done
            for s in $order; do run "$w" "$s" "$spec"; done
            r=$((r + 1))
        done
    done
}

# measure TAG WHAT COMMAND [ARGS]: one run of a load generator; its
# key=value line goes to $tmp/results after TAG. A failed run ends the
# script with what the generator said (WHAT names the run).
measure() {
    tag=$1 what=$2
    shift 2
    if ! "$@" >"$tmp/one" 2>"$tmp/one.err"; then
        echo "$prog: $what failed:" >&2
        cat "$tmp/one.err" "$tmp/one" >&2
        exit 1
    fi
    echo "$tag $(cat "$tmp/one")" >>"$tmp/results"
}

# run_all CONTENDERS: each_run into a fresh $tmp/results, how busy the
# machine was just before it in $busy (not measured for --smoke, which
# takes no timings).
run_all() {
    busy=0 busy_after=0
    [ "$smoke" = 0 ] && busy=$(busy_now)
    : >"$tmp/results"
    each_run "$1"
}

# heading TITLE WHAT: a table's first lines, after the runs: TITLE with
# the CPU and the date, how the figures were taken (a fresh WHAT process
# for every run, the WHATs taking turns) and, when the machine was busy
# before or after the runs, the warning.
heading() {
    busy_after=$(busy_now)
    echo "$1, $(cpu_model), $(date -u +%Y-%m-%d)"
    echo "$pinned; each figure: median (and min-max) of $runs runs of $time s" \
        "after a $warmup s warm-up, a fresh $2 process for every run," \
        "the $2s taking turns"
    busy_warning "$busy" "$busy_after"
    echo
}

# The CPU's name, for a table's heading.
cpu_model() {
    m=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
    echo "${m:-unknown CPU}"
}

# bench_args GEN SERVER ARGS: the options of a script that drives one
# server program with one load generator: --GEN PATH, --SERVER PATH,
# --smoke, --time SEC, --runs N. Sets $gen, $server, $smoke, $time, $runs
# and $warmup; both programs must be executables.
bench_args() {
    g=$1 sv=$2
    shift 2
    gen= server= time=3 runs=3 smoke=0 warmup=0.5
    while [ $# -gt 0 ]; do
        case $1 in
        "--$g") gen=$2; shift 2 ;;
        "--$sv") server=$2; shift 2 ;;
        --time) time=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --smoke) smoke=1; shift ;;
        *) echo "usage: $prog.sh --$g PATH --$sv PATH [--smoke]" \
                "[--time SEC] [--runs N]" >&2; exit 2 ;;
        esac
    done
    for b in "$gen" "$server"; do
        [ -x "$b" ] || { echo "$prog: not an executable: '$b'" >&2; exit 2; }
    done
}
