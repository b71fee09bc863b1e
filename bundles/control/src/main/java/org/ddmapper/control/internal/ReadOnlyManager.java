package org.ddmapper.control.internal;

import java.util.List;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceEventListener;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DeviceStats;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.Message;
import org.ddmapper.api.TargetRef;
import org.ddmapper.api.TargetStatus;
import org.ddmapper.api.TargetTypeInfo;

/**
 * A {@link DeviceManager} that reads through to another and refuses every verb that changes
 * state with EACCES: what a read-only peer's command lines (ddlink's CLI op) run against, so
 * that they are refused exactly the verbs their ops would be.
 */
final class ReadOnlyManager implements DeviceManager {
    private final DeviceManager manager;
    private final String peer;

    ReadOnlyManager(DeviceManager manager, String peer) {
        this.manager = manager;
        this.peer = peer;
    }

    private DmException refused(String verb) {
        return new DmException(Errno.EACCES, peer + " may only use read-only verbs, and " + verb + " changes state");
    }

    @Override public DeviceInfo create(String name, String table) { throw refused("create"); }

    @Override public DeviceInfo load(DeviceRef device, String table) { throw refused("load"); }

    @Override public DeviceInfo clear(DeviceRef device) { throw refused("clear"); }

    @Override public DeviceInfo suspend(DeviceRef device, boolean noflush) { throw refused("suspend"); }

    @Override public DeviceInfo resume(DeviceRef device) { throw refused("resume"); }

    @Override public void remove(DeviceRef device, boolean force) { throw refused("remove"); }

    @Override public DeviceInfo rename(DeviceRef device, String newName) { throw refused("rename"); }

    @Override public String message(DeviceRef device, TargetRef target, Message message) { throw refused("message"); }

    @Override public OpenDevice open(DeviceRef device) { throw refused("open"); }

    @Override public List<DeviceInfo> list() { return manager.list(); }

    @Override public DeviceInfo info(DeviceRef device) { return manager.info(device); }

    @Override public List<TargetStatus> table(DeviceRef device, boolean inactive) { return manager.table(device, inactive); }

    @Override public List<TargetStatus> status(DeviceRef device) { return manager.status(device); }

    @Override public List<TargetStatus> status(DeviceRef device, boolean inactive) { return manager.status(device, inactive); }

    @Override public List<String> deps(DeviceRef device) { return manager.deps(device); }

    @Override public DeviceStats stats(DeviceRef device) { return manager.stats(device); }

    @Override public long waitEvent(DeviceRef device, long afterEventNr, long timeoutMillis) throws InterruptedException {
        return manager.waitEvent(device, afterEventNr, timeoutMillis);
    }

    @Override public List<DeviceEvent> events(DeviceRef device, long afterEventNr) { return manager.events(device, afterEventNr); }

    @Override public AutoCloseable subscribe(DeviceRef device, DeviceEventListener listener) { return manager.subscribe(device, listener); }

    @Override public List<TargetTypeInfo> targets() { return manager.targets(); }
}
