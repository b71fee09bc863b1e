package org.ddmapper.nbd.internal;

import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;
import org.tinylog.Logger;

/**
 * One request of a server connection in flight: the device's completion of it, and its reply
 * (simple or structured, as negotiated: an error with its sentence, READ data, a BLOCK_STATUS
 * chunk, or plain success).
 *
 * <p>Its end — when its {@link Admission.Lease} goes back — is when its reply was written (or
 * dropped with the connection) and the device no longer holds it. Normally the reply follows the
 * completion; a closing connection may answer a request before the device completes it ({@link
 * #answerNow}), and then the completion only ends it. Until it is handed on ({@link #toDevice},
 * {@link #answer}) the connection's reader owns it, and {@link #abandon} gives its lease back if
 * anything fails before that.
 */
final class ServerRequest implements Consumer<IoStatus>, OutputQueue.Message {
    /** Reply kinds: READ data (or none for a READ of 0), no data (CACHE), a BLOCK_STATUS chunk. */
    static final int SIMPLE = 0;
    static final int SIMPLE_NO_DATA = 1;
    static final int BLOCK_STATUS = 2;
    /** {@link #state} bits: the device (or the query pool) holds it; its reply is decided; its reply was written or dropped. */
    private static final int AT_DEVICE = 1;
    private static final int ANSWERED = 2;
    private static final int REPLY_DONE = 4;

    /**
     * What the requests of one connection share: the session, the reply queue, the requests the
     * device holds (for a closing connection to answer), what to do when the device turns out to
     * be gone, and the peer's name for the log.
     */
    record Shared(Session session, OutputQueue out, Set<ServerRequest> atDevice, Runnable deviceGone, String peer) {
        /** Answers ESHUTDOWN to every request the device still holds (it may complete them later); returns how many. */
        int answerAllNow(String reason) {
            int n = 0;
            for (ServerRequest r : atDevice) if (r.answerNow(reason)) n++;
            return n;
        }
    }

    private final Shared shared;
    final long cookie;
    final int type;
    final int flags;
    final long offset;
    final int length;
    /** Everything the request holds (slot, bytes, buffer); given back when the request ends. */
    Admission.Lease lease;
    /** Whether the request went on to the device, the query pool or the reply queue (which then end it). */
    boolean handedOff;
    /** A READ's reply payload: the lease's buffer, or the requested bytes within the covering blocks. */
    ByteBuffer data;
    /** BLOCK_STATUS: length and status flags of each descriptor, in turn. */
    int[] descriptors;
    /** The write's hold on its bytes of the export (UnalignedRequests), released on completion. */
    UnalignedRequests.Hold hold;
    int kind = SIMPLE;
    int error;
    String message;
    /** A WRITE's payload bytes not yet taken from the stream (the reader's). */
    long payloadLeft;
    private final AtomicInteger state = new AtomicInteger();

    ServerRequest(RequestHeader h, Shared shared) {
        this.shared = shared;
        this.cookie = h.cookie();
        this.type = h.type();
        this.flags = h.flags();
        this.offset = h.offset();
        this.length = (int) h.length();
        this.payloadLeft = type == Nbd.CMD_WRITE ? h.length() : 0;
    }

    /** Where the request's bytes end (its length is unsigned: a TRIM may ask for 4 GiB - 1). */
    long end() {
        return offset + Integer.toUnsignedLong(length);
    }

    /** Gives the lease back when the request failed before it was handed on (else its end does). */
    void abandon() {
        if (!handedOff && lease != null) lease.close();
    }

    /** Marks the request refused; returns the reason. */
    String refuse(int wireError, String reason) {
        error = wireError;
        message = reason;
        Logger.debug("nbd: {}: {} refused: {}", shared.peer(), Nbd.commandName(type), reason);
        return reason;
    }

    /** Handed to the device or the query pool, whose completion ({@link #accept}) answers it. */
    void toDevice() {
        handedOff = true;
        state.getAndUpdate(s -> s | AT_DEVICE);
        shared.atDevice().add(this);
    }

