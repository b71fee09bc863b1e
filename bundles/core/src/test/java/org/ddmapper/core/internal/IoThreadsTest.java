package org.ddmapper.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class IoThreadsTest {

    @Test
    void everyRequestFromManySubmittersRunsExactlyOnce() throws Exception {
        IoThreads io = new IoThreads(4, "test-io-");
        int submitters = 6;
        int perSubmitter = 50_000;
        AtomicIntegerArray runs = new AtomicIntegerArray(submitters * perSubmitter);
        CountDownLatch done = new CountDownLatch(submitters * perSubmitter);
        Thread[] threads = new Thread[submitters];
        for (int s = 0; s < submitters; s++) {
            int base = s * perSubmitter;
            threads[s] = new Thread(() -> {
                for (int i = 0; i < perSubmitter; i++) {
                    int id = base + i;
                    io.execute(() -> {
                        runs.incrementAndGet(id);
                        done.countDown();
                    });
                    // Bursts and pauses, so workers keep going idle and being woken.
                    if (i % 1000 == 0) Thread.onSpinWait();
                }
            });
            threads[s].start();
        }
        for (Thread t : threads) t.join();
        assertTrue(done.await(60, TimeUnit.SECONDS), "requests left without a worker: " + done.getCount());
        for (int i = 0; i < runs.length(); i++) assertEquals(1, runs.get(i), "request " + i + " ran " + runs.get(i) + " times");
        io.shutdown();
    }

    @Test
    void requestsOneAtATimeStayOnTheMostRecentlyIdleWorker() throws Exception {
        IoThreads io = new IoThreads(8, "test-io-");
        Map<String, Integer> perThread = new HashMap<>();
        SynchronousQueue<String> ranOn = new SynchronousQueue<>();
        int requests = 500;
        for (int i = 0; i < requests; i++) {
            io.execute(() -> {
                try {
                    ranOn.put(Thread.currentThread().getName());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            String name = ranOn.poll(10, TimeUnit.SECONDS);
            perThread.merge(name, 1, Integer::sum);
            // let the worker go idle again before the next request (on a loaded machine that can take
            // longer than any fixed sleep): then it is the most recently idle one
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (io.idleCount() < 8 && System.nanoTime() < deadline) Thread.sleep(1);
        }
        int most = perThread.values().stream().mapToInt(Integer::intValue).max().orElse(0);
        // A FIFO pool would spread them over all 8 threads (about 250 each).
        assertTrue(most >= requests * 9 / 10, "requests per thread: " + perThread);
        io.shutdown();
    }

    @Test
    void shutdownRunsWhatIsQueuedRefusesMoreAndEndsTheWorkers() throws Exception {
        IoThreads io = new IoThreads(2, "test-io-shutdown-");
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch ran = new CountDownLatch(5);
        Map<String, Thread> workers = new ConcurrentHashMap<>();
        for (int i = 0; i < 5; i++) {
            io.execute(() -> {
                workers.put(Thread.currentThread().getName(), Thread.currentThread());
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                ran.countDown();
            });
        }
        io.shutdown();
        RejectedExecutionException refused = assertThrows(RejectedExecutionException.class, () -> io.execute(() -> { }));
        assertEquals("the I/O threads are shut down", refused.getMessage());
        release.countDown();
        assertTrue(ran.await(10, TimeUnit.SECONDS), "queued requests still ran");
        for (Thread t : workers.values()) {
            t.join(10_000);
            assertFalse(t.isAlive(), t.getName() + " still running after shutdown");
        }
    }
}
