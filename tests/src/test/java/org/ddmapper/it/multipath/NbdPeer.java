package org.ddmapper.it.multipath;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real NBD server (nbdkit's file plugin or qemu-nbd) exporting a file on loopback or a Unix
 * socket, as one path of a multipath map. Started, killed (SIGKILL), hung (SIGSTOP), resumed
 * (SIGCONT) and restarted on the same address by pid; {@link #close()} kills it. Public for the
 * upgrade tests in it.core, which run multipath maps over these servers.
 */
public final class NbdPeer implements AutoCloseable {
    public enum Kind { NBDKIT, QEMU_NBD }

    final Kind kind;
    final Path file;
    final Path socket;
    final int port;
    final Path log;
    private Process process;
    private boolean stopped;
    private List<String> pluginArgs;
    /** TLS: the server's certificate directory, and the client's the reference names (null: plain text). */
    private Path tlsServer;
    private Path tlsClient;

    /**
     * Every server is started from this one long-lived thread: servers started from a chaos loop's
     * thread were seen to quit (ESHUTDOWN) when that thread ended.
     */
    private static final java.util.concurrent.ExecutorService LAUNCHER = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "nbd-peer-launcher");
        t.setDaemon(true);
        return t;
    });

    private NbdPeer(Kind kind, Path file, Path socket, int port, Path log) {
        this.kind = kind;
        this.file = file;
        this.socket = socket;
        this.port = port;
        this.log = log;
    }

    /** A server on a Unix socket. */
    public static NbdPeer unix(Kind kind, Path file, Path socket) throws Exception {
        NbdPeer p = new NbdPeer(kind, file, socket, 0, socket.resolveSibling(socket.getFileName() + ".log"));
        p.start();
        return p;
    }

    /** nbdkit on a Unix socket with its own plugin and filter arguments (after the socket options). */
    static NbdPeer unixWithArgs(Kind kind, Path file, Path socket, String... pluginArgs) throws Exception {
        NbdPeer p = new NbdPeer(kind, file, socket, 0, socket.resolveSibling(socket.getFileName() + ".log"));
        p.pluginArgs = List.of(pluginArgs);
        p.start();
        return p;
    }

    /** A server on 127.0.0.1 at a free port. */
    public static NbdPeer tcp(Kind kind, Path file, Path logDir) throws Exception {
        return tcpAt(kind, file, logDir, freePort());
    }

    static NbdPeer tcpAt(Kind kind, Path file, Path logDir, int port) throws Exception {
        NbdPeer p = new NbdPeer(kind, file, null, port, logDir.resolve(kind.name().toLowerCase() + "-" + port + ".log"));
        p.start();
        return p;
    }

    /**
     * A server on 127.0.0.1 that requires TLS with the certificates in {@code serverCerts} (nbdkit
     * {@code --tls=require}, qemu-nbd {@code --tls-creds}, which also verifies clients); its
     * reference is {@code nbds://} with {@code tls-certificates=clientCerts}.
     */
    public static NbdPeer tcpTls(Kind kind, Path file, Path logDir, Path serverCerts, Path clientCerts) throws Exception {
        int port = freePort();
        NbdPeer p = new NbdPeer(kind, file, null, port, logDir.resolve(kind.name().toLowerCase() + "-tls-" + port + ".log"));
        p.tlsServer = serverCerts;
        p.tlsClient = clientCerts;
        p.start();
        return p;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The reference a multipath table uses for this path. */
    public String reference() {
        if (tlsClient != null) return "nbds://127.0.0.1:" + port + "/?tls-certificates=" + tlsClient;
        return socket != null ? "nbd+unix:///?socket=" + socket : "nbd://127.0.0.1:" + port + "/";
    }

    public synchronized void start() throws Exception {
        if (socket != null) Files.deleteIfExists(socket);
        List<String> cmd = new ArrayList<>();
        if (kind == Kind.NBDKIT) {
            // --threads=1: nbdkit 1.32.5 can abort when a client with ~1000 queued reads hangs up (OSGI-NOTES)
            // no --exit-with-parent: Linux ties it to the starting *thread*, and the chaos threads end first
            cmd.addAll(List.of("nbdkit", "--foreground", "--threads=1"));
            if (tlsServer != null) cmd.addAll(List.of("--tls=require", "--tls-certificates=" + tlsServer));
            if (socket != null) cmd.addAll(List.of("--unix", socket.toString()));
            else cmd.addAll(List.of("--ipaddr", "127.0.0.1", "--port", Integer.toString(port)));
            cmd.addAll(pluginArgs != null ? pluginArgs : List.of("file", "file=" + file));
        } else {
            cmd.addAll(List.of("qemu-nbd", "--format=raw", "--persistent", "--shared=16"));
            if (tlsServer != null) cmd.addAll(List.of("--object", "tls-creds-x509,id=tls0,dir=" + tlsServer
                    + ",endpoint=server", "--tls-creds", "tls0"));
            if (socket != null) cmd.addAll(List.of("--socket", socket.toString()));
            else cmd.addAll(List.of("--bind", "127.0.0.1", "--port", Integer.toString(port)));
            cmd.add(file.toString());
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        process = LAUNCHER.submit(pb::start).get(10, TimeUnit.SECONDS);
        stopped = false;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!accepts()) {
            if (!process.isAlive()) fail(kind + " exited at start: " + Files.readString(log));
            if (System.nanoTime() > deadline) fail(kind + " did not listen within 10 s: " + Files.readString(log));
            Thread.sleep(10);
        }
    }

    private boolean accepts() {
        try (SocketChannel ch = socket != null ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open()) {
            ch.connect(socket != null ? UnixDomainSocketAddress.of(socket) : new InetSocketAddress("127.0.0.1", port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    long pid() { return process.pid(); }

    boolean isAlive() { return process != null && process.isAlive(); }

    /** SIGKILL, and wait for it to be gone. */
    public synchronized void kill() throws Exception {
        if (stopped) signal("CONT");
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
        stopped = false;
    }

    /** SIGSTOP: the server hangs, its connections stay open. */
    synchronized void hang() throws Exception {
        signal("STOP");
        stopped = true;
    }

    /** SIGCONT. */
    synchronized void resume() throws Exception {
        signal("CONT");
        stopped = false;
    }

    /** Resumes a hung server and starts a dead one. */
    synchronized void ensureRunning() throws Exception {
        if (stopped) resume();
        if (!isAlive()) start();
    }

    synchronized void restart() throws Exception {
        if (isAlive()) kill();
        start();
    }

    private void signal(String name) throws Exception {
        Process k = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).redirectErrorStream(true).start();
        if (!k.waitFor(5, TimeUnit.SECONDS) || k.exitValue() != 0) fail("kill -" + name + " " + process.pid() + " failed");
    }

    @Override
    public synchronized void close() {
        if (process == null) return;
        try {
            if (stopped) signal("CONT");
        } catch (Exception ignored) {
            // killing it anyway
        }
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
