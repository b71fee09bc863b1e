package org.ddmapper.control.internal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import org.ddmapper.api.BundleUpgrades;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.Message;
import org.ddmapper.api.PassedFd;
import org.ddmapper.api.TableLine;
import org.ddmapper.api.TargetRef;
import org.ddmapper.api.text.DmText;
import org.ddmapper.api.text.MirrorText;
import org.ddmapper.api.text.MultipathText;
import org.ddmapper.api.text.SnapshotText;
import org.ddmapper.control.ddlink.Ddlink;
import org.ddmapper.control.ddlink.Item;
import org.ddmapper.control.ddlink.Op;
import org.ddmapper.control.ddlink.PayloadReader;
import org.ddmapper.control.ddlink.PayloadWriter;
import org.ddmapper.control.unix.Fds;
import org.ddmapper.control.unix.Received;
import org.tinylog.Logger;

/**
 * Runs one request item: checks its framing, op, permission, flags and descriptors, maps it
 * onto a {@link DeviceManager} verb and queues the reply. Any refusal is an error reply whose
 * payload is one sentence; every received descriptor not handed to a target is closed.
 */
final class Dispatcher {
    /** Longest single DeviceManager.waitEvent call; a WAIT without limit waits in such slices. */
    private static final long WAIT_SLICE_MILLIS = 60_000;
    private final DdlinkServer server;
    private final DeviceManager manager;

    Dispatcher(DdlinkServer server, DeviceManager manager) {
        this.server = server;
        this.manager = manager;
    }

    void handle(Connection c, Received received) {
        byte[] raw = received.data();
        int op = Item.peekOp(raw);
        int tag = Item.peekTag(raw);
        boolean fdsHandedOver = false;
        try {
            Item item = check(c, received);
            fdsHandedOver = run(c, Op.of(item.op()), item, received.fds());
        } catch (DmException e) {
            if (!answeredGone(c, op, tag)) c.error(op, tag, e.errno(), e.getMessage());
        } catch (RuntimeException e) {
            Logger.error(e, "control: {} failed for {}", Op.of(op), c.peer());
            c.error(op, tag, Errno.EIO, "internal error: " + e);
        } finally {
            if (!fdsHandedOver) received.closeFds();
        }
    }

    /** On a link whose device instance is gone: replies ENODEV and returns true; otherwise false. */
    private boolean answeredGone(Connection c, int op, int tag) {
        if (c.link() == null || !linkedDeviceGone(c)) return false;
        c.error(op, tag, Errno.ENODEV, "the device this link was opened for ('" + c.link().nameAtLink() + "', #"
                + c.link().deviceId() + ") was removed");
        return true;
    }

    /** Whether the device instance a link is bound to no longer exists (a name's new device is another instance). */
    private boolean linkedDeviceGone(Connection c) {
        try {
            manager.info(DeviceRef.id(c.link().deviceId()));
            return false;
        } catch (DmException e) {
            return true;
        }
    }

