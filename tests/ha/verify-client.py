#!/usr/bin/python3
"""The NBD client of the failover tests: writes numbered 4 KiB blocks through one NBD address, one request
at a time, reads acknowledged blocks back at random and checks them, and when the connection breaks (reset,
closed, no answer within --timeout seconds, or an NBD_ESHUTDOWN reply) connects again and repeats the
request that had no answer — what a client with reconnect (qemu's reconnect-delay, libnbd's users) does.

Every gap between two completed requests longer than 50 ms is appended to GAPS as "START END SECONDS"
(wall-clock seconds), so the driver can find the stall a fault caused; PROGRESS is rewritten every 0.2 s
with "OPS LAST_COMPLETION_TIME RECONNECTS ERRORS". On SIGTERM it stops, reads every acknowledged block back
(reconnecting as needed), and prints one JSON summary line: requests, reconnects, errors (an NBD error
reply other than ESHUTDOWN: what an application would have seen), verify_failures (a block that did not
hold its last acknowledged write: acknowledged data lost or overwritten by a stale write), max_gap.
Needs Debian's python3-libnbd (run it with /usr/bin/python3).
"""
import argparse
import errno
import json
import os
import random
import signal
import struct
import sys
import time

import nbd

BLOCK = 4096
READBACK_S = 40


class Dead(Exception):
    """The connection is gone or gave no answer in time: reconnect and repeat."""


class GiveUp(Exception):
    """No connection before the client's deadline (give_up_at)."""


def pattern(block, seq):
    head = struct.pack("<QQ", block, seq)
    return (head + bytes([(block * 31 + seq) & 0xFF]) * (BLOCK - len(head)))


class Client:
    def __init__(self, uri, timeout, gaps, progress):
        self.uri = uri
        self.timeout = timeout
        self.gaps = open(gaps, "a", buffering=1)
        self.progress = progress
        self.h = None
        self.give_up_at = None  # time.monotonic() past which connect() gives up
        self.requests = 0
        self.reconnects = 0
        self.errors = []
        self.last = time.time()
        self.max_gap = 0.0
        self.last_progress = 0.0

    def connect(self):
        """Connects, retrying every 0.1 s; each try is bounded by 1 s."""
        while True:
            self.close()
            if self.give_up_at is not None and time.monotonic() > self.give_up_at:
                raise GiveUp()
            h = nbd.NBD()
            try:
                h.aio_connect_uri(self.uri)
                deadline = time.monotonic() + 1.0
                while not h.aio_is_ready():
                    if h.aio_is_dead() or h.aio_is_closed() or time.monotonic() > deadline:
                        raise Dead("connect")
                    h.poll(100)
                self.h = h
                return
            except (nbd.Error, Dead):
                try:
                    h.close()
                except Exception:
                    pass
                time.sleep(0.1)

    def close(self):
        if self.h is not None:
            try:
                self.h.close()
            except Exception:
                pass
            self.h = None

    def wait(self, cookie):
        deadline = time.monotonic() + self.timeout
        h = self.h
        while True:
            try:
                if h.aio_command_completed(cookie):
                    return
            except nbd.Error as e:
                if self.broken(e):
                    raise Dead(str(e))
                raise
            if h.aio_is_dead() or h.aio_is_closed():
                raise Dead("connection lost")
            if time.monotonic() > deadline:
                raise Dead("no answer within %.1f s" % self.timeout)
            h.poll(50)

    def run(self, op, *args):
        """One request to completion: repeated on a fresh connection until it gets an answer."""
        while True:
            if self.h is None:
                self.connect()
            try:
                if op == "write":
                    cookie = self.h.aio_pwrite(args[0], args[1])
                    self.wait(cookie)
                    result = True
                else:
                    buf = nbd.Buffer(BLOCK)
                    cookie = self.h.aio_pread(buf, args[0])
                    self.wait(cookie)
                    result = buf.to_bytearray()
                self.completed()
                return result
            except Dead:
                self.reconnects += 1
                self.close()
            except nbd.Error as e:
                if self.broken(e):
                    self.reconnects += 1
                    self.close()
                    continue
                self.errors.append("%s at %d: %s" % (op, args[-1], e))
                self.completed()
                return None

    def broken(self, e):
        """Whether an error means the connection, not the request: reconnect and repeat."""
        h = self.h
        name = e.errno if isinstance(e.errno, str) else errno.errorcode.get(e.errno)  # libnbd 1.14 gives the name
        return (name in ("ESHUTDOWN", "ENOTCONN", "ECONNRESET", "EPIPE")
                or h is None or h.aio_is_dead() or h.aio_is_closed())

    def completed(self):
        now = time.time()
        gap = now - self.last
        if gap > 0.05:
            self.gaps.write("%.3f %.3f %.3f\n" % (self.last, now, gap))
        self.max_gap = max(self.max_gap, gap)
        self.last = now
        self.requests += 1
        if now - self.last_progress > 0.2:
            self.last_progress = now
            with open(self.progress + ".new", "w") as f:
                f.write("%d %.3f %d %d\n" % (self.requests, now, self.reconnects, len(self.errors)))
            os.replace(self.progress + ".new", self.progress)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("uri")
    p.add_argument("gaps")
    p.add_argument("progress")
    p.add_argument("--blocks", type=int, default=256)
    p.add_argument("--timeout", type=float, default=3.0)
    a = p.parse_args()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    c = Client(a.uri, a.timeout, a.gaps, a.progress)
    acked = {}
    failures = []
    seq = 0
    rnd = random.Random(24)
    c.connect()
    c.last = time.time()
    while not stop:
        seq += 1
        block = seq % a.blocks
        done = c.run("write", pattern(block, seq), block * BLOCK)
        # a write answered with an error may or may not have landed: that block is not checked until rewritten
        acked[block] = seq if done is not None else None
        if seq % 4 == 0:
            b = rnd.choice(list(acked))
            if acked[b] is None:
                continue
            got = c.run("read", b * BLOCK)
            if got is not None and bytes(got) != pattern(b, acked[b]):
                failures.append("block %d: expected write %d, found %s" % (b, acked[b], struct.unpack("<QQ", bytes(got[:16]))))
    # the read-back is bounded: past READBACK_S the blocks not read count as verify failures
    c.give_up_at = time.monotonic() + READBACK_S
    for b in sorted(b for b in acked if acked[b] is not None):
        try:
            got = c.run("read", b * BLOCK)
        except GiveUp:
            failures.append("block %d and later: not read back within %d s" % (b, READBACK_S))
            break
        if got is not None and bytes(got) != pattern(b, acked[b]):
            failures.append("block %d: expected write %d, found %s" % (b, acked[b], struct.unpack("<QQ", bytes(got[:16]))))
    c.close()
    print(json.dumps({"requests": c.requests, "writes": seq, "reconnects": c.reconnects, "errors": len(c.errors),
                      "error_samples": c.errors[:5], "verify_failures": len(failures), "failure_samples": failures[:5],
                      "max_gap": round(c.max_gap, 3)}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
