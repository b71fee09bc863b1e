package org.ddmapper.spi;

import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;

/** A table line a target type refuses; the message is short and specific ("linear: invalid offset '12x'"). */
public class TableException extends DmException {
    private static final long serialVersionUID = 1L;

    public TableException(String message) {
        super(Errno.EINVAL, message);
    }

    public TableException(Errno errno, String message) {
        super(errno, message);
    }
}
