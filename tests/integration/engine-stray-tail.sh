#!/bin/sh
# Stray in-progress headers in the last 2 MiB of a plain ext4 (issue 16):
# (1) planted: bytes of someone else's half-done conversion in free blocks at
#     the end of a live file system;
# (2) stale: a conversion interrupted, then the partition reformatted (mkfs
#     without discard keeps the old tail).
# Either way `status` must say plain, `encrypt` must convert the volume
# normally, and stock cryptsetup must decrypt it to the exact original bytes.
set -eu
. "$(dirname "$0")/engine-lib.inc"
need cryptsetup mkfs.ext4 e2fsck debugfs od
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
printf 'owner-key' > "$d/key"
printf 'attacker-key' > "$d/evil"
gen_tree "$d/tree"
MiB=1048576

# half_done IMG KEY: a conversion stopped by an I/O error part-way (the
# test build's fault hook).
half_done() {
	set +e
	ROOTCRYPT_FAULT_AFTER_OPS=40 "$ROOTCRYPT_TEST" encrypt "$1" --key-file "$2" --unit 1M 2>/dev/null
	set -e
	"$ROOTCRYPT" status "$1" | grep -q encrypting || die "could not make a half-done conversion"
}
# has_luks_at IMG OFFSET
has_luks_at() {
	[ "$(od -An -c -j "$2" -N4 "$1" | tr -d ' ')" = "LUKS" ]
}

# (1) planted
truncate -s 64M "$d/evil.img"
mkfs.ext4 -q -F -b 4096 -E nodiscard "$d/evil.img"
half_done "$d/evil.img" "$d/evil"
esize=$(fsize "$d/evil.img")
tail -c $((2 * MiB)) "$d/evil.img" > "$d/plant"
has_luks_at "$d/plant" 0 || die "planted bytes carry no header"

img=$d/img
truncate -s 64M "$img"
mkfs.ext4 -q -F -b 4096 -E nodiscard -d "$d/tree" "$img"
# the last 512 blocks are free space of the file system: that is where the
# bytes go (as the data of a file, or of one deleted)
debugfs -R "testb 15872 512" "$img" 2>/dev/null | grep -q "marked in use" &&
	die "test set-up: the last 2 MiB of the file system are not free"
dd if="$d/plant" of="$img" bs=1M seek=62 conv=notrunc status=none
fsck_clean "$img" ext4
len=$(fsize "$img")
orig=$(sha < "$img")
st=$("$ROOTCRYPT" status --json "$img")
echo "$st" | grep -q "\"state\":\"plain\"" || die "planted tail: status says '$st', not plain"
"$ROOTCRYPT" encrypt "$img" --key-file "$d/key" 2>"$d/err" || { cat "$d/err"; die "encrypt failed"; }
grep -q "ignoring an in-progress LUKS2 header" "$d/err" || die "no line about the ignored header"
oracle_shift "$img" "$len" "$orig" "$d/key"
fsck_clean "$img.copy" ext4
rm -f "$img" "$img.copy"
echo "planted tail ignored; volume converted (evil image $esize bytes)" >&2

# (2) stale after reformat
truncate -s 64M "$img"
mkfs.ext4 -q -F -b 4096 -E nodiscard -d "$d/tree" "$img"
half_done "$img" "$d/key"
size=$(fsize "$img")
mkfs.ext4 -q -F -b 4096 -E nodiscard -d "$d/tree" "$img"
has_luks_at "$img" $((size - 2 * MiB)) || die "test set-up: mkfs wiped the old tail"
len=$(fsize "$img")
orig=$(sha < "$img")
st=$("$ROOTCRYPT" status --json "$img")
echo "$st" | grep -q "\"state\":\"plain\"" || die "stale tail: status says '$st', not plain"
printf 'new-owner-key' > "$d/key2"
"$ROOTCRYPT" encrypt "$img" --key-file "$d/key2" 2>"$d/err" || { cat "$d/err"; die "encrypt failed"; }
oracle_shift "$img" "$len" "$orig" "$d/key2"
fsck_clean "$img.copy" ext4
echo "stale tail after mkfs ignored; volume converted" >&2
exit 0
