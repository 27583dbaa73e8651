#!/bin/sh
# Step 1 of the /boot split (src/boot/bootsplit_shrink.c, BOOT.md "Shrink")
# on loop devices, with e2fsprogs as the oracle: the shrink happens only
# when nothing has to move; a refusal writes nothing; and a power cut inside
# resize2fs, emulated from resize2fs's own writes, is finished by the next
# run with every file intact.
#
# The cut model (BOOT.md): resize2fs first sets the error state in the
# primary superblock and flushes; then writes bitmaps, descriptors and
# backup superblocks through a write-back cache in any order; flushes; and
# writes the primary superblock last. So a cut leaves: the error state in
# the primary superblock, plus any subset of resize2fs's other writes.
# The states are built from the difference between the image before and
# after a real resize2fs run, 1 KiB block by block.
set -eu
. "$(dirname "$0")/engine-lib.inc"
need mke2fs e2fsck resize2fs debugfs dumpe2fs losetup blkid cmp
d=${KEEP_DIR:-$(mktemp -d)}
loop=
trap '[ -z "$loop" ] || losetup -d "$loop"; [ -n "${KEEP_DIR:-}" ] || rm -rf "$d"' EXIT
P=11111111-2222-3333-4444-555555555555
B=66666666-7777-8888-9999-aaaaaaaaaaaa
F=$((200 * 1048576))