    /** The item, once it is well framed, a known request op this peer may use, with acceptable fds and flags. */
    private Item check(Connection c, Received received) {
        if (received.fdsTruncated())
            throw new DmException(Errno.E2BIG, "too many file descriptors passed (at most " + Ddlink.MAX_FDS + " per item); all were closed");
        if (received.foreignControls() > 0)
            throw new DmException(Errno.EINVAL, "unexpected control message (only SCM_RIGHTS descriptors are accepted)");
        if (received.truncated())
            throw new DmException(Errno.EMSGSIZE, "item of " + received.itemBytes() + " bytes is larger than the "
                    + Ddlink.MAX_ITEM_BYTES + "-byte maximum");
        Item item;
        try {
            item = Item.decode(received.data());
        } catch (Item.FramingException e) {
            throw new DmException(Errno.EPROTO, e.getMessage());
        }
        Op op = Op.of(item.op());
        if (op == null || !op.isRequest())
            throw new DmException(Errno.EOPNOTSUPP, "unknown op " + Integer.toUnsignedString(item.op()));
        if (c.access() != Access.FULL && !op.readOnly())
            throw new DmException(Errno.EACCES, c.peer() + " may only use read-only ops, and " + op + " changes state");
        if (op.flagMask() != -1 && (item.target() & ~op.flagMask()) != 0)
            throw new DmException(Errno.EINVAL, op + ": unknown flag bits 0x" + Integer.toHexString(item.target() & ~op.flagMask())
                    + " in the target field");
        int[] fds = received.fds();
        if (op != Op.MESSAGE && fds.length > 0)
            throw new DmException(Errno.EINVAL, op + " takes no file descriptors (" + fds.length + " passed, closed)");
        if (fds.length > Ddlink.MAX_FDS)
            throw new DmException(Errno.E2BIG, fds.length + " file descriptors passed; a message takes at most " + Ddlink.MAX_FDS);
        for (int i = 0; i < fds.length; i++) checkFd(i, fds[i]);
        return item;
    }

    /** A message takes connected stream sockets, and regular files or block devices open read-write. */
    private static void checkFd(int index, int fd) {
        try {
            checkKind(index, fd, Fds.kind(fd));
        } catch (DmException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new DmException(Errno.EBADF, "descriptor " + index + " cannot be inspected: " + e.getMessage());
        }
    }

    private static void checkKind(int index, int fd, Fds.Kind kind) {
        switch (kind) {
            case SOCKET -> {
                int type = Fds.socketType(fd);
                if (type != 1)
                    throw new DmException(Errno.EBADF, "descriptor " + index + " is a " + socketTypeName(type)
                            + " socket; a message takes stream sockets");
                if (Fds.isListening(fd))
                    throw new DmException(Errno.EBADF, "descriptor " + index + " is a listening stream socket; a message takes connected stream sockets");
                if (!Fds.isConnected(fd))
                    throw new DmException(Errno.EBADF, "descriptor " + index + " is a stream socket that is not connected; a message takes connected stream sockets");
            }
            case REGULAR_FILE, BLOCK_DEVICE -> {
                if (Fds.access(fd) != Fds.Access.READ_WRITE)
                    throw new DmException(Errno.EBADF, "descriptor " + index + " is a " + kindName(kind) + " opened "
                            + Fds.access(fd).name().toLowerCase().replace('_', '-') + "; a message needs it opened read-write");
            }
            default -> throw new DmException(Errno.EBADF, "descriptor " + index + " is a " + kindName(kind)
                    + "; a message takes stream sockets, regular files or block devices");
        }
    }

    private static String kindName(Fds.Kind kind) { return kind.name().toLowerCase().replace('_', ' '); }

    private static String socketTypeName(int type) {
        return switch (type) {
            case 2 -> "datagram";
            case 3 -> "raw";
            case 5 -> "seqpacket";
            default -> "type " + type;
        };
    }

