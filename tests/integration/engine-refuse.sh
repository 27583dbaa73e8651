#!/bin/sh
# Bad input: each refusal is one line on stderr, exit 1 (2 for usage), and
# leaves the image byte-identical. An injected I/O error midway leaves a
# resumable volume that stock cryptsetup refuses, a wrong key is refused on
# resume, and the right key finishes it.
set -eu
. "$(dirname "$0")/engine-lib.inc"
need cryptsetup mkfs.ext4 mkswap sfdisk
d=$(mktemp -d)
loop=
trap '[ -z "$loop" ] || losetup -d "$loop"; rm -rf "$d"' EXIT
printf 'engine-refuse-key' > "$d/key"
printf 'wrong-key' > "$d/wrong"
: > "$d/empty"
gen_tree "$d/tree"

mkimg() {
	rm -f "$1"
	truncate -s 48M "$1"
	mkfs.ext4 -q -F -b 4096 -E nodiscard -d "$d/tree" "$1"
}

# refused NAME REGEX EXPECTED_EXIT FILE... -- ARGS...
refused() {
	name=$1 re=$2 want=$3
	shift 3
	files=
	while [ "$1" != -- ]; do files="$files $1"; shift; done
	shift
	before=$(cat $files | sha)
	set +e
	"$ROOTCRYPT" "$@" 2>"$d/err"
	rc=$?
	set -e
	[ "$rc" = "$want" ] || { cat "$d/err"; die "$name: exit $rc, expected $want"; }
	[ "$want" = 2 ] || [ "$(wc -l < "$d/err")" = 1 ] || { cat "$d/err"; die "$name: not one line"; }
	grep -q "$re" "$d/err" || { cat "$d/err"; die "$name: message does not match '$re'"; }
	[ "$(cat $files | sha)" = "$before" ] || die "$name: the disk changed"
}

img=$d/img
mkimg "$img"
refused no-key-file "key-file is required" 2 "$img" -- encrypt "$img"
refused missing-key "cannot open key file" 1 "$img" -- encrypt "$img" --key-file "$d/nope"
refused empty-key "is empty" 1 "$img" -- encrypt "$img" --key-file "$d/empty"
refused bad-layout "unknown layout" 2 "$img" -- encrypt "$img" --layout zigzag --key-file "$d/key"
refused detached-no-header "needs --header" 2 "$img" -- encrypt "$img" --layout detached --key-file "$d/key"
refused not-a-device "neither a block device" 1 "$img" -- encrypt /dev/null --key-file "$d/key"
truncate -s 64K "$d/tiny"
refused too-small "too small" 1 "$d/tiny" -- encrypt "$d/tiny" --key-file "$d/key"

# someone else's LUKS (LUKS2 and LUKS1), in both layouts
for type in luks2 luks1; do
	truncate -s 32M "$d/luks"
	cryptsetup luksFormat -q --type $type --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
		--key-file "$d/key" "$d/luks" 2>/dev/null
	refused "already-$type" "already LUKS" 1 "$d/luks" -- encrypt "$d/luks" --key-file "$d/key"
	refused "already-$type-detached" "already LUKS" 1 "$d/luks" -- encrypt "$d/luks" \
		--layout detached --header "$d/h-$type" --key-file "$d/key"
	[ ! -e "$d/h-$type" ] || die "header file created for a refused target"
	"$ROOTCRYPT" status "$d/luks" | grep -q "not a rootcrypt volume" || die "status of foreign LUKS"
	rm -f "$d/luks"
done
truncate -s 32M "$d/swap"
mkswap -q "$d/swap"
refused swap "swap signature" 1 "$d/swap" -- encrypt "$d/swap" --key-file "$d/key"

# an existing non-LUKS header file is never overwritten
echo "precious" > "$d/precious"
refused header-exists "not a LUKS2 header" 1 "$img" "$d/precious" -- encrypt "$img" \
	--layout detached --header "$d/precious" --key-file "$d/key"