attach() {
	loop=$(losetup -f --show "$1" 2>/dev/null) || { echo "skip: no loop device"; exit 77; }
}
detach() { losetup -d "$loop"; loop=; }
# shrink IMG [UUID]: debug-shrink on a loop device over IMG; sets rc.
shrink() {
	attach "$1"
	rc=0
	"$ROOTCRYPT" debug-shrink "$loop" "${2:-$U}" "$P" "$B" "$F" >"$d/out" 2>&1 || rc=$?
	detach
}
fs_end() {
	bs=$(dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Block size: *//p')
	bc=$(dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Block count: *//p')
	echo $((bs * bc))
}
manifest() {
	rm -rf "$d/dump" && mkdir "$d/dump"
	debugfs -R "rdump / $d/dump" "$1" >/dev/null 2>&1
	( cd "$d/dump" && find . -type f ! -path './lost+found/*' | sort | xargs -r sha256sum )
}
imgsha() { sha256sum < "$1" | cut -d' ' -f1; }
# finished IMG WHAT: the file system ends within F, is clean, files intact.
finished() {
	[ "$rc" = 0 ] || { cat "$d/out"; die "$2: shrink failed (rc $rc)"; }
	[ "$(fs_end "$1")" -le "$F" ] || die "$2: the file system still ends at $(fs_end "$1")"
	e2fsck -fn "$1" >"$d/fsck" 2>&1 || { cat "$d/fsck"; die "$2: e2fsck -fn not clean"; }
	[ "$(manifest "$1")" = "$want" ] || die "$2: files changed"
}

# 300 MiB, Debian's mke2fs defaults for that size (1 KiB blocks): the data
# sits below 147 MiB (the journal in the middle), so F = 200 MiB is free.
mkdir -p "$d/tree/boot/grub" "$d/tree/etc"
gen_tree "$d/tree/data"
head -c 3000000 /dev/urandom > "$d/tree/boot/vmlinuz"
echo "UUID=x / ext4 defaults 0 1" > "$d/tree/etc/fstab"
truncate -s 300M "$d/img"
mke2fs -q -t ext4 -d "$d/tree" -F "$d/img"
U=$(blkid -s UUID -o value "$d/img")
want=$(manifest "$d/img")

# 1. Shrinks, leaves the record, and a second run changes nothing.
cp --sparse=always "$d/img" "$d/a"
shrink "$d/a"
finished "$d/a" "shrink"
[ "$(tail -c 4096 "$d/a" | head -c 8)" = RCBSPLIT ] || die "no intent record at the end"
s=$(imgsha "$d/a")
shrink "$d/a"
[ "$rc" = 0 ] && grep -q "already ends" "$d/out" || { cat "$d/out"; die "second run"; }
[ "$(imgsha "$d/a")" = "$s" ] || die "a second run wrote"
echo "ok: shrunk to $(($(fs_end "$d/a") >> 20)) MiB, record kept, rerun a no-op"

# 2. Data beyond F: refused before anything is written.
cp --sparse=always "$d/img" "$d/b"
s=$(imgsha "$d/b")
F=$((100 * 1048576)) shrink "$d/b"
[ "$rc" != 0 ] && grep -q "cannot shrink it" "$d/out" || { cat "$d/out"; die "data in the tail not refused"; }
[ "$(imgsha "$d/b")" = "$s" ] || die "the refused shrink wrote to the image"
echo "ok: data in the tail refused, image unchanged: $(grep -o 'the last.*hold [a-z ]*' "$d/out")"

# 3. Another file system than planned: refused, nothing written.
shrink "$d/b" 01234567-89ab-cdef-0123-456789abcdef
[ "$rc" != 0 ] && grep -q "another file system" "$d/out" || { cat "$d/out"; die "UUID not checked"; }
[ "$(imgsha "$d/b")" = "$s" ] || die "the refused shrink wrote to the image"
echo "ok: another file system refused, image unchanged"

# 4. Cuts inside resize2fs. pre: e2fsck'd and the record written, resize2fs
# not yet run (a resize2fs that fails at once, first in PATH).
mkdir "$d/bin"
printf '#!/bin/sh\nexit 1\n' > "$d/bin/resize2fs"
chmod +x "$d/bin/resize2fs"
cp --sparse=always "$d/img" "$d/pre"
PATH="$d/bin:$PATH" shrink "$d/pre"
[ "$rc" != 0 ] && [ "$(tail -c 4096 "$d/pre" | head -c 8)" = RCBSPLIT ] ||
	{ cat "$d/out"; die "pre state: no record before resize2fs"; }
cp --sparse=always "$d/pre" "$d/post"
attach "$d/post"
resize2fs "$loop" "$((F / 1024))K" >/dev/null 2>&1 || die "resize2fs on the post copy"
detach
cp --sparse=always "$d/pre" "$d/err"
debugfs -w -R "ssv state 2" "$d/err" >/dev/null 2>&1
[ "$(dumpe2fs -h "$d/err" 2>/dev/null | sed -n 's/^Filesystem state: *//p')" != clean ] ||
	die "could not set the error state"
# 1 KiB blocks resize2fs changed, but the primary superblock (block 1)
cmp -l "$d/pre" "$d/post" | awk '{ b = int(($1 - 1) / 1024); if (b != 1 && b != last) print b; last = b }' \
	> "$d/changed" || true
n=$(wc -l < "$d/changed")
[ "$n" -gt 0 ] || die "resize2fs changed nothing but the superblock?"
cuts=0
for seed in 0 1 2 3 4 5 6 7; do
	cp --sparse=always "$d/err" "$d/cut"
	# seed 0: all of them (the cut came just before the primary superblock)
	awk -v s="$seed" 'BEGIN { srand(s) } s == 0 || rand() < 0.5' "$d/changed" |
		while read -r b; do
			dd if="$d/post" of="$d/cut" bs=1024 skip="$b" seek="$b" count=1 conv=notrunc \
				status=none
		done
	shrink "$d/cut"
	finished "$d/cut" "cut $seed"
	cuts=$((cuts + 1))
done
echo "ok: $cuts cuts inside resize2fs ($n blocks written by it) finished by the next run, files intact"

# 5. The same cut without our record (someone else's resize2fs died):
# e2fsck -p alone decides. It stops on the broken descriptors; rootcrypt
# then refuses and runs nothing else, and the operator's `e2fsck -fy` gets
# every file back (nothing of ours touched the data).
cp --sparse=always "$d/err" "$d/norec"
awk 'BEGIN { srand(3) } rand() < 0.5' "$d/changed" | while read -r b; do
	dd if="$d/post" of="$d/norec" bs=1024 skip="$b" seek="$b" count=1 conv=notrunc status=none
done
dd if=/dev/zero of="$d/norec" bs=4096 seek=$((300 * 256 - 1)) count=1 conv=notrunc status=none
shrink "$d/norec"
if [ "$rc" = 0 ]; then
	finished "$d/norec" "cut without record"
	echo "ok: cut without a record: e2fsck -p repaired it and the shrink finished"
else
	grep -q "no interrupted shrink of ours" "$d/out" || { cat "$d/out"; die "cut without record: rc $rc"; }
	! grep -q "shrinking the root" "$d/out" || die "cut without record: resize2fs ran"
	e2fsck -fy "$d/norec" >/dev/null 2>&1 || [ $? -lt 4 ] || die "e2fsck -fy after the refusal"
	[ "$(manifest "$d/norec")" = "$want" ] || die "cut without record: files changed"
	echo "ok: cut without a record: refused after e2fsck -p ($(grep -o 'exit [0-9]*' "$d/out" | head -1)), resize2fs not run, e2fsck -fy gives every file back"
fi
