#!/bin/sh
# Shift layout on ext4 and XFS image files, sector sizes 512 and 4096, with a
# file system that fills the file (the file is extended) and one that ends
# early (the free tail is used): cryptsetup must open and decrypt it back to
# the original bytes, fsck must be clean, a rerun must change nothing, and the
# progress lines must only go up.
set -eu
. "$(dirname "$0")/engine-lib.inc"
need cryptsetup mkfs.ext4 e2fsck
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
printf 'engine-shift-test-key' > "$d/key"
gen_tree "$d/tree"

run_case() { # NAME FS SECTOR FSSIZE_MB FILESIZE_MB
	img=$d/$1.img
	rm -f "$img"
	truncate -s "$5M" "$img"
	case $2 in
	ext4) mkfs.ext4 -q -F -b 4096 -E nodiscard -d "$d/tree" "$img" "$4M" ;;
	xfs) TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 mkfs.xfs -q -f -b size=4096 -s size="$3" -d size="$4m" "$img" ;;
	esac
	# what must survive: the file system (the space after it may be used)
	len=$(($4 << 20))
	orig=$(head -c "$len" "$img" | sha)
	"$ROOTCRYPT" encrypt "$img" --key-file "$d/key" --sector-size "$3" 2>"$d/err" ||
		{ cat "$d/err"; die "$1: encrypt failed"; }
	# progress never goes back (a slot read after the reader reused it once did)
	sed -n 's/^rootcrypt: encrypting *\([0-9.]*\)%.*/\1/p' "$d/err" |
		awk 'NR > 1 && $1 + 0 < last + 0 { bad = 1 } { last = $1; n++ } END { exit bad || n < 2 }' ||
		{ cat "$d/err"; die "$1: progress went backwards or was missing"; }
	"$ROOTCRYPT" status "$img" --json | grep -q '"state":"encrypted"' || die "$1: status not encrypted"
	"$ROOTCRYPT" status "$img" --json | grep -q "\"sector_size\":$3" || die "$1: wrong sector size"
	cryptsetup luksDump "$img" | grep -q "sector: $3 \[bytes\]" || die "$1: luksDump sector size"
	after=$(sha < "$img")
	"$ROOTCRYPT" encrypt "$img" --key-file "$d/key" 2>"$d/err" || die "$1: second run failed"
	grep -q "already encrypted" "$d/err" || die "$1: second run did not say already encrypted"
	[ "$(sha < "$img")" = "$after" ] || die "$1: second run changed the image"
	oracle_shift "$img" "$len" "$orig" "$d/key"
	fsck_clean "$img.copy" "$2"
	rm -f "$img" "$img.copy"
}

run_case ext4-full-4k ext4 4096 48 48
run_case ext4-full-512 ext4 512 48 48
run_case ext4-short-4k ext4 4096 40 64
if command -v mkfs.xfs >/dev/null 2>&1; then
	run_case xfs-full-4k xfs 4096 64 64
	run_case xfs-short-512 xfs 512 40 64
fi
exit 0
