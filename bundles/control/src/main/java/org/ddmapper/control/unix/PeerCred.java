package org.ddmapper.control.unix;

/** The credentials of a socket's peer as the kernel recorded them at connect time (SO_PEERCRED). */
public record PeerCred(int pid, int uid, int gid) {}
