package org.ddmapper.api;

import java.util.List;

/**
 * A message to a target: dmsetup's words, plus what the kernel cannot carry: a binary payload,
 * passed file descriptors and a caller's tag (echoed in the reply).
 */
public record Message(List<String> words, byte[] payload, List<PassedFd> fds, long tag) {

    public Message {
        words = List.copyOf(words);
        payload = payload == null ? new byte[0] : payload;
        fds = fds == null ? List.of() : List.copyOf(fds);
    }

    /** A plain text message. */
    public static Message of(String... words) {
        return new Message(List.of(words), null, List.of(), 0);
    }

    /** The first word (the verb), or "" for an empty message. */
    public String verb() { return words.isEmpty() ? "" : words.get(0); }

    /** Closes every passed fd not yet taken over. */
    public void closeFds() {
        for (PassedFd fd : fds) fd.close();
    }
}
