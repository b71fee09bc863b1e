package org.ddmapper.it.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.ddmapper.it.support.Appliance;
import org.ddmapper.it.support.Peers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 25 with the real Linux NBD client: Debian's 6.1 kernel ({@code nbd.ko}) and nbd-client in a
 * qemu guest ({@code tests/kernel/kdm-vm-net.sh}, user-mode network to this machine's loopback)
 * attach an export of the appliance and write to it with O_DIRECT; the guest asks the host to stop
 * the appliance (SIGTERM, by pid) and times its writer. The writer gets EIO within 1 s of the
 * request (which includes the host's 0.1 s polling), nothing hangs, and the appliance exits 0.
 * The kernel client hung for more than a minute when the server closed with requests unanswered.
 */
@Timeout(value = 400, unit = TimeUnit.SECONDS)
class KernelNbdClientStopTest {
    static final Pattern STOP = Pattern.compile("^stop requested at ([0-9.]+)$", Pattern.MULTILINE);
    static final Pattern END = Pattern.compile("^writer ended at ([0-9.]+) rc=(\\d+)$", Pattern.MULTILINE);

    /** The guest's part: attach, write until it fails, ask for the stop in between; times from /proc/uptime. */
    static final String GUEST = """
            #!/bin/sh
            set -u
            t() { cut -d' ' -f1 /proc/uptime; }
            nbd-client -N w 10.0.2.2 "$PORT" /dev/nbd0 || { echo "nbd-client failed"; exit 2; }
            dd if=/dev/zero of=/dev/nbd0 bs=64k count=1000000 oflag=direct 2> /tmp/dd.err &
            DD=$!
            sleep 1
            kill -0 $DD 2>/dev/null || { echo "the writer ended before the stop"; cat /tmp/dd.err; exit 3; }
            echo "stop requested at $(t)"
            echo "$KDM_HOSTMARK stop"
            wait $DD
            RC=$?
            echo "writer ended at $(t) rc=$RC"
            cat /tmp/dd.err
            nbd-client -d /dev/nbd0 >/dev/null 2>&1
            echo "disconnected"
            """;

    @TempDir
    Path dir;

    @Test
    void theKernelClientsWriterGetsEioWithinASecondOfTheStop() throws Exception {
        Peers.require("qemu-system-x86_64");
        Path vm = Path.of(System.getProperty("user.dir")).resolve("kernel/kdm-vm-net.sh");
        assertTrue(Files.isExecutable(vm), vm + " is missing");
        Path guest = Files.writeString(dir.resolve("guest.sh"), GUEST);
        Path backing = dir.resolve("w.img");
        try (RandomAccessFile f = new RandomAccessFile(backing.toFile(), "rw")) {
            f.setLength(256 << 20);
        }
        try (Appliance app = Appliance.start(dir.resolve("home"))) {
            Appliance.Exit created = app.ddsetup("create", "w", "--table", "0 524288 linear " + backing + " 0");
            assertEquals(0, created.code(), created.toString());
            Path hook = Files.writeString(dir.resolve("stop.sh"), "#!/bin/sh\nkill -TERM " + app.pid() + "\n");
            Files.setPosixFilePermissions(hook, PosixFilePermissions.fromString("rwx------"));

            Peers.Result run = Peers.run(360, vm.toString(), "-t", "300", "-e", "PORT=" + app.nbdPort(), "-x", hook.toString(),
                    guest.toString());
            assertEquals(0, run.exit(), "the guest's script: " + run.output());
            Matcher stop = STOP.matcher(run.output());
            Matcher end = END.matcher(run.output());
            assertTrue(stop.find() && end.find(), run.output());
            double seconds = Double.parseDouble(end.group(1)) - Double.parseDouble(stop.group(1));
            assertTrue(run.output().contains("Input/output error"), "the writer fails with EIO: " + run.output());
            assertTrue(seconds <= 1.0, "the writer failed " + seconds + " s after the stop was asked for: " + run.output());
            assertTrue(run.output().contains("disconnected"), run.output());

            Appliance.Exit exit = app.stop(); // already stopping: waits for the exit and asserts status 0
            assertEquals(0, exit.code(), exit.toString());
        }
    }
}
