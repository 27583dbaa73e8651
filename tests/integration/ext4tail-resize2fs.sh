#!/bin/sh
# The /boot split's shrink rule (src/disk/ext4tail.c, BOOT.md "Shrink")
# against e2fsprogs, which we did not write. Images made by mke2fs (Debian's
# defaults, flex_bg off, 32-byte descriptors, 1 KiB and 4 KiB blocks), with
# data placed at the end, inodes in a late group, and an early group's inode
# table moved late. For every target end F the check passes, a sparse copy
# is shrunk with `resize2fs -d 14` (block moves, inode moves, inode-table
# moves): it must print no relocation, `e2fsck -fn` must be clean, and every
# file must keep its inode, its blocks and its bytes. Where the check says a
# block of data lies beyond F, resize2fs must indeed move something.
# Also measures how much of a fresh file system's end is free (BOOT.md open
# question 1) and prints it.
set -eu
. "$(dirname "$0")/engine-lib.inc"
need mke2fs debugfs resize2fs e2fsck dumpe2fs
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT

tail_info() { "$ROOTCRYPT" debug-ext4tail "$1" | awk -v k="$2" '$1 == k { print $2; exit }'; }
verdict() { "$ROOTCRYPT" debug-ext4tail "$1" "$2" | awk '$1 == "check" { print $3 }'; }

# manifest IMG: inode number and extents of every file of the tree the
# image was made from (one debugfs run), and the sha256 of every file in it.
manifest() {
	( cd "$d/tree" && find . -type f | sed 's/^\.//' | sort ) |
		sed 's/.*/stat &\nblocks &/' > "$d/mcmds"
	debugfs -f "$d/mcmds" "$1" 2>/dev/null | grep -E '^(debugfs:|Inode:|[0-9 ]+$)' |
		sed 's/ *Type:.*//'
	rm -rf "$d/dump" && mkdir "$d/dump"
	debugfs -R "rdump / $d/dump" "$1" >/dev/null 2>&1
	( cd "$d/dump" && find . -type f | sort | xargs -r sha256sum )
}

moves() { grep -Eq '^(Moving [0-9]+ blocks|Inode moved|ino=)|^Itable move.*diff -?[1-9]' "$1"; }

passes=0 fails=0
# oracle IMG F: when the check passes at F, resize2fs moves nothing and
# the copy is clean with every file as it was; when it fails on a data
# block beyond F, resize2fs moves something (or gives up).
oracle() {
	v=$(verdict "$1" "$2")
	cp --sparse=always "$1" "$d/copy"
	rc=0
	resize2fs -f -d 14 "$d/copy" "$(($2 / 1024))K" >"$d/log" 2>&1 || rc=$?
	case $v in
	pass)
		passes=$((passes + 1))
		[ "$rc" = 0 ] || { cat "$d/log"; die "$1 F=$2: check passed, resize2fs failed"; }
		! moves "$d/log" || { grep -m5 -E '^(Moving|Inode|ino=|Itable)' "$d/log";
			die "$1 F=$2: check passed but resize2fs relocated"; }
		e2fsck -fn "$d/copy" >"$d/fsck" 2>&1 || { cat "$d/fsck"; die "$1 F=$2: e2fsck after resize"; }
		bs=$(dumpe2fs -h "$d/copy" 2>/dev/null | sed -n 's/^Block size: *//p')
		bc=$(dumpe2fs -h "$d/copy" 2>/dev/null | sed -n 's/^Block count: *//p')
		[ $((bs * bc)) -le "$2" ] || die "$1 F=$2: resized to $((bs * bc)), beyond F"
		[ "$(manifest "$d/copy")" = "$(manifest "$1")" ] || die "$1 F=$2: files changed"
		;;
	fail)
		fails=$((fails + 1))
		if "$ROOTCRYPT" debug-ext4tail "$1" "$2" | grep -q '^check.* a block of data'; then
			moves "$d/log" || [ "$rc" != 0 ] ||
				die "$1 F=$2: check found data beyond F, resize2fs moved nothing"
		fi
		;;
	*) die "$1 F=$2: no verdict" ;;
	esac
	rm -f "$d/copy"
}

# sweep IMG FROM TO STEP (bytes)
sweep() {
	f=$2
	while [ "$f" -lt "$3" ]; do
		oracle "$1" "$f"
		f=$((f + $4))
	done
}

# data_at_end IMG SIZE MKE2FS-OPTIONS...: a filler file takes the front,
# a file written after it lands near the end, the filler is removed.
data_at_end() {
	img=$1 size=$2
	shift 2
	rm -rf "$d/tree" && mkdir -p "$d/tree/dir"
	tr '\0' x < /dev/zero | head -c $((size * 3 / 4)) > "$d/tree/aaa-filler"
	head -c 3000000 /dev/urandom > "$d/tree/dir/zz-last"
	echo small > "$d/tree/dir/small"
	truncate -s "$size" "$img"
	mke2fs -q -F -t ext4 "$@" -d "$d/tree" "$img"
	debugfs -w -R "rm /aaa-filler" "$img" >/dev/null 2>&1
	rm "$d/tree/aaa-filler"
	# punch the freed filler out of the image file: copies stay cheap
	e2fsck -fy -E discard "$img" >/dev/null 2>&1 || true
	e2fsck -fn "$img" >/dev/null 2>&1 || die "$img: not clean after setup"
}

M=1048576

