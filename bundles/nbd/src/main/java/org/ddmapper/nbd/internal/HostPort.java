package org.ddmapper.nbd.internal;

/** A {@code HOST:PORT} listen or connect address ({@code [v6]:PORT} for IPv6 literals). */
public record HostPort(String host, int port) {

    /** Parses {@code HOST:PORT}; the message of the exception says what is wrong. */
    public static HostPort parse(String text) {
        String s = text.trim();
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1)
            throw new IllegalArgumentException("'" + text + "' is not HOST:PORT");
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        else if (host.indexOf(':') >= 0) throw new IllegalArgumentException("'" + text + "': write an IPv6 host as [ADDRESS]:PORT");
        String portText = s.substring(colon + 1);
        if (!portText.chars().allMatch(Character::isDigit) || portText.length() > 5)
            throw new IllegalArgumentException("'" + text + "': invalid port '" + portText + "'");
        int port = Integer.parseInt(portText);
        if (port > 65535) throw new IllegalArgumentException("'" + text + "': port " + port + " is above 65535");
        return new HostPort(host, port);
    }

    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
