#!/bin/bash
# Cached guest artefacts, from Debian packages only:
#   $Q/kernel/KVER/{vmlinuz,modules/}    cloud kernel, unpacked (not installed)
#   $Q/base/                             debootstrap minbase root (done once)
#   $Q/root-FLAVOUR/                     base + the generator + kernel modules
# Usage: build-root.sh [FLAVOUR...]   (default: all). Prints nothing on a hit.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"
mkdir -p "$Q"
# Several checkouts on one machine share this cache: one builder at a time.
exec 9>"$Q/build.lock"
flock 9

BASE_PKGS=systemd-sysv,udev,kmod,cryptsetup,busybox,e2fsprogs
declare -A FLAVOUR_PKGS=(
	[initramfs-tools]="initramfs-tools zstd"
	# network-legacy: dracut's systemd-networkd route would need dbus.
	[dracut]="dracut dracut-network zstd iproute2 isc-dhcp-client procps iputils-arping"
)

kernel() {
	KVER=$(cloud_kver)
	if [ -z "$KVER" ]; then
		apt-get update -q >&2
		KVER=$(cloud_kver)
	fi
	[ -n "$KVER" ] || die "apt knows no linux-image-cloud-amd64"
	local k=$Q/kernel/$KVER
	[ -f "$k/.done" ] && return 0
	log "kernel $KVER: download and unpack"
	rm -rf "$k" && mkdir -p "$k/deb"
	(cd "$k/deb" && apt-get download -q -o APT::Sandbox::User=root "linux-image-$KVER" >&2)
	dpkg -x "$k"/deb/*.deb "$k/x"
	mv "$k/x/boot/vmlinuz-$KVER" "$k/vmlinuz"
	mv "$k/x/boot/config-$KVER" "$k/config"   # generators check it for compressors
	mv "$k/x/lib/modules/$KVER" "$k/modules"
	rm -rf "$k/x" "$k/deb"
	touch "$k/.done"
}

base() {
	[ -f "$Q/base/.done" ] && return 0
	local m; m=$(mirror)
	[ -n "$m" ] || die "no $SUITE repository in apt's configuration"
	log "debootstrap $SUITE from $m"
	rm -rf "$Q/base.new"
	debootstrap --variant=minbase --include="$BASE_PKGS" "$SUITE" "$Q/base.new" "$m" \
		>"$Q/debootstrap.log" 2>&1 || { tail -n 20 "$Q/debootstrap.log" >&2; die "debootstrap failed"; }
	rm -rf "$Q/base" && mv "$Q/base.new" "$Q/base"
	touch "$Q/base/.done"
}

flavour() {
	local f=$1 r=$Q/root-$1
	[ -n "${FLAVOUR_PKGS[$f]+x}" ] || die "unknown flavour '$f' (have: $FLAVOURS)"
	[ "$(cat "$r/.done" 2>/dev/null)" = "$KVER" ] && return 0
	exec 8>"$r.lock"   # mkinitrd.sh holds it while it uses the root
	flock 8
	log "root for $f (kernel $KVER)"
	rm -rf "$r.new"
	cp -a "$Q/base" "$r.new"
	rm -f "$r.new/.done"
	cp /etc/resolv.conf "$r.new/etc/resolv.conf"
	# shellcheck disable=SC2086
	in_chroot "$r.new" apt-get install -y -q --no-install-recommends ${FLAVOUR_PKGS[$f]} \
		>"$Q/apt-$f.log" 2>&1 || { tail -n 20 "$Q/apt-$f.log" >&2; die "apt-get install in $f root failed"; }
	in_chroot "$r.new" apt-get clean
	# merged /usr: the real directory, not through the /lib symlink
	mkdir -p "$r.new/usr/lib/modules"
	cp -a "$Q/kernel/$KVER/modules" "$r.new/usr/lib/modules/$KVER"
	cp "$Q/kernel/$KVER/config" "$r.new/boot/config-$KVER"
	in_chroot "$r.new" depmod "$KVER"
	rm -rf "$r" && mv "$r.new" "$r"
	echo "$KVER" >"$r/.done"
	exec 8>&-
}

kernel
base
for f in "${@:-$FLAVOURS}"; do
	# shellcheck disable=SC2086
	for g in $f; do flavour "$g"; done
done
echo "$KVER"
