#!/bin/sh
# --partition N on whole-disk images (GPT and MBR, made by sfdisk): the
# partition is grown into the free space after it (tables checked by sfdisk
# --verify), the next partition is untouched, and the partition's bytes
# decrypt back to the original file system with cryptsetup.
set -eu
. "$(dirname "$0")/engine-lib.inc"
need cryptsetup mkfs.ext4 e2fsck sfdisk
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
printf 'engine-partition-test-key' > "$d/key"
gen_tree "$d/tree"

geom() { # DISK N -> "start size" in 512-byte sectors
	sfdisk -d "$1" | sed -n "s|^$1$2 *: *start= *\([0-9]*\), *size= *\([0-9]*\).*|\1 \2|p"
}

run_case() { # LABEL
	disk=$d/disk-$1.img
	truncate -s 128M "$disk"
	printf 'label: %s\nstart=2048, size=98304\nstart=204800, size=32768\n' "$1" |
		sfdisk -q "$disk" >/dev/null
	truncate -s 48M "$d/fs.img"
	mkfs.ext4 -q -F -b 4096 -E nodiscard -d "$d/tree" "$d/fs.img"
	dd if="$d/fs.img" of="$disk" bs=1M seek=1 conv=notrunc status=none
	head -c 16M /dev/urandom | dd of="$disk" bs=1M seek=100 conv=notrunc status=none
	orig=$(sha < "$d/fs.img")
	p2=$(dd if="$disk" bs=1M skip=100 count=16 status=none | sha)
	"$ROOTCRYPT" encrypt "$disk" --partition 1 --key-file "$d/key" 2>"$d/err" ||
		{ cat "$d/err"; die "$1: encrypt --partition failed"; }
	grep -q "growing partition 1" "$d/err" || die "$1: partition was not grown"
	sfdisk --verify "$disk" 2>&1 | grep -q '^No errors detected' || die "$1: sfdisk --verify"
	set -- "$1" $(geom "$disk" 1)
	[ "$2" = 2048 ] || die "$1: partition start moved"
	[ "$3" -gt 98304 ] || die "$1: partition did not grow"
	[ "$(dd if="$disk" bs=1M skip=100 count=16 status=none | sha)" = "$p2" ] ||
		die "$1: partition 2 changed"
	"$ROOTCRYPT" status "$disk" --partition 1 | grep -q "encrypted" || die "$1: status"
	dd if="$disk" of="$d/p1.img" bs=512 skip="$2" count="$3" status=none
	oracle_shift "$d/p1.img" $((48 << 20)) "$orig" "$d/key"
	fsck_clean "$d/p1.img.copy" ext4
	rm -f "$disk" "$d/p1.img" "$d/p1.img.copy"
}

run_case gpt
run_case dos
exit 0
