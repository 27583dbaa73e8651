#!/bin/sh
# `rootcrypt enroll --undo` on a root encrypted with the detached layout
# (issue 15): the root partition holds no LUKS2 header (it is a file on
# the header's file system, /boot), so the partition alone reads as plain.
# --undo must find the header where the system has header_device mounted,
# say the root is encrypted and how to decrypt it offline with that header
# file, and keep what the next boot needs (config, header file, initramfs,
# GRUB), writing nothing. With the header's file system unmounted it cannot
# tell, so it refuses and changes nothing. The offline decryption it names
# works, and, the header file deleted as it says, --undo on the decrypted
# root then removes the enrolment.
set -eu
. "$(dirname "$0")/engine-lib.inc"
[ "$(id -u)" = 0 ] || { echo "skip: needs root for a loop device and a mount"; exit 77; }
need losetup mount umount mkfs.ext4 sha256sum
bb=$(command -v busybox) || { echo "skip: busybox missing"; exit 77; }
file -L "$bb" | grep -q "statically linked" || { echo "skip: busybox not static"; exit 77; }

t=$(mktemp -d)
lb=
cleanup() {
	umount "$t/boot" 2>/dev/null || :
	[ -z "$lb" ] || losetup -d "$lb" 2>/dev/null || :
	rm -rf "$t"
}
trap cleanup EXIT INT TERM

# the root: an image file (the configured device by its path); /boot: an
# ext4 on a loop device, mounted, holding the header file
gen_tree "$t/tree"
mkfs.ext4 -q -F -b 4096 -d "$t/tree" "$t/root.img" 48M
orig=$(sha <"$t/root.img")
mkfs.ext4 -q -F "$t/boot.img" 16M
lb=$(losetup -f --show "$t/boot.img")
mkdir -p "$t/boot" "$t/sys/etc/default" "$t/sys/bin" "$t/sys/usr/sbin" \
	"$t/sys/usr/share/initramfs-tools/hooks" "$t/sys/tmp"
# the enrolled system: GRUB's root=, and an initramfs generator that logs
# (in the chroot) that it ran
cp "$bb" "$t/sys/bin/busybox"
ln -s busybox "$t/sys/bin/sh"
printf '#!/bin/sh\necho "update-initramfs $*" >>/log\n' >"$t/sys/usr/sbin/update-initramfs"
chmod +x "$t/sys/usr/sbin/update-initramfs"
: >"$t/sys/usr/share/initramfs-tools/hooks/rootcrypt"
printf 'GRUB_CMDLINE_LINUX="console=ttyS0 root=/dev/mapper/root rd.neednet=1"\n' >"$t/sys/etc/default/grub"
mount "$lb" "$t/boot"
hdr=$t/boot/rootcrypt-header.img
cat >"$t/sys/etc/rootcrypt.conf" <<CONF
device = $t/root.img
vault = https://x.vault.azure.net
layout = detached
header = /rootcrypt-header.img
header_device = $lb
name = root
CONF
head -c 48 /dev/urandom | base64 -w0 >"$t/pass"
"$ROOTCRYPT" encrypt "$t/root.img" --layout detached --header "$hdr" --key-file "$t/pass" \
	>"$t/enc.out" 2>&1 || { cat "$t/enc.out"; die "rootcrypt encrypt --layout detached failed"; }
"$ROOTCRYPT" status "$t/root.img" --header "$hdr" | head -n1 | grep -q ': encrypted$' ||
	die "the root is not encrypted"
# the partition alone: no header there, so it reads as plain
"$ROOTCRYPT" status "$t/root.img" | head -n1 | grep -q ': plain$' ||
	die "control: the root image without its header does not read as plain"
state() { (cd "$t/sys" && find . -printf '%p %y %s %T@\n' | sort && cat etc/rootcrypt.conf etc/default/grub) | sha; }
sys0=$(state) root0=$(sha <"$t/root.img") hdr0=$(sha <"$hdr")
unchanged() { # WHAT
	[ "$(state)" = "$sys0" ] || die "$1 changed the tree (config, GRUB, initramfs)"
	[ "$(sha <"$t/root.img")" = "$root0" ] || die "$1 wrote the root"
	[ -f "$hdr" ] && [ "$(sha <"$hdr")" = "$hdr0" ] || die "$1 changed or removed the header file"
}

for arg in --dry-run ""; do
	rc=0
	"$ROOTCRYPT" enroll --root "$t/sys" --undo $arg >"$t/out" 2>"$t/err" || rc=$?
	[ "$rc" = 1 ] || { cat "$t/out" "$t/err"; die "--undo $arg on a detached encrypted root: rc=$rc, want 1"; }
	grep -qF "the root partition $t/root.img is encrypted (LUKS2 " "$t/out" &&
		grep -qF "header file $hdr): rootcrypt cannot decrypt it from the running system" "$t/out" &&
		grep -qF "cryptsetup reencrypt --decrypt --header $hdr $t/root.img" "$t/out" &&
		grep -qF "kept: /etc/rootcrypt.conf, the initramfs, GRUB's root=/dev/mapper/root and the header file $hdr" "$t/out" ||
		{ cat "$t/out"; die "--undo $arg on a detached encrypted root does not say what it cannot undo"; }
	[ "$(wc -l <"$t/err")" = 1 ] && grep -q 'the root is encrypted, nothing else was changed' "$t/err" ||
		{ cat "$t/err"; die "--undo $arg: not one line on stderr"; }
	unchanged "--undo $arg"
done
cp "$t/out" "$t/out.enc"
echo "detached + encrypted: --undo finds the header on header_device's mount, says so, keeps config and header"

# the header's file system not mounted: it cannot tell; refuses, changes nothing
umount "$t/boot"
rc=0
"$ROOTCRYPT" enroll --root "$t/sys" --undo >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" = 1 ] && grep -q 'detached layout and its header file "/rootcrypt-header.img" on .* cannot be reached here' "$t/err" ||
	{ cat "$t/out" "$t/err"; die "--undo without the header's file system: rc=$rc, no refusal"; }
mount "$lb" "$t/boot"
unchanged "--undo without the header's file system"
echo "detached, header's file system unmounted: --undo refuses, nothing changed"

if command -v cryptsetup >/dev/null; then
	# the command --undo printed, with the passphrase (and no prompt)
	cmd=$(sed -n 's/^ *\(cryptsetup reencrypt --decrypt .*\)$/\1/p' "$t/out.enc")
	$cmd --force-offline-reencrypt --key-file "$t/pass" -q >"$t/dec.out" 2>&1 ||
		{ cat "$t/dec.out"; die "stock cryptsetup cannot decrypt as --undo says ($cmd)"; }
	[ "$(sha <"$t/root.img")" = "$orig" ] || die "the decrypted root differs from the original"
	grep -qF "then delete that header file (cryptsetup leaves it behind), then \`rootcrypt enroll --undo\`" "$t/out.enc" ||
		{ cat "$t/out.enc"; die "--undo does not say to delete the header file after decrypting"; }
	rm "$hdr"
	"$ROOTCRYPT" enroll --root "$t/sys" --undo >"$t/out" 2>"$t/err" ||
		{ cat "$t/out" "$t/err"; die "--undo on the decrypted root failed"; }
	[ ! -e "$t/sys/etc/rootcrypt.conf" ] || die "--undo on the decrypted root kept the config"
	grep -q '^update-initramfs' "$t/sys/log" || die "--undo on the decrypted root did not rebuild the initramfs"
	echo "decrypted offline as --undo says (original bytes back); --undo then removed the config"
else
	echo "offline decryption skipped: no cryptsetup"
fi
