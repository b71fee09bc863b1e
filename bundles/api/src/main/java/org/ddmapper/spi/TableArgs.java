package org.ddmapper.spi;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;

/**
 * The one cursor every target reads its arguments through. It knows words, strict unsigned
 * numbers, counts that must not lie, argument groups ({@code <#n> words...}) and device
 * references (opened through the core and closed again if the constructor fails). Every error
 * is a {@link TableException} prefixed with the target type: "striped: invalid chunk size '12x'".
 */
public final class TableArgs {
    private final String type;
    private final List<String> words;
    private final Function<String, BlockDevice> opener;
    private final List<BlockDevice> opened;
    private int next;

    /**
     * @param type   the target type name (prefix of every error)
     * @param words  the arguments after {@code <start> <length> <type>}
     * @param opener opens a device reference (throws DmException naming it when it cannot)
     */
    public TableArgs(String type, List<String> words, Function<String, BlockDevice> opener) {
        this(type, List.copyOf(words), opener, new ArrayList<>());
    }

    private TableArgs(String type, List<String> words, Function<String, BlockDevice> opener, List<BlockDevice> opened) {
        this.type = type;
        this.words = words;
        this.opener = opener;
        this.opened = opened;
    }

    public boolean hasNext() { return next < words.size(); }

    public int remaining() { return words.size() - next; }

    /** The next word without consuming it, or null at the end. */
    public String peek() { return hasNext() ? words.get(next) : null; }

    /** The next word; {@code what} names it in the error when it is missing. */
    public String next(String what) {
        if (!hasNext()) throw error("not enough arguments: missing " + what);
        return words.get(next++);
    }

    /** A strict unsigned decimal: digits only (leading zeros allowed, as the kernel's kstrtoull), no sign, no overflow. */
    public long nextUnsigned(String what) {
        return parseUnsigned(what, next(what), Long.MAX_VALUE);
    }

    /** A strict unsigned decimal no larger than {@code max}. */
    public long nextUnsigned(String what, long max) {
        return parseUnsigned(what, next(what), max);
    }

    /** An int in [min, max]. */
    public int nextInt(String what, int min, int max) {
        String word = next(what);
        long v = parseUnsigned(what, word, Integer.MAX_VALUE);
        if (v < min || v > max) throw error("invalid " + what + " '" + word + "' (expected " + min + ".." + max + ")");
        return (int) v;
    }

    /** A sector count or offset. */
    public long nextSectors(String what) { return nextUnsigned(what); }

    /** A count of following items (each {@code wordsPerItem} words at least) that must not promise more than remains. */
    public int nextCount(String what, int max, int wordsPerItem) {
        String word = next(what);
        long n = parseUnsigned(what, word, Integer.MAX_VALUE);
        if (n > max) throw error("invalid " + what + " '" + word + "' (at most " + max + ")");
        if (n * wordsPerItem > remaining())
            throw error("not enough arguments for " + what + " " + n + " (" + remaining() + " words left)");
        return (int) n;
    }

    /** A group {@code <#n> word{n}} as its own cursor; the count must not exceed what remains. */
    public TableArgs nextGroup(String what, int max) {
        int n = nextCount(what, max, 1);
        TableArgs group = new TableArgs(type, words.subList(next, next + n), opener, opened);
        next += n;
        return group;
    }

    /** One of the allowed keywords. */
    public String nextKeyword(String what, String... allowed) {
        String word = next(what);
        for (String a : allowed) if (a.equals(word)) return word;
        throw error("unknown " + what + " '" + abbreviate(word) + "' (expected one of " + String.join(", ", allowed) + ")");
    }

    /** A device reference, opened now; closed by the core if the constructor later fails, or at destroy. */
    public BlockDevice nextDevice(String what) {
        String reference = next(what);
        BlockDevice device;
        try {
            device = opener.apply(reference);
        } catch (DmException e) {
            throw new TableException(e.errno(), type + ": " + e.getMessage());
        }
        opened.add(device);
        return device;
    }

    /** Refuses words left over. */
    public void expectEnd() {
        if (hasNext()) throw error("too many arguments: unexpected '" + abbreviate(words.get(next)) + "'");
    }

    /** Every device opened through this cursor (and its groups). */
    public List<BlockDevice> openedDevices() { return List.copyOf(opened); }

    /** A TableException with the type prefix. */
    public TableException error(String message) {
        return new TableException(type + ": " + message);
    }

    /** A TableException with the type prefix and an errno. */
    public TableException error(Errno errno, String message) {
        return new TableException(errno, type + ": " + message);
    }

    private long parseUnsigned(String what, String word, long max) {
        long v = org.ddmapper.api.TableLine.parseUnsigned(word);
        if (v < 0) throw error("invalid " + what + " '" + abbreviate(word) + "'");
        if (v > max) throw error("invalid " + what + " '" + abbreviate(word) + "' (at most " + max + ")");
        return v;
    }

    private static String abbreviate(String s) {
        return s.length() <= 64 ? s : s.substring(0, 61) + "...";
    }
}
