#!/bin/bash
# Host-side look at a test disk after a run: the partition table, then the
# root partition through a read-only loop device at its offset: LUKS (stock
# cryptsetup isLuks + luksDump) or ext4 (e2fsck -fn).
# Usage: inspect.sh IMG [PART (default: ROOT_PART from IMG.env)]
# Prints "part N: luks2" or "part N: ext4 clean"; exits 1 on a dirty fs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
img=${1:?usage: inspect.sh IMG [PART]}
part=${2:-$(sed -n 's/^ROOT_PART=//p' "$img.env")}
sfdisk -d "$img"
line=$(sfdisk -d "$img" | grep "^$img$part :") || die "no partition $part in '$img'"
start=$(echo "$line" | sed -n 's/.*start= *\([0-9]*\).*/\1/p')
size=$(echo "$line" | sed -n 's/.*size= *\([0-9]*\).*/\1/p')
loop=$(losetup -r -f --show -o $((start * 512)) --sizelimit $((size * 512)) "$img")
trap 'losetup -d "$loop"' EXIT
if cryptsetup isLuks "$loop"; then
	cryptsetup luksDump "$loop"
	echo "part $part: luks$(cryptsetup luksDump "$loop" | sed -n 's/^Version: *//p')"
elif e2fsck -fn "$loop" >"$img.fsck" 2>&1; then
	echo "part $part: ext4 clean"
else
	cat "$img.fsck"
	echo "part $part: ext4 NOT clean"
	exit 1
fi
