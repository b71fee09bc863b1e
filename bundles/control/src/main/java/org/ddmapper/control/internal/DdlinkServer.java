package org.ddmapper.control.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.control.ddlink.Item;
import org.ddmapper.control.unix.Fds;
import org.ddmapper.control.unix.PeerCred;
import org.ddmapper.control.unix.SeqpacketListener;
import org.ddmapper.control.unix.SeqpacketSocket;
import org.ddmapper.control.unix.Wakeup;
import org.tinylog.Logger;

/**
 * The ddlink server: listens on the control socket, checks each peer against the allow-list
 * and runs one {@link Connection} thread per connection or link. Plain Java (no OSGi), so tests
 * run it against any {@link DeviceManager}.
 */
public final class DdlinkServer implements AutoCloseable {
    /** Connections and links served at once; more are answered EAGAIN and closed. */
    static final int MAX_CONNECTIONS = 256;
    /** Slots only full-access peers may take: read-only peers cannot lock an administrator out. */
    static final int RESERVED_FOR_FULL_ACCESS = 32;
    /** Refused peers waited on at once (each up to {@link Refusal#WAIT_MILLIS}); more are refused without waiting. */
    static final int MAX_REFUSING = 8;
    /** WAITs one connection may have pending. */
    static final int MAX_WAITS_PER_CONNECTION = 16;

    private final DeviceManager manager;
    private final Path socketPath;
    private final Path allowListFile;
    private final String versionText;
    private final Dispatcher dispatcher;
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger threadNumber = new AtomicInteger();
    private final ExecutorService waiters;
    private final ExecutorService refusers;
    private volatile java.util.function.Function<PeerCred, Access> accessPolicy;
    private final Wakeup wakeup = new Wakeup();
    private volatile AllowList allowList;
    private volatile long allowListModified = -1;
    private SeqpacketListener listener;
    private Thread acceptor;
    private volatile boolean stopping;

    /**
     * @param allowListFile {@code ETC/control.conf} (may be absent: root and this process's uid only)
     * @param versionText   what {@code ddsetup version} prints
     */
    public DdlinkServer(DeviceManager manager, Path socketPath, Path allowListFile, String versionText) {
        this.manager = manager;
        this.socketPath = socketPath;
        this.allowListFile = allowListFile;
        this.versionText = versionText;
        this.dispatcher = new Dispatcher(this, manager);
        this.waiters = new ThreadPoolExecutor(0, MAX_CONNECTIONS * 2, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
                r -> daemon(r, "ddlink-wait-" + threadNumber.incrementAndGet()));
        this.refusers = new ThreadPoolExecutor(0, MAX_REFUSING, 10, TimeUnit.SECONDS, new SynchronousQueue<>(),
                r -> daemon(r, "ddlink-refuse-" + threadNumber.incrementAndGet()));
    }

    /** Binds the socket (mode from the allow-list, 0600 by default) and starts accepting. */
    public void start() throws IOException {
        AllowList list = currentAllowList();
        listener = SeqpacketListener.bind(socketPath, list.socketMode(), 64);
        if (list.socketGroup() != null) {
            try {
                GroupPrincipal group = socketPath.getFileSystem().getUserPrincipalLookupService()
                        .lookupPrincipalByGroupName(list.socketGroup());
                Files.getFileAttributeView(socketPath, PosixFileAttributeView.class).setGroup(group);
            } catch (IOException e) {
                listener.close();
                throw new IOException(socketPath + ": cannot give the socket to group '" + list.socketGroup() + "': " + e.getMessage(), e);
            }
        }
        acceptor = daemon(this::acceptLoop, "ddlink-accept");
        acceptor.start();
        Logger.info("control: listening on {}", socketPath);
    }

    public Path path() { return socketPath; }

    /** Connections and links open right now. */
    public int connectionCount() { return connections.size(); }

    Dispatcher dispatcher() { return dispatcher; }

    private volatile java.util.function.Supplier<org.ddmapper.api.BundleUpgrades> upgrades = () -> null;

    /** Where UPGRADE finds the core's upgrade service (absent: UPGRADE answers ENOSYS). */
    public void upgrades(java.util.function.Supplier<org.ddmapper.api.BundleUpgrades> source) { this.upgrades = source; }

    /** The upgrade service now, or null. */
    org.ddmapper.api.BundleUpgrades upgrades() { return upgrades.get(); }

    ExecutorService waiters() { return waiters; }

    String versionText() { return versionText; }

    Path allowListFile() { return allowListFile; }

    private void acceptLoop() {
        int[] fds = {listener.fd(), wakeup.fd()};
        short[] events = {Fds.POLLIN, Fds.POLLIN};
        while (!stopping) {
            try {
                short[] ready = Fds.poll(fds, events, -1);
                if (stopping) return;
                if (ready[1] != 0) wakeup.drain();
                if ((ready[0] & Fds.POLLIN) == 0) continue;
                SeqpacketSocket socket = listener.accept();
                if (socket != null) admit(socket);
            } catch (IOException | RuntimeException e) {
                if (stopping) return;
                Logger.error(e, "control: accepting on {} failed", socketPath);
                sleepQuietly();
            }
        }
    }

