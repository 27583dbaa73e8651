#!/bin/sh
# --partition N on a real block device (a loop device with kernel
# partitions, GPT and MBR): the partition is grown in the table and the
# kernel is told (its sysfs size follows the table), so stock cryptsetup
# opens and decrypts the whole volume through the kernel's partition node.
# A kernel left with the old size (a run killed between the grow and the
# resize) is set right by the next run, even on a finished volume.
set -eu
. "$(dirname "$0")/engine-lib.inc"
need cryptsetup mkfs.ext4 e2fsck sfdisk losetup partx resizepart
[ "$(id -u)" = 0 ] || { echo "skip: loop devices need root"; exit 77; }
d=$(mktemp -d)
loop=
trap '[ -z "$loop" ] || losetup -d "$loop"; rm -rf "$d"' EXIT
printf 'engine-partition-blkdev-test-key' > "$d/key"
gen_tree "$d/tree"
truncate -s 48M "$d/fs.img"
mkfs.ext4 -q -F -b 4096 -E nodiscard -d "$d/tree" "$d/fs.img"
orig=$(sha < "$d/fs.img")

table_size() { # DISK N -> size of partition N in the table, 512-byte sectors
	sfdisk -d "$1" | sed -n "s|^$1$2 *: *start= *[0-9]*, *size= *\([0-9]*\).*|\1|p"
}

run_case() { # LABEL
	disk=$d/disk-$1.img
	truncate -s 128M "$disk"
	printf 'label: %s\nstart=2048, size=98304\n' "$1" | sfdisk -q "$disk" >/dev/null
	dd if="$d/fs.img" of="$disk" bs=1M seek=1 conv=notrunc status=none
	loop=$(losetup -f --show -P "$disk" 2>/dev/null) || { echo "skip: no loop device"; exit 77; }
	name=$(basename "$loop")p1
	sys=/sys/class/block/$name
	# A kernel built without this table's parser (CONFIG_EFI_PARTITION,
	# CONFIG_MSDOS_PARTITION) shows no partitions after losetup -P; partx
	# adds them from user space (BLKPG), as the kernel would have.
	[ -e "$sys" ] || partx -a -n 1 "$loop" >/dev/null 2>&1 || true
	[ -e "$sys" ] || { echo "skip: the kernel shows no partitions on $loop"; exit 77; }
	before=$(cat "$sys/size")
	[ "$before" = 98304 ] || die "$1: kernel has $before sectors before, expected 98304"
	node=/dev/$name
	if [ ! -b "$node" ]; then # no devtmpfs node
		node=$d/$name
		mknod "$node" b $(tr ':' ' ' < "$sys/dev")
	fi

	"$ROOTCRYPT" encrypt "$loop" --partition 1 --key-file "$d/key" 2>"$d/err" ||
		{ cat "$d/err"; die "$1: encrypt $loop --partition 1 failed"; }
	grep -q "growing partition 1" "$d/err" || die "$1: partition was not grown"
	after=$(cat "$sys/size")
	table=$(table_size "$disk" 1)
	[ "$table" -gt "$before" ] || die "$1: the table was not grown ($table sectors)"
	[ "$after" = "$table" ] ||
		die "$1: kernel has $after sectors for $name, the table $table"

	cryptsetup luksDump "$node" >/dev/null || die "$1: luksDump $node failed"
	cryptsetup open --test-passphrase --key-file "$d/key" "$node" ||
		die "$1: test-passphrase on $node failed"
	# Everything through the kernel's node: a short node would cut the
	# ciphertext's end off and the decrypted file system would differ.
	dd if="$node" of="$d/p1.img" bs=1M status=none
	[ "$(fsize "$d/p1.img")" = $((table * 512)) ] || die "$1: $node is short"
	oracle_shift "$d/p1.img" $((48 << 20)) "$orig" "$d/key"
	fsck_clean "$d/p1.img.copy" ext4

	# The kernel back at the old size, as after a kill between the grow
	# and the resize: the next run (already encrypted) sets it right.
	resizepart "$loop" 1 "$before"
	[ "$(cat "$sys/size")" = "$before" ] || die "$1: resizepart did not shrink $name"
	"$ROOTCRYPT" encrypt "$loop" --partition 1 --key-file "$d/key" 2>"$d/err" ||
		{ cat "$d/err"; die "$1: second encrypt failed"; }
	grep -q "already encrypted" "$d/err" || die "$1: second run did not find it encrypted"
	[ "$(cat "$sys/size")" = "$table" ] || die "$1: second run left the kernel size stale"

	losetup -d "$loop"
	loop=
	rm -f "$disk" "$d/p1.img" "$d/p1.img.copy"
}

run_case gpt
run_case dos
exit 0