    /** Runs the op; returns true when the received descriptors went to a target (it closes what it does not take). */
    private boolean run(Connection c, Op op, Item item, int[] fds) {
        PayloadReader p = new PayloadReader(op, item.payload());
        int tag = item.tag();
        switch (op) {
            case VERSION -> {
                p.expectEnd();
                byte[] payload = new PayloadWriter().u32(Ddlink.PROTOCOL).u32(Ddlink.MAX_ITEM_BYTES).u32(Ddlink.MAX_FDS).u32(0)
                        .text(server.versionText()).toBytes();
                ok(c, op, tag, payload);
            }
            case LIST -> {
                p.expectEnd();
                text(c, op, tag, DmText.ls(manager));
            }
            case CREATE -> {
                notOnLink(c, op);
                String name = p.name("device name");
                if (name.isEmpty()) throw p.invalid("missing device name");
                String table = p.atEnd() ? "" : p.text("table");
                p.expectEnd();
                manager.create(name, table);
                ok(c, op, tag, new byte[0]);
            }
            case LOAD -> {
                DeviceRef device = device(c, p, false);
                String table = p.text("table");
                p.expectEnd();
                if (table.isBlank()) throw p.invalid("empty table");
                manager.load(device, table);
                ok(c, op, tag, new byte[0]);
            }
            case CLEAR -> {
                manager.clear(lastDevice(c, p));
                ok(c, op, tag, new byte[0]);
            }
            case SUSPEND -> {
                manager.suspend(lastDevice(c, p), (item.target() & Ddlink.FLAG_NOFLUSH) != 0);
                ok(c, op, tag, new byte[0]);
            }
            case RESUME -> {
                manager.resume(lastDevice(c, p));
                ok(c, op, tag, new byte[0]);
            }
            case REMOVE -> {
                manager.remove(lastDevice(c, p), (item.target() & Ddlink.FLAG_FORCE) != 0);
                ok(c, op, tag, new byte[0]);
            }
            case RENAME -> {
                DeviceRef device = device(c, p, false);
                String newName = p.name("new name");
                p.expectEnd();
                if (newName.isEmpty()) throw p.invalid("missing new name");
                manager.rename(device, newName);
                ok(c, op, tag, new byte[0]);
            }
            case INFO -> text(c, op, tag, DmText.info(manager, allDevicesOr(c, p)));
            case STATUS -> text(c, op, tag, DmText.status(manager, allDevicesOr(c, p)));
            case TABLE -> text(c, op, tag, DmText.table(manager, allDevicesOr(c, p), (item.target() & Ddlink.FLAG_INACTIVE) != 0));
            case DEPS -> text(c, op, tag, DmText.deps(manager, lastDevice(c, p)));
            case MULTIPATH -> text(c, op, tag, multipath(c, p, (item.target() & Ddlink.FLAG_PATHS) != 0));
            case SNAPSHOTS -> text(c, op, tag, SnapshotText.render(manager, allDevicesOr(c, p)));
            case MIRROR -> text(c, op, tag, MirrorText.render(manager, allDevicesOr(c, p)));
            case TARGETS -> {
                p.expectEnd();
                text(c, op, tag, DmText.targets(manager));
            }
            case EVENTS -> {
                long after = p.u64("event number");
                DeviceRef device = lastDevice(c, p);
                text(c, op, tag, DmText.events(manager.events(device, after)));
            }
            case WAIT -> startWait(c, tag, p);
            case MESSAGE -> {
                return message(c, item, p, fds);
            }
            case CLI -> {
                notOnLink(c, op);
                ok(c, op, tag, CliOp.run(manager, c.access(), c.peer(), server.versionText(), item.target(), p));
            }
            case LINK -> link(c, tag, p);
            case UPGRADE -> upgrade(c, tag, p);
            case UPGRADE_LIST -> {
                notOnLink(c, Op.UPGRADE_LIST);
                p.expectEnd();
                text(c, Op.UPGRADE_LIST, tag, DmText.stored(upgrades().stored()));
            }
            case UPGRADE_REVERT -> {
                notOnLink(c, Op.UPGRADE_REVERT);
                String bundle = p.name("bundle name");
                p.expectEnd();
                if (bundle.isEmpty()) throw p.invalid("missing bundle symbolic name");
                text(c, Op.UPGRADE_REVERT, tag, DmText.reverted(upgrades().revert(bundle)));
            }
            default -> throw new DmException(Errno.EOPNOTSUPP, "unknown op " + op.code());
        }
        return false;
    }

