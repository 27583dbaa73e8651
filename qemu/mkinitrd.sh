#!/bin/bash
# Build a test initramfs for FLAVOUR with the real generator inside its cached
# root: installs rootcrypt and its hooks (make install DESTDIR=root) and the
# harness's test hook, then runs mkinitramfs or dracut in the chroot.
# Usage: mkinitrd.sh FLAVOUR OUT
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ $# = 2 ] || die "usage: mkinitrd.sh FLAVOUR OUT"
# dracut-nosystemd: dracut's shell-based init (no systemd in the initramfs),
# built in the dracut root
f=$1 out=$2 r=$Q/root-${1%-nosystemd}
kver=$(cat "$r/.done" 2>/dev/null) || die "no root for '$f': run qemu/build-root.sh"
fake_ca
# The cached root is shared by every checkout on this machine: one build at a time.
exec 9>"$r.lock"
flock 9

make -s -C "$REPO" install DESTDIR="$r" >&2
t=$r/usr/lib/rctest
rm -rf "$t" && mkdir -p "$t"
cp /bin/busybox "$t/busybox"   # static, from busybox-static: wget --header
cp "$Q/fake-ca/ca.pem" "$t/ca.pem"
cp "$REPO/rootcrypt" "$t/rootcrypt"
cp "$QEMU_DIR/guest/rctest-initrd.sh" "$t/"
echo "$VAULT_HOST" >"$t/vault-host"
echo "$VAULT_ADDR $VAULT_HOST" >"$t/hosts"
# rootcrypt's own configuration for the test guests; the device (and so
# whether rootcrypt acts at all) comes per boot from rootcrypt.device=.
mkdir -p "$r/etc/rootcrypt"
cp "$Q/fake-ca/ca.pem" "$r/etc/rootcrypt/ca.pem"
printf 'vault = https://%s\nca_file = /etc/rootcrypt/ca.pem\nname = root\n' "$VAULT_HOST" \
	>"$r/etc/rootcrypt.conf"

case $f in
initramfs-tools)
	cp "$QEMU_DIR/guest/initramfs-tools/hooks/rctest" "$r/etc/initramfs-tools/hooks/"
	cp "$QEMU_DIR/guest/initramfs-tools/scripts/local-top/rctest" "$r/etc/initramfs-tools/scripts/local-top/"
	in_chroot "$r" mkinitramfs -o /boot/initrd.img-test "$kver" >"$Q/mkinitrd-$f.log" 2>&1 ||
		{ tail -n 20 "$Q/mkinitrd-$f.log" >&2; die "mkinitramfs failed"; }
	;;
dracut | dracut-nosystemd)
	rm -rf "$r/usr/lib/dracut/modules.d/99rctest"
	cp -r "$QEMU_DIR/guest/dracut/99rctest" "$r/usr/lib/dracut/modules.d/"
	mods="network-legacy rctest" omit=ifcfg
	[ -d "$r/usr/lib/dracut/modules.d/90rootcrypt" ] && mods="$mods rootcrypt"
	[ "$f" = dracut-nosystemd ] && omit="$omit systemd systemd-initrd dracut-systemd"
	in_chroot "$r" dracut --force --no-hostonly --no-early-microcode --kver "$kver" \
		-a "$mods" -o "$omit" /boot/initrd.img-test >"$Q/mkinitrd-$f.log" 2>&1 ||
		{ tail -n 20 "$Q/mkinitrd-$f.log" >&2; die "dracut failed"; }
	;;
*) die "unknown flavour '$f'" ;;
esac
mv "$r/boot/initrd.img-test" "$out"
