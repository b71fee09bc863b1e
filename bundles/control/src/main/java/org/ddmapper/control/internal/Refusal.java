package org.ddmapper.control.internal;

import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.ddmapper.api.Errno;
import org.ddmapper.control.ddlink.Ddlink;
import org.ddmapper.control.ddlink.Item;
import org.ddmapper.control.unix.Fds;
import org.ddmapper.control.unix.Received;
import org.ddmapper.control.unix.SeqpacketSocket;
import org.tinylog.Logger;

/**
 * A peer the allow-list refuses: its first request is answered EACCES (any descriptors it
 * carried are closed), then the socket is closed. It runs on the server's small pool of
 * refusers, never in one of the connection slots, so peers that may not use the socket cannot
 * crowd out those that may; when every refuser is busy the peer gets its EACCES at once,
 * unasked (op 0, tag 0), without waiting for a request.
 */
final class Refusal implements Runnable {
    /** How long a refused peer has to send the request that gets its EACCES. */
    static final int WAIT_MILLIS = 2000;

    private final SeqpacketSocket socket;
    private final String peer;
    private final String sentence;

    Refusal(SeqpacketSocket socket, String peer, Object allowListFile) {
        this.socket = socket;
        this.peer = peer;
        this.sentence = peer + " is not allowed to use the control socket (see " + allowListFile + ")";
    }

    @Override
    public void run() {
        try {
            short[] ready = Fds.poll(new int[] {socket.fd()}, new short[] {Fds.POLLIN}, WAIT_MILLIS);
            if ((ready[0] & Fds.POLLIN) == 0) return;
            Received received = socket.receive(Ddlink.MAX_ITEM_BYTES, false);
            if (received == null) return;
            received.closeFds();
            byte[] raw = received.data();
            answer(Item.peekOp(raw), Item.peekTag(raw));
        } catch (EOFException gone) {
            // hung up before asking
        } catch (IOException | RuntimeException e) {
            Logger.debug("control: refusing {}: {}", peer, e.getMessage());
        } finally {
            socket.close();
        }
    }

    /** Answers EACCES without waiting for a request, and closes the socket. */
    void answerNow() {
        try {
            answer(0, 0);
        } catch (IOException | RuntimeException e) {
            Logger.debug("control: refusing {}: {}", peer, e.getMessage());
        } finally {
            socket.close();
        }
    }

    private void answer(int op, int tag) throws IOException {
        socket.send(Item.reply(op, tag, -Errno.EACCES.code(), sentence.getBytes(StandardCharsets.UTF_8)).encode());
        Logger.info("control: refused {}", peer);
    }
}
