package org.ddmapper.api;

import java.util.List;

/**
 * Something that serves block I/O: a file, a block device, a remote NBD export, or a mapped
 * device (so stacking needs no special case). I/O is asynchronous: {@link #submit} returns at
 * once and the request's completion runs later, on any thread, exactly once.
 */
public interface BlockDevice extends AutoCloseable {

    /** The reference this device was opened by, exactly as written (a path, an nbd:// URI, dm:NAME). */
    String reference();

    /** The size in 512-byte sectors. */
    long sizeSectors();

    /** The smallest I/O unit the device accepts, in bytes (512 unless the device says otherwise). */
    default int logicalBlockBytes() { return Bio.SECTOR_BYTES; }

    /** Whether writes are refused. */
    default boolean readOnly() { return false; }

    /** Whether the device carries out this operation natively (else a DISCARD is dropped and WRITE_ZEROES is written out). */
    default boolean supports(BioOp op) { return true; }

    /**
     * Which parts of {@code [startSector, startSector + lengthSectors)} hold data and which are
     * holes that read as zeros: runs in order from {@code startSector}, adjacent runs of one kind
     * merged, none past the range. An answer may stop short of the range's end (at most
     * {@link ExtentList#MAX_RUNS} runs); ask again from where it stopped. DATA is always a true
     * answer. Synchronous and may make system calls: call it where blocking is allowed, never from
     * a completion. Failures throw {@link DmException} (EINVAL for a range outside the device,
     * ENODEV once closed, EIO). Default: one DATA run over the range.
     */
    default List<Extent> allocation(long startSector, long lengthSectors) {
        return List.of(Extent.data(startSector, lengthSectors));
    }

    /**
     * Starts a request. Never throws for I/O conditions: failures complete the request with an
     * error. A request outside the device completes with EINVAL (read) or ENOSPC (write).
     */
    void submit(Bio bio);

    /** Releases the device; requests submitted afterwards complete with ENODEV. */
    @Override
    void close();
}
