package org.ddmapper.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.spi.testkit.TestTargetTypes;

/**
 * Fuzzes the state file, {@code HOME/state/devices.state} (see {@link StateStore}).
 * <ul>
 * <li>{@code parse}: the text is refused with an EINVAL naming the line, or read into a set that the
 * store writes back to text reading as the same set;</li>
 * <li>{@code restart}: a core started on a home holding the file comes up (whatever the file),
 * with positive, distinct ids and valid names; a device created then gets a fresh id; and a second
 * start on the same home brings back exactly the same devices, ids and tables.</li>
 * </ul>
 */
class StateFileFuzzTest {
    /** Homes live in memory when there is a tmpfs: the store fsyncs every save, which a disk makes slow. */
    private static final Path MEMORY = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));

    @FuzzTest
    void parse(byte[] input) {
        List<String> lines = lines(input);
        if (lines == null) return; // not UTF-8: load() reports it as unreadable before parsing
        StateStore.Snapshot s;
        try {
            s = StateStore.parse(lines);
        } catch (DmException e) {
            assertEquals(Errno.EINVAL, e.errno(), e.getMessage());
            assertTrue(e.getMessage().startsWith("line ") || e.getMessage().startsWith("at end: "), e.getMessage());
            return;
        }
        String written = StateStore.format(s);
        assertEquals(s, StateStore.parse(lines(written.getBytes(StandardCharsets.UTF_8))), "read back from\n" + written);
    }

    @FuzzTest
    void restart(byte[] input) throws IOException {
        Path home = Files.createTempDirectory(MEMORY, "ddmapper-statefuzz");
        try {
            Files.createDirectories(home.resolve("state"));
            Files.write(home.resolve("state").resolve(StateStore.FILE), input);
            List<String> before;
            try (Devices devices = start(home)) {
                List<DeviceInfo> restored = devices.list();
                Set<Long> ids = new HashSet<>();
                for (DeviceInfo d : restored) {
                    assertTrue(d.id() > 0 && ids.add(d.id()), () -> "restored ids " + restored);
                    assertTrue(d.name().matches("[A-Za-z0-9][A-Za-z0-9._+:@=-]{0,126}"), () -> "restored name '" + d.name() + "'");
                }
                DeviceInfo added = devices.create("fuzz-added", null);
                assertTrue(added.id() > 0 && !ids.contains(added.id()), () -> "new id " + added.id() + " beside " + restored);
                before = describe(devices);
            }
            try (Devices devices = start(home)) {
                assertEquals(before, describe(devices), "the devices a restart brings back");
            }
        } finally {
            try (Stream<Path> files = Files.walk(home)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static Devices start(Path home) {
        Devices devices = new Devices();
        devices.addTargetType(new TestTargetTypes.Linear(), "test", 1);
        devices.start(CoreConfig.forHome(home).withTypeWaitMillis(60_000));
        return devices;
    }

    /** Each device as id, name and both slots' table text, in the order listed. */
    private static List<String> describe(Devices devices) {
        return devices.list().stream().map(d -> {
            DeviceRef ref = DeviceRef.of(d.name());
            return d.id() + " " + d.name() + " " + d.tablesPresent() + " live " + devices.table(ref, false)
                    + " inactive " + devices.table(ref, true);
        }).toList();
    }

    /** The file's lines as {@link Files#readAllLines} reads them (strict UTF-8; \n, \r\n or \r ends a line), or null. */
    private static List<String> lines(byte[] bytes) {
        try {
            String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
            return text.lines().toList();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
