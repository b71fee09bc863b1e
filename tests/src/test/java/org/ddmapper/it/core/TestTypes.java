package org.ddmapper.it.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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

/** Test-only target types, registered as services from the tests (the spi is shared with the framework). */
final class TestTypes {
    private TestTypes() { }

    /**
     * "tqueue <dev>": queues every request while holding (like multipath with no path), passes
     * them on otherwise; on a noflush presuspend hands what it holds back to the core (REQUEUE).
     */
    static final class Queue implements TargetType {
        final List<Bio> queued = new CopyOnWriteArrayList<>();
        volatile boolean holding = true;

        @Override public String name() { return "tqueue"; }

        @Override public String version() { return "0.0.1"; }

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
                    queued.removeAll(back);
                    for (Bio b : back) b.complete(IoStatus.REQUEUE);
                }

                @Override
                public String status(StatusType type) { return type == StatusType.TABLE ? dev.reference() : queued.size() + " queued"; }
            };
        }
    }

    /** "tslow <dev> <offset>": a linear mapping whose constructor waits until {@link #release} (for loads under I/O). */
    static final class Slow implements TargetType {
        volatile CountDownLatch entered = new CountDownLatch(1);
        volatile CountDownLatch release = new CountDownLatch(1);

        @Override public String name() { return "tslow"; }

        @Override public String version() { return "0.0.1"; }

        @Override public String usage() { return "tslow <dev> <offset>"; }

        @Override
        public Target create(TargetContext context, TableArgs args) {
            BlockDevice dev = args.nextDevice("device");
            long offset = args.nextSectors("offset");
            entered.countDown();
            try {
                if (!release.await(20, TimeUnit.SECONDS)) throw args.error("never released");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new Target() {
                @Override
                public void map(Bio bio) { dev.submit(bio.op() == BioOp.FLUSH ? bio : bio.remap(bio.sector() + offset)); }

                @Override
                public String status(StatusType type) { return type == StatusType.TABLE ? dev.reference() + " " + offset : ""; }
            };
        }
    }

    /** "trecord <dev>": passes requests through and counts flushes per device reference. */
    static final class Record implements TargetType {
        final Map<String, AtomicInteger> flushes = new ConcurrentHashMap<>();

        @Override public String name() { return "trecord"; }

        @Override public String version() { return "0.0.1"; }

        @Override public String usage() { return "trecord <dev>"; }

        @Override
        public Target create(TargetContext context, TableArgs args) {
            BlockDevice dev = args.nextDevice("device");
            return new Target() {
                @Override
                public void map(Bio bio) {
                    if (bio.op() == BioOp.FLUSH) {
                        // count only once the device below has made it durable
                        dev.submit(bio.withCompletion(s -> {
                            if (s.isOk()) flushes.computeIfAbsent(dev.reference(), k -> new AtomicInteger()).incrementAndGet();
                            bio.complete(s);
                        }));
                    } else {
                        dev.submit(bio.remap(bio.sector()));
                    }
                }

                @Override
                public String status(StatusType type) { return type == StatusType.TABLE ? dev.reference() : ""; }
            };
        }

        int flushesOf(String reference) {
            AtomicInteger n = flushes.get(reference);
            return n == null ? 0 : n.get();
        }
    }

    /** "tmsg": reads zeros; takes messages ("echo WORDS..." answers the words; anything else is refused). */
    static final class Msg implements TargetType {
        @Override public String name() { return "tmsg"; }

        @Override public String version() { return "0.0.1"; }

        @Override public Set<TargetFeature> features() { return Set.of(TargetFeature.MESSAGES); }

        @Override public String usage() { return "tmsg"; }

        @Override
        public Target create(TargetContext context, TableArgs args) {
            return new Target() {
                @Override public void map(Bio bio) { bio.complete(IoStatus.OK); }

                @Override public String status(StatusType type) { return ""; }

                @Override
                public String message(Message message) {
                    if (message.verb().equals("echo")) return String.join(" ", message.words().subList(1, message.words().size()));
                    if (message.verb().equals("event")) {
                        context.raiseEvent(org.ddmapper.api.EventKind.TARGET_EVENT, Map.of("said", message.words().get(1)));
                        return "";
                    }
                    throw args.error("unknown message '" + message.verb() + "'");
                }
            };
        }
    }

    /** "tveto": a singleton whose preresume refuses. */
    static final class Veto implements TargetType {
        @Override public String name() { return "tveto"; }

        @Override public String version() { return "0.0.1"; }

        @Override public Set<TargetFeature> features() { return Set.of(TargetFeature.SINGLETON); }

        @Override public String usage() { return "tveto"; }

        @Override
        public Target create(TargetContext context, TableArgs args) {
            return new Target() {
                @Override public void map(Bio bio) { bio.complete(IoStatus.OK); }

                @Override public void preresume() { throw new IllegalStateException("on-disk metadata says no"); }

                @Override public String status(StatusType type) { return ""; }
            };
        }
    }
}
