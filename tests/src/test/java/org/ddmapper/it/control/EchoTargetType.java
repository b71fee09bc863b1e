package org.ddmapper.it.control;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.ddmapper.api.PassedFd;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetType;

/**
 * A test target registered by the control tests: reads zeros, takes messages. It answers a
 * message with what it received; "event k=v..." raises a TARGET_EVENT with those details;
 * "take-fd" adopts the passed descriptors (the test checks them and closes them).
 */
final class EchoTargetType implements TargetType {
    final java.util.List<Integer> adopted = new java.util.concurrent.CopyOnWriteArrayList<>();

    @Override
    public String name() { return "echo"; }

    @Override
    public String version() { return "1.0.0"; }

    @Override
    public Set<TargetFeature> features() { return Set.of(TargetFeature.MESSAGES); }

    @Override
    public String usage() { return "echo"; }

    @Override
    public Target create(TargetContext context, TableArgs args) {
        args.expectEnd();
        AtomicInteger messages = new AtomicInteger();
        return new Target() {
            @Override
            public void map(Bio bio) {
                if (bio.op() == BioOp.READ) {
                    java.nio.ByteBuffer b = bio.data();
                    while (b.hasRemaining()) b.put((byte) 0);
                }
                bio.complete(IoStatus.OK);
            }

            @Override
            public String status(StatusType type) {
                return type == StatusType.INFO ? "messages " + messages.get() : "";
            }

            @Override
            public String message(Message message) {
                messages.incrementAndGet();
                if (message.verb().equals("event")) {
                    Map<String, String> details = new HashMap<>();
                    for (String w : message.words().subList(1, message.words().size())) {
                        int eq = w.indexOf('=');
                        if (eq > 0) details.put(w.substring(0, eq), w.substring(eq + 1));
                    }
                    context.raiseEvent(EventKind.TARGET_EVENT, details);
                }
                if (message.verb().equals("take-fd")) for (PassedFd fd : message.fds()) adopted.add(fd.take());
                return "echo " + String.join(" ", message.words()) + " binary " + message.payload().length + " fds " + message.fds().size();
            }
        };
    }
}
