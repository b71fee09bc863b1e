package org.ddmapper.tools;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.control.ddlink.DdlinkClient;
import org.ddmapper.control.ddlink.Op;
import org.ddmapper.control.ddlink.PayloadWriter;
import org.ddmapper.nbd.NbdClientProvider;
import org.ddmapper.tools.powerloss.Checkers;
import org.ddmapper.tools.powerloss.InvariantChecker;
import org.ddmapper.tools.powerloss.PowerLoss;
import org.ddmapper.tools.verify.Journal;
import org.ddmapper.tools.verify.VerifyCheck;
import org.ddmapper.tools.verify.VerifyingWriter;

/**
 * The reliability tools, one command each (java -cp tools/target/tools.jar:tools/target/lib/* org.ddmapper.tools.Main):
 * <pre>
 * write     --device nbd://HOST:PORT/NAME[,…] --journal FILE[,…] --blocks N [--block-bytes 4096] [--ops N] [--seconds S]
 *           [--flush 0.05] [--fua 0.05] [--seed N] [--mark-socket CONTROL_SOCKET --mark-device NAME] [--verify-first FILE[,…]]
 * check     --device nbd://...|--image FILE --journal FILE
 * powerloss --log FILE --device-sectors N --check NAME[,NAME] [--base FILE] [--random 4] [--seed N]
 *           [--journal FILE] [--fio-block 4096] [--expect-final DEVICE_IMAGE]
 * </pre>
 * Each prints one summary line (and the first violations); exit 0 when all is well, 1 for
 * violations, 2 when it could not run, 64 for a bad command line.
 */
public final class Main {
    private static final int SHOWN_VIOLATIONS = 20;

    private Main() {}

    public static void main(String[] args) {
        if (System.getProperty("tinylog.writer.level") == null) System.setProperty("tinylog.writer.level", "warn");
        int status;
        try {
            if (args.length == 0) throw new IllegalArgumentException("expected a command: write, check or powerloss");
            Map<String, String> o = options(args);
            status = switch (args[0]) {
                case "write" -> write(o);
                case "check" -> check(o);
                case "powerloss" -> powerLoss(o);
                default -> throw new IllegalArgumentException("unknown command '" + args[0] + "' (write, check, powerloss)");
            };
        } catch (IllegalArgumentException e) {
            System.err.println("tools: " + e.getMessage());
            status = 64;
        } catch (Exception e) {
            System.err.println("tools: " + e);
            status = 2;
        }
        System.exit(status);
    }

    /**
     * One writer thread per device ({@code --device} and {@code --journal} are comma-separated lists of the
     * same length); with {@code --verify-first J1,J2,…} each device is first checked against the journal of
     * the run before (the kill -9 loop's check after a restart), and the reports printed, before writing.
     */
    private static int write(Map<String, String> o) throws Exception {
        String[] devices = need(o, "device").split(",");
        String[] journals = need(o, "journal").split(",");
        String[] previous = o.containsKey("verify-first") ? o.get("verify-first").split(",") : null;
        if (journals.length != devices.length || (previous != null && previous.length != devices.length))
            throw new IllegalArgumentException("--device, --journal and --verify-first need as many entries each");
        int status = 0;
        if (previous != null) {
            for (int i = 0; i < devices.length; i++) status = Math.max(status, check(Journal.durable(Path.of(previous[i]), -1), devices[i]));
        }
        System.out.flush();
        List<Thread> threads = new ArrayList<>();
        CountDownLatch opened = new CountDownLatch(devices.length);
        for (int i = 0; i < devices.length; i++) {
            String device = devices[i];
            Path journal = Path.of(journals[i]);
            Thread t = new Thread(() -> {
                try {
                    System.out.println("write " + device + ": " + writeOne(o, device, journal, opened));
                } catch (IOException | RuntimeException e) {
                    System.out.println("write " + device + ": could not run: " + e);
                } finally {
                    opened.countDown();
                }
            }, "writer " + device);
            t.start();
            threads.add(t);
        }
        opened.await();
        System.out.println("writing: " + devices.length + " devices");
        System.out.flush();
        for (Thread t : threads) t.join();
        return status;
    }

