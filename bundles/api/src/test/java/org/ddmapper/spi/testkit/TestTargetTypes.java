package org.ddmapper.spi.testkit;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
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
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.ddmapper.api.PassedFd;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetType;

/**
 * Small target types for tests of the core and of what sits on it (the real ones live in their
 * bundles): each does one thing a test needs to provoke — remap and take messages, queue I/O and
 * hand it back, block its constructor, count flushes, echo messages, veto a resume. Register them
 * with the core directly or as OSGi services; each keeps what the test looks at in public fields.
 */
public final class TestTargetTypes {
    private TestTargetTypes() { }

    /** A linear remap through {@code dev} at {@code offset} (FLUSH passed on unmapped). */
    private static Bio remapped(Bio bio, long offset) {
        return bio.op() == BioOp.FLUSH ? bio : bio.remap(bio.sector() + offset);
    }

    /** Base of the types here: name, a test version, usage, features. */
    private abstract static class Simple implements TargetType {
        private final String name;
        private final String usage;
        private final Set<TargetFeature> features;

        Simple(String name, String usage, TargetFeature... features) {
            this.name = name;
            this.usage = usage;
            this.features = Set.of(features);
        }

        @Override public String name() { return name; }

        @Override public String version() { return "1.0.0"; }

        @Override public Set<TargetFeature> features() { return features; }

        @Override public String usage() { return usage; }
    }

    /**
     * "tlinear &lt;dev&gt; &lt;offset&gt;" (or another name): remaps onto one device, logging flushes,
     * preresumes and destroys in {@link #log}. Messages: "ping" answers "pong"; "open REF" opens
     * another device through the context and "reopen" its own device anew, closing the first (as a
     * multipath reconnect does); "close" closes those.
     */
    public static final class Linear extends Simple {
        public final List<String> log = new CopyOnWriteArrayList<>();

        public Linear(String name) { super(name, name + " <dev> <offset>", TargetFeature.MESSAGES); }

        public Linear() { this("tlinear"); }

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
                    dev.submit(remapped(bio, offset));
                }

                @Override
                public String status(StatusType type) { return type == StatusType.TABLE ? dev.reference() + " " + offset : ""; }

                @Override
                public String message(Message message) {
                    switch (message.verb()) {
                        case "ping" -> { return "pong"; }
                        case "open" -> later.add(context.openDevice(message.words().get(1)));
                        case "reopen" -> {
                            later.add(context.openDevice(dev.reference()));
                            dev.close();
                        }
                        case "close" -> {
                            later.forEach(BlockDevice::close);
                            later.clear();
                        }
                        default -> throw args.error("unknown message '" + message.verb() + "'");
                    }
                    return "";
                }

                @Override public void preresume() { log.add("preresume " + context.deviceName()); }

