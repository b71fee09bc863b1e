package org.ddmapper.targets.mirror.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.ddmapper.spi.TargetState;

/**
 * What a mirror hands to the next version of its code in a live upgrade (after its postsuspend:
 * copies stopped, idle regions marked clean, log written): the three region bitmaps, each leg's
 * failures and whether it is out, the default leg, the stale legs the log listed, the log's state
 * (A, D, F), the resync rate, and whether "in sync" was announced already. The successor takes
 * it instead of reading the log, so a leg out of the mirror stays out and no region known out of
 * sync is forgotten, for a core log too.
 *
 * <p>Format 1, big-endian (DataOutputStream): regions u64, region sectors u64, legs u32, per leg
 * (hash u64, failures u32, out u8), default leg u32, log state u16 (char), rate u64, announced u8, stale-from-log count
 * u32 and hashes u64, then clean, syncAll and syncLive as u32 length + little-endian words.
 */
record MirrorState(long regionCount, long regionSectors, long[] legHashes, int[] failures, boolean[] out, int defaultLeg,
                   char logState, long rate, boolean announced, List<Long> staleFromLog, byte[] clean, byte[] syncAll,
                   byte[] syncLive) {
    static final String TYPE = "mirror";
    static final int FORMAT = 1;

    static MirrorState of(Regions regions, Legs legs, char logState, long rate, boolean announced) {
        int n = legs.count();
        long[] hashes = new long[n];
        int[] failures = new int[n];
        boolean[] out = new boolean[n];
        for (int i = 0; i < n; i++) {
            Legs.Leg l = legs.get(i);
            hashes[i] = l.hash;
            failures[i] = l.failures;
            out[i] = l.out;
        }
        synchronized (regions) {
            return new MirrorState(regions.regionCount(), regions.regionSectors(), hashes, failures, out, legs.defaultLeg().index,
                    logState, rate, announced, legs.staleFromLogHashes(), regions.cleanBits().toBytes(), regions.syncAllBits().toBytes(),
                    regions.syncLiveBits().toBytes());
        }
    }

    TargetState toTargetState() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream d = new DataOutputStream(bytes)) {
            d.writeLong(regionCount);
            d.writeLong(regionSectors);
            d.writeInt(legHashes.length);
            for (int i = 0; i < legHashes.length; i++) {
                d.writeLong(legHashes[i]);
                d.writeInt(failures[i]);
                d.writeBoolean(out[i]);
            }
            d.writeInt(defaultLeg);
            d.writeChar(logState);
            d.writeLong(rate);
            d.writeBoolean(announced);
            d.writeInt(staleFromLog.size());
            for (long h : staleFromLog) d.writeLong(h);
            for (byte[] b : List.of(clean, syncAll, syncLive)) {
                d.writeInt(b.length);
                d.write(b);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new TargetState(TYPE, FORMAT, bytes.toByteArray());
    }

    /** Reads a handed-over state; null when it is not a mirror's of this format or does not parse. */
    static MirrorState from(TargetState state) {
        if (!TYPE.equals(state.type()) || state.formatVersion() != FORMAT) return null;
        try (DataInputStream d = new DataInputStream(new ByteArrayInputStream(state.data()))) {
            long regions = d.readLong();
            long regionSectors = d.readLong();
            int n = d.readInt();
            if (n < 0 || n > MirrorTable.MAX_LEGS) return null;
            long[] hashes = new long[n];
            int[] failures = new int[n];
            boolean[] out = new boolean[n];
            for (int i = 0; i < n; i++) {
                hashes[i] = d.readLong();
                failures[i] = d.readInt();
                out[i] = d.readBoolean();
            }
            int def = d.readInt();
            char logState = d.readChar();
            long rate = d.readLong();
            boolean announced = d.readBoolean();
            int staleCount = d.readInt();
            if (staleCount < 0 || staleCount > MirrorTable.MAX_LEGS) return null;
            List<Long> stale = new ArrayList<>();
            for (int i = 0; i < staleCount; i++) stale.add(d.readLong());
            byte[][] bits = new byte[3][];
            long want = RegionBits.wordCount(regions) * 8;
            for (int i = 0; i < 3; i++) {
                int len = d.readInt();
                if (len != want) return null;
                bits[i] = d.readNBytes(len);
                if (bits[i].length != len) return null;
            }
            return new MirrorState(regions, regionSectors, hashes, failures, out, def, logState, rate, announced, stale,
                    bits[0], bits[1], bits[2]);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Whether this state belongs to a mirror of the same regions and the same legs. */
    boolean fits(Regions regions, Legs legs) {
        if (regionCount != regions.regionCount() || regionSectors != regions.regionSectors()) return false;
        if (legHashes.length != legs.count()) return false;
        for (int i = 0; i < legHashes.length; i++) if (legHashes[i] != legs.get(i).hash) return false;
        return defaultLeg >= 0 && defaultLeg < legs.count();
    }

    void applyTo(Regions regions, Legs legs) {
        RegionBits c = bits(clean);
        RegionBits a = bits(syncAll);
        RegionBits l = bits(syncLive);
        regions.load(c, a, l);
        legs.restore(failures, out, defaultLeg, staleFromLog);
    }

    private RegionBits bits(byte[] b) {
        RegionBits r = new RegionBits(regionCount);
        r.readFrom(ByteBuffer.wrap(b));
        return r;
    }
}
