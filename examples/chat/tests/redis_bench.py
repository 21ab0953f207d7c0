#!/usr/bin/python3
"""redis_bench — `make chat-redis-bench`: broadcast fan-out of chat-server
over Redis, 1 instance against 3 instances with the same clients, next
to 1 instance without Redis; and the Redis round trip's share of the
latency.

Each row starts a fresh redis-server (test_redis.RedisServer: a free
loopback port, a temporary directory, no persistence) and fresh
chat-server instances, and drives them with helper bench's chatload
(bench/chatload.c: plain-text clients in one process, each message's
latency measured, every delivery checked once and in order), its clients
spread over the instances' ports. While it runs, a PING loop measures
Redis's round trip on the same machine. Prints a Markdown table; each
figure is the median of --runs runs.

    redis_bench.py --chatload PATH --chat-server PATH --redis-server PATH
                   [--clients N] [--time SEC] [--runs N] [--smoke]
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_redis  # noqa: E402
from test_redis import ChatServer, RedisServer, resp_encode  # noqa: E402


class PingLoop(threading.Thread):
    """PING Redis every millisecond on one connection; RTTs in µs."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.rtt, self.stop = port, [], threading.Event()

    def run(self):
        with socket.create_connection(("127.0.0.1", self.port), 5) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            ping = resp_encode(["PING"])
            while not self.stop.is_set():
                t = time.perf_counter()
                s.sendall(ping)
                if s.recv(64) != b"+PONG\r\n":
                    break
                self.rtt.append((time.perf_counter() - t) * 1e6)
                time.sleep(0.001)


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")


def one_run(a, instances, redis, extra=()):
    """chatload against `instances` chat-servers (0: one without Redis,
    with extra options); its key=value line as a dict, and the PING
    RTTs."""
    tmp = tempfile.mkdtemp(prefix="chat-redis-bench-")
    servers, ping = [], None
    try:
        if instances == 0:
            servers.append(ChatServer(a.chat_server, None, "local", tmp,
                                      extra))
        else:
            r = RedisServer(a.redis_server)
            redis.append(r)
            for i in range(instances):
                servers.append(ChatServer(a.chat_server, r.port, "n%d" % i,
                                          tmp))
            ping = PingLoop(r.port)
            ping.start()
        ports = ",".join(str(s.port) for s in servers)
        p = subprocess.run([a.chatload, "--port", ports, "--clients",
                            str(a.clients), "--time", str(a.time), "--kv"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=a.time + 120)
        if ping:
            ping.stop.set()
            ping.join(5)
        out = p.stdout.decode().strip().splitlines()
        if p.returncode != 0 or not out:
            raise RuntimeError("chatload exit %d: %s %s" % (
                p.returncode, out[-1:] if out else "",
                p.stderr.decode()[-500:]))
        kv = dict(f.split("=", 1) for f in out[-1].split()[1:])
        kv["ping"] = ping.rtt if ping else []
        return kv
    finally:
        for s in servers:
            s.stop()
        for r in redis:
            r.stop()
        redis.clear()
        shutil.rmtree(tmp, ignore_errors=True)


def row(a, instances, extra):
    runs = [one_run(a, instances, [], extra) for _ in range(a.runs)]
    med = lambda k: statistics.median(float(r[k]) for r in runs)  # noqa
    rtt = [x for r in runs for x in r["ping"]]
    return {"msg_s": med("msg_s"), "p50": med("p50_us"),
            "p99": med("p99_us"), "lost": sum(int(r["lost"]) for r in runs),
            "rtt50": pct(rtt, 0.5), "rtt99": pct(rtt, 0.99)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chatload", required=True)
    ap.add_argument("--chat-server", required=True)
    ap.add_argument("--redis-server", required=True)
    ap.add_argument("--clients", type=int, default=300)
    ap.add_argument("--time", type=float, default=3)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--smoke", action="store_true",
                    help="30 clients, 1 s, one run: only that it works")
    a = ap.parse_args()
    if a.smoke:
        a.clients, a.time, a.runs = 30, 1, 1
    test_redis.RUNNER = test_redis.wstest.Runner("redis_bench")
    h = subprocess.run([a.chatload, "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT).stdout.decode()
    multi = "P1,P2" in h or "comma" in h
    print("Broadcast fan-out, %d plain-text clients (chatload), %g s x %d "
          "runs, medians; one machine, %d CPUs, loopback, load average "
          "%.1f at the start; redis-server without persistence\n"
          % (a.clients, a.time, a.runs, os.cpu_count(), os.getloadavg()[0]))
    print("| chat-server | delivered msg/s | p50 latency | p99 latency "
          "| Redis PING p50 / p99 | Redis's share of p50 |")
    print("|---|---:|---:|---:|---:|---:|")
    for n, extra, name in (
            (0, (), "1 instance, local store (no --redis; --fsync batch)"),
            (0, ("--fsync", "never"), "1 instance, local store, --fsync never"),
            (1, (), "1 instance, --redis"),
            (3, (), "3 instances, --redis (clients round-robin)")):
        if n > 1 and not multi:
            print("| %s | n/a: this chatload takes one --port |||||" % name)
            continue
        r = row(a, n, extra)
        # On a message's path: INCR and XADD (blocking, before anyone
        # gets it) and, to another instance's users, one pub/sub hop.
        trips = 0 if n == 0 else 2 if n == 1 else 3
        share = "-" if n == 0 else "%.1f%% (%d x PING)" % (
            100 * trips * r["rtt50"] / r["p50"], trips)
        rtt = "-" if n == 0 else "%.0f / %.0f µs" % (r["rtt50"], r["rtt99"])
        print("| %s | %.0f | %.2f ms | %.2f ms | %s | %s |%s" % (
            name, r["msg_s"], r["p50"] / 1000, r["p99"] / 1000, rtt, share,
            "" if not r["lost"] else " LOST %d" % r["lost"]))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
