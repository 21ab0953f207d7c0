/* loadstat.c — see loadstat.h. */
#define _GNU_SOURCE
#include "loadstat.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

uint64_t ls_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double ls_cpu_self(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double ls_cpu_of(long pid)
{
    char path[64], buf[1024];
    unsigned long ut, st;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    if (!(f = fopen(path, "r")))
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the name may hold spaces */
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime (fields 3..15 of proc(5)) */
    if (!p || sscanf(p + 2,
                     "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                     "%lu %lu",
                     &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

long long ls_rss_of(long pid)
{
    char path[64], line[256];
    long long kb = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

int ls_pin_cpu(int cpu)
{
    cpu_set_t set;
    if (cpu < 0)
        return 0;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

int ls_raise_nofile(unsigned need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)need ? 0
                                                                        : -1;
}

static unsigned bucket(uint64_t v)
{
    if (v < 32)
        return (unsigned)v;
    int k = 63 - __builtin_clzll(v);
    unsigned b = (unsigned)((k - 4) * 32) + (unsigned)((v >> (k - 5)) & 31);
    return b < LS_BUCKETS ? b : LS_BUCKETS - 1;
}

static double bucket_mid(unsigned b)
{
    if (b < 32)
        return b;
    int k = (int)(b / 32) + 4;
    double lo = (double)((32u + b % 32) * (1ull << (k - 5)));
    return lo + (double)(1ull << (k - 5)) / 2;
}

void ls_hist_add(ls_hist_t *h, uint64_t ns)
{
    h->n[bucket(ns)]++;
    h->count++;
}

double ls_hist_quantile(const ls_hist_t *h, double p)
{
    uint64_t seen = 0, want = (uint64_t)(p * (double)h->count);
    if (!h->count)
        return 0;
    for (unsigned b = 0; b < LS_BUCKETS; b++) {
        seen += h->n[b];
        if (seen > want)
            return bucket_mid(b);
    }
    return 0;
}
