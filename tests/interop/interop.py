"""Interop with real peers: Python websockets, Node ws, headless Chromium.

  /usr/bin/python3 tests/interop/interop.py --wsecho PATH --wscat PATH
                                            [--workdir DIR] [--only PEER]

Starts the wsecho instances the drivers need (every one on 127.0.0.1 with
--port 0), runs each peer's driver (py_peer.py, node_peer.js, browser.js)
with a time limit, collects the one-JSON-line-per-case results, and prints
a table per peer and direction, the failures, the notes (behaviours where a
peer is stricter or looser than we are) and "N passed, N failed". Every
process it starts is stopped by its PID at the end, whatever happens.
Standard library only.
"""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"  # Debian's, where python3-websockets lives
DRIVER_TIMEOUT = 100  # seconds per peer

started = []  # Popen objects we own


def stop_all():
    for p in started:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)  # its own group: it and its children
            except ProcessLookupError:
                pass
            p.wait()


def on_signal(signum, frame):
    stop_all()
    sys.exit(128 + signum)


class Wsecho:
    """One wsecho instance; its stderr goes to a log file."""

    def __init__(self, binary, name, workdir, *extra):
        self.name = name
        self.log = os.path.join(workdir, "wsecho-%s.log" % name)
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [binary, "--host", "127.0.0.1", "--port", "0", *extra],
                stdout=subprocess.PIPE, stderr=log, start_new_session=True)
        started.append(self.proc)
        self.port = None
        ready, _, _ = select.select([self.proc.stdout], [], [], 5)
        line = self.proc.stdout.readline().decode(errors="replace") if ready else ""
        prefix = "wsecho listening on "
        if not line.startswith(prefix):
            raise RuntimeError("wsecho %s printed %r, not '%sHOST:PORT' (log %s)"
                               % (name, line, prefix, self.log))
        self.port = int(line.strip().rsplit(":", 1)[1])

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def wait_exit(self, seconds):
        try:
            return self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            return None


class Tally:
    def __init__(self):
        self.rows = {}  # (peer, dir) -> [cases, passed]
        self.failures = []
        self.notes = []

    def add(self, peer, direction, case, ok, msg=""):
        row = self.rows.setdefault((peer, direction), [0, 0])
        row[0] += 1
        row[1] += 1 if ok else 0
        if not ok:
            self.failures.append("%s / %s / %s: %s" % (peer, direction, case, msg))

    def print(self, elapsed):
        w = max([len(p) for p, _ in self.rows] + [4])
        d = max([len(x) for _, x in self.rows] + [9])
        print("\n%-*s  %-*s %6s %7s %7s" % (w, "peer", d, "direction", "cases",
                                           "passed", "failed"))
        tp = tc = 0
        for (peer, direction), (cases, passed) in self.rows.items():
            print("%-*s  %-*s %6d %7d %7d" % (w, peer, d, direction, cases, passed,
                                               cases - passed))
            tc += cases
            tp += passed
        print("%-*s  %-*s %6d %7d %7d   (%.1f s)" % (w, "total", d, "", tc, tp,
                                                      tc - tp, elapsed))
        if self.failures:
            print("\nfailures:")
            for f in self.failures:
                print("  " + f)
        if self.notes:
            print("\nnotes (peer behaviour differing from ours, not failures):")
            for n in sorted(set(self.notes)):
                print("  " + n)
        print("\n%d passed, %d failed" % (tp, tc - tp))
        return tc - tp


