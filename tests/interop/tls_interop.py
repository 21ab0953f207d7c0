"""Interop over TLS: Python websockets, Node ws and headless Chromium
against wsecho --tls-cert (wss://, and https:// for the page), and the
first two as wss:// servers against wscat.

  /usr/bin/python3 tests/interop/tls_interop.py --wsecho PATH --wscat PATH
                                                [--workdir DIR] [--only PEER]

The certificates (a test CA and a server certificate for localhost and
127.0.0.1) are made at start with openssl req/x509 in the work directory
(examples/tests/tlscerts.py) and removed at the end. The drivers, the
table and the process handling are those of interop.py.
"""

import os
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples", "tests"))
import interop  # noqa: E402
from interop import PYTHON, Tally, Wsecho, run_driver, stop_all  # noqa: E402
from tlscerts import Certs  # noqa: E402


def main():
    a = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    wsecho, wscat = a.get("--wsecho"), a.get("--wscat")
    if not wsecho or not wscat:
        sys.exit("usage: tls_interop.py --wsecho PATH --wscat PATH [--workdir DIR] [--only PEER]")
    wsecho, wscat = os.path.abspath(wsecho), os.path.abspath(wscat)
    workdir = os.path.abspath(a.get("--workdir", "/tmp/wsproto-interop-tls"))
    only = a.get("--only")
    os.makedirs(workdir, exist_ok=True)
    signal.signal(signal.SIGTERM, interop.on_signal)
    signal.signal(signal.SIGINT, interop.on_signal)
    certdir = tempfile.mkdtemp(prefix="certs-", dir=workdir)
    env = dict(os.environ, INTEROP_TMP=workdir, PYTHONDONTWRITEBYTECODE="1")
    tally = Tally()
    t0 = time.monotonic()
    try:
        certs = Certs(certdir)
        tls = ["--tls-cert", certs.ok[0], "--tls-key", certs.ok[1]]
        echo = Wsecho(wsecho, "tls-echo", workdir, *tls)
        static = Wsecho(wsecho, "tls-static", workdir, *tls,
                        "--static", os.path.join(HERE, "web-tls"))
        files = ["--ca", certs.ca, "--cert", certs.ok[0], "--key", certs.ok[1]]
        peers = [
            ("python websockets", [PYTHON, os.path.join(HERE, "tls_py_peer.py"),
                                   "--echo-port", str(echo.port), "--wscat", wscat] + files),
            ("node ws", ["node", os.path.join(HERE, "tls_node_peer.js"),
                         "--echo-port", str(echo.port), "--wscat", wscat] + files),
            ("chromium", ["node", os.path.join(HERE, "tls_browser.js"), "--port",
                          str(static.port), "--profile",
                          os.path.join(workdir, "chromium-tls-profile")]),
        ]
        for peer, argv in peers:
            if only and only not in peer:
                continue
            if peer == "chromium":
                shutil.rmtree(argv[-1], ignore_errors=True)
            run_driver(tally, peer, argv, env)
            for inst in (echo, static):
                if not inst.alive():
                    tally.add(peer, "wsecho", "%s still running" % inst.name, False,
                              "exited with %s (log %s)" % (inst.proc.returncode, inst.log))
    except RuntimeError as e:
        tally.add("setup", "wsecho", "starts", False, str(e))
    finally:
        stop_all()
        shutil.rmtree(certdir, ignore_errors=True)
    failed = tally.print(time.monotonic() - t0)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
