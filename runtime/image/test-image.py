#!/usr/bin/python3
"""The appliance image end to end, under qemu (run on demand; the test command does not run it).

Boots a copy of the disk image that build-image.sh made (UEFI firmware from Debian's ovmf package, NBD
port 10809 forwarded to a free port on the host's loopback, nothing else reachable), then:

  1. measures boot-to-ready from the image's first userspace instruction: the initramfs's first script
     prints "ddmapper-image: userspace starts" on the serial line, the appliance its ready line; both
     are time-stamped as they arrive on the host (and the guest's journal gives its own figure);
  2. writes and reads the demo device through the forwarded port with qemu-io;
  3. upgrades org.ddmapper.target.linear through the control channel (ddsetup on the serial console,
     the jar handed in on a second, read-only virtual disk);
  4. reboots the VM and finds the upgraded version running (ddsetup upgrade --list) and the data intact;
  5. powers it off, and prints the image's size and both boots' times.

Usage: runtime/image/test-image.py [--image FILE] [--dist DIR] [--boot-timeout SECONDS] [--keep]
Needs qemu-system-x86, ovmf and qemu-utils (qemu-io). Exit status 0 when every step passed.
"""
import argparse
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", ".."))
LINEAR = "org.ddmapper.target.linear"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
USERSPACE = re.compile(rb"ddmapper-image: userspace starts, uptime ([\d.]*) s")
READY = re.compile(rb"ddmapper ready: nbd=\S+ control=\S+[^\r\n]*")


class Serial:
    """The VM's serial line (a qemu chardev socket): everything it said, with the host time of each chunk."""

    def __init__(self, path, log):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        for _ in range(300):
            try:
                self.sock.connect(path)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("test-image: cannot connect to the VM's serial socket " + path)
        self.text = b""
        self.stamps = []  # (offset where a chunk starts, monotonic time it arrived)
        self.cond = threading.Condition()
        self.log = log
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            data = self.sock.recv(65536)
            now = time.monotonic()
            if not data:
                with self.cond:
                    self.cond.notify_all()
                return
            self.log.write(data)
            self.log.flush()
            with self.cond:
                self.stamps.append((len(self.text), now))
                self.text += data
                self.cond.notify_all()

    def time_at(self, offset):
        """When the chunk holding byte {offset} arrived."""
        when = None
        for start, t in self.stamps:
            if start > offset:
                break
            when = t
        return when

    def wait(self, pattern, since, timeout, what):
        """The first match of {pattern} after byte {since}, and when it arrived; fails after {timeout} s."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                m = pattern.search(self.text, since)
                if m:
                    return m, self.time_at(m.end() - 1)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SystemExit("test-image: no %s within %d s (serial log: see --keep)" % (what, timeout))
                self.cond.wait(left)

    def send(self, text):
        self.sock.sendall(text.encode())

    def run(self, command, timeout=300):
        """Runs a shell command at the serial console's root shell; returns (exit status, output)."""
        tag = "%x" % int(time.monotonic() * 1000)
        since = len(self.text)
        # the markers are printed with printf so that the echo of the command line itself never matches
        self.send("printf 'BEGIN-%%s\\n' %s; %s; printf 'END-%%s rc=%%s\\n' %s $?\n" % (tag, command, tag))
        begin, _ = self.wait(re.compile(b"BEGIN-" + tag.encode() + b"\r?\n"), since, timeout, "start of '" + command + "'")
        end, _ = self.wait(re.compile(b"END-" + tag.encode() + rb" rc=(\d+)"), begin.end(), timeout, "end of '" + command + "'")
        out = self.text[begin.end():end.start()].decode(errors="replace").replace("\r", "")
        return int(end.group(1)), out


