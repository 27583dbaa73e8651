#!/bin/sh
# GRUB's own grub-install is the oracle for rootcrypt's BIOS core embedding
# (src/boot/bios_core.c, BOOT.md step 6). grub-install (grub2-common; not
# installed on this host) runs from the lab's cached image tree (qemu/
# mkcloudimg.sh's root-cloud, read through an overlay: nothing of the cache
# is written) in a chroot, onto a scratch GPT image on a loop device with a
# BIOS boot partition, as mkcloudimg.sh does. Then:
# - rootcrypt's embedding of the same core.img for L = p14 start gives the
#   same sector 0 byte for byte, and the same core bytes apart from what
#   grub-install adds for Reed-Solomon codes, which rootcrypt does not write
#   (BOOT.md): the blocklist length (GRUB loads its parity sectors too), the
#   redundancy field of the kernel header, and the parity after the core;
# - for L = p14 start + half, only kernel_sector and the blocklist start move;
# - a staged core for B is switched in on the device and reads back; the
#   old core is untouched.
set -eu
. "$(dirname "$0")/engine-lib.inc"
need losetup partx sfdisk mkfs.ext4 unshare chroot cmp od
[ "$(id -u)" = 0 ] || { echo "skip: needs root (loop devices, mount)"; exit 77; }
tree=${ROOTCRYPT_QEMU_CACHE:-${ROOTCRYPT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rootcrypt}/qemu}/root-cloud
have_tree() { [ -x "$tree/usr/sbin/grub-install" ] && [ -f "$tree/usr/lib/grub/i386-pc/boot.img" ]; }
# CI starts from a cold cache and runs this before the QEMU targets build
# the tree: build it here (Debian's packages; minutes, once)
if ! have_tree && [ "${CI:-}" = true ]; then
	echo "building the lab image tree (qemu/mkcloudimg.sh --tree-only)"
	bash "$(dirname "$0")/../../qemu/mkcloudimg.sh" --tree-only >"${TMPDIR:-/tmp}/rootcrypt-tree.log" 2>&1 ||
		{ tail -n 20 "${TMPDIR:-/tmp}/rootcrypt-tree.log"; die "the lab image tree could not be built"; }
fi
have_tree ||
	{ echo "skip: no lab image tree with grub-install at $tree (built by qemu/mkcloudimg.sh --tree-only)"; exit 77; }
d=$(mktemp -d)
loop=
cleanup() {
	[ -n "$loop" ] && { partx -d "$loop" 2>/dev/null || :; losetup -d "$loop" 2>/dev/null || :; }
	rm -rf "$d"
}
trap cleanup EXIT
B=11112222-3333-4444-5555-666677778888
dbg() { "$ROOTCRYPT" debug-bootloader "$@"; }

disk=$d/disk.img
truncate -s 64M "$disk"
printf 'label: gpt\nstart=2048, size=8192, type=21686148-6449-6E6F-744E-656564454649\nstart=10240, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' |
	sfdisk -q "$disk"
dd if="$disk" of="$d/s0-before" bs=512 count=1 status=none
loop=$(losetup -f --show "$disk")
partx -a "$loop"
[ -b "${loop}p2" ] || { echo "skip: no partition nodes for $loop"; exit 77; }
mkfs.ext4 -q -F "${loop}p2"
mkdir -p "$d/up" "$d/work" "$d/root" "$d/out"
# grub-install in the tree, the image's p2 as its /boot; mounts live in a
# private namespace and vanish with it.
unshare --mount --propagation private -- sh -ec '
	t=$1 d=$2 loop=$3
	mount -t overlay overlay -o "lowerdir=$t,upperdir=$d/up,workdir=$d/work" "$d/root"
	mount "${loop}p2" "$d/root/boot"
	mount -t proc proc "$d/root/proc"
	mount -t sysfs sys "$d/root/sys"
	mount --rbind /dev "$d/root/dev"
	chroot "$d/root" grub-install --target=i386-pc "$loop" >"$d/out/log" 2>&1
	cp "$d/root/boot/grub/i386-pc/core.img" "$d/root/boot/grub/i386-pc/boot.img" "$d/out/"
