package org.ddmapper.bench;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.IoStatus;
import org.ddmapper.core.internal.CoreConfig;
import org.ddmapper.core.internal.Devices;
import org.ddmapper.core.internal.FileProvider;
import org.ddmapper.targets.linear.LinearType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Per-request cost of the routing layer: 4 KiB random reads from a page-cached file, straight
 * through the core's file provider ("file") or through a mapped device with one linear target
 * over the same file ("linear"), at queue depth 1 (latency) and 16 (throughput). Both paths use
 * the same I/O thread pool, so the difference is the mapped device's gate, table lookup, the
 * linear remap and the completion chain. "mem" and "mem-linear" do the same over an in-memory
 * device that completes on the caller's thread: no thread hand-off, so the difference is the
 * routing cost alone, in nanoseconds, without the noise of a shared machine's scheduler.
 */
@State(Scope.Benchmark)
public class RoutingBench {
    static final int BLOCK = 4096;
    static final long FILE_BYTES = 64L << 20;

    @Param({"file", "linear", "mem", "mem-linear"})
    public String path;

    Path dir;
    Devices devices;
    FileProvider files;
    BlockDevice dev;
    long blocks;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        dir = Files.createTempDirectory("ddmapper-bench-");
        Path file = dir.resolve("disk.img");
        try (var ch = java.nio.channels.FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.allocate(1 << 20);
            for (long off = 0; off < FILE_BYTES; off += buf.capacity()) {
                buf.clear();
                ch.write(buf, off);
            }
        }
        blocks = FILE_BYTES / BLOCK;
        int threads = Integer.getInteger("bench.ioThreads", 4);
        if (path.equals("file")) {
            files = new FileProvider(threads);
            dev = files.open(file.toString(), false);
        } else if (path.equals("mem")) {
            dev = new MemoryDevice("mem:bench");
        } else {
            devices = new Devices();
            devices.addTargetType(new LinearType(), "bench", 1);
            devices.addProvider(new MemoryProvider());
            CoreConfig c = CoreConfig.forHome(dir.resolve("home"));
            devices.start(new CoreConfig(c.home(), null, threads, c.drainTimeoutMillis(), c.typeWaitMillis(), false));
            String backing = path.equals("linear") ? file.toString() : "mem:bench";
            devices.create("bench", "0 " + FILE_BYTES / 512 + " linear " + backing + " 0");
            dev = devices.open(DeviceRef.of("bench"));
        }
        // warm the page cache
        for (long b = 0; b < blocks; b += 1) readOne(b);
    }

    @TearDown(Level.Trial)
    public void teardown() throws Exception {
        dev.close();
        if (devices != null) devices.close();
        if (files != null) files.close();
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** One read, waited for by parking this thread (what a synchronous client does). */
    private void readOne(long block) {
        Thread me = Thread.currentThread();
        Waiter w = new Waiter(me);
        dev.submit(Bio.read(block * (BLOCK / 512), ByteBuffer.allocate(BLOCK), w));
        while (w.status == null) LockSupport.park(w);
        if (!w.status.isOk()) throw new IllegalStateException(w.status.toString());
    }

    /** 64 MiB in memory; requests complete on the submitting thread. */
    static final class MemoryDevice implements BlockDevice {
        final String reference;
        final byte[] bytes = new byte[(int) FILE_BYTES];

        MemoryDevice(String reference) { this.reference = reference; }

        @Override public String reference() { return reference; }

        @Override public long sizeSectors() { return FILE_BYTES / 512; }

        @Override
        public void submit(Bio bio) {
            switch (bio.op()) {
                case READ -> bio.data().put(bytes, (int) (bio.sector() * 512), (int) bio.lengthBytes());
                case WRITE -> bio.data().get(bytes, (int) (bio.sector() * 512), (int) bio.lengthBytes());
                default -> { }
            }
            bio.complete(IoStatus.OK);
        }

        @Override public void close() { }
    }

    static final class MemoryProvider implements org.ddmapper.spi.BlockDeviceProvider {
        @Override public java.util.Set<String> schemes() { return java.util.Set.of("mem"); }

        @Override public BlockDevice open(String reference, boolean readOnly) { return new MemoryDevice(reference); }
    }

    static final class Waiter implements java.util.function.Consumer<IoStatus> {
        final Thread thread;
        volatile IoStatus status;

        Waiter(Thread thread) { this.thread = thread; }

        @Override
        public void accept(IoStatus s) {
            status = s;
            LockSupport.unpark(thread);
        }
    }

    /** Sampled, so that the median can be reported: on a shared machine preempted samples skew a mean. */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public void qd1() {
        readOne(ThreadLocalRandom.current().nextLong(blocks));
    }

    /** Queue depth 16: 16 reads in flight, the benchmark counts completions. */
    @State(Scope.Thread)
    public static class Window {
        final Semaphore slots = new Semaphore(16);
        final AtomicInteger errors = new AtomicInteger();

        @TearDown(Level.Iteration)
        public void drain() throws InterruptedException {
            if (!slots.tryAcquire(16, 10, TimeUnit.SECONDS)) throw new IllegalStateException("reads did not complete");
            slots.release(16);
            if (errors.get() > 0) throw new IllegalStateException(errors.get() + " reads failed");
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public void qd16(Window window) throws InterruptedException {
        window.slots.acquire();
        ByteBuffer buf = ByteBuffer.allocate(BLOCK);
        dev.submit(Bio.read(ThreadLocalRandom.current().nextLong(blocks) * (BLOCK / 512), buf, s -> {
            if (!s.isOk()) window.errors.incrementAndGet();
            window.slots.release();
        }));
    }
}