def upgrade_jar(dist, work):
    """A copy of the distribution's target-linear jar one micro version up, tarred onto a disk of its own."""
    jar = next(os.path.join(dist, "bundle", f) for f in sorted(os.listdir(os.path.join(dist, "bundle")))
               if re.match(r"target-linear-\d.*\.jar$", f))
    with zipfile.ZipFile(jar) as z:
        manifest = z.read("META-INF/MANIFEST.MF").decode()
        version = re.search(r"^Bundle-Version: (\S+)", manifest, re.M).group(1)
        parts = version.split(".")
        parts[2] = str(int(parts[2]) + 1)
        new_version = ".".join(parts)
        out = os.path.join(work, "target-linear-next.jar")
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as o:
            for item in z.infolist():
                data = z.read(item.filename)
                if item.filename == "META-INF/MANIFEST.MF":
                    data = re.sub(r"^Bundle-Version: \S+", "Bundle-Version: " + new_version, manifest, flags=re.M).encode()
                o.writestr(item, data)
    disk = os.path.join(work, "upgrade.tar")
    with tarfile.open(disk, "w") as t:
        t.add(out, arcname="target-linear-next.jar")
    with open(disk, "ab") as f:  # whole 512-byte sectors for the virtual disk
        f.truncate(((os.path.getsize(disk) + 1048575) // 1048576) * 1048576)
    return version, new_version, disk


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qemu_io(port, command):
    r = subprocess.run(["qemu-io", "-f", "raw", "nbd://127.0.0.1:%d/demo" % port, "-c", command],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0 or "failed" in r.stdout + r.stderr:
        raise SystemExit("test-image: qemu-io '%s' failed: %s%s" % (command, r.stdout, r.stderr))


def boot(serial, since, timeout, number):
    """Waits for the userspace stamp and the ready line; returns (host seconds between them, guest uptime at userspace, end)."""
    user, t_user = serial.wait(USERSPACE, since, timeout, "userspace stamp of boot %d" % number)
    ready, t_ready = serial.wait(READY, user.end(), timeout, "ready line of boot %d" % number)
    kernel = float(user.group(1)) if user.group(1) else None  # an image whose stamp printed no number (no cut in it)
    print("boot %d: kernel %s s to userspace; userspace to ready %.2f s (host clock): %s"
          % (number, "?" if kernel is None else "%.2f" % kernel, t_ready - t_user, ready.group().decode().strip()), flush=True)
    return t_ready - t_user, kernel, ready.end()


def shell(serial, timeout):
    """Waits for the serial console's root shell: a fresh prompt after an empty line (it may have come before the ready line)."""
    deadline = time.monotonic() + timeout
    while True:
        since = len(serial.text)
        serial.send("\n")
        try:
            serial.wait(re.compile(rb"root@ddmapper:[^\r\n]*# "), since, 10, "the serial console's shell")
            return
        except SystemExit:
            if time.monotonic() > deadline:
                raise


def guest_ready(serial, number):
    """The guest's own figure: the ready line's journal time (monotonic) minus the userspace stamp's uptime."""
    rc, out = serial.run("journalctl -b -o short-monotonic -u ddmapper --no-pager | grep -m1 'ddmapper ready'")
    m = re.search(r"\[\s*([\d.]+)\]", out)
    return float(m.group(1)) if rc == 0 and m else None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image", default=os.path.join(REPO, "runtime/target/ddmapper-image.raw"))
    p.add_argument("--dist", default=os.path.join(REPO, "runtime/target/ddmapper"))
    p.add_argument("--boot-timeout", type=int, default=900)
    p.add_argument("--keep", action="store_true", help="keep the work directory (serial log, disk)")
    a = p.parse_args()
    for tool in ("qemu-system-x86_64", "qemu-io"):
        if not shutil.which(tool):
            raise SystemExit("test-image: needs %s (apt-get install qemu-system-x86 qemu-utils ovmf)" % tool)
    if not os.path.exists(OVMF_CODE):
        raise SystemExit("test-image: needs %s (apt-get install ovmf)" % OVMF_CODE)
    if not os.path.exists(a.image):
        raise SystemExit("test-image: no image %s: build it with runtime/image/build-image.sh" % a.image)

    work = tempfile.mkdtemp(prefix="ddmapper-image-test.")
    qemu = None
    try:
        disk = os.path.join(work, "disk.raw")
        subprocess.run(["cp", "--sparse=always", a.image, disk], check=True)
        shutil.copy(OVMF_VARS, os.path.join(work, "vars.fd"))
        base, new_version, upgrade_disk = upgrade_jar(a.dist, work)
        port = free_port()
        accel = "kvm" if os.access("/dev/kvm", os.W_OK) else "tcg"
        sock = os.path.join(work, "serial.sock")
        qemu = subprocess.Popen([
            "qemu-system-x86_64", "-machine", "q35", "-accel", accel, "-m", "1024", "-smp", "2",
            "-drive", "if=pflash,format=raw,readonly=on,file=" + OVMF_CODE,
            "-drive", "if=pflash,format=raw,file=" + os.path.join(work, "vars.fd"),
            "-drive", "file=%s,format=raw,if=virtio" % disk,
            "-drive", "file=%s,format=raw,if=virtio,readonly=on" % upgrade_disk,
            "-nic", "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:%d-:10809" % port,
            "-chardev", "socket,id=ser0,path=%s,server=on,wait=on" % sock, "-serial", "chardev:ser0",
            "-display", "none", "-monitor", "none"], stdin=subprocess.DEVNULL)
        print("test-image: qemu pid %d (%s), NBD on 127.0.0.1:%d, serial log %s/serial.log"
              % (qemu.pid, accel, port, work), flush=True)
        with open(os.path.join(work, "serial.log"), "wb") as log:
            serial = Serial(sock, log)
            took1, kernel1, end = boot(serial, 0, a.boot_timeout, 1)
            qemu_io(port, "write -P 0x5a 0 1M")
            qemu_io(port, "read -P 0x5a 0 1M")
            print("step: the demo export answers on 127.0.0.1:%d (1 MiB written and read back)" % port, flush=True)
            shell(serial, a.boot_timeout)
            guest1 = guest_ready(serial, 1)
            rc, out = serial.run("tar -xf /dev/vdb -C /tmp && ddsetup upgrade %s /tmp/target-linear-next.jar" % LINEAR)
            if rc != 0 or ("-> " + new_version) not in out:
                raise SystemExit("test-image: the upgrade failed (%d): %s" % (rc, out))
            print("step: " + out.strip(), flush=True)
            since = len(serial.text)
            serial.send("systemctl reboot\n")
            took2, kernel2, end = boot(serial, since, a.boot_timeout, 2)
            shell(serial, a.boot_timeout)
            rc, out = serial.run("ddsetup upgrade --list")
            if rc != 0 or ("%s image %s running %s" % (LINEAR, base, new_version)) not in out:
                raise SystemExit("test-image: after the reboot the upgraded version does not run: " + out)
            print("step: after the reboot: " + out.strip().splitlines()[0], flush=True)
            qemu_io(port, "read -P 0x5a 0 1M")
            print("step: the data written before the reboot reads back", flush=True)
            guest2 = guest_ready(serial, 2)
            serial.send("systemctl poweroff\n")
            qemu.wait(timeout=300)
        size = os.path.getsize(a.image)
        used = int(subprocess.run(["du", "-k", a.image], capture_output=True, text=True).stdout.split()[0]) * 1024
        java = int(subprocess.run(["du", "-sk", os.path.join(a.dist, "java")], capture_output=True, text=True).stdout.split()[0]) * 1024
        print("result: image %s: %.0f MiB (%.0f MiB allocated); Java runtime %.0f MiB; %s" %
              (a.image, size / 1048576, used / 1048576, java / 1048576, accel))
        for n, took, kernel, guest in ((1, took1, kernel1, guest1), (2, took2, kernel2, guest2)):
            print("result: boot %d: userspace to ready %.2f s (host clock)%s; kernel before it %s s"
                  % (n, took, "" if guest is None or kernel is None else ", %.2f s (guest clock)" % (guest - kernel),
                     "?" if kernel is None else "%.2f" % kernel))
        print("PASS")
    finally:
        if qemu and qemu.poll() is None:
            qemu.kill()
            qemu.wait()
        if a.keep:
            print("test-image: kept " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