' sh "$tree" "$d" "$loop" || { cat "$d/out/log"; die "grub-install failed"; }
core=$d/out/core.img
size=$(stat -c %s "$core")
sectors=$(((size + 511) / 512))
dd if="$loop" of="$d/grub-s0" bs=512 count=1 status=none
glen=$(od -An -tu2 -j $((2048 * 512 + 0x1fc)) -N2 "$disk" | tr -d ' ')
dd if="$disk" of="$d/grub-core" bs=512 skip=2048 count=$((glen + 1)) status=none

dbg bios-embed "$d/out/boot.img" "$d/s0-before" "$core" 2048 "$d/our-s0" "$d/our-core"
cmp "$d/our-s0" "$d/grub-s0" || die "sector 0 differs from grub-install's"
# every differing byte of the core must be one of GRUB's Reed-Solomon additions
head -c "$(stat -c %s "$d/our-core")" "$d/grub-core" >"$d/grub-core-head"
cmp -l "$d/our-core" "$d/grub-core-head" >"$d/diff" || :
while read -r pos ours theirs; do
	off=$((pos - 1))
	if [ "$off" -ge 508 ] && [ "$off" -le 509 ]; then continue; fi	# blocklist length
	if [ "$off" -ge 528 ] && [ "$off" -le 531 ]; then continue; fi	# redundancy field
	if [ "$off" -ge "$size" ]; then continue; fi			# parity after the core
	die "core byte 0x$(printf %x "$off") differs ($ours vs $theirs): not a Reed-Solomon field"
done <"$d/diff"
[ "$(od -An -tu2 -j $((0x1fc)) -N2 "$d/our-core" | tr -d ' ')" = $((sectors - 1)) ] ||
	die "our blocklist length is not sectors - 1"
[ "$glen" -ge $((sectors - 1)) ] || die "GRUB's blocklist is shorter than the core"
echo "L=2048: sector 0 identical to grub-install's; core identical but for $(wc -l <"$d/diff") Reed-Solomon bytes (GRUB loads $((glen + 1)) sectors, rootcrypt $sectors)"

dbg bios-embed "$d/out/boot.img" "$d/s0-before" "$core" 6144 "$d/half-s0" "$d/half-core"
cmp -l "$d/our-s0" "$d/half-s0" | awk '{ if ($1 < 93 || $1 > 100) bad = 1 } END { exit bad }' ||
	die "L=6144: sector 0 differs outside kernel_sector"
[ "$(od -An -tu8 -j $((0x5c)) -N8 "$d/half-s0" | tr -d ' ')" = 6144 ] || die "kernel_sector not 6144"
cmp -l "$d/our-core" "$d/half-core" | awk '{ if ($1 < 501 || $1 > 508) bad = 1 } END { exit bad }' ||
	die "L=6144: core differs outside the blocklist start"
[ "$(od -An -tu8 -j $((0x1f4)) -N8 "$d/half-core" | tr -d ' ')" = 6145 ] || die "blocklist start not 6145"
echo "L=6144: only kernel_sector and the blocklist start moved"

# the switch on the device itself, from what grub-install left
dbg bios-stage "$tree/usr/lib/grub/i386-pc" "$B" 2 "$d/stage" >/dev/null
out=$(dbg bios-switch "$loop" 2048 8192 "$d/out/boot.img" "$d/stage/core.img")
[ "$(echo "$out" | head -n1)" = "bios switched" ] || die "bios-switch: $out"
dbg bios-embed "$d/out/boot.img" "$d/s0-before" "$d/stage/core.img" 6144 "$d/new-s0" "$d/new-core"
dd if="$loop" bs=512 count=1 status=none | cmp -s - "$d/new-s0" || die "sector 0 after the switch"
dd if="$loop" bs=512 skip=6144 count=$(($(stat -c %s "$d/new-core") / 512)) status=none |
	cmp -s - "$d/new-core" || die "core at L after the switch"
dd if="$loop" bs=512 skip=2048 count=$((glen + 1)) status=none | cmp -s - "$d/grub-core" ||
	die "grub-install's core was touched"
echo "switch on $loop: new core at 6144, sector 0 points at it, the old core untouched"