# no room: partition 1 is followed at once by partition 2 and its ext4 fills it
truncate -s 96M "$d/disk"
printf 'label: gpt\nstart=2048, size=98304\nstart=100352, size=32768\n' | sfdisk -q "$d/disk" >/dev/null
dd if="$img" of="$d/disk" bs=1M seek=1 conv=notrunc status=none
refused no-room "lacks 18874368 bytes.*--layout detached" 1 "$d/disk" -- encrypt "$d/disk" \
	--partition 1 --key-file "$d/key"
refused no-partition "has no partition 7" 1 "$d/disk" -- encrypt "$d/disk" --partition 7 \
	--key-file "$d/key"
# a whole disk without --partition: its partition table (and every
# partition, an EFI system partition among them) is not encrypted
refused whole-disk-gpt "partition table (GPT).*--partition N" 1 "$d/disk" -- encrypt "$d/disk" \
	--key-file "$d/key"
refused whole-disk-gpt-detached "partition table (GPT)" 1 "$d/disk" -- encrypt "$d/disk" \
	--layout detached --header "$d/h-disk" --key-file "$d/key"
truncate -s 64M "$d/mbr"
printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q "$d/mbr" >/dev/null
refused whole-disk-mbr "partition table (MBR)" 1 "$d/mbr" -- encrypt "$d/mbr" --key-file "$d/key"
"$ROOTCRYPT" status "$d/mbr" | grep -q "partition table (MBR)" || die "status of a whole MBR disk"

# attached to a loop device (possibly mounted through it)
if loop=$(losetup -f --show "$img" 2>/dev/null); then
	refused attached "in use (attached to" 1 "$img" -- encrypt "$img" --key-file "$d/key"
	# status only reads: it works while the kernel holds the device (on an
	# encrypted system dm-crypt does; here a mount of the plain file system)
	mkdir -p "$d/mnt"
	if mount -o ro "$loop" "$d/mnt" 2>/dev/null; then
		refused mounted "in use (mounted)" 1 "$img" -- encrypt "$loop" --key-file "$d/key"
		st=$("$ROOTCRYPT" status --json "$loop" 2>"$d/err") || { umount "$d/mnt"; cat "$d/err"; die "status of a held device failed"; }
		umount "$d/mnt"
		echo "$st" | grep -q '"state":"plain"' || die "status of a held device: $st"
	else
		echo "no ext4 mount on this host: held-device status not checked" >&2
	fi
	losetup -d "$loop"
	loop=
fi

# I/O error midway (a test hook: the test build), then a wrong key, then the right one
orig_len=$(fsize "$img")
orig=$(sha < "$img")
set +e
ROOTCRYPT_FAULT_AFTER_OPS=40 "$ROOTCRYPT_TEST" encrypt "$img" --key-file "$d/key" --unit 1M 2>"$d/err"
rc=$?
set -e
[ "$rc" = 1 ] || die "injected I/O error: exit $rc"
grep -q "Input/output error" "$d/err" || die "injected I/O error not reported"
"$ROOTCRYPT" status "$img" | grep -q "encrypting" || die "status after I/O error is not encrypting"
cryptsetup open --test-passphrase --key-file "$d/key" "$img" 2>/dev/null &&
	die "stock cryptsetup opened a half-converted volume"
# the file system signature is hidden while its data is half moved
if command -v blkid >/dev/null 2>&1 && blkid -p "$img" >/dev/null 2>&1; then
	die "blkid still finds a file system on a half-converted volume"
fi
refused wrong-key "no LUKS2 keyslot opens with this passphrase" 1 "$img" -- encrypt "$img" --key-file "$d/wrong"
"$ROOTCRYPT" encrypt "$img" --key-file "$d/key" 2>"$d/err" || { cat "$d/err"; die "resume failed"; }
oracle_shift "$img" "$orig_len" "$orig" "$d/key"

# a corrupted header (checksums broken in both copies) is not "plain"
for off in 200 16584; do
	printf 'X' | dd of="$img" bs=1 seek=$off conv=notrunc status=none
done
refused corrupt "header copies are damaged" 1 "$img" -- encrypt "$img" --key-file "$d/key"
exit 0