    private static VerifyingWriter.Outcome writeOne(Map<String, String> o, String uri, Path journalPath, CountDownLatch opened)
            throws IOException {
        int blockBytes = Integer.parseInt(o.getOrDefault("block-bytes", "4096"));
        long blocks = Long.parseLong(need(o, "blocks"));
        long run = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
        long seconds = Long.parseLong(o.getOrDefault("seconds", "0"));
        long deadline = seconds > 0 ? System.nanoTime() + seconds * 1_000_000_000L : Long.MAX_VALUE;
        BlockDevice device = new NbdClientProvider().open(uri, false);
        try (Journal journal = Journal.create(journalPath, run, blocks, blockBytes)) {
            VerifyingWriter.Marker marker = null;
            if (o.containsKey("mark-socket")) marker = marker(Path.of(o.get("mark-socket")), need(o, "mark-device"));
            opened.countDown();
            return new VerifyingWriter(device, blocks, blockBytes, run, journal, marker).run(
                    Long.parseLong(o.getOrDefault("ops", Long.toString(Long.MAX_VALUE))), deadline,
                    Double.parseDouble(o.getOrDefault("flush", "0.05")), Double.parseDouble(o.getOrDefault("fua", "0.05")),
                    Long.parseLong(o.getOrDefault("seed", Long.toString(run))));
        } finally {
            device.close();
        }
    }

    /** Marks through the control socket: {@code message DEVICE 0 mark TEXT}. */
    private static VerifyingWriter.Marker marker(Path socket, String device) throws IOException {
        DdlinkClient client = DdlinkClient.connect(socket);
        return text -> client.callOk(Op.MESSAGE, 0, new PayloadWriter().u64(0).text(device).nul().text("mark " + text).toBytes());
    }

    private static int check(Map<String, String> o) throws IOException {
        Journal.State state = Journal.durable(Path.of(need(o, "journal")), -1);
        if (!o.containsKey("image")) return check(state, need(o, "device"));
        VerifyCheck.Report report;
        try (FileChannel image = FileChannel.open(Path.of(o.get("image")), StandardOpenOption.READ)) {
            report = VerifyCheck.check(state, (index, bytes) -> {
                ByteBuffer b = ByteBuffer.allocate(bytes);
                while (b.hasRemaining() && image.read(b, index * bytes + b.position()) >= 0) { }
                return b.flip();
            });
        }
        return print("check " + o.get("image"), report);
    }

    /** Checks a live device against a journal, reading it block by block over NBD. */
    private static int check(Journal.State state, String uri) throws IOException {
        BlockDevice device = new NbdClientProvider().open(uri, true);
        try {
            return print("check " + uri, VerifyCheck.check(state, (index, bytes) -> {
                ByteBuffer b = ByteBuffer.allocate(bytes);
                var status = VerifyingWriter.await(device, c -> Bio.read(index * (bytes / Bio.SECTOR_BYTES), b, c));
                if (!status.isOk()) throw new IOException("reading block " + index + ": " + status);
                return b; // the device filled it through a view; its position is still 0
            }));
        } finally {
            device.close();
        }
    }

    private static int print(String what, VerifyCheck.Report report) {
        System.out.println(what + ": " + report);
        report.violations().stream().limit(SHOWN_VIOLATIONS).forEach(v -> System.out.println("  " + v));
        return report.ok() ? 0 : 1;
    }

    private static int powerLoss(Map<String, String> o) throws IOException {
        List<InvariantChecker> checkers = new ArrayList<>();
        for (String name : need(o, "check").split(",")) checkers.add(Checkers.create(name, o));
        Path log = Path.of(need(o, "log"));
        PowerLoss.Options options = new PowerLoss.Options(log, o.containsKey("base") ? Path.of(o.get("base")) : null,
                Long.parseLong(need(o, "device-sectors")), Integer.parseInt(o.getOrDefault("random", "4")),
                Long.parseLong(o.getOrDefault("seed", "1")), Path.of(System.getProperty("java.io.tmpdir")),
                o.containsKey("expect-final") ? Path.of(o.get("expect-final")) : null);
        PowerLoss.Result result = new PowerLoss(options, checkers).run();
        System.out.println("powerloss: " + result);
        result.violations().stream().limit(SHOWN_VIOLATIONS).forEach(v -> System.out.println("  " + v));
        return result.violations().isEmpty() ? 0 : 1;
    }

    /** {@code --name value} pairs after the command. */
    private static Map<String, String> options(String[] args) {
        Map<String, String> o = new HashMap<>();
        for (int i = 1; i < args.length; i += 2) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) throw new IllegalArgumentException("expected --OPTION VALUE at '" + args[i] + "'");
            o.put(args[i].substring(2), args[i + 1]);
        }
        return o;
    }

    private static String need(Map<String, String> o, String name) {
        String v = o.get(name);
        if (v == null) throw new IllegalArgumentException("missing --" + name);
        return v;
    }
}
