#!/bin/bash
# Build a raw GPT test disk without loop mounts: [optional /boot ext4] + root
# ext4 made with mkfs.ext4 -d from a known tree + optional free space after
# root. The tree: static busybox, the test /sbin/init, e2fsck with its libraries
# (from the guest root), random data files, and /rctest/manifest.sha256.
# Usage: mkdisk.sh OUT [--root-mib N] [--fs-mib N] [--data-mib N] [--boot-mib N] [--free-mib N]
# Writes OUT and OUT.env (shell variables: partition numbers, offsets, UUIDs,
# MANIFEST_SHA = sha256 of the manifest file, for rctest.manifest=).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
out=${1:?usage: mkdisk.sh OUT [options]}; shift
root_mib=96 fs_mib= data_mib=24 boot_mib=0 free_mib=0
while [ $# -gt 0 ]; do
	case $1 in
	--root-mib) root_mib=$2 ;; --fs-mib) fs_mib=$2 ;; --data-mib) data_mib=$2 ;;
	--boot-mib) boot_mib=$2 ;; --free-mib) free_mib=$2 ;;
	*) die "mkdisk.sh: unknown option '$1'" ;;
	esac
	shift 2
done
fs_mib=${fs_mib:-$root_mib}   # a smaller file system leaves a free tail in the partition
[ -d "$Q/base" ] || die "no guest base root: run qemu/build-root.sh"

w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
tree=$w/tree
mkdir -p "$tree"/{bin,sbin,usr/sbin,proc,sys,dev,run,tmp,etc,rctest,data}
cp /bin/busybox "$tree/bin/busybox"
for a in sh awk cat cut dd echo grep head mount poweroff sed seq sha256sum sleep \
	sync tr uname usleep wc; do ln -s busybox "$tree/bin/$a"; done
cp "$QEMU_DIR/guest/init" "$tree/sbin/init"
# systemd (dracut's initramfs) only switches into a tree that has os-release.
printf 'ID=rctest\nNAME="rootcrypt test root"\n' >"$tree/etc/os-release"
cp "$Q/base/usr/sbin/e2fsck" "$tree/usr/sbin/e2fsck"
for lib in $(in_chroot "$Q/base" ldd /usr/sbin/e2fsck | grep -o '/[^ ]*'); do
	mkdir -p "$tree$(dirname "$lib")"
	cp -L "$Q/base$lib" "$tree$lib"
done
i=0
while [ $i -lt "$data_mib" ]; do
	head -c 1048576 /dev/urandom >"$tree/data/f$i"
	i=$((i + 1))
done
(cd "$tree" && find . -type f | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum) >"$w/manifest"
mv "$w/manifest" "$tree/rctest/manifest.sha256"
MANIFEST_SHA=$(sha256sum "$tree/rctest/manifest.sha256" | cut -d' ' -f1)
cp "$tree/rctest/manifest.sha256" "$out.manifest"

FS_UUID=$(cat /proc/sys/kernel/random/uuid)
mkfs.ext4 -q -F -L root -U "$FS_UUID" -d "$tree" "$w/root.img" "${fs_mib}M" >/dev/null

# Layout in MiB: 1 (GPT) | boot | root | free | 1 (backup GPT)
rm -f "$out"
truncate -s $((1 + boot_mib + root_mib + free_mib + 1))M "$out"
BOOT_PART= ROOT_PART=1
# (set here, not inside the pipeline below: that runs in a subshell)
[ "$boot_mib" -gt 0 ] && BOOT_PART=1 ROOT_PART=2
{
	echo "label: gpt"
	if [ -n "$BOOT_PART" ]; then
		echo "start=1MiB, size=${boot_mib}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=boot"
	fi
	echo "start=$((1 + boot_mib))MiB, size=${root_mib}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=root"
} | sfdisk -q "$out" >/dev/null
ROOT_START=$(((1 + boot_mib) * 1048576)) ROOT_SIZE=$((root_mib * 1048576))
dd if="$w/root.img" of="$out" bs=1M seek=$((1 + boot_mib)) conv=notrunc,sparse status=none
BOOT_UUID=
if [ -n "$BOOT_PART" ]; then
	BOOT_UUID=$(cat /proc/sys/kernel/random/uuid)
	mkfs.ext4 -q -F -L boot -U "$BOOT_UUID" "$w/boot.img" "${boot_mib}M" >/dev/null
	dd if="$w/boot.img" of="$out" bs=1M seek=1 conv=notrunc,sparse status=none
fi
PART_UUID=$(sfdisk --part-uuid "$out" "$ROOT_PART")
for v in ROOT_PART ROOT_START ROOT_SIZE FS_UUID PART_UUID MANIFEST_SHA BOOT_PART BOOT_UUID; do
	printf '%s=%s\n' "$v" "${!v}"
done >"$out.env"
