/*
 * ddlink from C with plain syscalls: the item layout and op numbers of
 * bundles/control/README.md. Every item is one SOCK_SEQPACKET message:
 *
 *   request: u32 op | u32 tag | u32 target | u32 length | payload[length]   (+ fds by SCM_RIGHTS)
 *   reply:   u32 op | u32 tag | i32 status | u32 length | payload[length]
 *
 * little-endian (this header assumes a little-endian host, as x86_64 and aarch64 are).
 */
#ifndef DDLINK_H
#define DDLINK_H

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

enum dd_op {
    DD_VERSION = 1, DD_LIST = 2, DD_CREATE = 3, DD_LOAD = 4, DD_CLEAR = 5, DD_SUSPEND = 6,
    DD_RESUME = 7, DD_REMOVE = 8, DD_RENAME = 9, DD_INFO = 10, DD_STATUS = 11, DD_TABLE = 12,
    DD_DEPS = 13, DD_WAIT = 14, DD_EVENTS = 15, DD_TARGETS = 16, DD_MESSAGE = 17, DD_LINK = 18, DD_UPGRADE = 19,
    DD_MULTIPATH = 20, /* target: 0 topology, DD_FLAG_PATHS paths; payload NAME or empty for every map */
    DD_UPGRADE_LIST = 21, DD_UPGRADE_REVERT = 22,
    DD_CLI = 23,       /* payload: a dmsetup command line, every argument NUL-terminated; reply:
                          i32 exit | u32 stdout_bytes | stdout | stderr (bin/ddsetup is this op) */
    DD_EVENT = 64, DD_EVENTS_LOST = 65
};

#define DD_HEADER_BYTES 16u
#define DD_MAX_ITEM_BYTES (192u * 1024u)
#define DD_TARGET_BY_SECTOR 0xFFFFFFFFu
#define DD_FLAG_PATHS 1u
#define DD_FLAG_STDIN_TERMINAL 1u /* CLI: the caller's stdin is a terminal */

struct dd_header {
    uint32_t op;
    uint32_t tag;
    int32_t status;   /* target (index or flags) in a request */
    uint32_t length;
};

/* Connects to the control socket; returns the fd or -1 (errno set). */
static inline int dd_connect(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof addr.sun_path) return -1;
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *) &addr, sizeof addr) < 0) { close(fd); return -1; }
    return fd;
}

/* Sends one request item, with nfds descriptors (may be 0). Returns 0 or -1 (errno set). */
static inline int dd_send(int fd, uint32_t op, uint32_t tag, uint32_t target,
                          const void *payload, uint32_t length, const int *fds, int nfds)
{
    struct dd_header h = { op, tag, (int32_t) target, length };
    struct iovec iov[2] = { { &h, sizeof h }, { (void *) payload, length } };
    union { char buf[CMSG_SPACE(sizeof(int) * 4)]; struct cmsghdr align; } control;
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = length ? 2 : 1 };
    if (nfds > 4) return -1;
    if (nfds > 0) {
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    return sendmsg(fd, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/*
 * Receives one item into buf (DD_MAX_ITEM_BYTES is always enough). A passed descriptor, if any,
 * goes to *passed_fd (else -1). Returns the item's size, 0 at end of file, -1 on error (errno set;
 * EAGAIN on a non-blocking socket with nothing queued).
 */
static inline ssize_t dd_recv(int fd, void *buf, size_t size, int *passed_fd, int flags)
{
    union { char buf[CMSG_SPACE(sizeof(int) * 4)]; struct cmsghdr align; } control;
    struct iovec iov = { buf, size };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                          .msg_controllen = sizeof control.buf };
    ssize_t n = recvmsg(fd, &msg, flags | MSG_CMSG_CLOEXEC);
    if (passed_fd) *passed_fd = -1;
    if (n < 0) return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int count = (int) ((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *fds = (int *) CMSG_DATA(c);
        for (int i = 0; i < count; i++) {
            if (passed_fd && *passed_fd < 0) *passed_fd = fds[i];
            else close(fds[i]);
        }
    }
    return n;
}

#endif
