#!/bin/sh
# `rootcrypt enroll` on an image's root partition seen from a build host
# (a loop device: no /dev/disk/by-partuuid link, a name the VM never has):
# it names the device by the PARTUUID read from the disk, says the first
# boot's plan for the layout it finds, and refuses, writing nothing, when
# the shift layout has no room (issue 15.5).
set -eu
[ "$(id -u)" = 0 ] || { echo "needs root for loop devices"; exit 77; }
for c in sfdisk partx losetup blkid mkfs.ext4 busybox; do
	command -v $c >/dev/null || { echo "$c missing"; exit 77; }
done
bb=$(command -v busybox)
file -L "$bb" | grep -q "statically linked" || { echo "busybox not static"; exit 77; }

t=$(mktemp -d)
loop=
cleanup() {
	umount "$t/mnt" 2>/dev/null || true
	[ -z "$loop" ] || { partx -d "$loop" 2>/dev/null; losetup -d "$loop"; }
	rm -rf "$t"
}
trap cleanup EXIT INT TERM
mkdir "$t/mnt"

# image: GPT, partition 1 of 64 MiB at 1 MiB, then `free` MiB, then partition 2
# (so the partition can grow only into the free space in between)
image() { # free-MiB fs-size
	cleanup_loop
	rm -f "$t/disk.img"
	truncate -s $((1 + 64 + $1 + 8 + 1))M "$t/disk.img"
	printf 'label: gpt\nstart=2048, size=%d\nstart=%d, size=16384\n' $((64 * 2048)) \
		$(((1 + 64 + $1) * 2048)) | sfdisk -q "$t/disk.img"
	loop=$(losetup -f --show "$t/disk.img")
	partx -a "$loop"
	mkfs.ext4 -q -F "${loop}p1" $2
	partuuid=$(blkid -p -s PART_ENTRY_UUID -o value "${loop}p1")
	mount "${loop}p1" "$t/mnt"
	tree="$t/mnt"
	mkdir -p "$tree/bin" "$tree/etc/default" "$tree/usr/sbin" \
		"$tree/usr/share/initramfs-tools/hooks"
	cp "$bb" "$tree/bin/busybox"
	ln -s busybox "$tree/bin/sh"
	printf '#!/bin/sh\necho "update-initramfs $*" >>/log\n' >"$tree/usr/sbin/update-initramfs"
	chmod +x "$tree/usr/sbin/update-initramfs"
	: >"$tree/usr/share/initramfs-tools/hooks/rootcrypt"
	printf 'GRUB_CMDLINE_LINUX="console=ttyS0"\n' >"$tree/etc/default/grub"
	cp "$tree/etc/default/grub" "$t/grub.orig"
}
cleanup_loop() {
	umount "$t/mnt" 2>/dev/null || true
	[ -z "$loop" ] || { partx -d "$loop" 2>/dev/null; losetup -d "$loop"; }
	loop=
}
enroll() {
	"$ROOTCRYPT" enroll --root "$t/mnt" --vault https://v.vault.azure.net "$@"
}
unchanged() {
	[ ! -e "$tree/etc/rootcrypt.conf" ] && [ ! -e "$tree/log" ] &&
		cmp -s "$t/grub.orig" "$tree/etc/default/grub"
}

# 1. The file system fills its partition and nothing is free behind it:
#    refused, nothing written; the advice names the MiB missing, growing
#    the disk and the `layout` boot setting (not encrypt's --layout).
image 0 ""
[ -L "/dev/disk/by-partuuid/$partuuid" ] && echo "note: udev made a by-partuuid link"
rc=0
enroll >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" = 1 ] || { echo "no room: rc=$rc"; cat "$t/out" "$t/err"; exit 1; }
unchanged || { echo "no room: something was written"; exit 1; }
grep -q '18 MiB missing' "$t/err" || { cat "$t/err"; exit 1; }
grep -q 'grow the disk by 18 MiB' "$t/err"
grep -q '`layout = detached`' "$t/err"
grep -q 'other than the root' "$t/err"
if grep -q -- '--layout' "$t/err"; then echo "advice names --layout"; exit 1; fi
# --dry-run says the same, writes nothing
rc=0
enroll --dry-run >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" = 1 ] && unchanged && grep -q '18 MiB missing' "$t/err"

