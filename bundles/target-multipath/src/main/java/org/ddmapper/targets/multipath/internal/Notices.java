package org.ddmapper.targets.multipath.internal;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.ddmapper.api.EventPayload;
import org.ddmapper.spi.TargetContext;
import org.tinylog.Logger;

/**
 * A map's events and path-monitor notices, published in the order of the state changes that
 * caused them. A change queues them under the map's lock ({@link #event}, {@link #notice}); once
 * the lock is released, {@link #publish} runs them — one thread at a time, so they come out in
 * queue order, and a thread that finds another publishing waits for it: when publish returns,
 * everything the caller queued has been published (by it or by the other). On the I/O path, where
 * nothing is usually queued, publish costs two atomic reads.
 */
final class Notices {
    private final TargetContext context;
    private final Supplier<MapWatcher> watcher;
    private final ConcurrentLinkedQueue<Runnable> queue = new ConcurrentLinkedQueue<>();
    private final Object publishing = new Object();
    private final AtomicLong queued = new AtomicLong();
    private final AtomicLong published = new AtomicLong();

    Notices(TargetContext context, Supplier<MapWatcher> watcher) {
        this.context = context;
        this.watcher = watcher;
    }

    /** Queues an event for the map's device (called under the map's lock). */
    void event(EventPayload event) {
        add(() -> {
            try {
                context.raise(event);
            } catch (RuntimeException e) {
                Logger.warn("multipath {}: could not raise {}: {}", context.deviceName(), event.kind(), e.getMessage());
            }
        });
    }

    /** Queues a notice for the path monitor watching the map now (called under the map's lock). */
    void notice(Consumer<MapWatcher> notice) {
        MapWatcher w = watcher.get();
        add(() -> notice.accept(w));
    }

    private void add(Runnable r) {
        queue.add(r);
        queued.incrementAndGet();
    }

    /** Publishes what is queued, in order (never called under the map's lock). */
    void publish() {
        if (published.get() == queued.get()) return; // the I/O path's usual case: nothing to do
        synchronized (publishing) {
            Runnable r;
            while ((r = queue.poll()) != null) {
                try {
                    r.run();
                } catch (RuntimeException e) {
                    Logger.warn("multipath {}: a notice failed: {}", context.deviceName(), e.toString());
                } finally {
                    published.incrementAndGet();
                }
            }
        }
    }
}
