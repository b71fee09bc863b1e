#!/bin/sh
# Boots the appliance image in a VM, its serial console on this terminal (a root shell with ddsetup,
# after the boot messages and the ready line; Ctrl-A X quits qemu). The VM writes to a copy of the image
# unless --in-place; NBD is forwarded to 127.0.0.1:PORT on this machine (default 10809).
#   runtime/image/run-image.sh [--in-place] [--port PORT] [IMAGE]
# Needs qemu-system-x86 and ovmf.
set -eu
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd -P)
image=$here/../target/ddmapper-image.raw
port=10809
in_place=false
while [ $# -gt 0 ]; do
  case $1 in
    --in-place) in_place=true; shift ;;
    --port) port=$2; shift 2 ;;
    *) image=$1; shift ;;
  esac
done
work=$(mktemp -d "${TMPDIR:-/tmp}/ddmapper-vm.XXXXXX")
trap 'rm -rf "$work"' EXIT
if $in_place; then disk=$image; else disk=$work/disk.raw; cp --sparse=always "$image" "$disk"; fi
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$work/vars.fd"
accel=tcg
[ -w /dev/kvm ] && accel=kvm
qemu-system-x86_64 -machine q35 -accel $accel -m 1024 -smp 2 \
  -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
  -drive if=pflash,format=raw,file="$work/vars.fd" \
  -drive file="$disk",format=raw,if=virtio \
  -nic user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:$port-:10809 \
  -nographic
