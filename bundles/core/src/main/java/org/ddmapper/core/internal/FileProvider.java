package org.ddmapper.core.internal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.spi.BlockDeviceProvider;
import org.tinylog.Logger;

/**
 * Opens absolute paths: regular files and block devices, served by positional FileChannel I/O
 * on one bounded pool of I/O threads shared by every file. A regular file also gets a native
 * descriptor for its holes ({@link SparseFile}) when JNA is there. {@code direct:/abs/path} opens the
 * same with O_DIRECT (the page cache bypassed): requests must then be whole blocks of the file
 * system's block size, which the device announces as its logical block.
 */
public final class FileProvider implements BlockDeviceProvider, AutoCloseable {
    private final IoThreads io;

    public FileProvider(int threads) {
        this.io = new IoThreads(threads, "ddmapper-io-");
    }

    /** The reference prefix that asks for O_DIRECT. */
    static final String DIRECT = "direct:";
    /** The largest block an O_DIRECT device may need its buffers aligned to. */
    static final int MAX_DIRECT_ALIGNMENT = FileDevice.BOUNCE_ALIGNMENT;

    @Override
    public Set<String> schemes() { return Set.of("file", "direct"); }

    @Override
    public BlockDevice open(String reference, boolean readOnly) {
        boolean direct = reference.startsWith(DIRECT);
        String pathText = direct ? reference.substring(DIRECT.length()) : reference;
        Path path;
        try {
            path = Path.of(pathText);
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
        int alignment = 0;
        if (direct) {
            alignment = directAlignment(reference, path);
            if (sizeBytes % alignment != 0)
                throw new DmException(Errno.EINVAL, "'" + reference + "': its size (" + sizeBytes + " bytes) is not a whole number of "
                        + alignment + "-byte blocks, which O_DIRECT needs");
        }
        FileChannel channel;
        try {
            Set<OpenOption> options = new HashSet<>();
            options.add(StandardOpenOption.READ);
            if (!readOnly) options.add(StandardOpenOption.WRITE);
            if (direct) options.add(directOption(reference));
            channel = FileChannel.open(path, options);
        } catch (NoSuchFileException e) {
            throw new DmException(Errno.ENODEV, "'" + reference + "': no such file or block device");
        } catch (IOException | SecurityException e) {
            if (direct && e.getMessage() != null && e.getMessage().contains("Invalid argument"))
                throw new DmException(Errno.EINVAL, "'" + reference + "': the file system does not support O_DIRECT");
            throw new DmException(Errno.EACCES, "'" + reference + "': cannot open: " + e.getMessage());
        }
        return new FileDevice(reference, channel, sizeBytes >> 9, readOnly, blockDevice, io, alignment,
                blockDevice ? null : sparseFile(reference, path, readOnly));
    }

    /** The file's own descriptor for its holes (SparseFile), or null without JNA. */
    private static SparseFile sparseFile(String reference, Path path, boolean readOnly) {
        try {
            return SparseFile.open(reference, path, readOnly);
        } catch (LinkageError e) {
            Logger.info("'{}': holes are not reported nor punched: JNA is not available ({})", reference, e.toString());
            return null;
        }
    }

    /** The alignment O_DIRECT needs here: the file store's block size (a power of two of 512 .. 64 KiB). */
    private static int directAlignment(String reference, Path path) {
        long block;
        try {
            block = Files.getFileStore(path).getBlockSize();
        } catch (IOException | UnsupportedOperationException e) {
            block = 4096;
        }
        block = Math.max(block, 512);
        if (Long.bitCount(block) != 1 || block > MAX_DIRECT_ALIGNMENT)
            throw new DmException(Errno.EINVAL, "'" + reference + "': block size " + block + " is not supported for O_DIRECT");
        return (int) block;
    }

    /**
     * The JDK's O_DIRECT open option (com.sun.nio.file.ExtendedOpenOption.DIRECT, module
     * jdk.unsupported), looked up through the platform class loader so that the bundle needs no
     * import of a com.sun package the framework may not export.
     */
    private static OpenOption directOption(String reference) {
        try {
            Class<?> type = Class.forName("com.sun.nio.file.ExtendedOpenOption", true, ClassLoader.getPlatformClassLoader());
            for (Object constant : type.getEnumConstants())
                if (constant instanceof OpenOption o && ((Enum<?>) constant).name().equals("DIRECT")) return o;
        } catch (ClassNotFoundException | LinkageError e) {
            // fall through
        }
        throw new DmException(Errno.EOPNOTSUPP, "'" + reference + "': this Java runtime cannot open files with O_DIRECT");
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
