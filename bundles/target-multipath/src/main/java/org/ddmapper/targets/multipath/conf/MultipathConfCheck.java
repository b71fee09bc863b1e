package org.ddmapper.targets.multipath.conf;

import java.util.List;
import org.ddmapper.targets.multipath.internal.monitor.MultipathConf;

/**
 * The check of {@code multipath.conf} that the launcher runs before the appliance starts, with
 * the path monitor's own parser: so that a misspelt option stops the boot with its line instead
 * of being logged once the monitor runs (which, like multipathd, applies the rest). Exported (its
 * only types are the JDK's), so the launcher, which runs outside every bundle, can call it
 * through the bundle's class loader without reaching into the bundle's internals.
 */
public final class MultipathConfCheck {
    private MultipathConfCheck() { }

    /**
     * The problems of a multipath.conf text, in file order, each "line N: what" (or without a line
     * when it concerns the whole file); empty when the file is fine. {@code source} names the file.
     */
    public static List<String> problems(String text, String source) {
        return MultipathConf.parse(text, source).problems();
    }
}
