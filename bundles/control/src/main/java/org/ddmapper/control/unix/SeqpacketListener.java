package org.ddmapper.control.unix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

/**
 * A listening AF_UNIX SOCK_SEQPACKET socket bound to a path. The socket file appears at its
 * path with its final mode already set: it is bound under a temporary name beside it, chmod-ed,
 * then renamed into place, so there is no moment when a wider mode is visible.
 */
public final class SeqpacketListener implements AutoCloseable {
    private final Path path;
    private volatile int fd;

    private SeqpacketListener(Path path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    /**
     * Binds and listens at {@code path} with {@code mode}. A stale socket file (nobody accepting)
     * is replaced; a live one makes this fail with "address already in use".
     */
    public static SeqpacketListener bind(Path path, Set<PosixFilePermission> mode, int backlog) throws IOException {
        Path parent = path.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        if (Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.readAttributes(path, java.nio.file.attribute.BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS).isOther()) throw new IOException(path + ": exists and is not a socket");
            try (SeqpacketSocket probe = SeqpacketSocket.connect(path)) {
                throw new IOException(path + ": address already in use (another server is listening)");
            } catch (ErrnoException stale) {
                // ECONNREFUSED or the like: nobody listens; the rename below replaces it
            }
        }
        Path temporary = parent.resolve("." + path.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        Files.deleteIfExists(temporary);
        byte[] address = SeqpacketSocket.address(temporary);
        SeqpacketSocket.address(path);
        int fd = SeqpacketSocket.call("socket",
                () -> LibC.socket(LibC.AF_UNIX, LibC.SOCK_SEQPACKET | LibC.SOCK_CLOEXEC | LibC.SOCK_NONBLOCK, 0));
        try {
            SeqpacketSocket.call(temporary + ": bind", () -> LibC.bind(fd, address, address.length));
            Files.setPosixFilePermissions(temporary, mode);
            Files.move(temporary, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            SeqpacketSocket.call(path + ": listen", () -> LibC.listen(fd, backlog));
            return new SeqpacketListener(path, fd);
        } catch (IOException | RuntimeException e) {
            Fds.close(fd);
            try {
                Files.deleteIfExists(temporary);
            } catch (AccessDeniedException ignored) {
                // nothing more to clean
            }
            throw e;
        }
    }

    public Path path() { return path; }

    /** The listening descriptor (non-blocking; poll it for POLLIN), -1 once closed. */
    public int fd() { return fd; }

    /**
     * Takes the next pending connection, or null when none is pending. The connection arrives
     * non-blocking and close-on-exec. Throws once closed.
     */
    public SeqpacketSocket accept() throws IOException {
        int listening = fd;
        if (listening < 0) throw new IOException(path + ": closed");
        while (true) {
            try {
                return SeqpacketSocket.adopt(LibC.accept4(listening, Pointer.NULL, Pointer.NULL, LibC.SOCK_CLOEXEC | LibC.SOCK_NONBLOCK));
            } catch (LastErrorException e) {
                if (e.getErrorCode() == LibC.EAGAIN) return null;
                if (e.getErrorCode() != LibC.EINTR) throw SeqpacketSocket.failure(path + ": accept", e);
            }
        }
    }

    /** Stops listening and removes the socket file. */
    @Override
    public synchronized void close() {
        int d = fd;
        if (d < 0) return;
        fd = -1;
        Fds.close(d);
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // best effort: a stale socket file is replaced on the next start
        }
    }
}
