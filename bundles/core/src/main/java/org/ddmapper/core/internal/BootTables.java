package org.ddmapper.core.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.tinylog.Logger;

/**
 * Boot tables: every {@code ETC/tables/NAME.table} describes a device created and resumed at
 * boot unless the saved state already has a device of that name. {@code ${home}} in the text
 * becomes the home directory.
 */
final class BootTables {

    /** One boot table file, read and substituted. */
    record BootTable(Path file, String name, String text) { }

    private BootTables() { }

    /**
     * A boot table not used because the saved state has its device: one warning when the file's table
     * differs from the device's saved live table (an edited file does not apply until the device goes).
     */
    static void noteShadowed(BootTable boot, MappedDevice saved) {
        TableSpec live = saved == null ? null : saved.liveSpec();
        if (live == null) return;
        String fromFile;
        try {
            fromFile = TableSpec.parse(boot.text()).text();
        } catch (RuntimeException e) {
            fromFile = null;
        }
        if (!live.text().equals(fromFile)) {
            Logger.warn("boot table {}: differs from the saved live table of device '{}', which is kept"
                    + " (ddsetup load/resume the new table, or remove the device and restart)", boot.file(), boot.name());
        }
    }

    static List<BootTable> read(Path etc, Path home) {
        List<BootTable> out = new ArrayList<>();
        if (etc == null) return out;
        Path dir = etc.resolve("tables");
        if (!Files.isDirectory(dir)) return out;
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.table")) {
            for (Path p : ds) files.add(p);
        } catch (IOException e) {
            Logger.error("cannot list boot tables in {}: {}", dir, e.getMessage());
            return out;
        }
        files.sort(null);
        for (Path file : files) {
            String fileName = file.getFileName().toString();
            String name = fileName.substring(0, fileName.length() - ".table".length());
            try {
                String text = Files.readString(file, StandardCharsets.UTF_8);
                if (home != null) text = text.replace("${home}", home.toString());
                out.add(new BootTable(file, name, text));
            } catch (IOException | RuntimeException e) {
                Logger.error("boot table {}: cannot read it: {}", file, e.getMessage());
            }
        }
        return out;
    }
}