    private boolean message(Connection c, Item item, PayloadReader p, int[] fds) {
        long sector = p.u64("sector");
        TargetRef target;
        if (item.target() == Ddlink.TARGET_BY_SECTOR) {
            if (sector < 0) throw p.invalid("sector " + Long.toUnsignedString(sector) + " is out of range");
            target = new TargetRef.BySector(sector);
        } else {
            if (item.target() < 0) throw p.invalid("target index " + Integer.toUnsignedString(item.target()) + " is out of range");
            if (sector != 0) throw p.invalid("the sector field must be 0 when the target is addressed by index");
            target = new TargetRef.ByIndex(item.target());
        }
        DeviceRef device = device(c, p, false);
        if (!p.separatorConsumed() && p.atEnd()) throw p.invalid("missing message text after the device name");
        String text = p.text("message text");
        byte[] binary = p.rest();
        List<String> words = TableLine.splitWords(text);
        if (words.isEmpty() && binary.length == 0) throw p.invalid("empty message");
        List<PassedFd> passed = new ArrayList<>();
        for (int fd : fds) passed.add(new ReceivedFd(fd));
        Message message = new Message(words, binary, passed, Integer.toUnsignedLong(item.tag()));
        try {
            String answer = manager.message(device, target, message);
            text(c, Op.MESSAGE, item.tag(), answer == null ? "" : answer);
        } finally {
            message.closeFds();
        }
        return true;
    }

    private void startWait(Connection c, int tag, PayloadReader p) {
        long after = p.u64("event number");
        int timeoutField = p.u32("timeout");
        p.u32("reserved field");
        DeviceRef device = lastDevice(c, p);
        long timeoutMillis = timeoutField == Ddlink.WAIT_FOREVER ? Long.MAX_VALUE : Integer.toUnsignedLong(timeoutField);
        if (c.waits().size() >= DdlinkServer.MAX_WAITS_PER_CONNECTION)
            throw new DmException(Errno.EAGAIN, "too many WAITs pending on this connection (at most "
                    + DdlinkServer.MAX_WAITS_PER_CONNECTION + ")");
        // runs on a waiter thread, so the link's ENODEV is decided here too: a removal releases the
        // wait (the REMOVED event moves the counter), and that must not read as a plain event
        FutureTask<Void> task = new FutureTask<>(() -> {
            try {
                long nr = waitEvent(device, after, timeoutMillis);
                if (!answeredGone(c, Op.WAIT.code(), tag)) c.reply(Op.WAIT.code(), tag, 0, new PayloadWriter().u64(nr).toBytes());
            } catch (DmException e) {
                if (!answeredGone(c, Op.WAIT.code(), tag)) c.error(Op.WAIT.code(), tag, e.errno(), e.getMessage());
            } catch (InterruptedException e) {
                c.error(Op.WAIT.code(), tag, Errno.ECANCELED, "the wait was cancelled");
            } catch (RuntimeException e) {
                Logger.error(e, "control: WAIT failed for {}", c.peer());
                c.error(Op.WAIT.code(), tag, Errno.EIO, "internal error: " + e);
            }
        }, null) {
            @Override
            protected void done() { c.waits().remove(this); }
        };
        c.waits().add(task);
        try {
            server.waiters().execute(task);
        } catch (RejectedExecutionException e) {
            c.waits().remove(task);
            throw new DmException(Errno.ESHUTDOWN, "the control server is stopping");
        }
    }

    /** DeviceManager.waitEvent in slices of at most a minute (no huge timeout reaches the core); ends when interrupted. */
    private long waitEvent(DeviceRef device, long after, long timeoutMillis) throws InterruptedException {
        long deadline = timeoutMillis == Long.MAX_VALUE ? Long.MAX_VALUE : System.currentTimeMillis() + timeoutMillis;
        while (true) {
            long left = deadline == Long.MAX_VALUE ? WAIT_SLICE_MILLIS : Math.min(WAIT_SLICE_MILLIS, deadline - System.currentTimeMillis());
            long nr = manager.waitEvent(device, after, Math.max(0, left));
            if (nr > after || (deadline != Long.MAX_VALUE && System.currentTimeMillis() >= deadline)) return nr;
            if (Thread.interrupted()) throw new InterruptedException();
        }
    }