    /** Queues the reply as the request stands (refused, or nothing to do). */
    void answer() {
        handedOff = true;
        state.getAndUpdate(s -> s | ANSWERED);
        shared.out().send(this);
    }

    /** Answers ESHUTDOWN now unless the reply is already decided; false if it was. */
    boolean answerNow(String reason) {
        int was = state.getAndUpdate(s -> s | ANSWERED);
        if ((was & ANSWERED) != 0) return false;
        error = Nbd.ESHUTDOWN;
        message = reason;
        shared.out().send(this);
        return true;
    }

    /** The device's completion: replies with it, unless the request was answered already. */
    @Override
    public void accept(IoStatus status) {
        if (hold != null) {
            shared.session().unaligned().release(hold);
            hold = null;
        }
        shared.atDevice().remove(this);
        Errno errno = status.isOk() ? null : status.isError() ? status.errno() : Errno.EIO;
        if (errno == Errno.ENODEV) shared.deviceGone().run();
        int was = state.getAndUpdate(s -> (s & ~AT_DEVICE) | ANSWERED);
        if ((was & ANSWERED) == 0) {
            if (errno != null) {
                error = Nbd.wireError(errno);
                message = Nbd.commandName(type) + " at offset " + Long.toUnsignedString(offset) + " length " + length
                        + " failed: " + (status.message() == null ? errno.name() : errno.name() + ": " + status.message());
            }
            shared.out().send(this);
        } else if ((was & REPLY_DONE) != 0) {
            finish();
        }
    }

    private boolean structuredRead() {
        return shared.session().structured() && type == Nbd.CMD_READ;
    }

    @Override
    public int headerBytes() {
        if (error != 0) {
            return shared.session().structured() ? 26 + Math.min(message.length() * 3, Nbd.MAX_STRING_BYTES) : 16;
        }
        if (kind == BLOCK_STATUS) return BlockStatusReply.headerBytes(descriptors);
        if (structuredRead()) return length == 0 ? 20 : 28;
        return 16;
    }

    @Override
    public void encodeHeader(ByteBuffer b) {
        if (error != 0) {
            if (shared.session().structured()) {
                byte[] text = WireStrings.encode(message, Nbd.MAX_STRING_BYTES);
                b.putInt(Nbd.STRUCTURED_REPLY_MAGIC).putShort((short) Nbd.REPLY_FLAG_DONE)
                        .putShort((short) Nbd.REPLY_TYPE_ERROR).putLong(cookie).putInt(6 + text.length)
                        .putInt(error).putShort((short) text.length).put(text);
            } else {
                b.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(error).putLong(cookie);
            }
        } else if (kind == BLOCK_STATUS) {
            BlockStatusReply.encode(b, cookie, descriptors);
        } else if (structuredRead()) {
            if (length == 0) {
                b.putInt(Nbd.STRUCTURED_REPLY_MAGIC).putShort((short) Nbd.REPLY_FLAG_DONE)
                        .putShort((short) Nbd.REPLY_TYPE_NONE).putLong(cookie).putInt(0);
            } else {
                b.putInt(Nbd.STRUCTURED_REPLY_MAGIC).putShort((short) Nbd.REPLY_FLAG_DONE)
                        .putShort((short) Nbd.REPLY_TYPE_OFFSET_DATA).putLong(cookie).putInt(8 + length)
                        .putLong(offset);
            }
        } else {
            b.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(0).putLong(cookie);
        }
    }

    @Override
    public ByteBuffer payload() {
        if (error != 0 || kind != SIMPLE || type != Nbd.CMD_READ || data == null) return null;
        return data;
    }

    @Override
    public void sent() {
        int was = state.getAndUpdate(s -> s | REPLY_DONE);
        if ((was & AT_DEVICE) == 0) finish();
    }

    /** The request is over: its lease goes back. */
    private void finish() {
        data = null;
        if (lease != null) lease.close();
    }
}
