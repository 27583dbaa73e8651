#!/bin/sh
# kill -9 of the real binary at random moments, 20 times per layout, then
# a run to the end: cryptsetup must decrypt the result to the original bytes.
# At least one kill must leave the volume mid-conversion, or the test tested
# nothing: while none has, up to 40 more kills follow with the delays doubled
# every 20 (kills that land before the header is written leave it plain).
set -eu
. "$(dirname "$0")/engine-lib.inc"
need cryptsetup mkfs.ext4 e2fsck od
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
printf 'engine-kill-test-key' > "$d/key"
gen_tree "$d/tree"

rand_ms() { echo $(( $(od -An -N2 -tu2 /dev/urandom) % $1 + 1 )); }

kill_loop() { # LAYOUT-ARGS...
	mid=0 i=0 max_ms=40
	while [ $i -lt 20 ] || { [ $mid -eq 0 ] && [ $i -lt 60 ]; }; do
		[ $i -gt 0 ] && [ $((i % 20)) -eq 0 ] && max_ms=$((max_ms * 2))
		"$ROOTCRYPT" encrypt "$img" --key-file "$d/key" --unit 256K --threads 1 "$@" 2>/dev/null &
		pid=$!
		ms=$(rand_ms $max_ms)
		sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
		kill -9 $pid 2>/dev/null || true
		wait $pid 2>/dev/null || true
		if "$ROOTCRYPT" status "$img" "$@" 2>/dev/null | grep -q encrypting; then
			mid=$((mid + 1))
		fi
		i=$((i + 1))
	done
	[ $mid -gt 0 ] || die "kill -9: none of $i kills (up to ${max_ms} ms) left the volume mid-conversion"
	"$ROOTCRYPT" encrypt "$img" --key-file "$d/key" "$@" 2>"$d/err" || { cat "$d/err"; die "final run failed"; }
	echo "kill -9: $i kills, $mid left the volume mid-conversion" >&2
}

img=$d/img
truncate -s 96M "$img"
mkfs.ext4 -q -F -b 4096 -E nodiscard -d "$d/tree" "$img"
len=$(fsize "$img")
orig=$(sha < "$img")
kill_loop
oracle_shift "$img" "$len" "$orig" "$d/key"
fsck_clean "$img.copy" ext4
rm -f "$img" "$img.copy"

truncate -s 96M "$img"
mkfs.ext4 -q -F -b 4096 -E nodiscard -d "$d/tree" "$img"
orig=$(sha < "$img")
kill_loop --header "$d/hdr"
oracle_detached "$img" "$d/hdr" "$len" "$orig" "$d/key"
exit 0
