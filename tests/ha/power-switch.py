#!/usr/bin/python3
"""The fence device of the two-node failover test: a networked power switch for nodes that are namespaces.

It listens on ADDRESS:PORT inside the storage namespace, so a node that lost the network cannot reach it
(as a real node cut off from its management network cannot reach its neighbour's power switch). A node
is a pid namespace whose init's host pid and start time are in NODES/NAME.pid ("PID STARTTIME"); powering
it off is SIGKILL to that init: the kernel then kills every process of the namespace (corosync,
pacemaker, ddmapper and their sockets), and "off" is answered only once the init is gone (reaped), so a
fenced node has really stopped when the cluster is told so.

One request per connection, one line: "off NAME", "status NAME" or "list"; one answer line: "ok ...",
"error ...". Every request is logged to LOG as "TIME PEER REQUEST -> ANSWER".
"""
import os
import signal
import socketserver
import sys
import time

NODES = LOG = None


def node_pid(name):
    """The node's init pid if that process still runs (same start time), else None."""
    try:
        with open(os.path.join(NODES, name + ".pid")) as f:
            pid, start = f.read().split()
        with open("/proc/%s/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[19] != start:
                return None
        return int(pid)
    except (OSError, ValueError, IndexError):
        return None


def answer(request):
    words = request.split()
    if words == ["list"]:
        return "ok " + " ".join(sorted(n[:-4] for n in os.listdir(NODES) if n.endswith(".pid")))
    if len(words) != 2 or words[0] not in ("off", "status"):
        return "error expected 'off NAME', 'status NAME' or 'list'"
    verb, name = words
    if not os.path.exists(os.path.join(NODES, name + ".pid")):
        return "error no node named %s" % name
    pid = node_pid(name)
    if verb == "status":
        return "ok " + ("on" if pid else "off")
    if pid is None:
        return "ok off (was off)"
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while node_pid(name) is not None:
        if time.monotonic() > deadline:
            return "error %s (pid %d) still runs 20 s after SIGKILL" % (name, pid)
        time.sleep(0.02)
    return "ok off"


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        request = self.rfile.readline(200).decode("ascii", "replace").strip()
        reply = answer(request)
        with open(LOG, "a") as log:
            log.write("%.3f %s %s -> %s\n" % (time.time(), self.client_address[0], request, reply))
        self.wfile.write((reply + "\n").encode())


def main():
    global NODES, LOG
    address, NODES, LOG = sys.argv[1], sys.argv[2], sys.argv[3]
    host, port = address.rsplit(":", 1)
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    with socketserver.ThreadingTCPServer((host, int(port)), Handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
