#!/bin/sh
# The /boot split's boot loader repoint (BOOT.md steps 5 and 6) through the
# hidden `rootcrypt debug-bootloader`, on images made by tools we did not
# write: ESPs from mkfs.vfat (FAT12/16/32) filled by mtools, read back with
# mtype and checked by fsck.vfat; EFI images and BIOS cores from
# grub-mkimage. Refusals (a change that would straddle a sector, a
# fragmented file, a BIOS boot partition too small) must leave the image's
# sha256 as it was. GRUB's own grub-install is the oracle for the BIOS
# embedding in bootloader-grub-oracle.sh.
set -eu
. "$(dirname "$0")/engine-lib.inc"
need mkfs.vfat fsck.vfat mcopy mtype mmd mdel grub-mkimage sfdisk od
[ -f /usr/lib/grub/i386-pc/boot.img ] && [ -d /usr/lib/grub/x86_64-efi ] ||
	{ echo "skip: GRUB platforms missing (grub-pc-bin grub-efi-amd64-bin)"; exit 77; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
R=0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0
B=11112222-3333-4444-5555-666677778888
dbg() { "$ROOTCRYPT" debug-bootloader "$@"; }
img_sha() { sha256sum "$1" | cut -d' ' -f1; }

# expect_refusal WHAT IMG CMD...: CMD fails and IMG is byte-identical.
expect_refusal() {
	what=$1 img=$2
	shift 2
	before=$(img_sha "$img")
	if "$@" >"$d/out" 2>&1; then cat "$d/out"; die "$what: not refused"; fi
	[ "$(img_sha "$img")" = "$before" ] || die "$what: image changed on refusal"
	echo "refused ($what): $(tail -n1 "$d/out")"
}

stub() { # UUID HINT
	printf "search.fs_uuid %s root hd0,gpt%s\nset prefix=(\$root)'/boot/grub'\nconfigfile \$prefix/grub.cfg\n" "$1" "$2"
}

# --- step 5: the grub.cfg stub on FAT12, FAT16 and FAT32 ---
for spec in "12 8192" "16 40960" "32 66000"; do
	set -- $spec
	esp=$d/esp$1.img
	rm -f "$esp"
	mkfs.vfat -C -F "$1" "$esp" "$2" >/dev/null
	mmd -i "$esp" ::/EFI ::/EFI/debian ::/EFI/BOOT
	# a few other files first so the stub is not at the first data cluster
	for i in 1 2 3; do head -c $((i * 3000)) /dev/urandom >"$d/f$i"; mcopy -i "$esp" "$d/f$i" ::/EFI/BOOT/F$i.BIN; done
	stub "$R" 1 >"$d/stub"
	mcopy -i "$esp" "$d/stub" ::/EFI/debian/grub.cfg
	[ "$(dbg esp-find "$esp" EFI/debian/grub.cfg | awk '$1 == "fat" {print $2}')" = "$1" ] ||
		die "FAT$1: esp-find reports another FAT type"
	[ "$(dbg esp-switch "$esp" EFI/debian/grub.cfg "$R" "$B" 2)" = "esp switched" ] ||
		die "FAT$1: stub not switched"
	mtype -i "$esp" ::/EFI/debian/grub.cfg >"$d/got"
	stub "$B" 2 | cmp -s - "$d/got" || { cat "$d/got"; die "FAT$1: mtype shows another stub"; }
	fsck.vfat -n "$esp" >"$d/fsck" 2>&1 || { cat "$d/fsck"; die "FAT$1: fsck.vfat -n not clean"; }
	for i in 1 2 3; do mtype -i "$esp" ::/EFI/BOOT/F$i.BIN | cmp -s - "$d/f$i" || die "FAT$1: F$i changed"; done
	[ "$(dbg esp-switch "$esp" EFI/debian/grub.cfg "$R" "$B" 2)" = "esp unchanged" ] ||
		die "FAT$1: a second switch did something"
	echo "FAT$1: stub switched, mtype and fsck.vfat agree"
done

# --- a stub whose UUID would straddle a sector: refused ---
esp=$d/esp16.img
{ head -c 484 /dev/zero | tr '\0' '#'; printf '\n'; stub "$R" 1; } >"$d/stub2"
mcopy -i "$esp" "$d/stub2" ::/EFI/debian/STRADDLE.CFG
expect_refusal "straddling stub" "$esp" dbg esp-switch "$esp" EFI/debian/STRADDLE.CFG "$R" "$B" 2

# --- a fragmented file: refused (512-byte clusters, a one-cluster hole) ---
esp=$d/frag.img
rm -f "$esp"
mkfs.vfat -C -F 12 -s 1 "$esp" 1800 >/dev/null
head -c 400 /dev/urandom >"$d/one"
mcopy -i "$esp" "$d/one" ::/A.BIN
mcopy -i "$esp" "$d/one" ::/B.BIN
mdel -i "$esp" ::/A.BIN
{ head -c 600 /dev/zero | tr '\0' '#'; printf '\n'; stub "$R" 1; } >"$d/stub3"
mcopy -i "$esp" "$d/stub3" ::/GRUB.CFG
[ "$(dbg esp-find "$esp" GRUB.CFG | awk '$1 == "contiguous" {print $2}')" = no ] ||
	die "mtools did not fragment the file; the test needs a new layout"
expect_refusal "fragmented file" "$esp" dbg esp-switch "$esp" GRUB.CFG "$R" "$B" 2
fsck.vfat -n "$esp" >/dev/null 2>&1 || die "fragmented image not clean after the refusal"

# --- unsigned x86_64-efi GRUB images with the UUID in their embedded config ---
# The config is padded so that R lands inside one sector in one image and
# across a 512-byte boundary in another.
esp=$d/esp32.img
inside='' across=''
for pad in $(seq 0 8 504); do
	{ printf '#%*s\n' "$pad" ''; printf 'search.fs_uuid %s root\nset prefix=($root)/boot/grub\n' "$R"; } >"$d/early.cfg"
	grub-mkimage -O x86_64-efi -d /usr/lib/grub/x86_64-efi -o "$d/efi" -c "$d/early.cfg" \
		-p /boot/grub part_gpt ext2 search_fs_uuid normal configfile
	off=$(grep -abo "$R" "$d/efi" | head -n1 | cut -d: -f1)
	[ -n "$off" ] || die "grub-mkimage image does not hold R uncompressed"
	if [ $((off / 512)) = $(((off + 35) / 512)) ]; then
		[ -n "$inside" ] || { inside=$pad; cp "$d/efi" "$d/efi-inside"; }
	else
		[ -n "$across" ] || { across=$pad; cp "$d/efi" "$d/efi-across"; }
	fi
	[ -n "$inside" ] && [ -n "$across" ] && break
done
[ -n "$inside" ] && [ -n "$across" ] || die "no padding put R both inside and across a sector"
mcopy -i "$esp" "$d/efi-inside" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$esp" "$d/efi-across" ::/EFI/BOOT/ACROSS.EFI
[ "$(dbg esp-switch "$esp" EFI/BOOT/BOOTX64.EFI "$R" "$B" 2)" = "esp switched" ] ||
	die "unsigned image not switched"
sed "s/$R/$B/g" "$d/efi-inside" >"$d/efi-want"
mtype -i "$esp" ::/EFI/BOOT/BOOTX64.EFI | cmp -s - "$d/efi-want" || die "switched image differs from R -> B"
fsck.vfat -n "$esp" >/dev/null 2>&1 || die "ESP not clean after the image switch"
expect_refusal "image UUID across a sector" "$esp" dbg esp-switch "$esp" EFI/BOOT/ACROSS.EFI "$R" "$B" 2
echo "unsigned EFI image: switched (R in one sector), refused (R across a sector)"

# --- step 6: stage a BIOS core, embed and switch it on a GPT image ---
dbg bios-stage /usr/lib/grub/i386-pc "$B" 2 "$d/stage" >"$d/stage.out"
[ "$(awk '$1 == "sha256" {print $2}' "$d/stage.out")" = "$(img_sha "$d/stage/core.img")" ] ||
	die "bios-stage sha256 differs from sha256sum"
grep -qx "search.fs_uuid $B root hd0,gpt2" "$d/stage/load.cfg" || die "load.cfg does not name B"
dbg bios-stage /usr/lib/grub/i386-pc "$R" 1 "$d/old" >/dev/null
disk=$d/disk.img
truncate -s 64M "$disk"
printf 'label: gpt\nstart=2048, size=8192, type=21686148-6449-6E6F-744E-656564454649\nstart=10240, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' |
	sfdisk -q "$disk"
# the "old" install: the old core at p14's start, as grub-setup would place it
dd if="$disk" of="$d/s0" bs=512 count=1 status=none
dbg bios-embed /usr/lib/grub/i386-pc/boot.img "$d/s0" "$d/old/core.img" 2048 "$d/old-s0" "$d/old-core"
dd if="$d/old-s0" of="$disk" bs=512 conv=notrunc status=none
dd if="$d/old-core" of="$disk" bs=512 seek=2048 conv=notrunc status=none
expect_refusal "p14 half too small" "$disk" \
	dbg bios-switch "$disk" 2048 64 /usr/lib/grub/i386-pc/boot.img "$d/stage/core.img"
out=$(dbg bios-switch "$disk" 2048 8192 /usr/lib/grub/i386-pc/boot.img "$d/stage/core.img")
[ "$(echo "$out" | head -n1)" = "bios switched" ] || die "bios-switch: $out"
ks=$(od -An -tu8 -j $((0x5c)) -N8 "$disk" | tr -d ' ')
[ "$ks" = 6144 ] || die "kernel_sector $ks, want 6144"
dbg bios-embed /usr/lib/grub/i386-pc/boot.img "$d/s0" "$d/stage/core.img" 6144 "$d/new-s0" "$d/new-core"
n=$(stat -c %s "$d/new-core")
dd if="$disk" bs=512 skip=6144 count=$((n / 512)) status=none | cmp -s - "$d/new-core" || die "core at L differs"
dd if="$disk" bs=512 count=1 status=none | cmp -s - "$d/new-s0" || die "sector 0 differs"
dd if="$disk" bs=512 skip=2048 count=$(($(stat -c %s "$d/old-core") / 512)) status=none |
	cmp -s - "$d/old-core" || die "old core was touched"
sfdisk --verify "$disk" >/dev/null 2>&1 || die "sfdisk --verify fails after the switch"
[ "$(dbg bios-switch "$disk" 2048 8192 /usr/lib/grub/i386-pc/boot.img "$d/stage/core.img" | head -n1)" = "bios unchanged" ] ||
	die "second bios-switch did something"
echo "BIOS: core staged, switched to L=6144, rerun unchanged"
