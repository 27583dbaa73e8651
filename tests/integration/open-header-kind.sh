#!/bin/sh
# `rootcrypt open` (and boot's unlock) hand a header from the disk to
# cryptsetup only when it is the kind rootcrypt writes (issue 16): a data
# segment or keyslot area with cipher_null (a volume that opens with any
# passphrase, content chosen by whoever wrote the disk) is refused before
# cryptsetup runs, and cryptsetup is held to the keyslot rootcrypt checked.
# No device-mapper here: a cryptsetup stand-in runs stock
# `cryptsetup open --test-passphrase` with the same arguments and records
# that it was called.
set -eu
. "$(dirname "$0")/engine-lib.inc"
need cryptsetup mkfs.ext4 python3
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
printf 'the-volume-key-file' > "$d/key"
mkdir -p "$d/mapper"

# the stand-in's hooks (ROOTCRYPT_CRYPTSETUP/MAPPER_DIR): only the test build ($ROOTCRYPT_TEST) reads them
. "$(dirname "$0")/cryptsetup-stand-in.inc"
cryptsetup_stand_in "$d"
export CALLS="$d/calls"

# swap_cipher IMG WHICH: rewrites "aes-xts-plain64" in the segment (WHICH =
# segment) or the keyslot area (WHICH = area) as "cipher_null-ecb" (same
# length) in both header copies, with valid checksums: what an attacker
# with write access to the disk can do.
swap_cipher() {
	if [ "$2" = segment ]; then
		luks2_mutate "$1" 'j["segments"]["0"]["encryption"] = "cipher_null-ecb"'
	else
		luks2_mutate "$1" 'j["keyslots"]["0"]["area"]["encryption"] = "cipher_null-ecb"'
	fi
}

truncate -s 48M "$d/img"
mkfs.ext4 -q -F -E nodiscard "$d/img"
"$ROOTCRYPT" encrypt "$d/img" --key-file "$d/key" 2>/dev/null
cp "$d/img" "$d/good"

# the real thing opens, and cryptsetup is told which keyslot
"$ROOTCRYPT_TEST" open "$d/good" good --key-file "$d/key" || die "a volume rootcrypt wrote did not open"
grep -q -- "--key-slot=0" "$d/calls" || die "cryptsetup was not held to the checked keyslot: $(cat "$d/calls")"
rm -f "$d/calls"

for which in segment area; do
	cp "$d/good" "$d/evil"
	swap_cipher "$d/evil" "$which"
	cryptsetup isLuks "$d/evil" || die "test set-up: $which header not LUKS any more"
	set +e
	"$ROOTCRYPT_TEST" open "$d/evil" "evil-$which" --key-file "$d/key" 2>"$d/err"
	rc=$?
	set -e
	[ "$rc" = 1 ] || { cat "$d/err"; die "$which cipher_null: exit $rc, expected 1"; }
	[ ! -e "$d/calls" ] || die "$which cipher_null: cryptsetup was run: $(cat "$d/calls")"
	[ ! -e "$d/mapper/evil-$which" ] || die "$which cipher_null: mapping made"
	echo "$which cipher_null refused: $(cat "$d/err")" >&2
done
exit 0
