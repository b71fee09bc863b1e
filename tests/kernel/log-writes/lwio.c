/*
 * lwio: one block I/O operation on a device, for driving the kernel's dm-log-writes with a known
 * sequence of requests inside the kdm-vm guest (busybox's dd cannot send FUA, discard or
 * write-zeroes). Built static on the host (gcc -static) and copied into the guest.
 *
 *   lwio DEV w SECTOR COUNT FILL   write COUNT 512-byte sectors at SECTOR (O_DIRECT)
 *   lwio DEV W SECTOR COUNT FILL   the same with O_DSYNC: a FUA write
 *   lwio DEV f                     fdatasync: a flush
 *   lwio DEV d SECTOR COUNT        BLKDISCARD
 *   lwio DEV z SECTOR COUNT        BLKZEROOUT
 *
 * Each sector written holds its own sector number (u64, little-endian) in its first 8 bytes and
 * the byte FILL (0..255) in the rest, so every sector of a run is distinct and can be recognised.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int fail(const char *what) {
    perror(what);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: lwio DEV w|W|f|d|z [SECTOR COUNT [FILL]]\n");
        return 64;
    }
    char op = argv[2][0];
    int flags = O_RDWR | O_DIRECT | (op == 'W' ? O_DSYNC : 0);
    int fd = open(argv[1], flags);
    if (fd < 0) return fail("open");
    if (op == 'f') return fdatasync(fd) ? fail("fdatasync") : 0;
    if (argc < 5) return 64;
    uint64_t sector = strtoull(argv[3], NULL, 10), count = strtoull(argv[4], NULL, 10);
    if (op == 'd' || op == 'z') {
        uint64_t range[2] = {sector * 512, count * 512};
        return ioctl(fd, op == 'd' ? BLKDISCARD : BLKZEROOUT, range) ? fail("ioctl") : 0;
    }
    if (argc < 6) return 64;
    int fill = atoi(argv[5]);
    unsigned char *buf;
    if (posix_memalign((void **) &buf, 4096, count * 512)) return fail("posix_memalign");
    for (uint64_t i = 0; i < count; i++) {
        memset(buf + i * 512, fill, 512);
        uint64_t s = sector + i;
        for (int b = 0; b < 8; b++) buf[i * 512 + b] = (unsigned char) (s >> (8 * b));
    }
    if (pwrite(fd, buf, count * 512, sector * 512) != (ssize_t) (count * 512)) return fail("pwrite");
    return close(fd) ? fail("close") : 0;
}
