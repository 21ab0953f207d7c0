"""tlscerts — test certificates made at test time with the openssl command
(openssl req / openssl x509) in a temporary directory; nothing is
committed. Standard library only (run with /usr/bin/python3)."""

import os
import ssl
import subprocess


def _openssl(*args, cwd):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), p.stderr.decode()))


class Certs:
    """A test CA and the server certificates the TLS tests need:
    ok, ok2 (same names, another key: for reload), wrong_host (names
    other.example only), expired (notAfter before notBefore), and a second
    CA nobody trusts (other_ca) with a certificate of its own (untrusted)."""

    def __init__(self, d):
        self.dir = d
        self.ca, self.ca_key = self._ca("ca", "wsx test CA")
        self.other_ca, self.other_ca_key = self._ca("other-ca", "wsx untrusted CA")
        self.ok = self._leaf("ok", "DNS:localhost,IP:127.0.0.1,IP:::1")
        self.ok2 = self._leaf("ok2", "DNS:localhost,IP:127.0.0.1")
        self.wrong_host = self._leaf("wrong", "DNS:other.example")
        self.expired = self._leaf("expired", "DNS:localhost,IP:127.0.0.1", days="-1")
        self.untrusted = self._leaf("untrusted", "DNS:localhost,IP:127.0.0.1",
                                    ca="other-ca")

    def path(self, name):
        return os.path.join(self.dir, name)

    def _ca(self, name, cn):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                 name + ".key", "-out", name + ".pem", "-days", "2", "-subj",
                 "/CN=" + cn, "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=self.dir)
        return self.path(name + ".pem"), self.path(name + ".key")

    def _leaf(self, name, san, days="2", ca="ca"):
        """(cert, key) of a server certificate for san, signed by ca."""
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
                 "-out", name + ".csr", "-subj", "/CN=" + san.split(",")[0][4:],
                 cwd=self.dir)
        with open(self.path(name + ".ext"), "w") as f:
            f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n" % san)
        _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem",
                 "-CAkey", ca + ".key", "-set_serial", str(int.from_bytes(os.urandom(8), "big")),
                 "-out", name + ".pem", "-days", days, "-extfile", name + ".ext",
                 cwd=self.dir)
        return self.path(name + ".pem"), self.path(name + ".key")

    def client_context(self, alpn=("http/1.1",)):
        """A client context trusting the test CA (host names checked)."""
        ctx = ssl.create_default_context(cafile=self.ca)
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        return ctx

    def server_context(self, cert=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*(cert or self.ok))
        return ctx
