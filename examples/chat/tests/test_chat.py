#!/usr/bin/python3
"""test_chat.py — chat-server end to end, over loopback, from
examples/chat/PROTOCOL.md: every JSON message type and error code (login,
name claims and tokens, broadcasts, PMs and their statuses, presence,
typing with its real 3 s / 6 s timings, contacts, history, files), the
limits (4 KiB text, 64 KiB frames, the rate limit, a slow consumer, the
dead-peer timeout), the plain-text mode with raw clients and with the real
wscat, name rules and token theft, durability across kill -9 and restart
in every --fsync mode (also in the middle of 3000 PMs, and with a damaged
log), the --log file, SIGTERM shutdown, 500 concurrent clients
broadcasting, and a 256 MiB file relayed with its SHA-256 checked and the
server's peak RSS under 32 MiB. What the suite cannot reach: the
`internal` error (a failing store) and the 2^53 file size limit.

  /usr/bin/python3 examples/chat/tests/test_chat.py \\
      --server build/examples/chat/chat-server \\
      --wscat build/examples/wscat/wscat [-k NAME]

Standard library only. Every server gets --port 0 and a fresh data
directory; every process started is stopped by its PID; every test is
bounded in time. One line per case; ends with "N passed, N failed"; exit
status 1 if any failed.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "examples", "tests"))
sys.path.insert(0, HERE)
from wstest import (OP_BINARY, OP_CLOSE, OP_TEXT, Fail, Runner,  # noqa: E402
                    check, close_clients, close_payload, eq, frame, read_line,
                    reap, suite_args)
from chatlib import (FILE, SEQ, TEXT, TOKEN, ZERO_KEY, ChatServer,  # noqa: E402
                     JClient, PClient, Swarm, after, claim, dumps, error,
                     lobby, naming, pm, room, short, status, take_join,
                     take_leave)

WSCAT = None
TESTS = []
RUNNER = Runner("chat")
NOTES = RUNNER.notes


def test(fn):
    TESTS.append(fn)
    return fn


def sent_status(c, ref, to=None, what="sent"):
    """The `sent` status of a request (a PM's carries `to`); its seq."""
    want = {"type": "status", "ref": ref, "seq": SEQ, "status": "sent"}
    if to is not None:
        want["to"] = to
    return c.expect(want, what)["seq"]


def join_then_delivered(c, name, statuses, what):
    """The join of name and the delivered statuses (in their order),
    whichever comes first."""
    got = [c.recv(what) for _ in range(len(statuses) + 1)]
    joins = [m for m in got if m.get("type") == "join"]
    eq(joins, [{"type": "join", "name": name}], "%s: the join" % what)
    eq([m for m in got if m.get("type") != "join"], statuses,
       "%s: the statuses" % what)


def only_progress(c, f, seconds, what):
    """For seconds, nothing but file_progress of file f arrives."""
    t_end = time.monotonic() + seconds
    while True:
        left = t_end - time.monotonic()
        if left <= 0:
            return
        c.sock.settimeout(left)
        try:
            m = c.recv(what)
        except socket.timeout:
            return
        finally:
            c.sock.settimeout(c.timeout)
        eq((m.get("type"), m.get("file")), ("file_progress", f),
           "%s: %s" % (what, short(m)))


def say(c, text, ref):
    """A lobby message; returns its seq."""
    c.send_json({"type": "msg", "id": ref, "text": text})
    return sent_status(c, ref, what="status of %s" % ref)


def send_pm(c, to, text, ref, stored=None):
    """A PM to `to`, whose claimed spelling is stored; returns its seq."""
    c.send_json({"type": "msg", "id": ref, "to": to, "text": text})
    return sent_status(c, ref, stored or to, "sent status of %s" % ref)


# ============================================================ login

@test
def hello_claims_and_token():
    with ChatServer() as s:
        a = JClient(s.port)
        w = a.req({"type": "hello", "name": "Alice", "id": "1"},
                  {"type": "welcome", "ref": "1", "name": "Alice",
                   "token": TOKEN, "claimed": True, "users": ["Alice"],
                   "contacts": [], "history": []},
                  "first login claims")
        tok = w["token"]
        a.req({"type": "users", "id": "u"},
              {"type": "users", "ref": "u", "users": ["Alice"]},
              "users")
        a.close_clean()
        b = JClient(s.port)
        b.req({"type": "hello", "name": "alice", "token": tok, "id": "2"},
              {"type": "welcome", "ref": "2", "name": "Alice",
               "users": ["Alice"],
               "contacts": [], "history": []},
              "later login, with the token, in another case: the stored "
              "spelling")
        b.close_clean()
        c = JClient(s.port)
        c.req({"type": "hello", "name": "ALICE", "token": tok},
              {"type": "welcome", "name": "Alice", "users": ["Alice"],
               "contacts": [],
               "history": []}, "no id, no ref")
        b2 = JClient(s.port)
        w2 = b2.login("bob")
        check(w2["token"] != tok, "two claims got the same token")
        eq(w2["users"], ["Alice", "bob"], "users, sorted case-insensitively")
        c.expect({"type": "join", "name": "bob"}, "join")
        b2.quiet(what="the joiner gets no join of its own")


@test
def hello_errors():
    with ChatServer() as s:
        # Any JSON object first makes the connection JSON; not a hello:
        # not_logged_in, and a hello may follow.
        j = JClient(s.port)
        j.req({"type": "msg", "text": "hi", "id": "m"},
              error("not_logged_in", "m"),
              "a msg as the first message")
        j.login("first")
        j.close_clean()
        c = JClient(s.port)
        c.send_json({"type": "users"})
        c.expect(error("not_logged_in"), "a first request that is no hello")
        c.send_frame(OP_BINARY, b"\0\0\0\1data", key=ZERO_KEY)
        c.expect(error("not_logged_in"), "a binary message before hello")
        c.req({"type": "hello", "name": "", "id": "e0"},
              error("bad_name", "e0"), "empty name")
        for i, req in enumerate([
                {"type": "msg", "text": "x"},
                {"type": "msg", "to": "a", "text": "x"},
                {"type": "users"}, {"type": "contacts"},
                {"type": "contact_add", "name": "a"},
                {"type": "contact_remove", "name": "a"}, {"type": "history"},
                {"type": "typing", "state": "active"},
                {"type": "read", "seq": 1},
                {"type": "file_offer", "to": "a", "name": "f", "size": 1,
                 "sha256": "0" * 64},
                {"type": "file_accept", "file": 1},
                {"type": "file_cancel", "file": 1}]):
            ref = "n%d" % i
            c.req(dict(req, id=ref), error("not_logged_in", ref),
                  "%s before hello" % req["type"])
        bad = ["a" * 33, "a b", "a.b", "a!", "x@y", "tab\t", "nl\n",
               "dash—em", "ell…", "«q»", "eur€", "smile😀", "nb\u00a0sp",
               "a/b", "a:b", "'", "-" + "é" * 32]
        for i, name in enumerate(bad):
            c.req({"type": "hello", "name": name, "id": "b%d" % i},
                  error("bad_name", "b%d" % i),
                  "bad name %r" % name)
        for i, name in enumerate(["server", "System", "SERVER", "sYsTeM"]):
            c.req({"type": "hello", "name": name, "id": "r%d" % i},
                  error("reserved_name", "r%d" % i), "reserved %r" % name)
        c.req({"type": "hello", "id": "m"},
              error("missing_field", "m", naming("name")),
              "hello without name")
        c.req({"type": "hello", "name": 5, "id": "w"},
              error("wrong_type", "w", naming("name")),
              "name a number")
        c.req({"type": "hello", "name": ["a"], "id": "w2"},
              error("wrong_type", "w2", naming("name")), "name an array")
        c.req({"type": "hello", "name": "a", "token": 5, "id": "w3"},
              error("wrong_type", "w3", naming("token")), "token a number")
        # None of that logged in or claimed anything.
        other = JClient(s.port)
        eq(other.login("a")["claimed"], True, "'a' is still free")
        w = c.login("ok", ref="ok")
        eq(w["users"], ["a", "ok"], "users after the errors")
        other.expect({"type": "join", "name": "ok"}, "join of ok")
        c.req({"type": "hello", "name": "ok", "token": w["token"],
               "id": "again"},
              error("already_logged_in", "again"), "second hello")
        c.req({"type": "hello", "name": "zed", "id": "again2"},
              error("already_logged_in",
                    "again2"), "second hello, another name")
        c.req({"type": "users", "id": "u"},
              {"type": "users", "ref": "u", "users": ["a", "ok"]},
              "still logged in as ok")
        other.quiet(what="nothing more reached the other user")


@test
def names_any_script():
    good = ["Ünïcødé", "Алиса", "名前", "أحمد", "Ωmega9", "123", "a_b-c",
            "_", "-", "x" * 32, "é" * 32, "١٢٣", "Zoë-2"]
    with ChatServer() as s:
        for name in good:
            c = JClient(s.port)
            w = c.login(name)
            eq((w["name"], w["claimed"]), (name, True), "login as %r" % name)
            c.close_clean()
        c = JClient(s.port)
        c.req({"type": "hello", "name": "é" * 33, "id": "x"},
              error("bad_name", "x"),
              "33 letters of 2 bytes")


@test
def names_case_insensitive():
    with ChatServer() as s:
        tok = claim(s.port, "Bob")
        c = JClient(s.port)
        c.req({"type": "hello", "name": "bob", "id": "1"},
              error("name_taken", "1"),
              "'bob' without a token")
        c.req({"type": "hello", "name": "BOB", "id": "2", "token": tok},
              {"type": "welcome", "ref": "2", "name": "Bob", "users": ["Bob"],
               "contacts": [], "history": []}, "'BOB' with Bob's token")
        p = PClient(s.port)
        p.line("bOb")
        p.expect_line("* name taken", "plain 'bOb' while Bob is online")
        p.expect_close_eof(1008, "plain refused")


@test
def names_case_insensitive_any_script():
    with ChatServer() as s:
        for claimed, other in [("Ärger", "äRGER"), ("Алиса", "АЛИСА"),
                               ("Σοφία", "ΣΟΦΊΑ")]:
            claim(s.port, claimed)
            c = JClient(s.port)
            c.req({"type": "hello", "name": other, "id": "1"},
                  error("name_taken", "1"),
                  "%r after %r was claimed" % (other, claimed))
            c.close()


@test
def token_theft():
    with ChatServer() as s:
        ta = claim(s.port, "alice")
        u = room(s.port, ["bob"])
        bob = u["bob"]
        tb = bob.token
        a = JClient(s.port, "alice", ta)
        bob.expect({"type": "join", "name": "alice"}, "join")
        a.req({"type": "contact_add", "name": "bob", "id": "c"},
              {"type": "contacts", "ref": "c",
               "contacts": [{"name": "bob", "online": True}]},
              "alice adds bob")
        a.close_clean()
        bob.expect({"type": "leave", "name": "alice"}, "leave")
        seqs = []
        for k in range(2):
            seqs.append(send_pm(bob, "alice", "secret %d" % k, "p%d" % k))
            bob.expect(status("p%d" % k, seqs[-1], "alice", "offline"),
                       "offline status")
        x = JClient(s.port)
        for i, hello in enumerate([
                {"name": "alice"}, {"name": "alice", "token": "0" * 32},
                {"name": "alice", "token": tb}, {"name": "ALICE", "token": tb},
                {"name": "alice", "token": ta[:31]},
                {"name": "alice", "token": ta + "0"},
                {"name": "alice", "token": ""}]):
            ref = "t%d" % i
            x.req(dict(hello, type="hello", id=ref), error("name_taken", ref),
                  "hello %r" % hello)
        x.req({"type": "hello", "name": "alice", "token": 7, "id": "w"},
              error("wrong_type", "w", naming("token")), "token a number")
        x.req({"type": "contacts", "id": "l"}, error("not_logged_in", "l"),
              "the thief is not logged in")
        x.req({"type": "contact_remove", "name": "bob", "id": "r"},
              error("not_logged_in", "r"),
              "nor may remove a contact")
        p = PClient(s.port)
        p.line("alice")
        p.expect_line("* name taken", "plain 'alice' (claimed, offline)")
        p.expect_close_eof(1008, "plain thief refused")
        bob.quiet(what="bob saw nothing of the attempts")
        a = JClient(s.port)
        w = a.login("alice", ta)
        eq(w["contacts"], [{"name": "bob", "online": True}],
           "alice's contacts are untouched")
        a.expect(pm(seqs[0], "bob", "alice", "secret 0"), "first offline PM")
        a.expect(pm(seqs[1], "bob", "alice", "secret 1"), "second offline PM")
        a.quiet(what="nothing more")
        delivered = [status("p%d" % k, seqs[k], "alice", "delivered")
                     for k in range(2)]
        join_then_delivered(bob, "alice", delivered, "bob")


@test
def takeover_replaced():
    with ChatServer() as s:
        a1 = JClient(s.port, "alice")
        bob = JClient(s.port, "bob")
        take_join(a1, "bob")
        a2 = JClient(s.port)
        w = a2.login("alice", a1.token)
        eq(w["users"], ["alice", "bob"], "users after the takeover")
        a1.expect(error("replaced"), "the old connection is told")
        a1.expect_close_eof(4001, "the old connection is closed")
        a2.req({"type": "users", "id": "u"},
               {"type": "users", "ref": "u", "users": ["alice", "bob"]},
               "the new one works")
        bob.quiet(what="a takeover is neither a leave nor a join")


# ========================================================= messages

@test
def broadcast():
    with ChatServer() as s:
        u = room(s.port, ["alice", "bob"], plain=["carol"])
        a, b, c = u["alice"], u["bob"], u["carol"]
        s1 = say(a, "hello", "c1")
        b.expect(lobby(s1, "alice", "hello"), "bob gets alice's")
        c.expect_line("alice: hello", "plain carol gets alice's")
        weird = "quote \" back \\ nl \n tab \t uni ✓ 名 nul \u0000 end"
        s2 = say(b, weird, "c2")
        check(s2 > s1, "seq increases: %d then %d" % (s1, s2))
        a.expect(lobby(s2, "bob", weird), "any characters")
        c.expect_line("bob: " + weird, "any characters, plain")
        c.line("yo from plain\n")
        m = a.expect(lobby(after(s2), "carol", "yo from plain"),
                     "a plain line, \\n dropped")
        b.expect(lobby(m["seq"], "carol", "yo from plain"), "bob too")
        for x in (a, b, c):
            x.quiet(what="no echo, nothing else")


@test
def pm_statuses():
    with ChatServer() as s:
        u = room(s.port, ["alice", "bob", "carol"])
        a, b, c = u["alice"], u["bob"], u["carol"]
        seq = send_pm(a, "bob", "hi bob", "c2")
        a.expect(status("c2", seq, "bob", "delivered"), "delivered")
        b.expect(pm(seq, "alice", "bob", "hi bob"), "bob gets it")
        b.send_json({"type": "read", "seq": seq})
        a.expect(status("c2", seq, "bob", "read"), "read")
        b.send_json({"type": "read", "seq": seq})
        a.quiet(what="a second read is ignored")
        b.quiet(what="a second read is ignored, no answer")
        seq2 = send_pm(a, "BOB", "case", "c3", stored="bob")
        a.expect(status("c3", seq2, "bob", "delivered"),
                 "to 'BOB' delivered to bob")
        b.expect(pm(seq2, "alice", "bob", "case"), "bob gets the PM to 'BOB'")
        c.req({"type": "read", "seq": seq, "id": "r"},
              error("no_such_message", "r"),
              "carol reads bob's PM")
        c.req({"type": "read", "seq": 999999, "id": "r2"},
              error("no_such_message", "r2"),
              "read of a seq never used")
        a.req({"type": "read", "seq": seq, "id": "r3"},
              error("no_such_message", "r3"),
              "the sender reads her own PM")
        c.quiet(what="carol sees no PM")
        b.quiet(what="nothing more for bob")
        a.quiet(what="nothing more for alice")


@test
def pm_offline_delivered_once():
    with ChatServer() as s:
        tb = claim(s.port, "bob")
        a = JClient(s.port, "alice")
        seqs = []
        for k in range(3):
            seqs.append(send_pm(a, "bob", "p%d" % k, "p%d" % k))
            a.expect(status("p%d" % k, seqs[-1], "bob", "offline"), "offline")
        check(seqs == sorted(seqs), "seqs increase: %r" % seqs)
        b = JClient(s.port)
        b.login("bob", tb, users=["alice", "bob"])
        for k in range(3):
            b.expect(pm(seqs[k], "alice", "bob", "p%d" % k),
                     "offline PM %d, in order" % k)
        b.quiet(what="each once")
        delivered = [status("p%d" % k, seqs[k], "bob", "delivered")
                     for k in range(3)]
        join_then_delivered(a, "bob", delivered, "alice")
        b.send_json({"type": "read", "seq": seqs[1]})
        a.expect(status("p1", seqs[1], "bob", "read"),
                 "read, after an offline delivery")
        b.close_clean()
        take_leave(a, "bob")
        b = JClient(s.port, "bob", tb)
        b.quiet(what="not delivered twice")
        a.expect({"type": "join", "name": "bob"}, "join")
        a.quiet(what="no second delivered")


@test
def missed_statuses():
    """A sender away while her PMs were delivered or read gets, after her
    next welcome (a restart between), one status per PM, its latest
    state, once."""
    with ChatServer() as s:
        tb = claim(s.port, "bob")
        a = JClient(s.port, "alice")
        ta = a.token
        seqs = []
        for k in range(3):
            seqs.append(send_pm(a, "bob", "m%d" % k, "c%d" % k))
            a.expect(status("c%d" % k, seqs[-1], "bob", "offline"), "offline")
        a.close_clean()
        b = JClient(s.port, "bob", tb)
        for k in range(3):
            b.expect(pm(seqs[k], "alice", "bob", "m%d" % k), "PM %d" % k)
        b.send_json({"type": "read", "seq": seqs[0]})
        b.send_json({"type": "read", "seq": seqs[2]})
        b.req({"type": "users", "id": "u"},
              {"type": "users", "ref": "u", "users": ["bob"]}, "reads done")
        b.close_clean()
        s.clean_restart()
        a = JClient(s.port, "alice", ta)
        for k, st in enumerate(("read", "delivered", "read")):
            a.expect(status("c%d" % k, seqs[k], "bob", st),
                     "missed status %d, oldest first" % k)
        a.quiet(what="one each")
        a.close_clean()
        a = JClient(s.port, "alice", ta)
        a.quiet(what="not twice")


@test
def pm_to_and_from_plain():
    with ChatServer() as s:
        u = room(s.port, ["alice"], plain=["dave"])
        a, d = u["alice"], u["dave"]
        seq = send_pm(a, "dave", "hi dave", "x")
        a.expect(status("x", seq, "dave", "delivered"),
                 "delivered to a plain client")
        d.expect_line("alice (private): hi dave", "dave's line")
        d.line("/msg alice hello back")
        d.expect_line("* to alice: delivered", "dave's status line")
        a.expect(pm(SEQ, "dave", "alice", "hello back"), "alice gets dave's PM")
        d.line("/exit")
        d.expect_close_eof(1000, "dave's /exit")
        take_leave(a, "dave")
        a.req({"type": "msg", "id": "y", "to": "dave", "text": "gone?"},
              error("no_such_user", "y"),
              "a PM to a plain user who left: the name was never claimed")


@test
def message_errors():
    with ChatServer() as s:
        u = room(s.port, ["alice", "bob"])
        a, b = u["alice"], u["bob"]
        a.req({"type": "msg", "id": "1", "to": "nobody", "text": "x"},
              error("no_such_user", "1"), "PM to a name never claimed")
        a.req({"type": "msg", "id": "2", "text": "x" * 4097},
              error("too_long", "2"), "4097 bytes")
        a.req({"type": "msg", "id": "3", "text": "é" * 2048 + "x"},
              error("too_long", "3"),
              "4097 bytes in 2049 characters")
        a.req({"type": "msg", "id": "4", "to": "bob", "text": "x" * 4097},
              error("too_long", "4"), "a PM of 4097 bytes")
        a.req({"type": "msg", "id": "5", "text": ""}, error("empty", "5"),
              "empty text")
        a.req({"type": "msg", "id": "6"},
              error("missing_field", "6", naming("text")), "no text")
        a.req({"type": "msg", "id": "7", "text": 5},
              error("wrong_type", "7", naming("text")),
              "text a number")
        a.req({"type": "msg", "id": "8", "text": "x", "to": 5},
              error("wrong_type", "8", naming("to")), "to a number")
        a.req({"type": "msg", "id": "9", "text": None},
              error("wrong_type", "9", naming("text")),
              "text null")
        b.quiet(what="nothing of that reached bob")
        big = "é" * 2048
        seq = say(a, big, "ok")
        b.expect(lobby(seq, "alice", big), "4096 bytes exactly")


@test
def json_errors():
    with ChatServer() as s:
        u = room(s.port, ["alice", "bob"])
        a, b = u["alice"], u["bob"]
        for raw, code in [("{", "bad_json"), ("nope", "bad_json"),
                          ('{"type":"msg"', "bad_json"),
                          ('{"type":"msg","text":"a"} x', "bad_json"),
                          ("", "bad_json"), ("{'type':'users'}", "bad_json"),
                          ("[1,2]", "not_object"), ('"users"', "not_object"),
                          ("3", "not_object"), ("null", "not_object")]:
            a.send_text(raw)
            a.expect(error(code), "%r" % raw)
        a.req({"type": "frobnicate", "id": "z"}, error("unknown_type", "z"),
              "unknown type")
        a.req({"type": "welcome", "id": "z2"}, error("unknown_type", "z2"),
              "a server-only type from a client")
        a.req({"id": "t"}, error("missing_field", "t", naming("type")),
              "no type")
        a.req({"type": 5, "id": "t2"},
              error("wrong_type", "t2", naming("type")), "type a number")
        cases = [
            ({"type": "contact_add"}, "missing_field", "name"),
            ({"type": "contact_remove"}, "missing_field", "name"),
            ({"type": "read"}, "missing_field", "seq"),
            ({"type": "typing"}, "missing_field", "state"),
            ({"type": "file_offer", "name": "f", "size": 1, "sha256": "0" * 64},
             "missing_field", "to"),
            ({"type": "file_offer", "to": "bob", "size": 1, "sha256": "0" * 64},
             "missing_field", "name"),
            ({"type": "file_offer", "to": "bob", "name": "f",
              "sha256": "0" * 64},
             "missing_field", "size"),
            ({"type": "file_offer", "to": "bob", "name": "f", "size": 1},
             "missing_field", "sha256"),
            ({"type": "file_accept"}, "missing_field", "file"),
            ({"type": "file_refuse"}, "missing_field", "file"),
            ({"type": "file_cancel"}, "missing_field", "file"),
            ({"type": "file_result", "ok": True}, "missing_field", "file"),
            ({"type": "contact_add", "name": 1}, "wrong_type", "name"),
            ({"type": "read", "seq": "1"}, "wrong_type", "seq"),
            ({"type": "typing", "state": 1}, "wrong_type", "state"),
            ({"type": "history", "before": "x"}, "wrong_type", "before"),
            ({"type": "history", "limit": "x"}, "wrong_type", "limit"),
            ({"type": "file_offer", "to": "bob", "name": "f", "size": "1",
              "sha256": "0" * 64},
             "wrong_type", "size"),
            ({"type": "file_offer", "to": "bob", "name": "f", "size": 1,
              "sha256": 1},
             "wrong_type", "sha256"),
            ({"type": "file_accept", "file": "1"}, "wrong_type", "file"),
            ({"type": "file_result", "file": 1, "ok": "yes"}, "wrong_type",
             "ok"),
            ({"type": "users", "id": 5}, "wrong_type", "id"),
        ]
        for i, (req, code, field) in enumerate(cases):
            ref = "e%d" % i
            if isinstance(req.get("id"), int):
                a.req(req, error(code, None, naming(field)), "%r" % req)
            else:
                a.req(dict(req, id=ref), error(code, ref, naming(field)),
                      "%r" % req)
        b.quiet(what="none of that reached bob")
        a.req({"type": "users", "id": "u"},
              {"type": "users", "ref": "u", "users": ["alice", "bob"]},
              "the connection still works")


@test
def frame_limits():
    with ChatServer() as s:
        u = room(s.port, ["alice", "bob", "carol", "dave"])
        a, b = u["alice"], u["bob"]
        # A JSON message over 16 KiB but in one frame under 64 KiB: an error.
        a.send_text(dumps({"type": "users", "id": "big", "pad": "x" * 17000}))
        got = a.recv("17 KiB JSON message")
        got.pop("ref", None)  # the server may not have parsed that far
        eq(got, error("too_long"), "17 KiB JSON message")
        a.req({"type": "users", "id": "i" * 65},
              error("too_long", None, naming("id")),
              "an id of 65 bytes")
        a.req({"type": "users", "id": "i" * 64},
              {"type": "users", "ref": "i" * 64,
               "users": ["alice", "bob", "carol", "dave"]},
              "an id of 64 bytes")
        a.req({"type": "users", "id": "u"},
              {"type": "users", "ref": "u",
               "users": ["alice", "bob", "carol", "dave"]},
              "and the connection is kept")
        c, d = u["carol"], u["dave"]
        a.send_frame(OP_TEXT, b"x" * 65537, key=ZERO_KEY)
        a.expect_close_eof(1009, "a text frame of 64 KiB + 1")
        for x in (b, c, d):
            take_leave(x, "alice")
        c.send_frame(OP_BINARY, b"\0\0\0\x07" + b"y" * 65537, key=ZERO_KEY)
        c.expect_close_eof(1009, "a binary frame of 65541 bytes")
        for x in (b, d):
            take_leave(x, "carol")
        d.send(frame(OP_TEXT, b"[" * 40000, fin=False, key=ZERO_KEY)
               + frame(0, b"[" * 40000, key=ZERO_KEY))
        d.expect_close_eof(1009,
                           "a text message of 80000 bytes in two fragments")
        take_leave(b, "dave")
        b.req({"type": "users", "id": "u"},
              {"type": "users", "ref": "u", "users": ["bob"]},
              "the server still works")


@test
def rate_limit():
    with ChatServer() as s:
        u = room(s.port, ["alice", "bob"])
        a, b = u["alice"], u["bob"]
        a.pace = False
        n = 60
        a.send(b"".join(frame(OP_TEXT,
            dumps({"type": "msg", "id": "r%d" % i, "text": "m%d" % i}),
                              key=ZERO_KEY) for i in range(n)))
        sent, limited = [], []
        for i in range(n):
            got = a.recv("answer %d" % i)
            if got.get("type") == "status":
                eq(got,
                   {"type": "status", "ref": "r%d" % i, "seq": SEQ,
                    "status": "sent"},
                   "status %d" % i)
                sent.append((i, got["seq"]))
            else:
                eq(got, error("rate_limited", "r%d" % i), "answer %d" % i)
                limited.append(i)
        check(40 <= len(sent) <= 45 and len(limited) >= 15,
              "60 at once: %d sent, %d rate_limited (burst 40 at 20/s)"
              % (len(sent), len(limited)))
        for i, seq in sent:
            b.expect(lobby(seq, "alice", "m%d" % i),
                     "bob gets exactly the accepted ones")
        b.quiet(what="and no other")
        # typing does not count: relayed with the bucket empty.
        a.send_json({"type": "typing", "state": "active"})
        b.expect({"type": "typing", "from": "alice", "state": "active"},
                 "typing with the bucket empty")
        NOTES.append("60 messages at once: %d sent, %d rate_limited"
                     % (len(sent), len(limited)))
        # Sustained abuse: more than 200 rejected within 10 s closes 1008.
        ten = b"".join(frame(OP_TEXT, dumps({"type": "msg", "text": "x"}),
                             key=ZERO_KEY)
                       for _ in range(10))
        t0, code, rejected = time.monotonic(), None, len(limited)
        while code is None and time.monotonic() - t0 < 10:
            a.send(ten)
            for _ in range(10):
                m = a.recv_message()
                check(m is not None, "EOF without a close frame")
                if m[0] == OP_CLOSE:
                    code = struct.unpack("!H", m[1][:2])[0]
                    break
                if b'"rate_limited"' in m[1]:
                    rejected += 1
        eq(code, 1008, "close code after %d rejected messages" % rejected)
        check(200 <= rejected <= 215,
              "closed after %d rejected, want just over 200" % rejected)
        a.send_frame(OP_CLOSE, close_payload(1008))
        a.expect_eof("after the 1008")
        while True:
            m = b.recv("bob: alice's last accepted ones, then her leave")
            if m.get("type") == "leave":
                eq(m, {"type": "leave", "name": "alice"}, "leave")
                break
            if m.get("type") == "typing":
                eq(m, {"type": "typing", "from": "alice", "state": "done"},
                   "typing")
                continue
            eq((m.get("type"), m.get("from")), ("msg", "alice"), "bob: %r" % m)


@test
def slow_consumer_dropped():
    """A client that reads nothing (a 4 KiB receive buffer) while 4 MB of
    broadcasts come its way is dropped once its queue passes --max-queue
    (beyond what the kernel holds: some 3 MB here); the sender and the
    server go on, and the server's memory does not grow with it."""
    n_msgs, size = 1000, 4000
    with ChatServer(args=["--max-queue", "65536", "--rate-limit", "0"]) as s:
        a = JClient(s.port, "alice")
        slow = JClient(s.port, rcvbuf=4096)
        slow.login("slow")
        take_join(a, "slow")
        a.pace = False
        text = "z" * size
        t0 = time.monotonic()
        k, left = 0, False
        for k in range(n_msgs):
            a.send_json({"type": "msg", "id": "m%d" % k, "text": text})
            m = a.recv("status %d" % k)
            if m == {"type": "leave", "name": "slow"}:
                left = True
                break
            eq(m,
               {"type": "status", "ref": "m%d" % k, "seq": SEQ,
                "status": "sent"},
               "status %d" % k)
        if not left:
            a.sock.settimeout(15)
            take_leave(a, "slow")
        t_left = time.monotonic() - t0
        hwm = s.status_kib("VmHWM")
        check(hwm < 32 * 1024, "server VmHWM %d KiB" % hwm)
        # What the kernel held, then the end: a close 1008, EOF or a reset.
        n, end = 0, None
        try:
            while end is None:
                m = slow.recv_message()
                if m is None:
                    end = "EOF"
                elif m[0] == OP_CLOSE:
                    end = "close %d" % struct.unpack("!H", m[1][:2])[0]
                else:
                    n += 1
        except ConnectionResetError:
            end = "reset"
        except socket.timeout:
            raise Fail("the slow consumer was not dropped (%d messages read)"
                       % n)
        check(end in ("close 1008", "EOF", "reset"),
              "the slow consumer's end: %s" % end)
        check(n < n_msgs * 3 // 4,
              "the slow consumer got %d messages of %d" % (n, n_msgs))
        a.req({"type": "users", "id": "u"},
              {"type": "users", "ref": "u", "users": ["alice"]},
              "the sender goes on")
        NOTES.append("slow consumer: %s after %d of %d messages (%d sent), "
                     "its leave %.1f s after the first; server VmHWM %d KiB"
                     % (end, n, k + 1, n_msgs, t_left, hwm))


# ========================================================= presence

@test
def join_leave_users():
    with ChatServer() as s:
        a = JClient(s.port, "alice")
        p = PClient(s.port, "Bea", online=["alice", "Bea"])
        a.expect({"type": "join", "name": "Bea"}, "alice sees the plain join")
        z = JClient(s.port)
        eq(z.login("Zed")["users"], ["alice", "Bea", "Zed"],
           "welcome users sorted")
        a.expect({"type": "join", "name": "Zed"}, "join of Zed")
        p.expect_line("* Zed joined the chat", "Bea sees the JSON join")
        c = PClient(s.port, "carl", online=["alice", "Bea", "carl", "Zed"])
        take_join(a, "carl")
        take_join(p, "carl")
        take_join(z, "carl")
        a.req({"type": "users", "id": "u"},
              {"type": "users", "ref": "u",
               "users": ["alice", "Bea", "carl", "Zed"]}, "users")
        p.line("/users")
        p.expect_line("* online: alice, Bea, carl, Zed", "/users")
        z.close_clean()
        take_leave(a, "Zed")
        take_leave(p, "Zed")
        take_leave(c, "Zed")
        c.close()  # a TCP close without a close frame is a leave too
        take_leave(a, "carl")
        take_leave(p, "carl")
        a.req({"type": "users", "id": "u2"},
              {"type": "users", "ref": "u2", "users": ["alice", "Bea"]},
              "users after leaves")


@test
def typing_relay_and_rate():
    with ChatServer() as s:
        u = room(s.port, ["alice", "bob", "carol"], plain=["dave"])
        a, b, c, d = u["alice"], u["bob"], u["carol"], u["dave"]
        a.send_json({"type": "typing", "state": "active"})
        want = {"type": "typing", "from": "alice", "state": "active"}
        b.expect(want, "bob gets the lobby typing")
        c.expect(want, "carol gets the lobby typing")
        a.send_json({"type": "typing", "state": "active"})
        b.quiet(0.3, "the same state within 3 s is not relayed")
        a.send_json({"type": "typing", "state": "paused"})
        b.expect(dict(want, state="paused"),
                 "a change of state is relayed at once")
        c.expect(dict(want, state="paused"), "carol too")
        c.send_json({"type": "typing", "state": "active", "to": "bob"})
        b.expect({"type": "typing", "from": "carol", "state": "active",
                  "to": "bob"},
                 "PM typing to bob")
        seq = send_pm(c, "bob", "hey", "h")
        c.expect(status("h", seq, "bob", "delivered"), "delivered")
        b.expect_set([{"type": "typing", "from": "carol", "state": "done",
                       "to": "bob"},
                      pm(seq, "carol", "bob",
                         "hey")], "a msg ends carol's typing to bob")
        s1 = say(a, "done typing", "m")
        for x in (b, c):
            x.expect_set([dict(want, state="done"),
                          lobby(s1, "alice", "done typing")],
                         "a lobby msg ends alice's lobby typing")
        d.expect_line("alice: done typing",
                      "the plain user sees the message only")
        a.req({"type": "typing", "state": "active", "to": "nobody", "id": "n"},
              error("no_such_user", "n"), "typing to a name never claimed")
        a.req({"type": "typing", "state": "sleepy", "id": "t"},
              error("bad_value", "t",
                    naming("state")), "a state that is not active/paused/done")
        for x in (a, b, c, d):
            x.quiet(what="no other typing event")


@test
def typing_timing_3s_6s():
    with ChatServer() as s:
        u = room(s.port, ["alice", "bob"])
        a, b = u["alice"], u["bob"]
        want = {"type": "typing", "from": "alice", "state": "active",
                "to": "bob"}
        t0 = time.monotonic()
        a.send_json({"type": "typing", "state": "active", "to": "bob"})
        b.expect(want, "first active")
        time.sleep(1.0)
        a.send_json({"type": "typing", "state": "active", "to": "bob"})
        b.quiet(1.9, "a refresh within 3 s is not relayed")
        while time.monotonic() - t0 < 3.2:
            time.sleep(0.05)
        t_last = time.monotonic()
        a.send_json({"type": "typing", "state": "active", "to": "bob"})
        b.expect(want, "active again after 3 s is relayed")
        b.quiet(5.4, "no done within 6 s of the last update")
        b.expect(dict(want, state="done"), "done by the server after 6 s")
        el = time.monotonic() - t_last
        check(5.5 <= el <= 7.5,
              "done %.1f s after the last update, want 6" % el)
        a.quiet(what="alice gets nothing")


@test
def ping_and_dead_peer():
    """--ping-interval 1: a client that answers pings stays; one that
    never reads (so never answers) is dropped after about 2 s."""
    with ChatServer(args=["--ping-interval", "1"]) as s:
        a = JClient(s.port, "alice")   # recv_message() answers pings
        JClient(s.port, "mute")        # never read again
        take_join(a, "mute")
        t0 = time.monotonic()
        a.sock.settimeout(6)
        take_leave(a, "mute")
        el = time.monotonic() - t0
        check(1.5 <= el <= 4.5,
              "the mute client left after %.1f s, want about 2" % el)
        NOTES.append("--ping-interval 1: a client that never answers left "
                     "after %.1f s" % el)
        a.quiet(2.5, "alice answers the pings and stays")
        a.req({"type": "users", "id": "u"},
              {"type": "users", "ref": "u", "users": ["alice"]},
              "alice is still there")


# ========================================================= contacts

@test
def contacts():
    with ChatServer() as s:
        claim(s.port, "carol")
        u = room(s.port, ["alice", "bob"], plain=["erin"])
        a, b = u["alice"], u["bob"]

        def lst(ref, *items):
            return {"type": "contacts", "ref": ref,
                    "contacts": [{"name": n, "online": o} for n, o in items]}

        a.req({"type": "contacts", "id": "l"}, lst("l"), "empty list")
        a.req({"type": "contact_add", "name": "carol", "id": "1"},
              lst("1", ("carol", False)),
              "add carol (offline)")
        a.req({"type": "contact_add", "name": "bob", "id": "2"},
              lst("2", ("bob", True),
                  ("carol", False)), "add bob (online), sorted")
        a.req({"type": "contact_add", "name": "BOB", "id": "3"},
              lst("3", ("bob", True),
                  ("carol", False)), "add BOB again: no duplicate")
        a.req({"type": "contact_add", "name": "dave", "id": "4"},
              error("no_such_user", "4"),
              "a name never claimed")
        a.req({"type": "contact_add", "name": "erin", "id": "5"},
              error("no_such_user", "5"),
              "a plain user (never claims)")
        a.req({"type": "contact_remove", "name": "Carol", "id": "6"},
              lst("6", ("bob", True)),
              "remove carol")
        a.req({"type": "contact_remove", "name": "carol", "id": "7"},
              error("not_a_contact", "7"), "remove again")
        b.req({"type": "contacts", "id": "b"}, lst("b"), "contacts are one-way")
        b.close_clean()
        take_leave(a, "bob")
        take_leave(u["erin"], "bob")
        a.req({"type": "contacts", "id": "8"}, lst("8", ("bob", False)),
              "bob offline")
        a.close_clean()
        a = JClient(s.port)
        eq(a.login("alice", u["alice"].token)["contacts"],
           [{"name": "bob", "online": False}],
           "contacts in the welcome")


@test
def too_many_contacts():
    """The limit of 1000 contacts (with --rate-limit 0: 2000 requests)."""
    with ChatServer(args=["--rate-limit", "0"]) as s:
        names = ["c%04d" % i for i in range(1001)]
        for n in names:
            c = JClient(s.port, n)
            c.close()
        a = JClient(s.port, "alice")
        a.pace = False
        for i, n in enumerate(names[:1000]):
            a.send_json({"type": "contact_add", "name": n})
            m = a.recv("add %s" % n)
            eq((m["type"], len(m.get("contacts", ()))), ("contacts", i + 1),
               "add %s" % n)
        eq(m["contacts"][-1], {"name": "c0999", "online": False},
           "the 1000th contact")
        a.req({"type": "contact_add", "name": "c1000", "id": "x"},
              error("too_many_contacts", "x"), "the 1001st")
        a.req({"type": "contact_remove", "name": "c0000", "id": "r"},
              {"type": "contacts", "ref": "r",
               "contacts": [{"name": n,
                   "online": False} for n in names[1:1000]]}, "remove one")
        a.req({"type": "contact_add", "name": "c1000", "id": "y"},
              {"type": "contacts", "ref": "y",
               "contacts": [{"name": n, "online": False} for n in names[1:]]},
              "then there is room")


# ========================================================== history

@test
def history():
    with ChatServer() as s:
        u = room(s.port, ["alice", "bob"])
        a, b = u["alice"], u["bob"]
        msgs = []
        for k in range(60):
            who, other = (a, b) if k % 2 == 0 else (b, a)
            text = "h%02d" % k
            seq = say(who, text, "h%d" % k)
            other.expect(lobby(seq, who.name, text), "broadcast %d" % k)
            msgs.append(lobby(seq, who.name, text))
            if k == 30:
                p = send_pm(a, "bob", "not in history", "pm")
                a.expect(status("pm", p, "bob", "delivered"), "pm delivered")
                b.expect(pm(p, "alice", "bob", "not in history"), "pm")
        c = JClient(s.port)
        eq(c.login("carol")["history"], msgs[-50:],
           "welcome history: the last 50, oldest first")

        def h(ref, **q):
            return dict(q, type="history", id=ref)

        c.req(h("1"), {"type": "history", "ref": "1", "messages": msgs[-50:]},
              "latest 50")
        c.req(h("2", limit=10),
              {"type": "history", "ref": "2", "messages": msgs[-10:]},
              "limit 10")
        c.req(h("3", before=msgs[20]["seq"], limit=5),
              {"type": "history", "ref": "3",
               "messages": msgs[15:20]}, "before #20, limit 5")
        c.req(h("4", before=msgs[3]["seq"]),
              {"type": "history", "ref": "4", "messages": msgs[:3]},
              "before #3")
        c.req(h("5", before=msgs[0]["seq"]),
              {"type": "history", "ref": "5", "messages": []},
              "before the first")
        c.req(h("6", limit=200),
              {"type": "history", "ref": "6", "messages": msgs}, "limit 200")
        c.req(h("7", limit=1),
              {"type": "history", "ref": "7", "messages": msgs[-1:]}, "limit 1")
        for ref, lim in (("8", 0), ("9", 201), ("10", -1)):
            c.req(h(ref, limit=lim), error("bad_value", ref, naming("limit")),
                  "limit %d" % lim)
        for ref, bef in (("11", 0), ("12", -5)):
            c.req(h(ref, before=bef), error("bad_value", ref, naming("before")),
                  "before %d" % bef)
        c.quiet()


@test
def history_keeps_1000():
    """1100 lobby messages, a restart, then the latest 1000 (at least)
    paged back 200 at a time with before."""
    with ChatServer(args=["--rate-limit", "0"]) as s:
        a = JClient(s.port, "alice")
        a.pace = False
        seqs = []
        for k in range(1100):
            a.send(frame(OP_TEXT,
                dumps({"type": "msg", "id": str(k), "text": "n%d" % k}),
                         key=ZERO_KEY))
            if k % 50 == 49:
                for j in range(k - 49, k + 1):
                    seqs.append(sent_status(a, str(j), what="status %d" % j))
        s.clean_restart()
        b = JClient(s.port, "bob")
        want = [lobby(seqs[k], "alice", "n%d" % k) for k in range(1100)]
        eq(b.welcome["history"], want[-50:],
           "welcome history after 1100 and a restart")
        got, before = [], None
        for page in range(5):
            q = {"type": "history", "id": "p%d" % page, "limit": 200}
            if before is not None:
                q["before"] = before
            m = b.req(q, {"type": "history", "ref": "p%d" % page,
                          "messages": want[900 - 200 * page:1100 - 200 * page]},
                      "page %d" % page)
            before = m["messages"][0]["seq"]
            got = m["messages"] + got
        eq(len(got), 1000, "1000 messages paged back")


# ============================================================ files

def offer(a, b, size, sha, name="a.bin", ref="f1"):
    """alice offers, bob is told; returns the file number."""
    a.send_json({"type": "file_offer", "id": ref, "to": b.name, "name": name,
                 "size": size,
                 "sha256": sha})
    st = a.expect({"type": "file_status", "ref": ref, "file": FILE,
                   "status": "offered"},
                  "file_status offered")
    f = st["file"]
    b.expect({"type": "file_offer", "file": f, "from": a.name, "name": name,
              "size": size,
              "sha256": sha}, "bob gets the offer")
    return f


def accept(a, b, f):
    b.send_json({"type": "file_accept", "file": f})
    got = a.expect({"type": "file_accept", "file": f, "window": 262144},
                   "alice: accepted")
    return got["window"]


class Transfer:
    """alice sends size bytes of chunks() within the window, reading her
    progress; bob (a thread) checks the chunks' header, hashes the data,
    sends file_result when all of it came, and reads his progress."""

    def __init__(self, a, b, f, size, chunks, window):
        self.a, self.b, self.f, self.size = a, b, f, size
        self.chunks, self.window = chunks, window
        self.error = None
        self.bob_sha = None
        self.a_progress, self.b_progress = [], []

    def run(self, timeout):
        t = threading.Thread(target=self.receive, daemon=True)
        t.start()
        self.send()
        t.join(timeout)
        check(not t.is_alive(), "bob's side did not finish")
        if self.error:
            raise self.error

    def send(self):
        a, head = self.a, struct.pack("!I", self.f)
        sent, acked, result = 0, 0, None
        for chunk in self.chunks():
            while sent + len(chunk) - acked > self.window:
                acked, result = self.alice_reads(acked, result)
            a.send(frame(OP_BINARY, head + chunk, key=ZERO_KEY))
            sent += len(chunk)
        eq(sent, self.size, "bytes sent")
        while acked < self.size or result is None:
            acked, result = self.alice_reads(acked, result)
        eq(result,
           {"type": "file_result", "file": self.f, "ok": True,
            "from": self.b.name},
           "alice: file_result")

    def alice_reads(self, acked, result):
        m = self.a.recv("alice during the transfer")
        if m.get("type") == "file_progress":
            eq(sorted(m), ["bytes", "file", "type"], "file_progress fields")
            eq(m["file"], self.f, "file_progress file")
            check(acked < m["bytes"] <= self.size,
                  "alice: progress %r after %d of %d"
                  % (m["bytes"], acked, self.size))
            self.a_progress.append(m["bytes"])
            return m["bytes"], result
        check(m.get("type") == "file_result" and result is None,
              "alice got %s" % short(m))
        return acked, m

    def receive(self):
        try:
            self._receive()
        except Exception as e:
            self.error = e

    def _receive(self):
        b, sha, got, last = self.b, hashlib.sha256(), 0, 0
        head = struct.pack("!I", self.f)
        while got < self.size or last < self.size:
            kind, m = b.recv_any("bob during the transfer")
            if kind == "bin":
                check(m[:4] == head and 1 <= len(m) - 4 <= 65536,
                      "bob: chunk header %r, %d bytes" % (m[:4], len(m)))
                sha.update(memoryview(m)[4:])
                got += len(m) - 4
                check(got <= self.size,
                      "bob: %d bytes of %d" % (got, self.size))
                if got == self.size:
                    self.bob_sha = sha.hexdigest()
                    b.send_json({"type": "file_result", "file": self.f,
                                 "ok": self.bob_sha == self.sha})
                continue
            eq(m.get("type"), "file_progress", "bob got %s" % short(m))
            eq(m.get("file"), self.f, "bob: progress file")
            check(last < m["bytes"] <= self.size,
                  "bob: progress %r after %d" % (m["bytes"], last))
            last = m["bytes"]
            self.b_progress.append(last)


def pattern(size):
    """size bytes, made on the fly in chunks of 64 KiB (never all in
    memory): a random 1 MiB (+ 64 KiB) block read at a shifting offset,
    the same on every call."""
    base = os.urandom((1 << 20) + 65536)

    def chunks():
        left, k = size, 0
        while left > 0:
            n = min(65536, left)
            off = (k * 40961) % (1 << 20)
            yield base[off:off + n]
            left -= n
            k += 1
    return chunks


def sha_of(chunks):
    h = hashlib.sha256()
    for c in chunks():
        h.update(c)
    return h.hexdigest()


@test
def file_transfer():
    with ChatServer() as s:
        u = room(s.port, ["alice", "bob", "carol"])
        a, b, c = u["alice"], u["bob"], u["carol"]
        data = os.urandom(300000)

        def chunks():
            for i in range(0, len(data), 65536):
                yield data[i:i + 65536]
        sha = hashlib.sha256(data).hexdigest()
        f = offer(a, b, len(data), sha, name="résumé.pdf")
        w = accept(a, b, f)
        t = Transfer(a, b, f, len(data), chunks, w)
        t.sha = sha
        t.run(30)
        eq(t.bob_sha, sha, "bob's SHA-256")
        eq((t.a_progress[-1], t.b_progress[-1]), (len(data), len(data)),
           "final progress")
        c.quiet(what="carol sees nothing of the transfer")
        # An empty file: accepted, no data, bob's result.
        e = hashlib.sha256(b"").hexdigest()
        f0 = offer(a, b, 0, e, name="empty", ref="f0")
        check(f0 != f, "a new transfer has a new number")
        accept(a, b, f0)
        b.send_json({"type": "file_result", "file": f0, "ok": True})
        while True:
            m = a.recv("empty file: result")
            if m.get("type") != "file_progress":
                break
        eq(m, {"type": "file_result", "file": f0, "ok": True, "from": "bob"},
           "empty file")
        # A corrupt file: bob says so.
        f2 = offer(a, b, 5, "0" * 64, name="bad", ref="f2")
        accept(a, b, f2)
        a.send_frame(OP_BINARY, struct.pack("!I", f2) + b"hello", key=ZERO_KEY)
        got = b.recv_any("bob: the chunk")
        eq(got, ("bin", struct.pack("!I", f2) + b"hello"), "relayed unchanged")
        b.send_json({"type": "file_result", "file": f2, "ok": False})
        while True:
            m = a.recv("result of the corrupt file")
            if m.get("type") != "file_progress":
                break
        eq(m, {"type": "file_result", "file": f2, "ok": False, "from": "bob"},
           "ok false")


@test
def file_refuse_cancel_errors():
    with ChatServer() as s:
        claim(s.port, "carol")
        u = room(s.port, ["alice", "bob"], plain=["dave"])
        a, b = u["alice"], u["bob"]
        sha = "ab" * 32
        f = offer(a, b, 1000, sha)
        b.send_json({"type": "file_refuse", "file": f})
        a.expect({"type": "file_refuse", "file": f}, "alice: refused")
        a.send_frame(OP_BINARY, struct.pack("!I", f) + b"x", key=ZERO_KEY)
        a.expect(error("no_such_file"), "a chunk of a refused file")
        b.quiet(what="nothing of it reached bob")
        # Cancelled by the sender in the middle.
        f = offer(a, b, 1000, sha, ref="f2")
        accept(a, b, f)
        a.send_frame(OP_BINARY, struct.pack("!I", f) + b"y" * 100, key=ZERO_KEY)
        a.send_json({"type": "file_cancel", "file": f, "id": "cx"})
        bin_seen = False
        while True:
            kind, m = b.recv_any("bob: the chunk, then the cancel")
            if kind == "bin":
                eq(m, struct.pack("!I", f) + b"y" * 100, "the chunk")
                bin_seen = True
            elif m.get("type") == "file_cancel":
                eq(m,
                   {"type": "file_cancel", "file": f, "by": "alice",
                    "reason": TEXT},
                   "bob: cancelled by alice")
                break
            else:
                eq(m.get("type"), "file_progress", "bob: %s" % short(m))
        check(bin_seen, "the chunk sent before the cancel was relayed")
        only_progress(a, f, 0.3, "alice after her cancel")
        # Cancelled by the receiver.
        f = offer(a, b, 1000, sha, ref="f3")
        accept(a, b, f)
        b.send_json({"type": "file_cancel", "file": f})
        a.expect({"type": "file_cancel", "file": f, "by": "bob",
                  "reason": TEXT},
                 "alice: cancelled by bob")
        # Beyond size.
        f = offer(a, b, 10, sha, ref="f4")
        accept(a, b, f)
        a.send_frame(OP_BINARY, struct.pack("!I", f) + b"z" * 11, key=ZERO_KEY)
        cancel = {"type": "file_cancel", "file": f, "by": "server",
                  "reason": TEXT}
        a.expect(cancel, "alice: a chunk beyond size")
        b.expect(cancel, "bob: a chunk beyond size")
        # A chunk of an offer not accepted yet; a name over 255 bytes.
        f = offer(a, b, 10, sha, ref="f4b")
        a.send_frame(OP_BINARY, struct.pack("!I", f) + b"z", key=ZERO_KEY)
        a.expect(error("no_such_file"), "a chunk before the accept")
        b.quiet(what="bob: nothing of it")
        b.send_json({"type": "file_refuse", "file": f})
        a.expect({"type": "file_refuse", "file": f}, "then refused")
        a.req({"type": "file_offer", "id": "long", "to": "bob",
               "name": "n" * 256, "size": 1, "sha256": sha},
              error("too_long", "long", naming("name")), "a 256-byte name")
        # Offline, plain, unknown, no such file.
        a.send_json({"type": "file_offer", "id": "o", "to": "carol",
                     "name": "x", "size": 1,
                     "sha256": sha})
        m = a.recv("offer to offline carol")
        m.pop("file", None)
        eq(m, {"type": "file_status", "ref": "o", "status": "offline"},
           "offline")
        a.send_json({"type": "file_offer", "id": "p", "to": "dave", "name": "x",
                     "size": 1,
                     "sha256": sha})
        m = a.recv("offer to plain dave")
        m.pop("file", None)
        eq(m, {"type": "file_status", "ref": "p", "status": "unsupported"},
           "unsupported")
        u["dave"].quiet(what="dave sees nothing of it")
        a.req({"type": "file_offer", "id": "q", "to": "nobody", "name": "x",
               "size": 1,
               "sha256": sha}, error("no_such_user", "q"), "offer to nobody")
        for t in ("file_accept", "file_refuse", "file_cancel"):
            a.req({"type": t, "file": 99999, "id": t}, error("no_such_file", t),
                  t + " of 99999")
        b.req({"type": "file_accept", "file": 99999, "id": "b"},
              error("no_such_file", "b"),
              "accept of 99999")
        # A disconnect cancels.
        f = offer(a, b, 1000, sha, ref="f5")
        accept(a, b, f)
        b.close_clean()
        a.expect_set([{"type": "file_cancel", "file": f, "by": "bob",
                       "reason": TEXT},
                      {"type": "leave",
                       "name": "bob"}], "bob left in the middle")


@test
def file_window_enforced():
    """A sender that ignores the window (16 MiB sent blindly to a receiver
    that reads nothing) is cancelled by the server; the server does not
    hold the excess, and the receiver is told too."""
    size = 16 << 20
    with ChatServer() as s:
        a = JClient(s.port, "alice")
        b = JClient(s.port, rcvbuf=4096)
        b.login("bob")
        take_join(a, "bob")
        f = offer(a, b, size, "00" * 32)
        accept(a, b, f)
        chunk = frame(OP_BINARY, struct.pack("!I", f) + b"w" * 65536,
                      key=ZERO_KEY)
        for _ in range(size // 65536):
            a.send(chunk)
        cancel = {"type": "file_cancel", "file": f, "by": "server",
                  "reason": TEXT}
        acked = 0  # what the server said had left for bob
        while True:
            m = a.recv("alice: the cancel")
            if m.get("type") != "file_progress":
                break
            acked = max(acked, m["bytes"])
        eq(m, cancel, "alice: a chunk beyond the window")
        while True:  # the chunks sent after it: refused one by one
            try:
                a.sock.settimeout(0.5)
                m = a.recv("alice after the cancel")
            except socket.timeout:
                break
            eq(m, error("no_such_file"), "a chunk after the cancel")
        a.sock.settimeout(a.timeout)
        hwm = s.status_kib("VmHWM")
        check(hwm < 32 * 1024, "server VmHWM %d KiB" % hwm)
        n = 0
        while True:
            kind, m = b.recv_any("bob: the chunks, then the cancel")
            if kind == "bin":
                n += len(m) - 4
            elif m.get("type") != "file_progress":
                break
        eq(m, cancel, "bob: told of the cancel")
        # Progress is reported as bytes leave the server for bob's
        # socket (the kernel may take a lot on loopback), and the sender
        # may run one window ahead of it: never more.
        check(n <= acked + 262144,
              "bob got %d bytes, more than %d acknowledged + the window"
              % (n, acked))
        NOTES.append("window ignored: cancelled after %d bytes relayed "
                     "(%d acknowledged); server VmHWM %d KiB"
                     % (n, acked, hwm))


@test
def file_256mib_rss():
    size = 256 << 20
    with ChatServer(fsync="never") as s:
        u = room(s.port, ["alice", "bob"])
        a, b = u["alice"], u["bob"]
        chunks = pattern(size)
        t0 = time.monotonic()
        sha = sha_of(chunks)
        f = offer(a, b, size, sha, name="big.iso")
        w = accept(a, b, f)
        t = Transfer(a, b, f, size, chunks, w)
        t.sha = sha
        t.run(60)
        el = time.monotonic() - t0
        eq(t.bob_sha, sha, "SHA-256 at bob")
        hwm = s.status_kib("VmHWM")
        check(hwm < 32 * 1024,
              "server peak RSS (VmHWM) %d KiB, want < 32 MiB" % hwm)
        NOTES.append("256 MiB file relayed in %.1f s (%.0f MiB/s with both "
                     "Python ends); server VmHWM %d KiB" % (el, 256 / el, hwm))


# ====================================================== plain text

@test
def plain_text_raw():
    with ChatServer() as s:
        a = PClient(s.port)
        a.line("alice\n")
        a.expect_line("* welcome alice; online: alice",
                      "welcome (trailing \\n dropped)")
        b = PClient(s.port, "bob", online=["alice", "bob"])
        a.expect_line("* bob joined the chat", "join")
        c = JClient(s.port, "carol")
        take_join(a, "carol")
        take_join(b, "carol")
        a.line("hello all")
        b.expect_line("alice: hello all", "broadcast")
        c.expect(lobby(SEQ, "alice", "hello all"),
                 "JSON carol gets the plain broadcast")
        a.line("/users")
        a.expect_line("* online: alice, bob, carol", "/users")
        a.line("/msg bob psst")
        b.expect_line("alice (private): psst", "PM")
        a.expect_line("* to bob: delivered", "PM status")
        a.line("/msg carol hi carol")
        c.expect(pm(SEQ, "alice", "carol", "hi carol"), "plain → JSON PM")
        a.expect_line("* to carol: delivered", "PM status")
        a.line("/msg nobody x")
        a.expect_line("* no such user: nobody", "/msg to an unknown name")
        a.line("/frob")
        a.expect_line("* error: unknown command /frob", "unknown command")
        a.line("")
        a.expect_line("* error: a message needs some text", "an empty line")
        a.line("/msg bob")
        a.expect_line("* error: usage: /msg <user> <text>", "/msg without text")
        a.line("x" * 5000)
        a.expect_line("* error: text is 5000 bytes; at most 4096 are allowed",
                      "a line of 5000 bytes")
        a.line("crlf line\r\n")
        b.expect_line("alice: crlf line", "a trailing \\r\\n dropped")
        c.expect(lobby(SEQ, "alice", "crlf line"), "the JSON user too")
        td = claim(s.port, "dave")
        for x in (a, b, c):
            take_join(x, "dave")
            take_leave(x, "dave")
        a.line("/msg dave later")
        a.expect_line("* to dave: offline, will be delivered",
                      "PM to a claimed offline name")
        for x in (b, c):
            x.quiet(what="nothing else for the others")
        d = JClient(s.port)
        d.login("dave", td)
        d.expect(pm(SEQ, "alice", "dave", "later"),
                 "dave gets the plain user's offline PM")
        take_join(b, "dave")
        take_join(c, "dave")
        eq(sorted([a.recv_line("join"), a.recv_line("delivered")]),
           ["* dave joined the chat", "* to dave: delivered"],
           "the plain sender: dave's join, and told of the delivery")
        a.line("/exit")
        a.expect_close_eof(1000, "/exit")
        for x in (b, c, d):
            take_leave(x, "alice")
        e = PClient(s.port, "eve", online=["bob", "carol", "dave", "eve"])
        e.quiet(what="a plain user gets no history")
        for x in (b, c, d):
            take_join(x, "eve")
        e.send_frame(OP_BINARY, b"\x00\x01", key=ZERO_KEY)
        e.expect_close_eof(1003, "a binary message from a plain client")
        for x in (b, c, d):
            take_leave(x, "eve")


@test
def plain_names_refused():
    with ChatServer() as s:
        claim(s.port, "dave")
        u = room(s.port, ["carol"], plain=["bob"])
        cases = [("carol", "* name taken"), ("CAROL", "* name taken"),
                 ("Bob", "* name taken"),
                 ("dave", "* name taken"), ("a b", "* bad name: "), ("x!",
                     "* bad name: "),
                 ("", "* bad name: "), ("y" * 33, "* bad name: "), ("server",
                     "* bad name: "),
                 ("[1,2]", "* bad name: "), ('"alice"', "* bad name: ")]
        for name, want in cases:
            p = PClient(s.port)
            p.line(name)
            got = p.recv_line("plain %r" % name)
            if want.endswith(": "):
                check(got.startswith(want) and len(got) > len(want),
                      "plain %r: got %r, want %r<why>" % (name, got, want))
            else:
                eq(got, want, "plain %r" % name)
            p.expect_close_eof(1008, "plain %r refused" % name)
        j = JClient(s.port)
        j.req({"type": "hello", "name": "BOB", "id": "b"},
              error("name_taken", "b"), "claiming the name a plain user has")
        for c in u.values():
            c.quiet(what="no join for refused names")


@test
def plain_wscat():
    with ChatServer() as s:
        a = JClient(s.port, "alice")
        url = "ws://127.0.0.1:%d/" % s.port
        p = subprocess.Popen([WSCAT, url], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            def line(t):
                p.stdin.write(t.encode() + b"\n")
                p.stdin.flush()

            def out(want, what):
                eq(read_line(p.stdout, 10), want + "\n", what)
            line("wendy")
            out("* welcome wendy; online: alice, wendy", "wscat: welcome")
            a.expect({"type": "join", "name": "wendy"}, "alice sees wendy join")
            say(a, "hi wendy", "1")
            out("alice: hi wendy", "wscat: alice's broadcast")
            line("hello from wscat")
            a.expect(lobby(SEQ, "wendy", "hello from wscat"),
                     "alice gets wendy's line")
            line("/users")
            out("* online: alice, wendy", "wscat: /users")
            line("/msg alice psst")
            a.expect(pm(SEQ, "wendy", "alice", "psst"), "alice gets the PM")
            out("* to alice: delivered", "wscat: PM status")
            seq = send_pm(a, "wendy", "back", "2")
            a.expect(status("2", seq, "wendy", "delivered"),
                     "delivered to wscat")
            out("alice (private): back", "wscat: PM")
            line("/exit")
            rc = p.wait(10)
            err = p.stderr.read().decode(errors="replace")
            eq(rc, 0, "wscat exit status after /exit (stderr %r)" % err)
            check("close 1000" in err, "wscat: close code on stderr: %r" % err)
            take_leave(a, "wendy")
        finally:
            reap(p)
        # Scripted stdin from a pipe: name, one line, EOF → close 1000.
        p = subprocess.run([WSCAT, url], input=b"xavier\nfrom a script\n",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=15)
        eq(p.returncode, 0, "scripted wscat exit (stderr %r)" % p.stderr[-300:])
        eq(p.stdout.decode().splitlines()[0],
           "* welcome xavier; online: alice, xavier",
           "scripted wscat: welcome")
        take_join(a, "xavier")
        a.expect(lobby(SEQ, "xavier", "from a script"), "scripted line")
        take_leave(a, "xavier")
        # A taken name: the line, then 1008 (wscat exits 3).
        # (stdin kept open: wscat's own close at EOF would race the server's)
        p = subprocess.Popen([WSCAT, url], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        p.stdin.write(b"alice\n")
        p.stdin.flush()
        try:
            rc = p.wait(10)
            out, err = p.stdout.read(), p.stderr.read()
        finally:
            reap(p)
        eq((rc, out), (3, b"* name taken\n"), "wscat with a taken name")
        check(b"1008" in err, "wscat: close 1008 on stderr: %r" % err[-300:])
        a.quiet(what="alice saw nothing of the refused name")


# ======================================================= durability

def durability(mode, crash):
    with ChatServer(fsync=mode) as s:
        u = room(s.port, ["alice", "bob", "carol"])
        a, b, c = u["alice"], u["bob"], u["carol"]
        toks = {n: u[n].token for n in u}
        a.req({"type": "contact_add", "name": "bob", "id": "1"},
              {"type": "contacts", "ref": "1",
               "contacts": [{"name": "bob", "online": True}]},
              "add bob")
        a.req({"type": "contact_add", "name": "carol", "id": "2"},
              {"type": "contacts", "ref": "2",
               "contacts": [{"name": "bob", "online": True},
                            {"name": "carol", "online": True}]},
              "add carol")
        a.req({"type": "contact_remove", "name": "carol", "id": "3"},
              {"type": "contacts", "ref": "3",
               "contacts": [{"name": "bob", "online": True}]},
              "remove carol")
        hist = []
        for k in range(5):
            seq = say(a, "lobby %d" % k, "l%d" % k)
            hist.append(lobby(seq, "alice", "lobby %d" % k))
        b.close_clean()
        take_leave(a, "bob")
        c.close_clean()
        take_leave(a, "carol")
        pms = []
        for k in range(5):
            seq = send_pm(a, "bob", "pm %d" % k, "p%d" % k)
            a.expect(status("p%d" % k, seq, "bob", "offline"),
                     "offline status %d" % k)
            pms.append(pm(seq, "alice", "bob", "pm %d" % k))
        if crash:
            s.kill9()
            s.restart()
        else:
            s.clean_restart()
        top = pms[-1]["seq"]
        # Names: still claimed.
        p = PClient(s.port)
        p.line("carol")
        p.expect_line("* name taken", "carol is still claimed")
        p.expect_close_eof(1008, "plain carol")
        x = JClient(s.port)
        x.req({"type": "hello", "name": "bob", "id": "t"},
              error("name_taken", "t"),
              "bob is still claimed")
        x.close()
        c = JClient(s.port)
        w = c.login("carol", toks["carol"])
        check("token" not in w, "carol's claim survived (no new token)")
        eq(w["history"], hist, "history after the restart")
        a = JClient(s.port)
        w = a.login("alice", toks["alice"])
        eq(w["contacts"], [{"name": "bob", "online": False}],
           "contacts after the restart")
        take_join(c, "alice")
        b = JClient(s.port)
        b.login("bob", toks["bob"])
        for k in range(5):
            b.expect(pms[k], "offline PM %d after the restart, in order" % k)
        b.quiet(what="each PM once")
        take_join(c, "bob")
        delivered = [status("p%d" % k, pms[k]["seq"], "bob", "delivered")
                     for k in range(5)]
        join_then_delivered(a, "bob", delivered, "alice after the restart")
        b.send_json({"type": "read", "seq": pms[0]["seq"]})
        a.expect(status("p0", pms[0]["seq"], "bob", "read"),
                 "read of a PM that waited through the restart")
        seq = say(a, "after", "af")
        check(seq > top, "seq %d after the restart, want > %d" % (seq, top))
        hist.append(lobby(seq, "alice", "after"))
        b.expect(hist[-1], "bob gets it")
        c.expect(hist[-1], "carol gets it")
        # Once: a second restart delivers nothing again.
        if crash and mode == "always":
            s.kill9()
            s.restart()
        else:
            s.clean_restart("second restart")
        b = JClient(s.port)
        eq(b.login("bob", toks["bob"])["history"], hist,
           "history after the second restart")
        b.quiet(what="the delivered PMs are not delivered again")


@test
def durability_kill9_always():
    durability("always", crash=True)


@test
def durability_kill9_batch():
    durability("batch", crash=True)


@test
def durability_restart_never():
    durability("never", crash=False)



def crash_under_load(mode, n=3000):
    """n PMs to offline bob sent at once; kill -9 once a third of them are
    acknowledged (offline). After the restart bob gets a prefix of them:
    in order, each once, every acknowledged one with its seq."""
    with ChatServer(fsync=mode, args=["--rate-limit", "0"]) as s:
        tb = claim(s.port, "bob")
        a = JClient(s.port, "alice")
        a.send(b"".join(frame(OP_TEXT,
            dumps({"type": "msg", "id": "q%d" % k, "to": "bob",
                                              "text": "q%d" % k}), key=ZERO_KEY)
                        for k in range(n)))
        acked = {}
        while len(acked) < n // 3:
            m = a.recv("answers")
            if m.get("status") == "offline":
                acked[int(m["ref"][1:])] = m["seq"]
            else:
                eq((m.get("type"), m.get("status")), ("status", "sent"),
                   "answer: %r" % m)
        s.kill9()
        s.restart()
        b = JClient(s.port)
        b.login("bob", tb)
        got = []
        b.sock.settimeout(1.0)
        try:
            while True:
                got.append(b.recv("offline PMs after the crash"))
        except socket.timeout:
            pass
        b.sock.settimeout(b.timeout)
        ks = []
        for m in got:
            k = int(m.get("text", "q-1")[1:])
            eq(m, pm(acked.get(k, SEQ), "alice", "bob", "q%d" % k),
               "PM after the crash")
            ks.append(k)
        eq(ks, list(range(len(ks))),
           "the PMs after the crash: in order, each once, no gap")
        check(len(ks) >= len(acked),
              "%d acknowledged, %d delivered after the crash"
              % (len(acked), len(ks)))
        NOTES.append("kill -9 under load (--fsync %s): %d of %d "
                     "acknowledged, %d kept" % (mode, len(acked), n, len(ks)))


@test
def crash_under_load_always():
    crash_under_load("always")


@test
def crash_under_load_batch():
    crash_under_load("batch")


@test
def damaged_log_recovered():
    """A torn tail (a crash in the middle of a write) and a record damaged
    in the middle: the server starts, says so on stderr, keeps a copy of
    the damaged log, and loses only the damaged record."""
    with ChatServer() as s:
        u = room(s.port, ["alice", "bob"])
        a, b = u["alice"], u["bob"]
        toks = {n: u[n].token for n in u}
        hist = []
        for k in range(3):
            seq = say(a, "lobby-%d-abcdefgh" % k, "l%d" % k)
            b.expect(lobby(seq, "alice", "lobby-%d-abcdefgh" % k), "lobby")
            hist.append(lobby(seq, "alice", "lobby-%d-abcdefgh" % k))
        eq(s.stop(), 0, "exit status")
        logs = [f for f in os.listdir(s.dir) if not f.startswith(".")]
        eq(len(logs), 1, "one file in the data directory: %r" % logs)
        path = os.path.join(s.dir, logs[0])
        with open(path, "ab") as f:
            f.write(b"\xff\xa5\x40\x00torn")
        s.restart()
        check("damaged" in s.stderr(), "no warning on stderr: %r"
              % s.stderr()[-500:])
        a = JClient(s.port)
        eq(a.login("alice", toks["alice"])["history"], hist,
           "history after a torn tail")
        eq(s.stop(), 0, "exit status")
        with open(path, "r+b") as f:
            data = f.read()
            i = data.find(b"lobby-1-abcdefgh")
            check(i > 0, "the message text is not in the log")
            f.seek(i + 8)
            f.write(b"X")
        s.restart()
        check("damaged" in s.stderr(), "no warning on stderr: %r"
              % s.stderr()[-500:])
        b = JClient(s.port)
        eq(b.login("bob", toks["bob"])["history"], [hist[0], hist[2]],
           "history after a record damaged in the middle")
        damaged = [f for f in os.listdir(s.dir) if "damaged" in f]
        eq(len(damaged), 2, "copies of the damaged logs: %r" % damaged)
        seq = say(b, "after", "x")
        check(seq > hist[2]["seq"], "seq %d after the damage" % seq)


# ========================================================= shutdown

@test
def sigterm_shutdown():
    with ChatServer() as s:
        u = room(s.port, ["alice"], plain=["bob"])
        os.kill(s.pid, signal.SIGTERM)
        u["alice"].expect({"type": "system", "text": "server is shutting down"},
                          "JSON notice")
        u["bob"].expect_line("* server is shutting down", "plain notice")
        u["alice"].expect_close_eof(1001, "JSON close")
        u["bob"].expect_close_eof(1001, "plain close")
        try:
            s.proc.wait(5)
        except subprocess.TimeoutExpired:
            raise Fail("the server did not exit 5 s after SIGTERM")
        rc = s.proc.returncode
        s.proc.stdout.close()
        s.proc = None
        eq(rc, 0, "exit status")


# ============================================================ load

@test
def load_500_clients():
    """500 clients (every tenth a plain one) each broadcast 4 messages at
    once: every client gets every other's, each once, in the sender's
    order; every JSON sender gets its statuses."""
    n, per = 500, 4
    plain = set(range(9, n, 10))
    with ChatServer(fsync="batch") as s:
        sw = Swarm(s.port, n)
        t0 = time.monotonic()
        sw.connect_all(plain)
        t_login = time.monotonic() - t0
        got = [dict() for _ in range(n)]   # receiver -> {sender: last k}
        counts, statuses, joins = [0] * n, [0] * n, [0] * n
        errors = []

        # 1M messages: fields found by regular expressions, every 64th
        # JSON one parsed in full as well.
        is_msg = re.compile(rb'"type":\s*"msg"')
        sender = re.compile(rb'"from":\s*"u(\d+)"')
        text = re.compile(rb'"text":\s*"u(\d+) (\d+)"')
        line = re.compile(rb"u(\d+): u(\d+) (\d+)")
        joined = re.compile(rb"\* u\d+ joined the chat")

        def on_msg(i, j, k):
            last = got[i].get(j, -1)
            if k != last + 1 or j == i:
                errors.append("client %d: from %d message %d after %d"
                              % (i, j, k, last))
            got[i][j] = k
            counts[i] += 1

        def on_plain(i, payload):
            m = line.fullmatch(payload)
            if m and m.group(1) == m.group(2):
                on_msg(i, int(m.group(1)), int(m.group(3)))
            elif joined.fullmatch(payload):
                joins[i] += 1
            else:
                errors.append("plain client %d: %r" % (i, payload[:100]))

        def on_text(i, payload):
            if i in plain:
                return on_plain(i, payload)
            if is_msg.search(payload):
                f, t = sender.search(payload), text.search(payload)
                if not f or not t or f.group(1) != t.group(1):
                    errors.append("client %d: %r" % (i, payload[:100]))
                    return
                j, k = int(f.group(1)), int(t.group(2))
                if counts[i] % 64 == 0:
                    m = json.loads(payload)
                    if m != {"type": "msg", "seq": m.get("seq"),
                             "ts": m.get("ts"), "from": sw.names[j],
                             "text": "%s %d" % (sw.names[j], k)}:
                        errors.append("client %d: %r" % (i, m))
                return on_msg(i, j, k)
            t = json.loads(payload)["type"]
            if t == "status":
                statuses[i] += 1
            elif t == "join":
                joins[i] += 1
            else:
                errors.append("client %d: %r" % (i, payload[:100]))

        want = (n - 1) * per
        json_ones = [i for i in range(n) if i not in plain]

        def done():
            return errors or (min(counts) >= want
                              and min(statuses[i] for i in json_ones) >= per)
        t1 = time.monotonic()
        for k in range(per):
            for i in range(n):
                words = "%s %d" % (sw.names[i], k)
                sw.send(i, words if i in plain else
                        {"type": "msg", "id": str(k), "text": words})
            sw.run(on_text, lambda: False, 0.01)
        ok = sw.run(on_text, done, 40)
        el = time.monotonic() - t1
        sw.close()
        check(not errors,
              "%d errors: %s" % (len(errors), "; ".join(errors[:5])))
        check(ok, "after 40 s: receivers got %d..%d of %d, JSON senders "
              "%d..%d statuses" % (min(counts), max(counts), want,
                                   min(statuses[i] for i in json_ones),
                                   max(statuses)))
        eq(max(counts), want, "no receiver got more")
        eq(max(statuses), per, "no sender got more statuses")
        eq(joins, [n - 1 - i for i in range(n)],
           "joins: each of those who came later, once")
        NOTES.append("500 clients (50 plain): logins in %.1f s; %d "
                     "broadcasts, %d deliveries in %.1f s (%.0f/s)"
                     % (t_login, n * per, n * want, el, n * want / el))


# ========================================================== the log

@test
def log_file():
    for with_messages in (False, True):
        d = tempfile.mkdtemp(prefix="log-", dir=ChatServer.tmp)
        path = os.path.join(d, "chat.log")
        args = ["--log", path] + (["--log-messages"] if with_messages else [])
        with ChatServer(args=args) as s:
            u = room(s.port, ["alice", "bob"])
            seq = send_pm(u["alice"], "bob", "the secret words", "p")
            u["alice"].expect(status("p", seq, "bob", "delivered"), "delivered")
            u["bob"].expect(pm(seq, "alice", "bob", "the secret words"),
                            "the PM")
            seq = say(u["bob"], "lobby words", "l")
            u["alice"].expect(lobby(seq, "bob", "lobby words"),
                              "the lobby message")
            u["alice"].send_text("{")
            u["alice"].expect(error("bad_json"), "an error")
            u["bob"].close_clean()
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        lines = text.splitlines()
        check(len(lines) >= 5,
              "the log has %d lines: %r" % (len(lines), text[:500]))
        for ln in lines:
            check(re.match(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d", ln),
                  "a log line without a timestamp: %r" % ln)
        for word in ("alice", "bob", "bad_json"):
            check(word in text,
                  "the log does not mention %r: %r" % (word, text[:800]))
        has = "the secret words" in text and "lobby words" in text
        eq(has, with_messages,
           "message contents in the log with --log-messages=%s"
           % with_messages)


# ============================================================ usage

@test
def server_usage():
    srv = ChatServer.binary
    p = subprocess.run([srv, "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE,
                       timeout=10)
    eq((p.returncode, p.stderr), (0, b""), "--help: exit status and stderr")
    out = p.stdout.decode()
    for opt in ("--host", "--port", "--data-dir", "--log", "--log-messages",
                "--fsync",
                "--max-queue", "--rate-limit", "--help"):
        check(opt in out, "--help does not mention %s" % opt)
    d = os.path.join(ChatServer.tmp, "never-made")
    for args, word in [(["--bogus"], "--bogus"),
                       (["--fsync", "sometimes"], "sometimes"),
                       (["--port", "99999"], "99999"),
                       (["--max-queue", "lots"], "lots")]:
        p = subprocess.run([srv, "--port", "0", "--data-dir", d] + args,
                           stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10)
        err = p.stderr.decode(errors="replace")
        eq((p.returncode, p.stdout), (1, b""),
           "%s: exit status and stdout" % args)
        check(word in err and "--help" in err, "%s: stderr %r" % (args, err))
    check(not os.path.exists(d),
          "a refused command line created the data directory")


# ========================================================== runner

def main():
    global WSCAT
    args = suite_args("server", "wscat")
    ChatServer.binary, WSCAT = args.server, args.wscat
    ChatServer.tmp = tempfile.mkdtemp(prefix="chat-test-")
    status_ = RUNNER.run(TESTS, args.k, deadline=90, after_each=close_clients)
    shutil.rmtree(ChatServer.tmp, ignore_errors=True)
    return status_


if __name__ == "__main__":
    sys.exit(main())
