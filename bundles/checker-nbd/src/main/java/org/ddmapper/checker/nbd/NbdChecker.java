package org.ddmapper.checker.nbd;

import java.util.concurrent.CompletableFuture;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.spi.BlockDeviceProvider;
import org.ddmapper.spi.CheckResult;
import org.ddmapper.spi.PathChecker;
import org.ddmapper.spi.PathProbe;
import org.ddmapper.spi.PathState;
import org.osgi.service.component.annotations.Component;

/**
 * {@code nbd}: an NBD-level keepalive. Reads one block at offset 0 on the path's own NBD
 * connection and tells apart what went wrong: no reply within {@code checker_timeout} is
 * TIMEOUT (a hung server), a transport error (reset, refused, closed) is DOWN, while an error
 * reply the server sent means the connection works and the storage answered: UP, with the
 * answer in the message. Over TLS ({@code nbds://}, {@code nbds+unix://}) the read goes through the
 * path's TLS session like any other. Paths of other schemes are WILD (does not apply).
 */
@Component(service = PathChecker.class)
public class NbdChecker implements PathChecker {

    @Override public String name() { return "nbd"; }

    @Override
    public CompletableFuture<CheckResult> check(BlockDevice path, long timeoutMillis) {
        String scheme = BlockDeviceProvider.schemeOf(path.reference());
        if (!scheme.equals("nbd") && !scheme.equals("nbd+unix") && !scheme.equals("nbds") && !scheme.equals("nbds+unix"))
            return CompletableFuture.completedFuture(new CheckResult(PathState.WILD, "the nbd checker applies to nbd://,"
                    + " nbds://, nbd+unix:// and nbds+unix:// paths, not '" + path.reference() + "'"));
        return PathProbe.readStart(path, path.logicalBlockBytes(), timeoutMillis).thenApply(o -> {
            if (o.timedOut()) return new CheckResult(PathState.TIMEOUT, "the server sent no reply within " + timeoutMillis + " ms");
            if (o.ok()) return new CheckResult(PathState.UP, "the server answered a read in " + o.elapsedMicros() + " us");
            if (o.status().errno().isPathError())
                return new CheckResult(PathState.DOWN, "connection: " + o.status());
            return new CheckResult(PathState.UP, "the server answers; its storage said " + o.status());
        });
    }
}
