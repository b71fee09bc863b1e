/*
 * ddsetup, the native client: dmsetup's command line at dmsetup's speed. It knows no verb: it
 * sends its arguments to the appliance as one ddlink CLI item, where the same Java code that
 * serves the console and the Java ddsetup parses the line, runs it and renders the text, and it
 * writes what comes back to stdout and stderr and exits with the status that came with it. When
 * the appliance answers that the command needs the caller (a table in a file or on stdin,
 * descriptors to pass, a wait, events, an upgrade), or cannot be reached at all, it hands the
 * very same arguments to the Java ddsetup beside it (bin/ddsetup-java), which does those things
 * and words every error. Plain syscalls and the layout of examples/c/ddlink.h; no library.
 *
 *   ddsetup [--socket PATH] VERB ...      (socket default: $DDMAPPER_HOME/run/control.sock,
 *                                          else DIST/var/run/control.sock)
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ddlink.h"

#define DD_CLI_HEADER_BYTES 8u

static unsigned char request[DD_MAX_ITEM_BYTES];
static unsigned char reply[DD_MAX_ITEM_BYTES];

static uint32_t le32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t) p[3] << 24; }

/* The distribution's directory: two levels above this executable (DIST/bin/ddsetup). */
static int dist_dir(char *out, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    if (n <= 0) return -1;
    out[n] = 0;
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(out, '/');
        if (!slash) return -1;
        *slash = 0;
    }
    return 0;
}

/* Runs the Java ddsetup with our own arguments; returns only if it cannot be started. */
static int fallback(char **argv)
{
    char java[PATH_MAX];
    if (dist_dir(java, sizeof java - 32) < 0) {
        fprintf(stderr, "ddsetup: cannot find the distribution directory of this program\n");
        return 1;
    }
    strcat(java, "/bin/ddsetup-java");
    argv[0] = java;
    execv(java, argv);
    fprintf(stderr, "ddsetup: cannot run %s: %s\n", java, strerror(errno));
    return 1;
}

/* Writes all of buf to fd (a closed pipe ends us with SIGPIPE, as any writer). */
static void write_all(int fd, const unsigned char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        buf += n;
        len -= (size_t) n;
    }
}

int main(int argc, char **argv)
{
    int first = 1;
    char socket_path[PATH_MAX + 32];
    if (argc > 2 && !strcmp(argv[1], "--socket")) {
        snprintf(socket_path, sizeof socket_path, "%s", argv[2]);
        first = 3;
    } else if (argc > 1 && !strncmp(argv[1], "--socket=", 9)) {
        snprintf(socket_path, sizeof socket_path, "%s", argv[1] + 9);
        first = 2;
    } else {
        const char *home = getenv("DDMAPPER_HOME");
        char dist[PATH_MAX];
        if (home && *home) {
            snprintf(socket_path, sizeof socket_path, "%s/run/control.sock", home);
        } else if (dist_dir(dist, sizeof dist) == 0) {
            snprintf(socket_path, sizeof socket_path, "%s/var/run/control.sock", dist);
        } else {
            return fallback(argv);
        }
    }

    /* the payload: every argument followed by a NUL byte */
    size_t length = 0;
    for (int i = first; i < argc; i++) {
        size_t n = strlen(argv[i]) + 1;
        if (length + n > DD_MAX_ITEM_BYTES - DD_HEADER_BYTES) return fallback(argv);
        memcpy(request + length, argv[i], n);
        length += n;
    }

    int fd = dd_connect(socket_path);
    if (fd < 0) return fallback(argv);
    uint32_t flags = isatty(0) ? DD_FLAG_STDIN_TERMINAL : 0;
    if (dd_send(fd, DD_CLI, 1, flags, request, (uint32_t) length, NULL, 0) < 0) {
        close(fd);
        return fallback(argv);
    }
    ssize_t n;
    do {
        n = dd_recv(fd, reply, sizeof reply, NULL, 0);
    } while (n < 0 && errno == EINTR);
    close(fd);
    if (n < (ssize_t) DD_HEADER_BYTES) return fallback(argv);

    struct dd_header h;
    memcpy(&h, reply, sizeof h);
    const unsigned char *body = reply + DD_HEADER_BYTES;
    if (h.length > (size_t) n - DD_HEADER_BYTES) h.length = (uint32_t) (n - DD_HEADER_BYTES);
    if (h.status == -EOPNOTSUPP) return fallback(argv);
    if (h.status < 0) {
        fprintf(stderr, "ddsetup: %.*s: %s\n", (int) h.length, (const char *) body, strerror(-h.status));
        return 1;
    }
    if (h.length < DD_CLI_HEADER_BYTES) {
        fprintf(stderr, "ddsetup: malformed reply from the appliance (%u bytes)\n", h.length);
        return 1;
    }
    uint32_t status = le32(body), out = le32(body + 4);
    uint32_t text = h.length - DD_CLI_HEADER_BYTES;
    if (out > text) out = text;
    write_all(1, body + DD_CLI_HEADER_BYTES, out);
    write_all(2, body + DD_CLI_HEADER_BYTES + out, text - out);
    return (int) status;
}
