package org.ddmapper.api;

/** Which target of a table a message is for: the one covering a sector (dmsetup's way) or by its index. */
public sealed interface TargetRef {

    record BySector(long sector) implements TargetRef {
        @Override
        public String toString() { return Long.toString(sector); }
    }

    record ByIndex(int index) implements TargetRef {
        @Override
        public String toString() { return "@" + index; }
    }

    /** Parses dmsetup's message address: a sector number, or {@code @INDEX}. */
    static TargetRef parse(String word) {
        try {
            if (word.startsWith("@")) {
                int index = Integer.parseInt(word.substring(1));
                if (index >= 0 && word.substring(1).chars().allMatch(Character::isDigit)) return new ByIndex(index);
            } else if (!word.isEmpty() && word.chars().allMatch(Character::isDigit)) {
                return new BySector(Long.parseLong(word));
            }
        } catch (NumberFormatException e) {
            // fall through to the error below
        }
        throw new DmException(Errno.EINVAL, "invalid message target '" + word + "': expected a sector number or @INDEX");
    }
}
