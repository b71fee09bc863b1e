package org.ddmapper.targets.mirror.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;
import org.ddmapper.targets.mirror.internal.DiskLogFormat.Outcome;
import org.ddmapper.targets.mirror.internal.LogSpec.SyncMode;
import org.junit.jupiter.api.Test;

/** The dm-log disk format, against bytes Debian's 6.1 kernel wrote (hexdumps taken with tests/kernel/kdm-vm.sh). */
class DiskLogFormatTest {

    /** The first 16 bytes and the bitmap's first 8 the kernel left for an in-sync 16-region mirror: {@code 72 52 69 4d 02 00 00 00 10 00 …}, {@code ff ff 00 …}. */
    @Test
    void anInSyncLogOfSixteenRegionsIsTheKernelsBytes() {
        RegionBits clean = new RegionBits(16);
        clean.fill(true);
        ByteBuffer image = ByteBuffer.allocate((int) DiskLogFormat.bufferBytes(16, 512));
        DiskLogFormat.store(image, 16, List.of(), clean);
        assertEquals(1536, image.capacity());
        assertEquals("7252694d020000001000000000000000", HexFormat.of().formatHex(image.array(), 0, 16));
        assertEquals("ffff000000000000", HexFormat.of().formatHex(image.array(), 1024, 1032));
        for (int i = 16; i < 1024; i++) assertEquals(0, image.get(i), "byte " + i);
    }

    @Test
    void bitmapBitsAreLittleEndianBytewise() {
        RegionBits clean = new RegionBits(100);
        clean.fill(true);
        clean.clear(7);
        clean.clear(9);
        clean.clear(64);
        ByteBuffer image = ByteBuffer.allocate(2048);
        DiskLogFormat.store(image, 100, List.of(), clean);
        // region 7 is bit 7 of byte 0, region 9 bit 1 of byte 1, region 64 bit 0 of byte 8; bits past 100 are clear
        assertEquals("7ffdffffffffffff" + "feffffff0f000000", HexFormat.of().formatHex(image.array(), 1024, 1040));
        assertEquals(1024 + 16, 1024 + DiskLogFormat.bitmapBytes(100));
    }

    @Test
    void bufferRoundsUpToTheLogicalBlock() {
        assertEquals(1536, DiskLogFormat.bufferBytes(16, 512));
        assertEquals(4096, DiskLogFormat.bufferBytes(16, 4096));
        assertEquals(2048, DiskLogFormat.bufferBytes(8192, 512)); // 8192 regions: 1024 bitmap bytes, as the kernel's "need 2048 bytes"
        assertEquals(12288, DiskLogFormat.bufferBytes(64 * 1024, 4096));
    }

    private static ByteBuffer image(int regionsInHeader, int version, String bitmapHex) {
        ByteBuffer b = ByteBuffer.allocate(2048).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, DiskLogFormat.MAGIC).putInt(4, version).putLong(8, regionsInHeader);
        byte[] bits = HexFormat.of().parseHex(bitmapHex);
        for (int i = 0; i < bits.length; i++) b.put(1024 + i, bits[i]);
        return b;
    }

    @Test
    void aLogIsTakenAsItIs() {
        DiskLogFormat.Loaded l = DiskLogFormat.load(image(16, 2, "7ffd"), 16, SyncMode.DEFAULT);
        assertEquals(Outcome.LOADED, l.outcome());
        assertNull(l.note());
        assertEquals(14, l.clean().count());
        assertFalse(l.clean().get(7));
        assertFalse(l.clean().get(9));
    }

    @Test
    void versionOneIsReadAsTwoAndOtherVersionsAreIncompatible() {
        assertEquals(Outcome.LOADED, DiskLogFormat.load(image(16, 1, "ffff"), 16, SyncMode.DEFAULT).outcome());
        DiskLogFormat.Loaded three = DiskLogFormat.load(image(16, 3, "ffff"), 16, SyncMode.DEFAULT);
        assertEquals(Outcome.INCOMPATIBLE, three.outcome());
        assertEquals("incompatible disk log version 3", three.note());
        assertEquals(0, three.clean().count(), "an incompatible log: every region out of sync, as the kernel's nr_regions = 0");
    }

    @Test
    void aBadMagicOrSyncMakesANewLogAndNosyncTrustsEveryRegion() {
        ByteBuffer zero = ByteBuffer.allocate(2048);
        DiskLogFormat.Loaded fresh = DiskLogFormat.load(zero, 16, SyncMode.DEFAULT);
        assertEquals(Outcome.NEW, fresh.outcome());
        assertEquals(0, fresh.clean().count());
        assertEquals("no log found (magic 0x00000000), a new one is made", fresh.note());
        assertEquals(0, DiskLogFormat.load(image(16, 2, "ffff"), 16, SyncMode.SYNC).clean().count());
        assertEquals(16, DiskLogFormat.load(image(16, 2, "0000"), 16, SyncMode.NOSYNC).clean().count());
    }

    @Test
    void regionsPastTheHeadersCountAreDirtyUnlessNosyncAndBitsPastTheTablesAreCleared() {
        DiskLogFormat.Loaded grown = DiskLogFormat.load(image(8, 2, "ff00"), 16, SyncMode.DEFAULT);
        assertEquals(8, grown.clean().count());
        DiskLogFormat.Loaded shrunk = DiskLogFormat.load(image(40, 2, "ffffffffffffffff"), 16, SyncMode.DEFAULT);
        assertEquals(16, shrunk.clean().count());
        ByteBuffer out = ByteBuffer.allocate(2048);
        DiskLogFormat.store(out, 16, List.of(), shrunk.clean());
        assertEquals("ffff000000000000", HexFormat.of().formatHex(out.array(), 1024, 1032));
    }

    @Test
    void aShortImageReadsAsZerosPastItsEnd() {
        ByteBuffer shortImage = image(16, 2, "ffff").limit(1025);
        DiskLogFormat.Loaded l = DiskLogFormat.load(shortImage, 16, SyncMode.DEFAULT);
        assertEquals(8, l.clean().count());
        assertTrue(l.note().startsWith("log image holds 1025 bytes, 1032 needed"), l.note());
    }

    @Test
    void theStaleLegRecordRoundTripsAndAnythingElseInSectorOneIsLeftAlone() {
        RegionBits clean = new RegionBits(16);
        ByteBuffer b = ByteBuffer.allocate(2048);
        long a = DiskLogFormat.legHash("nbd://10.0.0.5:10809/leg");
        DiskLogFormat.store(b, 16, List.of(a), clean);
        assertEquals(List.of(a), DiskLogFormat.load(b, 16, SyncMode.DEFAULT).staleLegs());
        assertEquals(List.of(a), DiskLogFormat.load(b, 16, SyncMode.SYNC).staleLegs(), "sync still must not copy from a stale leg");
        assertEquals(List.of(), DiskLogFormat.load(b, 16, SyncMode.NOSYNC).staleLegs());
        // corrupting one byte of the record drops it
        b.put(530, (byte) (b.get(530) ^ 1));
        assertEquals(List.of(), DiskLogFormat.staleLegs(b));
        // an empty list clears our record but leaves another tool's bytes where they are
        DiskLogFormat.store(b, 16, List.of(a), clean);
        DiskLogFormat.store(b, 16, List.of(), clean);
        assertArrayEquals(new byte[512], java.util.Arrays.copyOfRange(b.array(), 512, 1024));
        byte[] marker = "DDMARKER".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        b.put(512, marker);
        DiskLogFormat.store(b, 16, List.of(), clean);
        assertArrayEquals(marker, java.util.Arrays.copyOfRange(b.array(), 512, 520));
    }
}
