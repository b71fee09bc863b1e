package org.ddmapper.core.internal;

/**
 * A bundle as the target-type registry names it, {@code "SYMBOLIC-NAME VERSION"}: split for event
 * details (bundle, from, to).
 */
record BundleName(String symbolicName, String version) {

    /** Parses "name version"; a text without a space is all name, null is unknown. */
    static BundleName parse(String text) {
        if (text == null || text.isBlank()) return new BundleName("?", "?");
        int space = text.lastIndexOf(' ');
        return space < 0 ? new BundleName(text, "?") : new BundleName(text.substring(0, space), text.substring(space + 1));
    }

    String text() { return symbolicName + " " + version; }
}
