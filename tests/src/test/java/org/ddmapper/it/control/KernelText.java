package org.ddmapper.it.control;

import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What ddsetup must print for a text the kernel printed: the kernel's text with the two
 * differences kept on purpose (bundles/control/README.md) undone, and nothing else.
 * <ul>
 * <li>References to backing devices: the kernel prints the guest's disks as device numbers
 *     ({@code 254:16}; {@code (254, 16)} in deps), ddmapper prints the reference as written in
 *     the table (the test's disk files).
 * <li>A mapped device's own number: the kernel's is {@code 253:MINOR} (dm's major, the lowest
 *     free minor), ddmapper's {@code 0:ID} (major 0: its devices are not kernel block devices; the
 *     id is never reused). The caller says which id stands for which minor. In {@code info -c}
 *     the Maj and Min columns keep their width, a DevNo column its padding.
 * </ul>
 */
final class KernelText {
    private static final int[] DISK_MINORS = {0, 16, 32, 48};
    private static final Pattern DM_NUMBER = Pattern.compile("(?<![0-9])253(:|, )([0-9]+)");

    private KernelText() {}

    /**
     * The text ddsetup must print, given the kernel's, the disk files standing for /dev/vda..,
     * and the ddmapper device id of each kernel minor.
     */
    static String expected(String kernel, List<String> disks, Map<Integer, Long> idOfMinor) {
        String text = kernel;
        for (int k = 0; k < disks.size(); k++) {
            String path = Matcher.quoteReplacement(disks.get(k));
            text = text.replaceAll("\\(254, " + DISK_MINORS[k] + "\\)", "(" + path + ")");
            text = text.replaceAll("(?<![0-9:])254:" + DISK_MINORS[k] + "(?![0-9])", path);
        }
        String[] lines = text.split("\n", -1);
        int maj = -1, min = -1, devno = -1;
        for (int i = 0; i < lines.length; i++) {
            String l = lines[i];
            if (l.startsWith("Name ")) {
                maj = column(l, "Maj");
                min = column(l, "Min");
                devno = column(l, "DevNo");
                continue;
            }
            if (maj >= 0 && l.startsWith("253", maj)) l = l.substring(0, maj) + "  0" + l.substring(maj + 3);
            if (min >= 0 && l.length() >= min + 3 && l.substring(min, min + 3).trim().matches("[0-9]+")) {
                String id = Long.toString(id(idOfMinor, Integer.parseInt(l.substring(min, min + 3).trim())));
                l = l.substring(0, min) + " ".repeat(Math.max(0, 3 - id.length())) + id + l.substring(min + 3);
            }
            if (devno >= 0) {
                Matcher m = Pattern.compile("253:([0-9]+)").matcher(l);
                if (m.find(devno) && m.start() == devno) {
                    String ours = "0:" + id(idOfMinor, Integer.parseInt(m.group(1)));
                    l = l.substring(0, devno) + ours + " ".repeat(Math.max(0, m.group().length() - ours.length())) + l.substring(m.end());
                }
            }
            Matcher m = DM_NUMBER.matcher(l);
            StringBuilder sb = new StringBuilder();
            while (m.find()) m.appendReplacement(sb, "0" + m.group(1) + id(idOfMinor, Integer.parseInt(m.group(2))));
            m.appendTail(sb);
            lines[i] = sb.toString();
        }
        return String.join("\n", lines);
    }

    private static long id(Map<Integer, Long> idOfMinor, int minor) {
        Long id = idOfMinor.get(minor);
        if (id == null) throw new IllegalStateException("the kernel printed minor " + minor + ", which no device of the case holds: " + idOfMinor);
        return id;
    }

    /** Where a heading starts in a column report's heading line (-1 when it has none). */
    private static int column(String heading, String name) {
        Matcher m = Pattern.compile("(?<=^| )" + Pattern.quote(name) + "(?= |$)").matcher(heading);
        return m.find() ? m.start() : -1;
    }
}
