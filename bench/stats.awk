# stats.awk — what the bench scripts' tables share (run_load.sh,
# run_tls.sh, chat_bench.sh, rooms_bench.sh): KEY=VALUE fields, samples
# gathered per key, their median and spread, and the units figures are
# printed in. Used as
#   awk -f bench/stats.awk -f - RESULTS <<'EOF' ... EOF
# kv(key): the value of field KEY=VALUE on the current line, or "".
function kv(key,    i, a) {
    for (i = 1; i <= NF; i++) {
        split($i, a, "=")
        if (a[1] == key) return a[2]
    }
    return ""
}
# add(k, v): one more sample of key k; lo, hi, median of k's samples.
function add(k, v) { n[k]++; val[k, n[k]] = v + 0 }
function lo(k,    i, v) {
    v = val[k, 1]
    for (i = 2; i <= n[k]; i++) if (val[k, i] < v) v = val[k, i]
    return v
}
function hi(k,    i, v) {
    v = val[k, 1]
    for (i = 2; i <= n[k]; i++) if (val[k, i] > v) v = val[k, i]
    return v
}
function median(k,    i, j, t, m, x) {
    m = n[k]
    for (i = 1; i <= m; i++) x[i] = val[k, i]
    for (i = 2; i <= m; i++)
        for (j = i; j > 1 && x[j - 1] > x[j]; j--) {
            t = x[j]; x[j] = x[j - 1]; x[j - 1] = t
        }
    return m % 2 ? x[(m + 1) / 2] : (x[m / 2] + x[m / 2 + 1]) / 2
}
# Units: 1.23 M / 45.6 k, µs, ms, B / KiB / MiB, MiB, digits grouped by 3.
function si(v) {
    if (v >= 1e6) return sprintf("%.2f M", v / 1e6)
    if (v >= 1e3) return sprintf("%.1f k", v / 1e3)
    return sprintf("%.0f", v)
}
function us(v) { return v >= 100 ? sprintf("%.0f", v) : sprintf("%.1f", v) }
# ms(us): microseconds as milliseconds, 2 decimals below 10 ms.
function ms(v) { return v >= 10000 ? sprintf("%.0f", v / 1000) : sprintf("%.2f", v / 1000) }
function size(b) {
    if (b >= 1048576) return (b / 1048576) " MiB"
    if (b >= 1024) return (b / 1024) " KiB"
    return b " B"
}
function mib(b) { return sprintf("%.1f MiB", b / 1048576) }
function thousands(v,    s) {
    s = sprintf("%d", v)
    while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($| )/, " &", s)
    return s
}
