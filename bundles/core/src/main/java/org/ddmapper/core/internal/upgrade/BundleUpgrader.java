package org.ddmapper.core.internal.upgrade;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.ddmapper.api.BundleUpgrades;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.StoredBundle;
import org.ddmapper.api.UpgradeReport;
import org.ddmapper.core.internal.UpgradeSupport;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.framework.wiring.FrameworkWiring;
import org.tinylog.Logger;

/**
 * The safe upgrade of a target or checker bundle. Steps, each refusing with one sentence:
 *
 * <ol>
 *   <li>find the installed bundle (it must be active and offer target types or checkers);</li>
 *   <li>read the new jar (a bundle of the same symbolic name), stage a copy under
 *       {@code HOME/staging/}, and have the framework resolve it ({@link ResolveCheck}: installed under a
 *       temporary location, resolved, uninstalled);</li>
 *   <li>keep a copy of the running jar (the image's jar at the bundle's location, or the store's jar of the
 *       running version) for a rollback;</li>
 *   <li>quiesce the devices whose live tables use the bundle's types (upper devices first); if their
 *       in-flight I/O does not drain in time, release them and refuse, nothing changed, no I/O errored;</li>
 *   <li>{@code Bundle.update} from the staged copy and refresh (the core parks the devices built on
 *       the bundle's types, their I/O waiting); wait until the new version is active, registers every
 *       type and checker name the old one did, and every affected device is rebuilt;</li>
 *   <li>on success, store the jar in the home's {@link BundleStore} as the bundle's current version (a
 *       restart starts it; the image is never written); a revert drops the reverted version from the store
 *       instead. On any failure (a refused live or inactive table among them), update back to the kept jar,
 *       wait for the devices to come back on it, raise BUNDLE_ROLLED_BACK on them and throw.</li>
 * </ol>
 *
 * Devices rebuilt on a target bundle raise their own BUNDLE_SWAPPED (with stall_ms) as they come
 * back; for a checker bundle, which stalls no I/O, this class raises it on the multipath devices.
 */
public final class BundleUpgrader implements BundleUpgrades {
    /** Framework property: how long the new version may take to come up (and the old one to come back). */
    public static final String TIMEOUT = "ddmapper.core.upgradeTimeoutMillis";
    public static final long DEFAULT_TIMEOUT_MILLIS = 5_000;
    private static final long POLL_MILLIS = 2;

    private final BundleContext context;
    private final UpgradeSupport devices;
    private final UpgradeQuiesce quiesce;
    private final BundleStore store;
    private final long timeoutMillis;
    private final ReentrantLock oneAtATime = new ReentrantLock();
    private volatile String running;

    public BundleUpgrader(BundleContext context, UpgradeSupport devices, BundleStore store, long timeoutMillis) {
        this.context = context;
        this.devices = devices;
        this.quiesce = new UpgradeQuiesce(devices);
        this.store = store;
        this.timeoutMillis = timeoutMillis;
    }

    @Override
    public UpgradeReport upgrade(String symbolicName, Path jar) {
        if (jar == null) throw new DmException(Errno.EINVAL, "no jar given");
        return oneAtATime(symbolicName, staged -> run(symbolicName, jar.toAbsolutePath(), staged, null));
    }

    /** Swaps back to the version below the store's current one of the bundle (or the image's) and drops the current one. */
    @Override
    public UpgradeReport revert(String symbolicName) {
        return oneAtATime(symbolicName, staged -> {
            Bundle bundle = installed(symbolicName);
            String running = bundle.getVersion().toString();
            String image = UpgradeCandidate.read(BundleFiles.locationFile(bundle)).version().toString();
            List<StoredBundle.Version> usable = store.versions(symbolicName, image).stream()
                    .filter(v -> v.status() == StoredBundle.Status.CURRENT || v.status() == StoredBundle.Status.PREVIOUS).toList();
            if (usable.isEmpty() || !usable.get(0).version().equals(running))
                throw new DmException(Errno.ENOENT, "nothing to revert: the bundle store holds no upgrade of " + symbolicName
                        + " that runs now (running " + running + (usable.isEmpty() ? ", the image's version" : ", stored " + usable.get(0).version()) + ")");
            Path back = usable.size() > 1 ? store.jarFile(symbolicName, usable.get(1).version()) : BundleFiles.locationFile(bundle);
            return run(symbolicName, back, staged, running);
        });
    }

    @Override
    public List<StoredBundle> stored() {
        return StoreReport.stored(context, store);
    }

