package org.ddmapper.core.internal.upgrade;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.StoredBundle;
import org.ddmapper.core.internal.UpgradeSupport;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.tinylog.Logger;

/**
 * The bundle store seen from the running appliance: what it holds next to what the image carries and
 * what runs ({@code ddsetup upgrade --list}), and the launcher's report of a stored version that failed
 * to start at boot (set aside in the store, BUNDLE_SET_ASIDE on the devices built on the bundle).
 */
final class StoreReport {
    private StoreReport() {}

    static List<StoredBundle> stored(BundleContext context, BundleStore store) {
        List<StoredBundle> out = new ArrayList<>();
        for (String name : store.bundles()) {
            Bundle bundle = installed(context, name);
            String image = bundle == null ? "" : imageVersion(bundle);
            String running = bundle == null ? "" : bundle.getVersion().toString();
            out.add(new StoredBundle(name, image, running, store.versions(name, image)));
        }
        return out;
    }

    static void setAsideAtBoot(BundleContext context, UpgradeSupport devices, BundleStore store, String name, String version, String reason) {
        if (name == null || name.isBlank() || version == null || version.isBlank())
            throw new DmException(Errno.EINVAL, "a set-aside names a bundle and a version");
        String why = reason == null || reason.isBlank() ? "it did not start" : reason.strip();
        try {
            store.setAside(name, version, why);
        } catch (IOException e) {
            throw new DmException(Errno.EIO, "the bundle store " + store.dir() + " could not record that " + name + " " + version
                    + " was set aside (" + e.getMessage() + "); the next boot tries it again");
        }
        Bundle bundle = installed(context, name);
        String running = bundle == null ? "" : bundle.getVersion().toString();
        Logger.error("{} {} from the bundle store did not start at boot and was set aside ({}); {} runs instead", name, version, why,
                running.isEmpty() ? "no version" : running);
        if (bundle == null) return;
        BundleOffer offer = BundleOffer.of(bundle, context);
        Set<String> types = offer.targetTypes().isEmpty() && !offer.checkers().isEmpty() ? Set.of("multipath") : offer.targetTypes();
        for (long id : devices.devicesUsing(types)) {
            devices.raise(id, new EventPayload.BundleSetAside(name, version, running, why));
        }
    }

    /** The image's version of the bundle: the jar at its location (a stored version is installed under the image's location). */
    private static String imageVersion(Bundle bundle) {
        try {
            return UpgradeCandidate.read(BundleFiles.locationFile(bundle)).version().toString();
        } catch (DmException e) {
            return "";
        }
    }

    private static Bundle installed(BundleContext context, String name) {
        Bundle found = null;
        for (Bundle b : context.getBundles()) if (name.equals(b.getSymbolicName())) found = b;
        return found;
    }
}
