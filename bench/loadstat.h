/*
 * loadstat.h — what the load generators (wsload, chatload, roomsload)
 * share: the clock, CPU time of this process and of the server's
 * (/proc), pinning to a CPU, the descriptor limit, and a latency
 * histogram with percentiles. Linux only.
 */
#ifndef BENCH_LOADSTAT_H
#define BENCH_LOADSTAT_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t ls_clock_ns(void);

/* This process's CPU seconds (user + system). */
double ls_cpu_self(void);

/* Process pid's user + system CPU seconds (/proc/PID/stat, clock ticks),
 * or -1. */
double ls_cpu_of(long pid);

/* Process pid's VmRSS in bytes, or -1. */
long long ls_rss_of(long pid);

/* Run on CPU cpu only (< 0: leave as is). 0, or -1 with errno. */
int ls_pin_cpu(int cpu);

/* RLIMIT_NOFILE raised to its hard limit; 0 when at least need
 * descriptors are then allowed, else -1. */
int ls_raise_nofile(unsigned need);

/* Latencies in ns, 32 buckets per power of two (about 3 % wide; exact
 * below 32 ns). Zero-initialise. */
#define LS_BUCKETS 2048
typedef struct ls_hist {
    uint64_t n[LS_BUCKETS];
    uint64_t count;
} ls_hist_t;

void ls_hist_add(ls_hist_t *h, uint64_t ns);
/* The p-quantile (0 < p < 1) in ns, a bucket's midpoint; 0 if empty. */
double ls_hist_quantile(const ls_hist_t *h, double p);

#endif
