package org.ddmapper.core.internal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.spi.BlockDeviceProvider;

/**
 * Opens absolute paths: regular files and block devices, served by positional FileChannel I/O
 * on one bounded pool of I/O threads shared by every file.
 */
public final class FileProvider implements BlockDeviceProvider, AutoCloseable {
    private final ExecutorService io;

    public FileProvider(int threads) {
        AtomicInteger n = new AtomicInteger();
        this.io = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "ddmapper-io-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public Set<String> schemes() { return Set.of("file"); }

    @Override
    public BlockDevice open(String reference, boolean readOnly) {
        Path path;
        try {
            path = Path.of(reference);
        } catch (InvalidPathException e) {
            throw new DmException(Errno.EINVAL, "'" + reference + "': invalid path");
        }
        if (!path.isAbsolute()) throw new DmException(Errno.EINVAL, "'" + reference + "': not an absolute path");
        if (!Files.exists(path)) throw new DmException(Errno.ENODEV, "'" + reference + "': no such file or block device");
        long sizeBytes;
        boolean blockDevice = false;
        try {
            if (Files.isRegularFile(path)) {
                sizeBytes = Files.size(path);
            } else if (isBlockDevice(path)) {
                blockDevice = true;
                sizeBytes = blockDeviceBytes(path);
            } else {
                throw new DmException(Errno.EINVAL, "'" + reference + "': not a regular file or block device");
            }
        } catch (IOException e) {
            throw new DmException(Errno.ENODEV, "'" + reference + "': " + e.getMessage());
        }
        FileChannel channel;
        try {
            channel = readOnly ? FileChannel.open(path, StandardOpenOption.READ)
                    : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (NoSuchFileException e) {
            throw new DmException(Errno.ENODEV, "'" + reference + "': no such file or block device");
        } catch (IOException | SecurityException e) {
            throw new DmException(Errno.EACCES, "'" + reference + "': cannot open: " + e.getMessage());
        }
        return new FileDevice(reference, channel, sizeBytes >> 9, readOnly, blockDevice, io);
    }

    private static boolean isBlockDevice(Path path) {
        try {
            Object mode = Files.getAttribute(path, "unix:mode");
            return mode instanceof Integer m && (m & 0170000) == 0060000;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    /** FileChannel.size() is 0 for a block device: read /sys/dev/block/MAJ:MIN/size (512-byte sectors). */
    private static long blockDeviceBytes(Path path) throws IOException {
        Object rdevAttr = Files.getAttribute(path, "unix:rdev", LinkOption.NOFOLLOW_LINKS);
        if (!(rdevAttr instanceof Long)) rdevAttr = Files.getAttribute(path, "unix:rdev");
        long rdev = ((Number) rdevAttr).longValue();
        long major = ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL);
        long minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xffL);
        Path size = Path.of("/sys/dev/block/" + major + ":" + minor + "/size");
        try {
            return Long.parseLong(Files.readString(size).trim()) << 9;
        } catch (NumberFormatException e) {
            throw new IOException("cannot read the size of block device " + major + ":" + minor);
        }
    }

    @Override
    public void close() {
        io.shutdown();
    }
}
