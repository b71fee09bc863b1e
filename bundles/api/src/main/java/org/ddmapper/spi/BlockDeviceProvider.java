package org.ddmapper.spi;

import java.util.Set;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.PassedFd;

/**
 * Opens device references of some schemes ("file" for absolute paths, "dm", "nbd",
 * "nbd+unix"), registered as an OSGi service. Targets never see which provider served them.
 */
public interface BlockDeviceProvider {

    /** The schemes this provider opens. A reference starting with '/' has scheme "file". */
    Set<String> schemes();

    /** Opens a reference; throws DmException (ENODEV for one that does not exist) naming the reference. */
    BlockDevice open(String reference, boolean readOnly);

    /** Opens a reference over a passed socket. Default: this provider cannot. */
    default BlockDevice adoptSocket(String reference, PassedFd socket, boolean negotiated) {
        throw new DmException(Errno.EOPNOTSUPP, "'" + reference + "': this device kind cannot take a passed socket");
    }

    /** The scheme of a reference: "file" for an absolute path, else the part before ':'. */
    static String schemeOf(String reference) {
        if (reference.startsWith("/")) return "file";
        int colon = reference.indexOf(':');
        return colon > 0 ? reference.substring(0, colon) : "";
    }
}
