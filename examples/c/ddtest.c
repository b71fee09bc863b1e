/*
 * ddtest: send one ddlink request, read the reply, print it.
 *
 *   ddtest SOCKET version|ls|targets
 *   ddtest SOCKET info|status|table [NAME]
 *   ddtest SOCKET create NAME [TABLE]
 *   ddtest SOCKET load NAME TABLE
 *   ddtest SOCKET suspend|resume|clear|remove|deps NAME
 *   ddtest SOCKET message NAME @INDEX|SECTOR TEXT
 *   ddtest SOCKET raw OP [TARGET [PAYLOAD]]
 *
 * Prints "reply op=N tag=N status=N length=N", then the payload. Exit status: 0 when the reply's
 * status is 0, 1 when it is an error (its sentence also goes to stderr), 2 on a usage or system error.
 *
 * Build: cc -O2 -Wall -o ddtest ddtest.c
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "ddlink.h"

static uint32_t le32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t) p[3] << 24; }

static int usage(void)
{
    fprintf(stderr, "usage: ddtest SOCKET VERB [ARGS...] (see the comment at the top of ddtest.c)\n");
    return 2;
}

int main(int argc, char **argv)
{
    static unsigned char payload[DD_MAX_ITEM_BYTES], reply[DD_MAX_ITEM_BYTES];
    if (argc < 3) return usage();
    const char *verb = argv[2];
    uint32_t op, target = 0, length = 0;

    /* name [\0 second]: the layout of CREATE, LOAD, RENAME; a lone name for the others */
    const char *first = argc > 3 ? argv[3] : "";
    const char *second = argc > 4 ? argv[4] : NULL;
    if (!strcmp(verb, "version")) op = DD_VERSION, first = "";
    else if (!strcmp(verb, "ls")) op = DD_LIST, first = "";
    else if (!strcmp(verb, "targets")) op = DD_TARGETS, first = "";
    else if (!strcmp(verb, "info")) op = DD_INFO;
    else if (!strcmp(verb, "status")) op = DD_STATUS;
    else if (!strcmp(verb, "table")) op = DD_TABLE;
    else if (!strcmp(verb, "create")) op = DD_CREATE;
    else if (!strcmp(verb, "load")) op = DD_LOAD;
    else if (!strcmp(verb, "suspend")) op = DD_SUSPEND;
    else if (!strcmp(verb, "resume")) op = DD_RESUME;
    else if (!strcmp(verb, "clear")) op = DD_CLEAR;
    else if (!strcmp(verb, "remove")) op = DD_REMOVE;
    else if (!strcmp(verb, "deps")) op = DD_DEPS;
    else if (!strcmp(verb, "message")) op = DD_MESSAGE;
    else if (!strcmp(verb, "raw")) op = 0;
    else return usage();

    if (op == DD_MESSAGE) {
        /* u64 sector | name \0 text; target = index, or DD_TARGET_BY_SECTOR */
        if (argc != 6) return usage();
        uint64_t sector = 0;
        if (argv[4][0] == '@') target = (uint32_t) strtoul(argv[4] + 1, NULL, 10);
        else target = DD_TARGET_BY_SECTOR, sector = strtoull(argv[4], NULL, 10);
        memcpy(payload, &sector, 8);
        length = 8;
        size_t n = strlen(argv[3]) + 1, t = strlen(argv[5]);
        if (length + n + t > sizeof payload) return usage();
        memcpy(payload + length, argv[3], n);
        memcpy(payload + length + n, argv[5], t);
        length += (uint32_t) (n + t);
    } else if (op == 0) {
        /* raw OP [TARGET [PAYLOAD]]: any op number and target, the payload as given */
        if (argc < 4) return usage();
        op = (uint32_t) strtoul(argv[3], NULL, 0);
        target = argc > 4 ? (uint32_t) strtoul(argv[4], NULL, 0) : 0;
        if (argc > 5) {
            length = (uint32_t) strlen(argv[5]);
            if (length > sizeof payload) return usage();
            memcpy(payload, argv[5], length);
        }
    } else {
        size_t n = strlen(first);
        if (n + 1 + (second ? strlen(second) : 0) > sizeof payload) return usage();
        memcpy(payload, first, n);
        length = (uint32_t) n;
        if (second) {
            payload[length++] = 0;
            memcpy(payload + length, second, strlen(second));
            length += (uint32_t) strlen(second);
        }
    }

    int fd = dd_connect(argv[1]);
    if (fd < 0) { fprintf(stderr, "ddtest: %s: %s\n", argv[1], strerror(errno)); return 2; }
    if (dd_send(fd, op, 1, target, payload, length, NULL, 0) < 0) {
        fprintf(stderr, "ddtest: send: %s\n", strerror(errno));
        return 2;
    }
    int passed = -1;
    ssize_t n = dd_recv(fd, reply, sizeof reply, &passed, 0);
    if (n < 0) { fprintf(stderr, "ddtest: recv: %s\n", strerror(errno)); return 2; }
    if (n == 0) { fprintf(stderr, "ddtest: the server closed the connection\n"); return 2; }
    if (passed >= 0) close(passed);
    if ((size_t) n < DD_HEADER_BYTES) { fprintf(stderr, "ddtest: short reply of %zd bytes\n", n); return 2; }
    struct dd_header h;
    memcpy(&h, reply, sizeof h);
    printf("reply op=%u tag=%u status=%d length=%u\n", h.op, h.tag, h.status, h.length);
    const unsigned char *body = reply + DD_HEADER_BYTES;
    if (h.status == 0 && h.op == DD_VERSION && h.length >= 16) {
        printf("protocol %u, max item %u bytes, max fds %u\n", le32(body), le32(body + 4), le32(body + 8));
        body += 16;
        h.length -= 16;
    }
    fwrite(body, 1, h.length, stdout);
    if (h.length && body[h.length - 1] != '\n') putchar('\n');
    if (h.status != 0) fprintf(stderr, "ddtest: %s: %.*s\n", strerror(-h.status), (int) h.length, (const char *) body);
    close(fd);
    return h.status == 0 ? 0 : 1;
}