    /** MULTIPATH: the topology or paths of every multipath map, or of the named one. */
    private String multipath(Connection c, PayloadReader p, boolean paths) {
        DeviceRef device = allDevicesOr(c, p);
        return paths ? MultipathText.paths(manager, device) : MultipathText.topology(manager, device);
    }

    /** UPGRADE: {@code SYMBOLIC-NAME \0 JAR-PATH}; the jar path is the server's (an absolute path). */
    private void upgrade(Connection c, int tag, PayloadReader p) {
        notOnLink(c, Op.UPGRADE);
        String bundle = p.name("bundle name");
        if (bundle.isEmpty()) throw p.invalid("missing bundle symbolic name");
        if (!p.separatorConsumed()) throw p.invalid("missing jar path after the bundle name");
        String jar = p.text("jar path");
        p.expectEnd();
        if (jar.isEmpty()) throw p.invalid("missing jar path");
        if (jar.chars().anyMatch(Character::isISOControl)) throw p.invalid("the jar path contains a control character");
        java.nio.file.Path path = java.nio.file.Path.of(jar);
        if (!path.isAbsolute()) throw p.invalid("the jar path '" + jar + "' is not absolute (the server resolves it, not the client)");
        text(c, Op.UPGRADE, tag, DmText.upgraded(upgrades().upgrade(bundle, path)));
    }

    /** The core's upgrade service; ENOSYS without it. */
    private BundleUpgrades upgrades() {
        BundleUpgrades upgrades = server.upgrades();
        if (upgrades == null) throw new DmException(Errno.ENOSYS, "live upgrade is not available: the core offers no upgrade service");
        return upgrades;
    }

    private void link(Connection c, int tag, PayloadReader p) {
        notOnLink(c, Op.LINK);
        DeviceRef device = lastDevice(c, p);
        DeviceInfo info = manager.info(device);
        int clientEnd;
        try {
            clientEnd = server.openLink(c, info);
        } catch (IOException e) {
            throw new DmException(Errno.EIO, "could not make the link socket: " + e.getMessage());
        }
        c.reply(Op.LINK.code(), tag, 0, new PayloadWriter().u64(info.id()).text(info.name()).toBytes(), clientEnd);
    }

    /** The device named by the rest of the payload (on a link: implied, the rest must be empty). */
    private DeviceRef lastDevice(Connection c, PayloadReader p) {
        DeviceRef d = device(c, p, false);
        p.expectEnd();
        return d;
    }

    /** The named device, or null for every device when the name is empty (on a link: that device). */
    private DeviceRef allDevicesOr(Connection c, PayloadReader p) {
        DeviceRef d = device(c, p, true);
        p.expectEnd();
        return d;
    }

    private static DeviceRef device(Connection c, PayloadReader p, boolean emptyMeansAll) {
        String name = p.name("device name");
        if (c.link() != null) {
            if (!name.isEmpty()) throw p.invalid("a link is bound to its device; leave the device name empty");
            return DeviceRef.id(c.link().deviceId());
        }
        if (name.isEmpty()) {
            if (emptyMeansAll) return null;
            throw p.invalid("missing device name");
        }
        return DeviceRef.of(name);
    }

    private static void notOnLink(Connection c, Op op) {
        if (c.link() != null) throw new DmException(Errno.EOPNOTSUPP, op + " is not available on a link; use the control socket");
    }

    private static void text(Connection c, Op op, int tag, String text) {
        ok(c, op, tag, PayloadWriter.of(text));
    }

    private static void ok(Connection c, Op op, int tag, byte[] payload) {
        if (payload.length > Ddlink.MAX_PAYLOAD_BYTES)
            throw new DmException(Errno.E2BIG, op + " reply of " + payload.length + " bytes exceeds the "
                    + Ddlink.MAX_PAYLOAD_BYTES + "-byte payload limit of an item");
        c.reply(op.code(), tag, 0, payload);
    }
}
