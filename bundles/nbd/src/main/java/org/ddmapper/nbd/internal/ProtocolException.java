package org.ddmapper.nbd.internal;

import java.io.IOException;

/** The peer broke a MUST of the protocol; the connection is dropped (a hard disconnect). */
public final class ProtocolException extends IOException {
    private static final long serialVersionUID = 1L;

    public ProtocolException(String message) {
        super(message);
    }
}
