#!/bin/sh
# mmdebstrap's customize hook (build-image.sh passes it): turns the Debian root ROOT into the
# appliance's. Installs the distribution DIST as /opt/ddmapper with its systemd unit enabled, lays the
# image's configuration over /etc (rootfs/), prepares the root to be mounted read-only, rebuilds the
# initramfs with the image's settings, and makes the class-data-sharing archives for /opt/ddmapper.
# Usage: customize.sh ROOT DIST
set -eu
root=$1
dist=$2
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd -P)

mkdir -p "$root/opt/ddmapper" "$root/var/lib/ddmapper"
cp -a "$dist/bin" "$dist/etc" "$dist/lib" "$dist/bundle" "$dist/java" "$root/opt/ddmapper/"
mkdir -p "$root/opt/ddmapper/var" && cp "$dist/var/README.md" "$root/opt/ddmapper/var/"
cp "$dist/etc/ddmapper.service" "$root/etc/systemd/system/ddmapper.service"
cp -a "$here/rootfs/." "$root/"

# A read-only root: an empty machine-id (systemd makes one in memory at each boot), no first-boot
# questions, and no timers that would write to it.
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
chroot "$root" systemctl enable ddmapper.service systemd-networkd.service serial-getty@ttyS0.service
chroot "$root" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
  fstrim.timer systemd-firstboot.service 2>/dev/null || true

chroot "$root" update-initramfs -u -k all

# The archives name the paths they were made for: make them where the image runs the appliance.
mounted=
if ! mountpoint -q "$root/proc"; then mount -t proc proc "$root/proc"; mounted=yes; fi
status=0
chroot "$root" /opt/ddmapper/bin/cds-archive || status=$?
[ -z "$mounted" ] || umount "$root/proc"
rm -rf "$root/var/lib/ddmapper/"* "$root/tmp/"*
exit $status
