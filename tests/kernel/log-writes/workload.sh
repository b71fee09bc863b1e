# The request sequence both the kernel (tests/kernel/log-writes/make-images.sh, LogWritesKernelTest)
# and ddmapper are driven with, one request per line, sourced by a shell that defines:
#   w SECTOR COUNT FILL   a write of COUNT 512-byte sectors (each sector: its number as u64 LE, then FILL)
#   W SECTOR COUNT FILL   the same as a FUA write (the guest's O_DSYNC write: FUA, then a flush)
#   f                     a flush
#   d SECTOR COUNT        a discard
#   z SECTOR COUNT        zeroes (the guest's BLKZEROOUT; null_blk writes zero pages)
#   m TEXT                a mark
w 0 8 65
w 64 16 66
W 128 8 67
f
d 256 64
w 8 8 68
m first
z 512 16
W 1024 8 69
w 2048 32 70
f
m second
w 4096 8 71