                @Override
                public void destroy() {
                    later.forEach(BlockDevice::close);
                    log.add("destroy " + context.deviceName());
                }
            };
        }
    }

    /**
     * "tqueue &lt;dev&gt;": while {@link #holding}, keeps every request (as multipath with no path
     * does), else passes it on; a noflush presuspend hands what it keeps back to the core (REQUEUE).
     */
    public static final class Queue extends Simple {
        public final List<Bio> queued = new CopyOnWriteArrayList<>();
        public volatile boolean holding = true;

        public Queue() { super("tqueue", "tqueue <dev>"); }

        @Override
        public Target create(TargetContext context, TableArgs args) {
            BlockDevice dev = args.nextDevice("device");
            return new Target() {
                @Override
                public void map(Bio bio) {
                    if (holding) queued.add(bio);
                    else dev.submit(remapped(bio, 0));
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

    /** "tslow &lt;dev&gt; &lt;offset&gt;": a linear remap whose constructor waits until {@link #release} (loads under I/O). */
    public static final class Slow extends Simple {
        public volatile CountDownLatch entered = new CountDownLatch(1);
        public volatile CountDownLatch release = new CountDownLatch(1);

        public Slow() { super("tslow", "tslow <dev> <offset>"); }

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
                @Override public void map(Bio bio) { dev.submit(remapped(bio, offset)); }

                @Override
                public String status(StatusType type) { return type == StatusType.TABLE ? dev.reference() + " " + offset : ""; }
            };
        }
    }

    /** "trecord &lt;dev&gt;": passes requests through and counts, per device reference, the flushes it made durable. */
    public static final class Record extends Simple {
        private final Map<String, AtomicInteger> flushes = new ConcurrentHashMap<>();

        public Record() { super("trecord", "trecord <dev>"); }

        @Override
        public Target create(TargetContext context, TableArgs args) {
            BlockDevice dev = args.nextDevice("device");
            return new Target() {
                @Override
                public void map(Bio bio) {
                    if (bio.op() != BioOp.FLUSH) {
                        dev.submit(remapped(bio, 0));
                        return;
                    }
                    dev.submit(bio.withCompletion(s -> { // counted only once the device below made it durable
                        if (s.isOk()) flushes.computeIfAbsent(dev.reference(), k -> new AtomicInteger()).incrementAndGet();
                        bio.complete(s);
                    }));
                }

                @Override
                public String status(StatusType type) { return type == StatusType.TABLE ? dev.reference() : ""; }
            };
        }

        public int flushesOf(String reference) {
            AtomicInteger n = flushes.get(reference);
            return n == null ? 0 : n.get();
        }
    }

    /**
     * "tmsg": reads zeros; messages "echo WORDS..." answer the words, "event WORD" raises a
     * TARGET_EVENT said=WORD; anything else is refused.
     */
    public static final class Msg extends Simple {
        public Msg() { super("tmsg", "tmsg", TargetFeature.MESSAGES); }

        @Override
        public Target create(TargetContext context, TableArgs args) {
            return new Target() {
                @Override public void map(Bio bio) { zeros(bio); }

                @Override public String status(StatusType type) { return ""; }

                @Override
                public String message(Message message) {
                    switch (message.verb()) {
                        case "echo" -> { return String.join(" ", message.words().subList(1, message.words().size())); }
                        case "event" -> context.raise(new EventPayload.TargetEvent(Map.of("said", message.words().get(1))));
                        default -> throw args.error("unknown message '" + message.verb() + "'");
                    }
                    return "";
                }
            };
        }
    }

    /**
     * "echo": reads zeros; answers a message with what it received ("echo WORDS binary N fds M");
     * "event k=v..." raises a TARGET_EVENT with those details; "take-fd" adopts the passed
     * descriptors into {@link #adopted} (the test closes them). INFO counts the messages.
     */
    public static final class Echo extends Simple {
        public final List<Integer> adopted = new CopyOnWriteArrayList<>();

        public Echo() { super("echo", "echo", TargetFeature.MESSAGES); }

        @Override
        public Target create(TargetContext context, TableArgs args) {
            args.expectEnd();
            AtomicInteger messages = new AtomicInteger();
            return new Target() {
                @Override public void map(Bio bio) { zeros(bio); }

                @Override
                public String status(StatusType type) { return type == StatusType.INFO ? "messages " + messages.get() : ""; }

                @Override
                public String message(Message message) {
                    messages.incrementAndGet();
                    if (message.verb().equals("event")) context.raise(new EventPayload.TargetEvent(keyValues(message)));
                    if (message.verb().equals("take-fd")) for (PassedFd fd : message.fds()) adopted.add(fd.take());
                    return "echo " + String.join(" ", message.words()) + " binary " + message.payload().length
                            + " fds " + message.fds().size();
                }
            };
        }

        /** The words after the verb that read key=value, as details. */
        public static Map<String, String> keyValues(Message message) {
            Map<String, String> details = new HashMap<>();
            for (String w : message.words().subList(1, message.words().size())) {
                int eq = w.indexOf('=');
                if (eq > 0) details.put(w.substring(0, eq), w.substring(eq + 1));
            }
            return details;
        }
    }

    /** "tveto": a singleton whose preresume always refuses ("on-disk metadata says no"). */
    public static final class Veto extends Simple {
        public Veto() { super("tveto", "tveto", TargetFeature.SINGLETON); }

        @Override
        public Target create(TargetContext context, TableArgs args) {
            return new Target() {
                @Override public void map(Bio bio) { bio.complete(IoStatus.OK); }

                @Override public void preresume() { throw new IllegalStateException("on-disk metadata says no"); }

                @Override public String status(StatusType type) { return ""; }
            };
        }
    }

    /** Completes a request as a target holding zeros does: reads get zeros, everything else succeeds. */
    private static void zeros(Bio bio) {
        if (bio.op() == BioOp.READ) {
            ByteBuffer b = bio.data();
            while (b.hasRemaining()) b.put((byte) 0);
        }
        bio.complete(IoStatus.OK);
    }
}
