package org.ddmapper.targets.multipath.internal.monitor;

import java.util.List;
import java.util.Map;

/**
 * What etc/multipath.conf says: the polling intervals, the default map policy, per-alias
 * policies, and the problems found reading it (each names its line).
 */
public record MonitorConfig(long pollingIntervalMillis, long maxPollingIntervalMillis, MapPolicy defaults,
                            Map<String, MapPolicy> byAlias, List<String> problems, String source) {

    public static final MonitorConfig DEFAULTS = new MonitorConfig(5_000, 20_000, MapPolicy.DEFAULTS, Map.of(), List.of(), "built-in defaults");

    public MonitorConfig {
        byAlias = Map.copyOf(byAlias);
        problems = List.copyOf(problems);
    }

    public MapPolicy policyFor(String alias) {
        return byAlias.getOrDefault(alias, defaults);
    }
}
