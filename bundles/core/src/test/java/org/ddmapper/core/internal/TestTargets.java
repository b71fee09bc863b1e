package org.ddmapper.core.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetType;

/** Small target types for the core's own tests (the real ones live in their bundles). */
final class TestTargets {
    private TestTargets() { }

    /**
     * "tlinear <dev> <offset>": remaps onto one device; messages "ping" → "pong", "open REF" opens
     * another device through the context (as a multipath reconnect does), "close" closes those.
     */
    static final class Linear implements TargetType {
        final List<String> log = new CopyOnWriteArrayList<>();
        final String name;

        Linear(String name) { this.name = name; }

        Linear() { this("tlinear"); }

        @Override public String name() { return name; }

        @Override public String version() { return "1.0.0"; }

        @Override public Set<TargetFeature> features() { return Set.of(TargetFeature.MESSAGES); }

        @Override public String usage() { return name + " <dev> <offset>"; }

        @Override
        public Target create(TargetContext context, TableArgs args) {
            BlockDevice dev = args.nextDevice("device");
            long offset = args.nextSectors("offset");
            if (offset + context.lengthSectors() > dev.sizeSectors())
                throw args.error("device " + dev.reference() + " is too small for offset " + offset);
            List<BlockDevice> later = new CopyOnWriteArrayList<>();
            return new Target() {
                @Override
                public void map(Bio bio) {
                    if (bio.op() == BioOp.FLUSH) log.add("flush " + dev.reference());
                    dev.submit(bio.op() == BioOp.FLUSH ? bio.remap(0) : bio.remap(bio.sector() + offset));
                }

                @Override
                public String status(StatusType type) {
                    return type == StatusType.TABLE ? dev.reference() + " " + offset : "";
                }

                @Override
                public String message(Message message) {
                    if (message.verb().equals("ping")) return "pong";
                    if (message.verb().equals("open")) {
                        later.add(context.openDevice(message.words().get(1)));
                        return "";
                    }
                    if (message.verb().equals("reopen")) {   // as a multipath reconnect: a new handle, the first one closed
                        later.add(context.openDevice(dev.reference()));
                        dev.close();
                        return "";
                    }
                    if (message.verb().equals("close")) {
                        for (BlockDevice d : later) d.close();
                        later.clear();
                        return "";
                    }
                    throw args.error("unknown message '" + message.verb() + "'");
                }

                @Override public void preresume() { log.add("preresume " + context.deviceName()); }

                @Override public void destroy() {
                    for (BlockDevice d : later) d.close();
                    log.add("destroy " + context.deviceName());
                }
            };
        }
    }

    /** "tqueue <dev>": holds every request until released; hands them back (REQUEUE) on a noflush presuspend. */
    static final class Queue implements TargetType {
        final List<Bio> queued = new CopyOnWriteArrayList<>();
        volatile boolean holding = true;

        @Override public String name() { return "tqueue"; }

        @Override public String version() { return "1.0.0"; }

        @Override public Set<TargetFeature> features() { return Set.of(TargetFeature.QUEUES_IO); }

        @Override public String usage() { return "tqueue <dev>"; }

        @Override
        public Target create(TargetContext context, TableArgs args) {
            BlockDevice dev = args.nextDevice("device");
            return new Target() {
                @Override
                public void map(Bio bio) {
                    if (holding) queued.add(bio);
                    else dev.submit(bio.remap(bio.sector()));
                }

                @Override
                public void presuspend(boolean noflush) {
                    if (!noflush) return;
                    List<Bio> back = new ArrayList<>(queued);
                    queued.clear();
                    for (Bio b : back) b.complete(IoStatus.REQUEUE);
                }

                @Override public String status(StatusType type) { return type == StatusType.TABLE ? dev.reference() : queued.size() + " queued"; }
            };
        }
    }

    /** "tveto": a table-less target whose preresume always refuses. */
    static final class Veto implements TargetType {
        @Override public String name() { return "tveto"; }

        @Override public String version() { return "1.0.0"; }

        @Override public Set<TargetFeature> features() { return Set.of(TargetFeature.SINGLETON); }

        @Override public String usage() { return "tveto"; }

        @Override
        public Target create(TargetContext context, TableArgs args) {
            return new Target() {
                @Override public void map(Bio bio) { bio.complete(IoStatus.OK); }

                @Override public void preresume() { throw new IllegalStateException("metadata says no"); }

                @Override public String status(StatusType type) { return ""; }
            };
        }
    }
}