    /**
     * Decides the peer's access before it takes anything: a refused peer goes to the refusers (no
     * slot); a read-only one may not take the slots reserved for full access.
     */
    private void admit(SeqpacketSocket socket) {
        PeerCred cred;
        try {
            cred = socket.peerCred();
        } catch (IOException e) {
            socket.close();
            return;
        }
        String peer = "uid " + cred.uid() + " (pid " + cred.pid() + ")";
        Access access;
        try {
            java.util.function.Function<PeerCred, Access> policy = accessPolicy;
            access = policy != null ? policy.apply(cred) : currentAllowList().decide(cred);
        } catch (IOException e) {
            Logger.error("control: {}; refusing {}", e.getMessage(), peer);
            access = Access.NONE;
        }
        if (access == Access.NONE) {
            Refusal refusal = new Refusal(socket, peer, allowListFile);
            try {
                refusers.execute(refusal);
            } catch (RejectedExecutionException busy) {
                refusal.answerNow();
            }
            return;
        }
        if (connections.size() >= slotsFor(access)) {
            refuseBusy(socket, peer, access);
            return;
        }
        start(new Connection(this, socket, access, peer, null), "ddlink-" + cred.uid() + "-" + cred.pid());
    }

    /** How many connections and links may be open when a peer with this access takes one more. */
    private static int slotsFor(Access access) {
        return access == Access.FULL ? MAX_CONNECTIONS : MAX_CONNECTIONS - RESERVED_FOR_FULL_ACCESS;
    }

    /** Tests: decide every peer's access with this instead of the allow-list (null: the allow-list again). */
    void accessPolicy(java.util.function.Function<PeerCred, Access> policy) { this.accessPolicy = policy; }

    /** Makes a link for {@code creator} to {@code device}; returns the client's end (to pass by SCM_RIGHTS). */
    int openLink(Connection creator, DeviceInfo device) throws IOException {
        if (connections.size() >= slotsFor(creator.access()))
            throw new DmException(Errno.EAGAIN, "too many connections and links open (at most " + slotsFor(creator.access())
                    + (creator.access() == Access.FULL ? "" : " for a read-only peer") + ")");
        SeqpacketSocket[] pair = SeqpacketSocket.pair();
        Connection link;
        try {
            pair[0].setNonBlocking(true);
            pair[1].setNonBlocking(true);
            link = new Connection(this, pair[0], creator.access(), creator.peer() + " link to " + device.name()
                    + " #" + device.id(), new Connection.Link(device.id(), device.name()));
            link.subscription(manager.subscribe(DeviceRef.id(device.id()), link::onEvent));
        } catch (IOException | RuntimeException e) {
            pair[0].close();
            pair[1].close();
            throw e;
        }
        start(link, "ddlink-link-" + device.id());
        return pair[1].detach();
    }

    private void start(Connection c, String threadName) {
        connections.add(c);
        if (stopping) c.stop();
        daemon(c, threadName + "-" + threadNumber.incrementAndGet()).start();
    }

    void closed(Connection c) {
        connections.remove(c);
    }

    private void refuseBusy(SeqpacketSocket socket, String peer, Access access) {
        try {
            String sentence = "the control server is busy: " + slotsFor(access) + " connections and links are open"
                    + (access == Access.FULL ? "" : " (the other " + RESERVED_FOR_FULL_ACCESS + " are kept for full-access peers)");
            socket.send(Item.reply(0, 0, -Errno.EAGAIN.code(), sentence.getBytes(StandardCharsets.UTF_8)).encode());
        } catch (IOException ignored) {
            // the peer is gone already
        } finally {
            socket.close();
        }
        Logger.warn("control: refused {}: too many connections", peer);
    }

    /**
     * The allow-list, re-read when the file changed (a broken file keeps the last good one). Its
     * socket mode and group were applied at bind; a change to them is logged, not applied.
     */
    private AllowList currentAllowList() throws IOException {
        int own = Accounts.ownUid();
        long modified = allowListFile != null && Files.exists(allowListFile) ? Files.getLastModifiedTime(allowListFile).toMillis() : 0;
        AllowList list = allowList;
        if (list == null || modified != allowListModified) {
            try {
                list = AllowList.load(allowListFile, own);
            } catch (IOException e) {
                if (list == null) throw e;
                Logger.error("control: {}; keeping the previous allow-list", e.getMessage());
                return list;
            }
            AllowList previous = allowList;
            if (previous != null && (!previous.socketMode().equals(list.socketMode())
                    || !java.util.Objects.equals(previous.socketGroup(), list.socketGroup())))
                Logger.warn("control: {} changed socket-mode or socket-group; the socket {} keeps its mode and group until ddmapper restarts",
                        allowListFile, socketPath);
            allowList = list;
            allowListModified = modified;
        }
        return list;
    }

    /** Stops accepting, ends every connection and link, cancels pending WAITs and removes the socket file. */
    @Override
    public void close() {
        stopping = true;
        wakeup.signal();
        if (acceptor != null) join(acceptor);
        if (listener != null) listener.close();
        List<Connection> open = List.copyOf(connections);
        for (Connection c : open) c.stop();
        waiters.shutdownNow();
        refusers.shutdown();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!connections.isEmpty() && System.nanoTime() < deadline) sleepQuietly();
        wakeup.close();
        Logger.info("control: stopped listening on {}", socketPath);
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    private static void join(Thread t) {
        try {
            t.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleepQuietly() {
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