# 2. 32 MiB free behind the partition: it grows by 18 MiB at first boot.
#    The device is named by the PARTUUID from the disk, never ${loop}p1.
image 32 ""
enroll --dry-run >"$t/out"
grep -q "root device PARTUUID=$partuuid," "$t/out" || { cat "$t/out"; exit 1; }
grep -q 'plan: shift - the first boot grows the 64 MiB partition by 18 MiB into the free disk space after it (32 MiB free)' \
	"$t/out" || { cat "$t/out"; exit 1; }
unchanged || { echo "dry run wrote something"; exit 1; }
enroll >"$t/out"
grep -qx "device = PARTUUID=$partuuid" "$tree/etc/rootcrypt.conf" ||
	{ cat "$tree/etc/rootcrypt.conf"; exit 1; }
if grep -q "$loop" "$tree/etc/rootcrypt.conf"; then echo "loop device name written"; exit 1; fi
grep -q 'plan: shift - the first boot grows' "$t/out"

# 3. A file system smaller than its partition: the shift stays inside it.
image 0 40M
enroll >"$t/out"
grep -q 'plan: shift - the ext4 file system (40 MiB) leaves 24 MiB of its 64 MiB partition free' \
	"$t/out" || { cat "$t/out"; exit 1; }
grep -qx "device = PARTUUID=$partuuid" "$tree/etc/rootcrypt.conf"

# 3b. Online mode (issue 18) in place needs 32 MiB behind the file system
#     (cryptsetup's --reduce-device-size 32M): the 40 MiB file system that
#     fits offline is refused online, writing nothing; a 32 MiB one fits,
#     and `mode = online` is written for the boot (config get reads it).
grep -qx "mode = offline" "$tree/etc/rootcrypt.conf" || { cat "$tree/etc/rootcrypt.conf"; exit 1; }
image 0 40M
rc=0
enroll --mode online >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" = 1 ] && unchanged || { echo "online, 24 MiB free: rc=$rc"; cat "$t/out" "$t/err"; exit 1; }
grep -q 'online mode needs 32 MiB' "$t/err" || { cat "$t/err"; exit 1; }
image 0 32M
enroll --mode online >"$t/out"
grep -q 'plan: shift (online) - the ext4 file system (32 MiB) leaves 32 MiB of its 64 MiB partition free' \
	"$t/out" || { cat "$t/out"; exit 1; }
[ "$("$ROOTCRYPT" config get mode --file "$tree/etc/rootcrypt.conf" --no-cmdline)" = online ]
printf 'rootcrypt.mode=offline\n' >"$t/cmdline"
[ "$("$ROOTCRYPT" config get mode --file "$tree/etc/rootcrypt.conf" --cmdline "$t/cmdline")" = offline ]
image 32 ""
enroll --mode online --dry-run >"$t/out"
grep -q 'plan: shift (online) - the first boot grows the 64 MiB partition by 32 MiB' "$t/out" ||
	{ cat "$t/out"; exit 1; }
rc=0
enroll --mode sideways >"$t/out" 2>&1 || rc=$?
[ "$rc" = 2 ] && unchanged || { echo "--mode sideways: rc=$rc"; exit 1; }

# 4. --device given as the host's node name: still written as PARTUUID.
"$ROOTCRYPT" enroll --root "$t/mnt" --vault https://v.vault.azure.net --device "${loop}p1" \
	>"$t/out"
grep -qx "device = PARTUUID=$partuuid" "$tree/etc/rootcrypt.conf"

# 5. /boot inside the root with GRUB reading it: the second boot would stop
#    in GRUB ("unknown filesystem") unless /boot gets a partition of its own
#    first. The split's partition goes at the end of the disk, behind the
#    root; here another partition is there, so enroll refuses and writes
#    nothing (the split itself: enroll-split.sh).
image 0 40M
mkdir -p "$tree/boot/grub"
rc=0
enroll >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" = 1 ] && unchanged || { echo "/boot inside the root: rc=$rc"; cat "$t/err"; exit 1; }
grep -q 'cannot split /boot off the root' "$t/err" || { cat "$t/err"; exit 1; }
grep -q 'another partition lies behind the root partition' "$t/err" || { cat "$t/err"; exit 1; }
