package org.ddmapper.runtime;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * The home directory: everything the appliance writes. {@code state/} (the core's devices and tables),
 * {@code run/} (sockets), {@code log/}, {@code cache/} (the framework's bundle cache), {@code data/}
 * (backing files such as the demo image).
 */
record Home(Path root) {

    /** The demo device's backing file: etc/tables/demo.table maps 131072 sectors of it. */
    static final String DEMO_IMAGE = "demo.img";
    static final long DEMO_IMAGE_BYTES = 64L << 20;

    /** The locked lock file, referenced so that it is never collected (and its lock released) early. */
    private static FileChannel heldLock;

    Path state() {
        return root.resolve("state");
    }

    Path run() {
        return root.resolve("run");
    }

    Path log() {
        return root.resolve("log");
    }

    Path cache() {
        return root.resolve("cache");
    }

    Path data() {
        return root.resolve("data");
    }

    /** The bundle store the core keeps live upgrades in ({@link StoredVersions}); the core creates it. */
    Path bundles() {
        return root.resolve("bundles");
    }

    /** Creates the home and its folders where missing. */
    void create() throws LaunchFailure {
        for (Path dir : List.of(root, state(), run(), log(), cache(), data())) {
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw LaunchFailure.failed("cannot create " + dir + ": " + Describe.io(e));
            }
            if (!Files.isWritable(dir)) {
                throw LaunchFailure.failed(dir + ": not writable");
            }
        }
    }

    /**
     * Takes the home for this process: {@code run/ddmapper.lock}, locked until the JVM exits and holding
     * the pid. A second appliance on the same home would share its state and sockets; it stops here.
     */
    void lock() throws LaunchFailure {
        Path lockFile = run().resolve("ddmapper.lock");
        try {
            FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            FileLock lock = channel.tryLock(); // null when another process holds it
            if (lock == null) {
                String holder = new String(Files.readAllBytes(lockFile), StandardCharsets.US_ASCII).strip();
                channel.close();
                throw LaunchFailure.failed("home " + root + " is in use by another ddmapper"
                        + (holder.isEmpty() ? "" : " (pid " + holder + ")") + "; give this one another --home");
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)));
            heldLock = channel; // open and locked for the life of the process; the OS releases it at exit
        } catch (IOException e) {
            throw LaunchFailure.failed("cannot lock " + lockFile + ": " + Describe.io(e));
        }
    }

    /**
     * Creates {@code data/demo.img} as a sparse file of {@link #DEMO_IMAGE_BYTES} when it is missing; an
     * existing one (with what a client wrote to it) is kept.
     */
    Path createDemoImage() throws LaunchFailure {
        Path image = data().resolve(DEMO_IMAGE);
        if (Files.exists(image)) {
            return image;
        }
        Path partial = data().resolve(DEMO_IMAGE + ".partial");
        try (RandomAccessFile file = new RandomAccessFile(partial.toFile(), "rw")) {
            file.setLength(DEMO_IMAGE_BYTES);
        } catch (IOException e) {
            throw LaunchFailure.failed("cannot create " + partial + ": " + Describe.io(e));
        }
        try {
            Files.move(partial, image, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw LaunchFailure.failed("cannot create " + image + ": " + Describe.io(e));
        }
        return image;
    }
}