    @Override
    public void setAsideAtBoot(String symbolicName, String version, String reason) {
        StoreReport.setAsideAtBoot(context, devices, store, symbolicName, version, reason);
    }

    /** Runs one upgrade (or revert) of {@code symbolicName} at a time; staged files are deleted afterwards. */
    private UpgradeReport oneAtATime(String symbolicName, java.util.function.Function<List<Path>, UpgradeReport> work) {
        if (symbolicName == null || symbolicName.isBlank()) throw new DmException(Errno.EINVAL, "no bundle name given");
        if (!oneAtATime.tryLock()) {
            String other = running;
            throw new DmException(Errno.EBUSY, "an upgrade of " + (other == null ? "another bundle" : other)
                    + " is running; try again when it has finished");
        }
        running = symbolicName;
        List<Path> staged = new ArrayList<>();
        try {
            return work.apply(staged);
        } finally {
            for (Path p : staged) BundleFiles.deleteQuietly(p);
            running = null;
            oneAtATime.unlock();
        }
    }

    /** The upgrade to {@code jar}; {@code reverting} is the version a revert drops from the store, else null. */
    private UpgradeReport run(String symbolicName, Path jar, List<Path> staged, String reverting) {
        long t0 = System.nanoTime();
        Bundle bundle = installed(symbolicName);
        BundleOffer before = BundleOffer.of(bundle, context);
        Path location = BundleFiles.locationFile(bundle);
        UpgradeCandidate given = UpgradeCandidate.read(jar);
        if (!given.symbolicName().equals(symbolicName))
            throw new DmException(Errno.EINVAL, jar + " is bundle " + given.symbolicName() + ", not " + symbolicName);
        String from = bundle.getVersion().toString();
        String to = given.version().toString();
        String what = (reverting != null ? "revert of " : "upgrade of ") + symbolicName + " " + from + " to " + to;

        Path stagingDir = devices.home().resolve("staging");
        Path next = BundleFiles.copy(jar, stagingDir.resolve(symbolicName + "-" + to + ".jar"), what);
        staged.add(next);
        UpgradeCandidate candidate = UpgradeCandidate.read(next);
        String unresolved;
        try {
            if (ResolveCheck.singleton(next)) {
                // a singleton cannot resolve beside the running version: only its imports can be checked beforehand
                String missing = ImportCheck.firstMissing(candidate, context, bundle);
                unresolved = missing == null ? null : "it imports " + missing + ", which no bundle exports";
            } else {
                unresolved = ResolveCheck.whyNot(candidate, context);
            }
        } catch (IllegalArgumentException e) {
            throw new DmException(Errno.EINVAL, what + " refused: " + jar + " has an invalid Import-Package or Export-Package header (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw new DmException(Errno.EINVAL, what + " refused: " + jar + " cannot be checked: " + e.getMessage() + "; nothing was changed");
        }
        if (unresolved != null)
            throw new DmException(Errno.EINVAL, what + " refused: the new bundle would not resolve, as " + unresolved + "; nothing was changed");
        UpgradeCandidate image = UpgradeCandidate.read(location);
        Path runningJar = image.version().equals(bundle.getVersion()) ? location : store.jarFile(symbolicName, from);
        UpgradeCandidate current = Files.isRegularFile(runningJar) ? UpgradeCandidate.read(runningJar) : null;
        if (current == null || !current.symbolicName().equals(symbolicName) || !current.version().equals(bundle.getVersion()))
            throw new DmException(Errno.EPERM, what + " refused: neither " + location + " (the image's jar, " + image.version()
                    + ") nor the bundle store holds the running version, so there is nothing to roll back to");
        Path previous = BundleFiles.copy(runningJar, stagingDir.resolve(symbolicName + "-" + from + ".previous.jar"), what);
        staged.add(previous);

        boolean checker = before.targetTypes().isEmpty();
        List<Long> affected = devices.devicesUsing(checker ? Set.of("multipath") : before.targetTypes());
        Logger.info("{}: {} device(s) affected, offering {}", what, affected.size(), before.describe());
        Map<Long, Long> parksBefore = new java.util.HashMap<>();
        for (long id : affected) parksBefore.put(id, devices.rebuildState(id).swapParks());
        if (!checker) {
            // drain every affected device first: if I/O in flight does not complete, nothing is touched and no I/O is errored
            try {
                quiesce.quiesce(affected, before.targetTypes(), Math.min(timeoutMillis, devices.drainTimeoutMillis()));
            } catch (DmException e) {
                throw new DmException(Errno.ETIMEDOUT, what + " refused: " + e.getMessage() + "; nothing was changed");
            }
        }
        try {
            try {
                swap(bundle, next);
                awaitUp(bundle, before, affected, checker, true);
                try {
                    if (reverting != null) store.reverted(symbolicName, reverting);
                    else store.store(symbolicName, to, next, from, image.version().toString());
                } catch (IOException e) {
                    throw new Failure("the bundle store " + store.dir() + " could not record it (" + e.getMessage() + ")");
                }
            } catch (Failure f) {
                throw rollback(bundle, previous, before, affected, checker, what, from, to, f.getMessage());
            }
        } finally {
            quiesce.release(affected);
        }
        long maxStall = 0;
        List<String> names = new ArrayList<>();
        for (long id : affected) {
            UpgradeSupport.RebuildState s = devices.rebuildState(id);
            if (s.gone()) continue;
            names.add(s.name());
            // only a device this upgrade parked stalled: one affected through its inactive table kept serving
            if (!checker && s.swapParks() != parksBefore.getOrDefault(id, 0L)) maxStall = Math.max(maxStall, s.lastStallMillis());
            else devices.raise(id, new EventPayload.BundleSwapped(symbolicName, from, to, 0, "", String.join(",", before.checkers()), 0));
        }
        long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        Logger.info("{}: done in {} ms, max stall {} ms", what, took, maxStall);
        return new UpgradeReport(symbolicName, from, to, names, maxStall, took);
    }

    /** The installed bundle of that name, if it may be upgraded live. */
    private Bundle installed(String symbolicName) {
        Bundle found = null;
        for (Bundle b : context.getBundles()) if (symbolicName.equals(b.getSymbolicName())) found = b;
        if (found == null) throw new DmException(Errno.ENOENT, "no bundle " + symbolicName + " is installed");
        boolean named = symbolicName.startsWith("org.ddmapper.target.") || symbolicName.startsWith("org.ddmapper.checker.");
        if (found.getBundleId() == 0 || found.getBundleId() == context.getBundle().getBundleId()
                || (!named && BundleOffer.of(found, context).isEmpty()))
            throw new DmException(Errno.EPERM, symbolicName + " is not a target or checker bundle; only those can be upgraded live"
                    + " (the core, the api, the control and console bundles and the framework are replaced with a restart)");
        if (found.getState() != Bundle.ACTIVE)
            throw new DmException(Errno.EINVAL, symbolicName + " is not active (" + state(found) + "); start it before upgrading it");
        if (BundleOffer.of(found, context).isEmpty())
            throw new DmException(Errno.EINVAL, symbolicName + " registers no target type or checker now; nothing to upgrade live");
        return found;
    }

    /** Bundle.update from the jar, then a package refresh (null: only what is pending, see OSGI-NOTES). */
    private void swap(Bundle bundle, Path jar) throws Failure {
        Object revision = bundle.adapt(BundleRevision.class);
        try (InputStream in = Files.newInputStream(jar)) {
            bundle.update(in);
        } catch (BundleException e) {
            // Felix restarts the updated bundle inside update(): a start failure surfaces here, with the new revision in place
            boolean startFailed = bundle.adapt(BundleRevision.class) != revision;
            throw new Failure((startFailed ? "it does not start: " : "the update failed: ") + oneLine(e));
        } catch (IOException | IllegalStateException e) {
            throw new Failure("the update failed: " + oneLine(e));
        }
        CountDownLatch refreshed = new CountDownLatch(1);
        context.getBundle(0).adapt(FrameworkWiring.class).refreshBundles(null, e -> {
            if (e.getType() == FrameworkEvent.PACKAGES_REFRESHED || e.getType() == FrameworkEvent.ERROR) refreshed.countDown();
        });
        try {
            if (!refreshed.await(timeoutMillis, TimeUnit.MILLISECONDS))
                throw new Failure("the package refresh did not finish within " + timeoutMillis + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failure("interrupted while the packages were refreshed");
        }
    }

    /** Waits until the bundle is active, offers what it offered before, and every affected device is rebuilt on it. */
    private void awaitUp(Bundle bundle, BundleOffer before, List<Long> affected, boolean checker, boolean refusalFails) throws Failure {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        if ((bundle.getState() & (Bundle.ACTIVE | Bundle.STARTING)) == 0) {
            try {
                bundle.start();
            } catch (BundleException | IllegalStateException e) {
                throw new Failure("it does not start: " + oneLine(e));
            }
        }
        while (true) {
            String pending = pending(bundle, before, affected, checker, refusalFails);
            if (pending == null) return;
            if (System.nanoTime() > deadline) throw new Failure(pending + " within " + timeoutMillis + " ms");
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Failure("interrupted while waiting for it to come up");
            }
        }
    }

    /**
     * What is still missing ("its target type striped did not register"), or null when everything is up; throws when
     * refusalFails and a device's rebuild was refused (a rollback waits instead: the old code's rebuild clears it).
     */
    private String pending(Bundle bundle, BundleOffer before, List<Long> affected, boolean checker, boolean refusalFails) throws Failure {
        if (bundle.getState() != Bundle.ACTIVE) return "it did not become active (" + state(bundle) + ")";
        BundleOffer now = BundleOffer.of(bundle, context);
        if (!now.covers(before)) {
            BundleOffer lacking = new BundleOffer(minus(before.targetTypes(), now.targetTypes()), minus(before.checkers(), now.checkers()), Set.of());
            return "its " + lacking.describe() + " did not register";
        }
        if (!checker && !devices.servedBy(before.targetTypes(), now.targetServiceIds()))
            return "its " + before.describe() + " did not reach the core";
        for (long id : affected) {
            UpgradeSupport.RebuildState s = devices.rebuildState(id);
            if (refusalFails && s.parkReason() != null)
                throw new Failure("target '" + s.parkedType() + "' rejected the live table of device '" + s.name() + "': "
                        + s.parkReason().replaceFirst("^cannot rebuild its table: ", ""));
            if (refusalFails && s.inactiveReason() != null)
                throw new Failure("target '" + s.inactiveType() + "' rejected the inactive table of device '" + s.name() + "': "
                        + s.inactiveReason().replaceFirst("^cannot rebuild its inactive table: ", ""));
            if (!s.done()) return "device '" + s.name() + "' was not rebuilt";
        }
        return null;
    }

    /** Updates back to the kept jar, waits for the devices on it, raises BUNDLE_ROLLED_BACK; returns the exception to throw. */
    private DmException rollback(Bundle bundle, Path previous, BundleOffer before, List<Long> affected, boolean checker, String what,
                                 String from, String to, String reason) {
        long t0 = System.nanoTime();
        Logger.error("{} failed: {}; rolling back", what, reason);
        String rollbackFailure = null;
        devices.quietSwaps(bundle.getSymbolicName(), true);
        try {
            swap(bundle, previous);
            awaitUp(bundle, before, affected, checker, false);
        } catch (Failure f) {
            rollbackFailure = f.getMessage();
        } finally {
            devices.quietSwaps(bundle.getSymbolicName(), false);
        }
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        for (long id : affected) {
            UpgradeSupport.RebuildState s = devices.rebuildState(id);
            devices.raise(id, new EventPayload.BundleRolledBack(bundle.getSymbolicName(), from, to, reason, s.done() ? s.lastStallMillis() : -1));
        }
        if (rollbackFailure != null) {
            Logger.error("{}: the rollback failed too: {}", what, rollbackFailure);
            return new DmException(Errno.EIO, what + " failed: " + reason + "; the rollback to " + from + " failed too: " + rollbackFailure);
        }
        Logger.info("{}: rolled back to {} in {} ms", what, from, tookMillis);
        return new DmException(Errno.ECANCELED, what + " rolled back: " + reason);
    }

    private static Set<String> minus(Set<String> a, Set<String> b) {
        Set<String> out = new java.util.TreeSet<>(a);
        out.removeAll(b);
        return out;
    }

    private static String state(Bundle b) {
        return switch (b.getState()) {
            case Bundle.INSTALLED -> "installed, not resolved";
            case Bundle.RESOLVED -> "resolved, not started";
            case Bundle.STARTING -> "starting";
            case Bundle.STOPPING -> "stopping";
            case Bundle.ACTIVE -> "active";
            default -> "uninstalled";
        };
    }

    private static String oneLine(Throwable e) {
        StringBuilder sb = new StringBuilder(String.valueOf(e.getMessage()));
        for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            if (c.getMessage() != null && !sb.toString().contains(c.getMessage())) sb.append(" (").append(c).append(')');
        }
        return sb.toString().replaceAll("\\s+", " ").strip();
    }

    /** A step of the swap failed; the message says why (it becomes the rollback's reason). */
    private static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;

        Failure(String message) { super(message, null, false, false); }
    }
}
