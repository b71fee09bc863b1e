#!/bin/bash
# record.sh - records what Linux 6.1's device-mapper and dmsetup 1.02.185 print for each case of
# cases/ into expected/, the text tests/.../it/compat/DmsetupCompatTest compares ddsetup with, byte
# for byte. Run it once when a case is added or changed, and commit what it wrote; the test suite
# itself never boots a VM.
#
# Usage: record.sh [CASE...]        (names without .case; default: every case)
#
# Each case runs in a fresh guest of ../kdm-vm.sh (Debian's 6.1 kernel, dmsetup 1.02.185) with four
# 8 MiB disks: $D0..$D3 are /dev/vda../dev/vdd (254:0, 254:16, 254:32, 254:48 there), $NL is a
# newline, $DM_NAME is /dev/mapper/NAME (dm:NAME for ddmapper). Case lines are dmsetup command
# lines, or directives: !read NAME (4 KiB with O_DIRECT), !read& NAME (the same in the background),
# !wait (for those), !open NAME / !close (hold a device open), !sleep SECS. What the guest does
# that a case does not say, so that the kernel's numbers and texts are what ddmapper's are:
#   - dm-multipath and its path selectors are loaded first (targets lists them);
#   - dmsetup mknodes runs after each create, as udev would (dmsetup info shows Read Ahead only
#     for a device that has a node).
# The output file: '# ' header lines, then per line of the case: '$ LINE', each stdout line after
# '|', each stderr line after '! ', '\ no newline at end of output' when stdout lacks one, '? STATUS'.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vm=$here/../kdm-vm.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for i in 0 1 2 3; do truncate -s 8M "$work/d$i.img"; done
mkdir -p "$here/expected"
if [ $# -gt 0 ]; then cases=("$@"); else cases=($(cd "$here/cases" && ls -- *.case | sed 's/\.case$//')); fi

cat > "$work/guest.sh" <<'GUEST'
#!/bin/bash
export D0=/dev/vda D1=/dev/vdb D2=/dev/vdc D3=/dev/vdd NL=$'\n'
for m in dm-multipath dm-round-robin dm-queue-length dm-service-time; do modprobe $m 2>/dev/null; done
dmsetup() {
    command dmsetup "$@"
    local rc=$?
    [ "$1" = create ] && command dmsetup mknodes >/dev/null 2>&1
    return $rc
}
_read() { dd if=/dev/mapper/$1 of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null; }
_wait() { wait; }
_open() { exec 7</dev/mapper/$1; }
_close() { exec 7<&-; }
_sleep() { sleep "$1"; }
for v in $(grep -o '\$DM_[A-Za-z0-9_]*' /kdm/files/case | sort -u); do
    v=${v#\$}
    export "$v=/dev/mapper/${v#DM_}"
done
echo "# recorded with Linux $(uname -r) and dmsetup $(command dmsetup version | sed -n 's/^Library version: *//p')"
while IFS= read -r line <&3; do
    case $line in
        '#'*|'') echo "$line" | grep -q '^# ' && [ -z "${described:-}" ] && { echo "$line"; described=1; }; continue ;;
        '!read& '*) cmd="_read ${line#!read& } &" ;;
        '!'*) cmd="_${line#!}" ;;
        *) cmd=$line ;;
    esac
    printf '$ %s\n' "$line"
    eval "$cmd" </dev/null >/tmp/o 2>/tmp/e
    rc=$?
    awk '{print "|" $0}' /tmp/o
    if [ -s /tmp/o ] && [ "$(tail -c1 /tmp/o | od -An -c | tr -d ' ')" != '\n' ]; then echo '\ no newline at end of output'; fi
    awk '{print "! " $0}' /tmp/e
    echo "? $rc"
done 3< /kdm/files/case
wait
command dmsetup remove_all --force >/dev/null 2>&1
exit 0
GUEST

for c in "${cases[@]}"; do
    [ -f "$here/cases/$c.case" ] || { echo "record.sh: no case $c" >&2; exit 1; }
    cp "$here/cases/$c.case" "$work/case"
    echo "record.sh: $c" >&2
    KDM_QUIET=1 "$vm" -t 300 -f "$work/case" "$work/guest.sh" "$work"/d0.img "$work"/d1.img "$work"/d2.img "$work"/d3.img \
        > "$work/$c.out" || { echo "record.sh: the guest failed on $c:" >&2; tail -20 "$work/$c.out" >&2; exit 1; }
    mv "$work/$c.out" "$here/expected/$c.out"
done
