package org.ddmapper.checker.tur;

import org.ddmapper.spi.CheckResult;
import org.ddmapper.spi.PathState;

/**
 * multipath-tools' tur verdicts from a completed SG_IO TEST UNIT READY: SCSI status, host and
 * driver status and the sense data (fixed or descriptor format).
 */
final class ScsiSense {
    static final int STATUS_GOOD = 0x00;
    static final int STATUS_CHECK_CONDITION = 0x02;
    static final int STATUS_RESERVATION_CONFLICT = 0x18;
    static final int KEY_NOT_READY = 0x2;
    static final int KEY_ILLEGAL_REQUEST = 0x5;
    static final int KEY_UNIT_ATTENTION = 0x6;
    private static final int DRIVER_SENSE = 0x08;

    /** A verdict, or null for "retry" (unit attention, transient driver or host errors). */
    static CheckResult verdict(int status, int hostStatus, int driverStatus, byte[] sense, int senseLength) {
        int key = -1;
        int asc = -1;
        int ascq = -1;
        if (senseLength >= 4) {
            int code = sense[0] & 0x7f;
            if ((code == 0x72 || code == 0x73)) {
                key = sense[1] & 0x0f;
                asc = sense[2] & 0xff;
                ascq = sense[3] & 0xff;
            } else if ((code == 0x70 || code == 0x71) && senseLength >= 14) {
                key = sense[2] & 0x0f;
                asc = sense[12] & 0xff;
                ascq = sense[13] & 0xff;
            }
        }
        if (status == STATUS_RESERVATION_CONFLICT)
            return new CheckResult(PathState.UP, "reservation conflict (the path works; another host holds the reservation)");
        if (hostStatus != 0 || (driverStatus & ~DRIVER_SENSE) != 0) return null;
        if (status == STATUS_GOOD && key <= 0) return new CheckResult(PathState.UP, "test unit ready: good");
        if (key == KEY_UNIT_ATTENTION) return null;
        if (key == KEY_NOT_READY && asc == 0x04 && ascq == 0x0b)
            return new CheckResult(PathState.GHOST, "not ready: target port in standby state");
        if (key == KEY_NOT_READY && asc == 0x04 && ascq == 0x0a)
            return new CheckResult(PathState.PENDING, "not ready: asymmetric access state transition");
        if (key == KEY_ILLEGAL_REQUEST && asc == 0x25 && ascq == 0x00)
            return new CheckResult(PathState.DISCONNECTED, "illegal request: logical unit not supported");
        if (key >= 0)
            return new CheckResult(PathState.DOWN, String.format("check condition: sense key 0x%x asc 0x%02x ascq 0x%02x", key, asc, ascq));
        return new CheckResult(PathState.DOWN, String.format("scsi status 0x%02x", status));
    }

    private ScsiSense() {}
}
