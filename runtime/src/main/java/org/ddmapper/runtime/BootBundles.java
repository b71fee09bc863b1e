package org.ddmapper.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.util.tracker.ServiceTracker;

/**
 * The bundles a boot installs and starts: every jar of the image's {@code bundle/}, in name order, each
 * replaced by the newest version the home's bundle store holds of it over this image's version
 * ({@link StoredVersions}). A stored version that cannot be installed or started is set aside: the next
 * one down the store starts instead, the image's own jar last, so that a bad upgrade never stops a
 * boot. Image jars are installed by reference (read in place, not copied into the framework's cache); a
 * stored version is installed under the image jar's location (the core finds the image's jar there, and
 * the running one in the store). Once the boot devices serve, {@link #report} hands what
 * was set aside to the core (recorded in the store, a BUNDLE_SET_ASIDE event on the devices built on
 * the bundle) and names it on stderr; the ready line names it too ({@link #readyField}).
 */
final class BootBundles {

    static final String UPGRADES = "org.ddmapper.api.BundleUpgrades";
    private static final long CORE_WAIT_MILLIS = 5_000;

    /** A stored version that did not start, and why. */
    record SetAside(Bundle bundle, String version, String reason) {
    }

    private final BundleContext context;
    private final StoredVersions stored;
    private final PrintStream err;
    /** What each bundle falls back to, in order, when its installed version does not start: the image's jar last. */
    private final Map<Bundle, Deque<StoredVersions.Candidate>> fallbacks = new HashMap<>();
    private final List<SetAside> setAside = new ArrayList<>();

    BootBundles(BundleContext context, StoredVersions stored, PrintStream err) {
        this.context = context;
        this.stored = stored;
        this.err = err;
    }

    /** Installs every jar of {@code dir} in name order, each as the store's newest version of it where there is one. */
    List<Bundle> install(Path dir) throws LaunchFailure {
        List<Path> jars;
        try (Stream<Path> files = Files.list(dir)) {
            jars = files.filter(f -> f.getFileName().toString().endsWith(".jar")).sorted().toList();
        } catch (IOException e) {
            throw LaunchFailure.failed(dir + ": cannot list: " + Describe.io(e));
        }
        List<Bundle> bundles = new ArrayList<>();
        for (Path jar : jars) {
            Bundle bundle;
            try {
                // reference: the framework reads the jar where it is instead of copying it into its cache
                bundle = context.installBundle("reference:" + jar.toUri());
            } catch (BundleException e) {
                throw LaunchFailure.failed(jar + ": cannot install: " + Describe.chain(e));
            }
            String name = bundle.getSymbolicName();
            List<StoredVersions.Candidate> candidates = name == null ? List.of() : stored.candidates(name, bundle.getVersion().toString());
            if (!candidates.isEmpty()) {
                Deque<StoredVersions.Candidate> rest = new ArrayDeque<>(candidates);
                rest.addLast(new StoredVersions.Candidate(name, bundle.getVersion().toString(), "", jar));
                fallbacks.put(bundle, rest);
                nextVersion(bundle, null);
            }
            bundles.add(bundle);
        }
        return bundles;
    }

    /** Starts the bundle; a stored version that does not start is set aside and the next one tried, the image's last. */
    void start(Bundle bundle) throws LaunchFailure {
        while (true) {
            try {
                bundle.start();
                return;
            } catch (BundleException | IllegalStateException e) {
                Deque<StoredVersions.Candidate> rest = fallbacks.get(bundle);
                if (rest == null || rest.isEmpty()) {
                    throw LaunchFailure.failed("bundle " + bundle.getSymbolicName() + " (" + fileName(bundle) + ") does not start: "
                            + Describe.chain(e));
                }
                nextVersion(bundle, "it does not start: " + Describe.chain(e));
            }
        }
    }

    /**
     * Puts the next version of the bundle's fallbacks in place ({@code Bundle.update}); the version in place
     * now is set aside first when {@code failure} says why. A stored jar that cannot be installed is set aside too.
     */
    private void nextVersion(Bundle bundle, String failure) throws LaunchFailure {
        Deque<StoredVersions.Candidate> rest = fallbacks.get(bundle);
        if (failure != null) {
            setAside.add(new SetAside(bundle, bundle.getVersion().toString(), failure));
        }
        while (!rest.isEmpty()) {
            StoredVersions.Candidate next = rest.removeFirst();
            try (InputStream in = Files.newInputStream(next.jar())) {
                bundle.update(in);
                if (bundle.getVersion().toString().equals(next.version())) {
                    return;
                }
                setAside.add(new SetAside(bundle, next.version(), next.jar() + " holds version " + bundle.getVersion()));
            } catch (IOException e) {
                setAside.add(new SetAside(bundle, next.version(), "cannot read " + next.jar() + ": " + Describe.io(e)));
            } catch (BundleException | IllegalStateException e) {
                setAside.add(new SetAside(bundle, next.version(), "cannot install " + next.jar() + ": " + Describe.chain(e)));
            }
        }
        throw LaunchFailure.failed("bundle " + bundle.getSymbolicName() + ": no version of it can be installed");
    }

    /** " set-aside=B@V,…" for the ready line, or "" when nothing was set aside. */
    String readyField() {
        if (setAside.isEmpty()) {
            return "";
        }
        return " set-aside=" + String.join(",", setAside.stream().map(s -> s.bundle().getSymbolicName() + "@" + s.version()).toList());
    }

    /**
     * Names each set-aside version on stderr and reports it to the core, which records it in the store (no
     * boot tries it again) and raises BUNDLE_SET_ASIDE; without the core, the next boot tries it again.
     */
    void report() throws InterruptedException {
        if (setAside.isEmpty()) {
            return;
        }
        ServiceTracker<Object, Object> tracker = new ServiceTracker<>(context, UPGRADES, null);
        tracker.open(true);
        try {
            Object upgrades = tracker.waitForService(CORE_WAIT_MILLIS);
            for (SetAside s : setAside) {
                String name = s.bundle().getSymbolicName();
                err.println("ddmapper: set aside " + name + " " + s.version() + " from the bundle store: " + s.reason() + "; "
                        + s.bundle().getVersion() + " runs instead");
                try {
                    if (upgrades == null) {
                        throw new IllegalStateException("the core offers no " + UPGRADES);
                    }
                    Services.call(upgrades, UPGRADES, "setAsideAtBoot", new Class<?>[] {String.class, String.class, String.class},
                            name, s.version(), s.reason());
                } catch (Exception e) {
                    err.println("ddmapper: warning: the set-aside of " + name + " " + s.version() + " is not recorded ("
                            + Describe.chain(e) + "); the next boot tries it again");
                }
            }
        } finally {
            tracker.close();
        }
    }

    static String fileName(Bundle bundle) {
        String location = bundle.getLocation();
        return location.substring(location.lastIndexOf('/') + 1);
    }
}