# 1. data at the end, 1 KiB blocks (Debian's "small" type), flex_bg on/off
for opts in "" "-O ^flex_bg" "-O ^64bit"; do
	data_at_end "$d/small.img" $((96 * M)) $opts
	floor_at=$(tail_info "$d/small.img" floor_at)
	min=$(tail_info "$d/small.img" min_end)
	echo "1 KiB blocks ${opts:-default}: data up to block $floor_at, min_end $min"
	[ "$min" -gt $((floor_at * 1024)) ] || die "min_end below the last data block"
	[ "$(verdict "$d/small.img" "$min")" = pass ] || die "min_end does not pass"
	oracle "$d/small.img" "$min"
	oracle "$d/small.img" $((floor_at * 1024)) # the last data block is beyond: must move
	sweep "$d/small.img" $((floor_at * 1024 - 24 * M)) $((96 * M)) $((4 * M + 5120))
done

# 2. 4 KiB blocks, 16 MiB groups
data_at_end "$d/big.img" $((200 * M)) -b 4096 -g 4096
floor_at=$(tail_info "$d/big.img" floor_at)
sweep "$d/big.img" $((floor_at * 4096 - 40 * M)) $((200 * M)) $((5 * M + 12288))

# 3. inodes in use in a late group (few inodes per group, early ones freed)
rm -rf "$d/tree" && mkdir -p "$d/tree"
i=100
while [ $i -lt 200 ]; do : > "$d/tree/f$i"; i=$((i + 1)); done
truncate -s $((64 * M)) "$d/ino.img"
mke2fs -q -F -t ext4 -N 256 -d "$d/tree" "$d/ino.img"
i=100
while [ $i -lt 140 ]; do echo "rm /f$i"; rm "$d/tree/f$i"; i=$((i + 1)); done > "$d/cmds"
debugfs -w -f "$d/cmds" "$d/ino.img" >/dev/null 2>&1
"$ROOTCRYPT" debug-ext4tail "$d/ino.img" | grep -q '^floor_why a group with inodes in use' ||
	die "ino.img: the late group's inodes were not seen"
sweep "$d/ino.img" $((8 * M)) $((64 * M)) $((4 * M + 3072))
g3=$(( $(tail_info "$d/ino.img" floor_at) * 1024 ))
[ "$(verdict "$d/ino.img" "$g3")" = fail ] || die "ino.img: F at the late group's start passed"
oracle "$d/ino.img" "$g3"
grep -q '^Inode moved' "$d/log" || die "ino.img: resize2fs moved no inode where the check refused"

# 4. an early group's inode table moved to the end (flex_bg allows it; a
# resized file system can have it): F below it must be refused.
rm -rf "$d/tree" && mkdir -p "$d/tree" && echo hi > "$d/tree/hello"
truncate -s $((64 * M)) "$d/late.img"
mke2fs -q -F -t ext4 -d "$d/tree" "$d/late.img"
it=$(dumpe2fs "$d/late.img" 2>/dev/null | sed -n '/^Group 1:/,/^Group 2:/s/^ *Inode table at \([0-9]*\)-\([0-9]*\).*/\1 \2/p')
set -- $it
n=$(($2 - $1 + 1))
printf 'set_bg 1 inode_table 60000\nset_bg 1 checksum calc\nsetb 60000 %s\nfreeb %s %s\n' \
	"$n" "$1" "$n" > "$d/cmds"
debugfs -w -f "$d/cmds" "$d/late.img" >/dev/null 2>&1
e2fsck -fy "$d/late.img" >/dev/null 2>&1 || true # free counts only
e2fsck -fn "$d/late.img" >/dev/null 2>&1 || die "late.img: not clean after moving the table"
out=$("$ROOTCRYPT" debug-ext4tail "$d/late.img" $((40 * M)))
echo "$out" | grep -q '^check .* fail .* at 60000 the inode table of a group that stays' ||
	{ echo "$out"; die "late.img: the late inode table was not refused"; }
oracle "$d/late.img" $((40 * M))
grep -Eq '^Itable move group 1 block 60000->' "$d/log" ||
	die "late.img: resize2fs did not move the table the check refused for"
sweep "$d/late.img" $((8 * M)) $((64 * M)) $((5 * M + 1024))

# 5. meta_bg: refused with the reason
truncate -s $((64 * M)) "$d/meta.img"
mke2fs -q -F -t ext4 -O meta_bg,^resize_inode "$d/meta.img"
set +e
"$ROOTCRYPT" debug-ext4tail "$d/meta.img" >/dev/null 2>"$d/err"
rc=$?
set -e
[ "$rc" = 1 ] && grep -q 'meta_bg' "$d/err" || { cat "$d/err"; die "meta_bg not refused (exit $rc)"; }

# 6. fresh file systems with Debian 12's default features: how much of the
# end holds neither data nor metadata of a group that stays
rm -rf "$d/tree" && mkdir -p "$d/tree"
for g in 1 4 30; do
	rm -f "$d/fresh.img"
	truncate -s "${g}G" "$d/fresh.img"
	mke2fs -q -F -t ext4 "$d/fresh.img"
	min=$(tail_info "$d/fresh.img" min_end)
	echo "fresh ${g} GiB ext4: $(( (g * 1024 * M - min) / M )) MiB free at the end" \
	     "(first blocker: $(tail_info "$d/fresh.img" floor_why | head -c 20)... at block" \
	     "$(tail_info "$d/fresh.img" floor_at))"
	oracle "$d/fresh.img" "$min"
	[ "$g" != 1 ] || oracle "$d/fresh.img" $(( $(tail_info "$d/fresh.img" floor_at) * 4096 ))
	rm -f "$d/fresh.img"
done

echo "$passes verdicts 'pass' held by resize2fs, $fails 'fail'"
[ "$passes" -ge 20 ] && [ "$fails" -ge 20 ] || die "too few cases on one side"
