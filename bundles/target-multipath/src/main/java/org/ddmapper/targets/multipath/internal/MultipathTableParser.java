package org.ddmapper.targets.multipath.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Errno;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.TableException;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.targets.multipath.internal.selector.PathArgs;
import org.ddmapper.targets.multipath.internal.selector.PathSelector;
import org.ddmapper.targets.multipath.internal.selector.PathSelectors;
import org.tinylog.Logger;

/**
 * Reads the kernel's multipath constructor:
 * <pre>
 * &lt;#features&gt; [feature]* &lt;#hw_handler args&gt; [hw_handler [arg]*]
 * &lt;#groups&gt; &lt;initial group&gt;
 *   [&lt;selector&gt; &lt;#selector args&gt; &lt;#paths&gt; &lt;#per-path args&gt; [&lt;path&gt; [arg]*]+ ]+
 * </pre>
 * A path whose transport is down when the table loads (connection refused, reset, timed
 * out) is accepted as failed, so a map comes back after a restart with a path server still
 * down; the path monitor opens it once it answers. A path that does not exist is refused.
 * A table rebuilt for a handover (its bundle was upgraded) accepts every path it cannot open as
 * failed, all of them if need be: the map was live, and refusing it would strand queued I/O.
 */
final class MultipathTableParser {
    static final int MAX_GROUPS = 1024;
    static final int MAX_PATHS = 1024;
    private static final List<String> HW_HANDLERS = List.of("alua", "emc", "rdac", "hp_sw");
    private static final Set<Errno> TRANSPORT_DOWN = Set.of(Errno.ECONNREFUSED, Errno.ECONNRESET, Errno.ETIMEDOUT,
            Errno.ENOTCONN, Errno.EPIPE, Errno.ESHUTDOWN, Errno.EIO);

    private MultipathTableParser() {}

    static MultipathTarget parse(TargetContext context, TableArgs args, MapRegistry registry) {
        Features features = Features.parse(args);
        List<String> hw = parseHwHandler(args);
        if (features.bioBased()) hw = List.of(); // 6.1: "bio-based multipath doesn't allow hardware handler args"
        int groupCount = args.nextCount("number of priority groups", MAX_GROUPS, 5);
        String initialWord = args.peek();
        int initial = args.nextInt("initial priority group", 0, MAX_GROUPS);
        if ((groupCount == 0) != (initial == 0))
            throw args.error("invalid initial priority group '" + initialWord + "' (expected "
                    + (groupCount == 0 ? "0 with no groups" : "1.." + groupCount) + ")");
        if (initial > groupCount) initial = 0; // 6.1 names no next group then: the first usable one serves
        List<PriorityGroup> groups = new ArrayList<>();
        int pathNumber = 0;
        int opened = 0;
        TableException firstOpenError = null;
        for (int g = 1; g <= groupCount; g++) {
            String name = args.nextKeyword("path selector", PathSelectors.NAMES.toArray(String[]::new));
            PathSelector selector = PathSelectors.create(name);
            TableArgs selectorArgs = args.nextGroup(name + " selector arguments", 1024);
            if (selectorArgs.hasNext())
                throw args.error(name + " takes no selector arguments, got " + selectorArgs.remaining());
            String pathsWord = args.peek();
            int pathCount = args.nextCount("number of paths in group " + g, MAX_PATHS, 1);
            if (pathCount == 0) throw args.error("invalid number of paths '" + pathsWord + "' in group " + g + " (expected 1.." + MAX_PATHS + ")");
            int perPathArgs = args.nextInt("number of selector arguments per path", 0, 1024);
            if ((long) pathCount * (1 + perPathArgs) > args.remaining())
                throw args.error("not enough arguments for " + pathCount + " paths with " + perPathArgs
                        + " selector arguments each in group " + g);
            List<Path> paths = new ArrayList<>();
            for (int p = 0; p < pathCount; p++) {
                String reference = args.peek();
                BlockDevice device;
                try {
                    device = args.nextDevice("path");
                    opened++;
                } catch (TableException e) {
                    if (!TRANSPORT_DOWN.contains(e.errno()) && !context.rebuiltForHandover()) throw e;
                    Logger.warn("multipath {}: path {} is down, accepted as failed: {}", context.deviceName(), reference, e.getMessage());
                    if (firstOpenError == null) firstOpenError = e;
                    device = null;
                }
                PathArgs pathArgs = selector.parsePathArgs(args, perPathArgs);
                Path path = new Path(++pathNumber, reference, device, pathArgs);
                if (device != null && device.sizeSectors() < context.lengthSectors())
                    throw args.error("path '" + reference + "' has " + device.sizeSectors()
                            + " sectors, fewer than the target's " + context.lengthSectors());
                paths.add(path);
            }
            groups.add(new PriorityGroup(g, selector, paths));
        }
        args.expectEnd();
        if (opened == 0 && firstOpenError != null && !context.rebuiltForHandover()) throw firstOpenError;
        return new MultipathTarget(context, features, hw, groups, initial, registry);
    }

    /** {@code <#args> [name [arg]*]}: accepted for the kernel's grammar; there are no SCSI device handlers here. */
    private static List<String> parseHwHandler(TableArgs args) {
        TableArgs hw = args.nextGroup("number of hardware handler arguments", 1024);
        List<String> words = new ArrayList<>();
        if (!hw.hasNext()) return words;
        words.add(hw.nextKeyword("hardware handler", HW_HANDLERS.toArray(String[]::new)));
        while (hw.hasNext()) words.add(hw.next("hardware handler argument"));
        return words;
    }
}