def run_driver(tally, peer, argv, env, timeout=DRIVER_TIMEOUT):
    """Run one driver, streaming its JSON lines into the tally."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, start_new_session=True, cwd=HERE)
    started.append(proc)
    seen = 0
    buf = b""
    err = b""
    deadline = t0 + timeout
    streams = [proc.stdout, proc.stderr]
    while streams and time.monotonic() < deadline:
        ready, _, _ = select.select(streams, [], [], max(0.0, deadline - time.monotonic()))
        for s in ready:
            chunk = os.read(s.fileno(), 1 << 16)
            if not chunk:
                streams.remove(s)
            elif s is proc.stderr:
                err += chunk
            else:
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    try:
                        r = json.loads(line)
                    except ValueError:
                        sys.stderr.write("%s: %s\n" % (peer, line.decode(errors="replace")))
                        continue
                    if "note" in r:
                        tally.notes.append("%s: %s" % (peer, r["note"]))
                        continue
                    seen += 1
                    tally.add(peer, r["dir"], r["case"], r["ok"], r.get("msg", ""))
                    mark = "ok  " if r["ok"] else "FAIL"
                    print("%s %s / %s%s" % (mark, r["dir"], r["case"],
                                           "" if r["ok"] else ": " + r.get("msg", "")),
                          flush=True)
    try:  # its output has ended: give it a moment to exit
        proc.wait(max(0.1, min(5.0, deadline - time.monotonic())))
    except subprocess.TimeoutExpired:
        pass
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        tally.add(peer, "driver", "finishes within %d s" % timeout, False,
                  "killed after %d results" % seen)
    else:
        proc.wait()
        ok = proc.returncode == 0 and seen > 0
        tail = err.decode(errors="replace").strip()[-400:]
        tally.add(peer, "driver", "runs to the end", ok,
                  "exit %d after %d results: %s" % (proc.returncode, seen, tail))
    print("-- %s: %.1f s" % (peer, time.monotonic() - t0), flush=True)


def check_sigterm(tally, peer, inst):
    """The driver sent SIGTERM to inst: it must exit 0 promptly."""
    code = inst.wait_exit(3)
    tally.add(peer, "wsecho", "exits 0 after SIGTERM", code == 0,
              "still running 3 s after SIGTERM" if code is None else "exit status %d" % code)


def main():
    a = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    wsecho, wscat = a.get("--wsecho"), a.get("--wscat")
    workdir = os.path.abspath(a.get("--workdir", "/tmp/wsproto-interop"))
    only = a.get("--only")
    if not wsecho or not wscat:
        sys.exit("usage: interop.py --wsecho PATH --wscat PATH [--workdir DIR] [--only PEER]")
    wsecho, wscat = os.path.abspath(wsecho), os.path.abspath(wscat)
    for b in (wsecho, wscat):
        if not os.access(b, os.X_OK):
            sys.exit("interop: %s is missing: run make examples" % b)
    os.makedirs(workdir, exist_ok=True)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    env = dict(os.environ, INTEROP_TMP=workdir, PYTHONDONTWRITEBYTECODE="1")
    tally = Tally()
    t0 = time.monotonic()

    try:
        echo = Wsecho(wsecho, "echo", workdir)
        small = Wsecho(wsecho, "small", workdir, "--max-message", "1024")
        static = Wsecho(wsecho, "static", workdir, "--static", os.path.join(HERE, "web"))
        nodefl = Wsecho(wsecho, "nodeflate", workdir, "--no-deflate")
        shared = [echo, small, static, nodefl]

        peers = [
            ("python websockets", [PYTHON, os.path.join(HERE, "py_peer.py")]),
            ("node ws", ["node", os.path.join(HERE, "node_peer.js")]),
            ("chromium", ["node", os.path.join(HERE, "browser.js")]),
            ("raw probes", [PYTHON, os.path.join(HERE, "strictness.py")]),
        ]
        for peer, argv in peers:
            if only and only not in peer:
                continue
            if peer == "raw probes":  # raw probes: only the echo instance
                run_driver(tally, peer, argv + ["--echo-port", str(echo.port)], env)
                continue
            term = Wsecho(wsecho, "sigterm-" + peer.split()[0], workdir)
            common = ["--small-port", str(small.port), "--sigterm-port", str(term.port),
                      "--sigterm-pid", str(term.pid), "--nodeflate-port", str(nodefl.port)]
            if peer == "chromium":
                profile = os.path.join(workdir, "chromium-profile")
                shutil.rmtree(profile, ignore_errors=True)
                extra = ["--static-port", str(static.port), "--profile", profile]
            else:
                extra = ["--echo-port", str(echo.port), "--wscat", wscat]
            run_driver(tally, peer, argv + common + extra, env)
            check_sigterm(tally, peer, term)
            for inst in list(shared):
                if not inst.alive():
                    tally.add(peer, "wsecho", "%s instance still running" % inst.name,
                              False, "exited with %s (log %s)"
                              % (inst.proc.returncode, inst.log))
                    shared.remove(inst)
    except RuntimeError as e:
        tally.add("setup", "wsecho", "starts", False, str(e))
    finally:
        stop_all()
    failed = tally.print(time.monotonic() - t0)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
