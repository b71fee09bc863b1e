/*
 * ddfork: open a LINK to a device, fork; the child polls the link and prints the device's
 * events as they arrive while the parent triggers them (suspend, resume) on the control socket.
 *
 *   ddfork SOCKET NAME [COUNT]        (COUNT events, default 4)
 *
 * The link's descriptor arrives non-blocking: a read with nothing queued returns EAGAIN at once,
 * which ddfork shows before forking. Exit status 0 when the child saw COUNT events in order.
 *
 * Build: cc -O2 -Wall -o ddfork ddfork.c
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include "ddlink.h"

static unsigned char buf[DD_MAX_ITEM_BYTES];

/* One request on the control socket; returns the reply's status, or -1000 on a system error. */
static int request(int fd, uint32_t op, const char *name)
{
    static uint32_t tag = 100;
    if (dd_send(fd, op, ++tag, 0, name, (uint32_t) strlen(name), NULL, 0) < 0) return -1000;
    ssize_t n = dd_recv(fd, buf, sizeof buf, NULL, 0);
    if (n < (ssize_t) DD_HEADER_BYTES) return -1000;
    struct dd_header h;
    memcpy(&h, buf, sizeof h);
    if (h.status) fprintf(stderr, "ddfork: op %u: %.*s\n", op, (int) h.length, (const char *) buf + DD_HEADER_BYTES);
    return h.status;
}

static int child(int link, int count)
{
    uint64_t last = 0;
    for (int seen = 0; seen < count;) {
        struct pollfd p = { .fd = link, .events = POLLIN };
        int r = poll(&p, 1, 10000);
        if (r == 0) { fprintf(stderr, "ddfork: child: no event within 10 s\n"); return 1; }
        if (r < 0) { if (errno == EINTR) continue; perror("poll"); return 1; }
        ssize_t n = dd_recv(link, buf, sizeof buf, NULL, 0);
        if (n < 0 && errno == EAGAIN) continue;
        if (n <= 0) { fprintf(stderr, "ddfork: child: link closed\n"); return 1; }
        struct dd_header h;
        memcpy(&h, buf, sizeof h);
        if (h.op != DD_EVENT) continue;
        /* u64 event_nr | u64 device id | u64 time ms | i32 target | u32 reserved | text */
        const unsigned char *e = buf + DD_HEADER_BYTES;
        uint64_t nr, id;
        int32_t target;
        memcpy(&nr, e, 8);
        memcpy(&id, e + 8, 8);
        memcpy(&target, e + 24, 4);
        if (nr <= last) { fprintf(stderr, "ddfork: child: event %llu after %llu\n", (unsigned long long) nr, (unsigned long long) last); return 1; }
        last = nr;
        printf("child: event %llu of device %llu target %d: %.*s\n", (unsigned long long) nr, (unsigned long long) id,
               target, (int) (h.length - 32), (const char *) e + 32);
        fflush(stdout);
        seen++;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: ddfork SOCKET NAME [COUNT]\n"); return 2; }
    int count = argc > 3 ? atoi(argv[3]) : 4;
    int control = dd_connect(argv[1]);
    if (control < 0) { fprintf(stderr, "ddfork: %s: %s\n", argv[1], strerror(errno)); return 2; }

    if (dd_send(control, DD_LINK, 1, 0, argv[2], (uint32_t) strlen(argv[2]), NULL, 0) < 0) { perror("send"); return 2; }
    int link = -1;
    ssize_t n = dd_recv(control, buf, sizeof buf, &link, 0);
    struct dd_header h;
    if (n < (ssize_t) DD_HEADER_BYTES) { fprintf(stderr, "ddfork: no LINK reply\n"); return 2; }
    memcpy(&h, buf, sizeof h);
    if (h.status || link < 0) {
        fprintf(stderr, "ddfork: LINK %s: %.*s\n", argv[2], (int) h.length, (const char *) buf + DD_HEADER_BYTES);
        return 1;
    }
    uint64_t id;
    memcpy(&id, buf + DD_HEADER_BYTES, 8);
    printf("linked to %s (device %llu) on fd %d\n", argv[2], (unsigned long long) id, link);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    n = dd_recv(link, buf, sizeof buf, NULL, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long micros = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
    printf("empty read: %s after %ld us\n", n < 0 && errno == EAGAIN ? "EAGAIN" : "unexpected", micros);
    fflush(stdout);

    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 2; }
    if (pid == 0) { close(control); _exit(child(link, count)); }

    close(link);
    for (int i = 0; i < count; i++) {
        int status = request(control, i % 2 == 0 ? DD_SUSPEND : DD_RESUME, argv[2]);
        if (status) { kill(pid, 9); waitpid(pid, NULL, 0); return 1; }
        printf("parent: %s\n", i % 2 == 0 ? "suspended" : "resumed");
        fflush(stdout);
    }
    if (count % 2) request(control, DD_RESUME, argv[2]);
    int status;
    waitpid(pid, &status, 0);
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    printf("child %s\n", ok ? "saw every event" : "failed");
    return ok ? 0 : 1;
}
