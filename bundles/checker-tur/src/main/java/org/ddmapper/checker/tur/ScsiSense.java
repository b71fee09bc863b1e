package org.ddmapper.checker.tur;

import org.ddmapper.spi.CheckResult;
import org.ddmapper.spi.PathState;

/**
 * multipath-tools' tur verdicts (libmultipath/checkers/tur.c) from a completed SG_IO TEST UNIT
 * READY: SCSI status, host status, the kernel's {@code info} flag and the sense data (fixed or
 * descriptor format).
 */
final class ScsiSense {
    static final int STATUS_GOOD = 0x00;
    static final int STATUS_CHECK_CONDITION = 0x02;
    static final int STATUS_RESERVATION_CONFLICT = 0x18;
    static final int KEY_NOT_READY = 0x2;
    static final int KEY_ILLEGAL_REQUEST = 0x5;
    static final int KEY_UNIT_ATTENTION = 0x6;
    static final int DRIVER_SENSE = 0x08;
    static final int DID_OK = 0x00;
    static final int DID_NO_CONNECT = 0x01;
    static final int DID_BAD_TARGET = 0x04;
    static final int DID_ABORT = 0x05;
    static final int DID_TRANSPORT_FAILFAST = 0x0f;

    /**
     * The verdict for one completed command, or null for "send it again" (a unit attention or a
     * host error other than no-connect, bad target, abort or transport failfast) when
     * {@code mayRetry}; once retries are used up those outcomes are judged like the rest.
     * {@code r.errno()} must be 0 (the ioctl itself succeeded).
     */
    static CheckResult verdict(SgIo.Result r, boolean mayRetry) {
        int status = r.status();
        // tur.c: (status & 0x7e) == 0x18 -- SCSI-3 arrays answer TUR with a reservation conflict
        if ((status & 0x7e) == STATUS_RESERVATION_CONFLICT)
            return new CheckResult(PathState.UP, "reservation conflict (the path works; another host holds the reservation)");
        // the kernel sets SG_INFO_CHECK whenever status, host or driver status is not zero; a
        // header that says otherwise is still judged by what it reports
        boolean abnormal = r.check() || status != STATUS_GOOD || r.hostStatus() != DID_OK || r.driverStatus() != 0;
        if (!abnormal) return new CheckResult(PathState.UP, "test unit ready: good");
        boolean hostError = switch (r.hostStatus()) {
            case DID_OK, DID_NO_CONNECT, DID_BAD_TARGET, DID_ABORT, DID_TRANSPORT_FAILFAST -> false;
            default -> true;
        };
        if (hostError && mayRetry) return null;
        int key = 0;
        int asc = 0;
        int ascq = 0;
        byte[] sense = r.sense();
        int senseLength = r.senseLength();
        boolean haveSense = false;
        if (senseLength > 3) {
            int code = sense[0] & 0xff;
            if (code == 0x72 || code == 0x73) {
                key = sense[1] & 0x0f;
                asc = sense[2] & 0xff;
                ascq = sense[3] & 0xff;
                haveSense = true;
            } else if (senseLength > 13 && ((code & 0x7f) == 0x70 || (code & 0x7f) == 0x71)) {
                key = sense[2] & 0x0f;
                asc = sense[12] & 0xff;
                ascq = sense[13] & 0xff;
                haveSense = true;
            }
        }
        if (key == KEY_UNIT_ATTENTION && mayRetry) return null;
        if (key == KEY_NOT_READY && asc == 0x04 && ascq == 0x0b)
            return new CheckResult(PathState.GHOST, "not ready: target port in standby state");
        if (key == KEY_NOT_READY && asc == 0x04 && ascq == 0x0a)
            return new CheckResult(PathState.PENDING, "not ready: asymmetric access state transition");
        if (key == KEY_ILLEGAL_REQUEST && asc == 0x25 && ascq == 0x00)
            return new CheckResult(PathState.DISCONNECTED, "illegal request: logical unit not supported");
        if (haveSense && key != 0)
            return new CheckResult(PathState.DOWN, String.format("check condition: sense key 0x%x asc 0x%02x ascq 0x%02x", key, asc, ascq));
        if (r.hostStatus() != DID_OK)
            return new CheckResult(PathState.DOWN, String.format("host status 0x%02x", r.hostStatus()));
        if (r.driverStatus() != 0 && status == STATUS_GOOD)
            return new CheckResult(PathState.DOWN, String.format("driver status 0x%02x", r.driverStatus()));
        return new CheckResult(PathState.DOWN, String.format("scsi status 0x%02x", status));
    }

    private ScsiSense() {}
}
