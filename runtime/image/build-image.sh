#!/bin/sh
# Builds the ddmapper appliance's bootable disk image from Debian packages (run on demand; the test
# command does not run it). See runtime/image/README.md.
#
#   runtime/image/build-image.sh [--dist DIR] [--out FILE] [--home-mib N] [--sources FILE]
#
#   --dist DIR      the distribution to install (default runtime/target/ddmapper, built when missing;
#                   it must carry its own Java runtime, java/)
#   --out FILE      the disk image (default runtime/target/ddmapper-image.raw)
#   --home-mib N    size of the writable home partition (default 512)
#   --sources FILE  apt sources of the Debian mirror (default this machine's: /etc/apt/sources.list.d/
#                   debian.sources, else /etc/apt/sources.list)
#
# The disk (GPT, UEFI): 1 "ddesp" an EFI system partition holding one unified kernel image
# (EFI/BOOT/BOOTX64.EFI: Debian's kernel, its initramfs and the command line, booted by the firmware
# itself), 2 "ddroot" the root as squashfs (read-only by construction: Debian bookworm minbase, systemd,
# the kernel's modules, /opt/ddmapper), 3 "ddhome" ext4, /var/lib/ddmapper, the appliance's home (its
# state, log, sockets and bundle store): the only place anything is written to disk.
#
# Needs root and Debian's packages mmdebstrap, squashfs-tools, dosfstools, mtools, fdisk (sfdisk),
# e2fsprogs, binutils (objcopy) and systemd-boot-efi (the UKI stub):
#   apt-get install mmdebstrap squashfs-tools dosfstools mtools fdisk e2fsprogs binutils systemd-boot-efi
set -eu
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
dist=$repo/runtime/target/ddmapper
out=$repo/runtime/target/ddmapper-image.raw
home_mib=512
sources=
while [ $# -gt 0 ]; do
  case $1 in
    --dist) dist=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --home-mib) home_mib=$2; shift 2 ;;
    --sources) sources=$2; shift 2 ;;
    *) echo "build-image: unknown argument '$1' (see the top of $0)" >&2; exit 64 ;;
  esac
done
say() { echo "build-image: $*" >&2; }
[ "$(id -u)" = 0 ] || { say "must run as root (mmdebstrap, chroot)"; exit 1; }
missing=
for tool in mmdebstrap mksquashfs mkfs.vfat mcopy sfdisk mkfs.ext4 objcopy; do
  command -v $tool >/dev/null 2>&1 || missing="$missing $tool"
done
stub=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
[ -f $stub ] || missing="$missing $stub"
if [ -n "$missing" ]; then
  say "missing:$missing"
  say "apt-get install mmdebstrap squashfs-tools dosfstools mtools fdisk e2fsprogs binutils systemd-boot-efi"
  exit 1
fi
if [ -z "$sources" ]; then
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    [ -s $f ] && { sources=$f; break; }
  done
fi
[ -n "$sources" ] || { say "no apt sources found: give --sources FILE"; exit 1; }
[ -x "$dist/bin/ddmapper" ] || "$repo/runtime/build-if-stale"
[ -x "$dist/java/bin/java" ] || { say "$dist has no java/ runtime (build it with a JDK that has jmods)"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/var/tmp}/ddmapper-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
t0=$(date +%s)

say "1/5 Debian root (mmdebstrap bookworm minbase, sources $sources)"
mmdebstrap --variant=minbase --mode=root --components=main \
  --include=systemd,systemd-sysv,udev,kmod,linux-image-amd64,initramfs-tools,zstd,e2fsprogs,iproute2,procps,less \
  --customize-hook="$here/customize.sh \"\$1\" $dist" \
  bookworm "$work/root" "$sources"

say "2/5 unified kernel image (kernel + initramfs + command line)"
kernel=$(ls "$work"/root/boot/vmlinuz-* | sort -V | tail -n 1)
initrd=$(ls "$work"/root/boot/initrd.img-* | sort -V | tail -n 1)
printf '%s' "root=PARTLABEL=ddroot rootfstype=squashfs ro console=tty0 console=ttyS0,115200 quiet" > "$work/cmdline"
objcopy \
  --add-section .osrel="$work/root/usr/lib/os-release" --change-section-vma .osrel=0x20000 \
  --add-section .cmdline="$work/cmdline" --change-section-vma .cmdline=0x30000 \
  --add-section .linux="$kernel" --change-section-vma .linux=0x2000000 \
  --add-section .initrd="$initrd" --change-section-vma .initrd=0x3000000 \
  $stub "$work/BOOTX64.EFI"

say "3/5 partitions: EFI system (vfat), root (squashfs, read-only), home (ext4, ${home_mib} MiB)"
efi_mib=$(( $(stat -c %s "$work/BOOTX64.EFI") / 1048576 + 16 ))
mkfs.vfat -C -n DDESP "$work/esp.img" $((efi_mib * 1024)) >/dev/null
mmd -i "$work/esp.img" ::EFI ::EFI/BOOT
mcopy -i "$work/esp.img" "$work/BOOTX64.EFI" ::EFI/BOOT/BOOTX64.EFI
rm -rf "$work/root/boot"/* "$work/root/var/cache/apt"/* "$work/root/var/lib/apt/lists"/*
mksquashfs "$work/root" "$work/root.sqfs" -comp zstd -Xcompression-level 6 -noappend -quiet >/dev/null
root_mib=$(( $(stat -c %s "$work/root.sqfs") / 1048576 + 1 ))
truncate -s ${home_mib}M "$work/home.img"
mkfs.ext4 -q -F -L ddhome "$work/home.img"

say "4/5 disk (GPT)"
mkdir -p "$(dirname "$out")"
rm -f "$out"
truncate -s $((1 + efi_mib + root_mib + home_mib + 1))M "$out"
sfdisk -q "$out" <<PARTS
label: gpt
start=1MiB, size=${efi_mib}MiB, type=uefi, name=ddesp
size=${root_mib}MiB, type=linux, name=ddroot
size=${home_mib}MiB, type=linux, name=ddhome
PARTS
dd if="$work/esp.img" of="$out" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$work/root.sqfs" of="$out" bs=1M seek=$((1 + efi_mib)) conv=notrunc,sparse status=none
dd if="$work/home.img" of="$out" bs=1M seek=$((1 + efi_mib + root_mib)) conv=notrunc,sparse status=none

say "5/5 done in $(( $(date +%s) - t0 )) s: $out"
say "  disk $(du -h --apparent-size "$out" | cut -f1) (EFI ${efi_mib} MiB, root ${root_mib} MiB squashfs, home ${home_mib} MiB);" \
  "Java runtime $(du -sh "$dist/java" | cut -f1)"
echo "$out"
