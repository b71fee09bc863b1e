package org.ddmapper.targets.mirror.internal;

import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.TableLine;

/**
 * The dirty-region log a mirror table names: {@code core <#> <region_size> [sync|nosync]
 * [block_on_error]} or {@code disk <#> <log_dev> <region_size> [sync|nosync] [block_on_error]}.
 * {@code block_on_error} is the dm-log argument lvm2 wrote before kernel 2.6.22 (Debian's 6.1
 * kernel refuses it); ddmapper accepts it and holds writes while the log has failed.
 */
public sealed interface LogSpec {

    /** How the log's contents are taken at resume. */
    enum SyncMode {
        /** Trust the log: resync the regions it marks dirty (the kernel's DEFAULTSYNC). */
        DEFAULT,
        /** Ignore the log and resync every region ({@code sync}). */
        SYNC,
        /** Ignore the log and take every region as in sync ({@code nosync}). */
        NOSYNC;

        /** The table word, or "" for DEFAULT. */
        String word() {
            return switch (this) {
                case DEFAULT -> "";
                case SYNC -> "sync";
                case NOSYNC -> "nosync";
            };
        }
    }

    /** Region size in sectors (a power of two, at least 2, at most the target's length). */
    long regionSectors();

    SyncMode sync();

    boolean blockOnError();

    /** The log type's name in a table. */
    String typeName();

    /** The log's TABLE text (the kernel's: type, argument count, arguments, and a trailing space). */
    default String tableText() {
        StringBuilder words = new StringBuilder();
        if (this instanceof Disk disk) words.append(TableLine.escape(disk.device().reference())).append(' ');
        words.append(regionSectors());
        int count = (this instanceof Disk ? 2 : 1);
        if (sync() != SyncMode.DEFAULT) {
            words.append(' ').append(sync().word());
            count++;
        }
        if (blockOnError()) {
            words.append(" block_on_error");
            count++;
        }
        return typeName() + " " + count + " " + words + " ";
    }

    /** {@code core}: the bitmaps live in memory only. */
    record Core(long regionSectors, SyncMode sync, boolean blockOnError) implements LogSpec {
        public String typeName() { return "core"; }
    }

    /** {@code disk}: the clean bitmap lives on {@code device} in the kernel's dm-log format. */
    record Disk(BlockDevice device, long regionSectors, SyncMode sync, boolean blockOnError) implements LogSpec {
        public String typeName() { return "disk"; }
    }
}
