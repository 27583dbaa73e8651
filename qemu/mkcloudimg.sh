#!/bin/bash
# Build a raw disk laid out like Azure's Debian 12 image and bootable through
# firmware: GPT; p14 BIOS boot (4 MiB at 1 MiB, GRUB i386-pc core.img);
# p15 EFI system partition (vfat, 106 MiB; GRUB x86_64-efi at the removable
# path EFI/BOOT/BOOTX64.EFI); p1 root ext4 from 111 MiB to the end of the disk
# (less --free-mib), /boot a directory of it. --boot-mib N adds p2, an ext4
# /boot of N MiB before the root (layout L3: separate /boot, root filling the
# disk). GRUB finds /boot by the file system's UUID (core.img's embedded search
# / BOOTX64.EFI's embedded config), grub.cfg comes from the tree's own
# update-grub, the kernel command line says root=UUID=.
#
# --gen dracut builds with dracut (and xfsprogs) instead of initramfs-tools,
# with network-legacy chosen in /etc/dracut.conf.d (dracut's systemd-networkd
# route needs dbus, which this minimal tree lacks); --root-fs xfs makes the
# root XFS (as RHEL-family images), without the bigtime/inobtcount features
# that bookworm's GRUB 2.06 (update-grub's grub-probe) cannot read.
# The tree is a copy of the cached debootstrap root plus initramfs-tools,
# grub-pc-bin, grub-efi-amd64-bin and grub2-common (cached once in
# $Q/root-cloud, or $Q/root-cloud-dracut), the cached cloud kernel in /boot and /usr/lib/modules, and
# rootcrypt installed from the package (--deb, default: `make deb`) with dpkg
# inside the image, whose update-initramfs trigger regenerates the initramfs.
# The host kernel has no vfat and parses no GPT on loop devices: the ESP is a
# FAT image made with mkfs.vfat + mtools and copied in with dd; the root (and
# /boot) are loop-mounted ext4 (partition nodes from `partx -a`), GRUB and
# the initramfs run in a chroot of the mounted image with a private /dev
# holding only the image's nodes and their by-uuid/by-partuuid links.
# A systemd unit (rctest-cloud) reports on the serial console once the root is
# mounted: RCTEST:booted, firmware, /boot manifest, rootcrypt status, done; then
# powers off (qemu/firmware-boot.sh reads it).
#
# Usage: mkcloudimg.sh OUT [--size-mib N (1200)] [--free-mib N (0)]
#                          [--boot-mib N (0)] [--deb FILE] [--add SRC:DIR]...
#                          [--gen initramfs-tools|dracut] [--root-fs ext4|xfs]
#                          [--hook CMD]
#        mkcloudimg.sh --tree-only [--gen G]: build the cached image tree
#                (no disk) and print its path (tests that use its tools)
#   --add SRC:DIR  copy the file SRC into DIR of the tree before the file
#                system is made (mkfs -d lays it out at the start, not in
#                the root's tail that a /boot split must find empty)
#   --hook CMD   run CMD (bash -c) once GRUB is set up, with MNT (the mounted
#                image root), LOOP (its loop device) and the functions
#                img_chroot CMD... / img_host CMD... (see below)
# Writes OUT and OUT.env (ROOT_PART, ROOT_START, ROOT_SIZE, FS_UUID, PART_UUID,
# BOOT_PART, BOOT_UUID, ESP_PART, KVER, BOOT_MANIFEST).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || die "needs root (loop devices, mount, chroot)"
tree_only=
if [ "${1:-}" = --tree-only ]; then tree_only=1 out=; else out=${1:?usage: mkcloudimg.sh OUT [options]}; fi
shift
size_mib=1200 free_mib=0 boot_mib=0 deb= hook= adds=() gen=initramfs-tools root_fs=ext4
while [ $# -gt 0 ]; do
	case $1 in
	--size-mib) size_mib=$2 ;; --free-mib) free_mib=$2 ;; --boot-mib) boot_mib=$2 ;;
	--deb) deb=$2 ;; --hook) hook=$2 ;; --add) adds+=("$2") ;;
	--gen) gen=$2 ;; --root-fs) root_fs=$2 ;;
	*) die "mkcloudimg.sh: unknown option '$1'" ;;
	esac
	shift 2
done
for t in grub-mkimage mkfs.vfat mmd mcopy partx losetup sfdisk; do
	command -v $t >/dev/null || die "$t missing (packages: grub-pc-bin grub-efi-amd64-bin mtools dosfstools)"
done
[ -d /usr/lib/grub/i386-pc ] && [ -d /usr/lib/grub/x86_64-efi ] ||
	die "GRUB platforms missing (grub-pc-bin grub-efi-amd64-bin)"

case $gen in
initramfs-tools) gen_pkgs="initramfs-tools zstd" r=$Q/root-cloud ;;
dracut) gen_pkgs="dracut dracut-network zstd iproute2 isc-dhcp-client procps iputils-arping xfsprogs"
	r=$Q/root-cloud-dracut ;;
*) die "mkcloudimg.sh: unknown generator '$gen'" ;;
esac
case $root_fs in ext4 | xfs) ;; *) die "mkcloudimg.sh: unknown root file system '$root_fs'" ;; esac
KVER=$(bash "$QEMU_DIR/build-root.sh" initramfs-tools | tail -n1)
k=$Q/kernel/$KVER
[ -f "$k/.done" ] || die "no cached kernel $KVER"

# The cached image tree: base + initramfs-tools + GRUB (tools and both
# platforms' modules) + the kernel's modules. Built once per kernel.
cloud_root() {
	[ "$(cat "$r/.done" 2>/dev/null)" = "$KVER" ] && return 0
	exec 8>"$r.lock"
	flock 8
	[ "$(cat "$r/.done" 2>/dev/null)" = "$KVER" ] && { exec 8>&-; return 0; }
	log "image root (kernel $KVER, $gen, GRUB)"
	rm -rf "$r.new"
	cp -a "$Q/base" "$r.new"
	rm -f "$r.new/.done"
	cp /etc/resolv.conf "$r.new/etc/resolv.conf"
	# shellcheck disable=SC2086
	in_chroot "$r.new" apt-get install -y -q --no-install-recommends \
		$gen_pkgs grub-pc-bin grub-efi-amd64-bin grub2-common \
		>"$Q/apt-cloud-$gen.log" 2>&1 || { tail -n 20 "$Q/apt-cloud-$gen.log" >&2; die "apt-get install in the image root failed"; }
	if [ "$gen" = dracut ]; then
		mkdir -p "$r.new/etc/dracut.conf.d"
		printf 'add_dracutmodules+=" network-legacy "\nomit_dracutmodules+=" ifcfg "\n' \
			>"$r.new/etc/dracut.conf.d/10-network-legacy.conf"
	fi
	in_chroot "$r.new" apt-get clean
	mkdir -p "$r.new/usr/lib/modules"
	cp -a "$k/modules" "$r.new/usr/lib/modules/$KVER"
	in_chroot "$r.new" depmod "$KVER"
	rm -rf "$r" && mv "$r.new" "$r"
	echo "$KVER" >"$r/.done"
	exec 8>&-
}
cloud_root
[ -z "$tree_only" ] || { echo "$r"; exit 0; }

w=$(mktemp -d)
mnt=$w/mnt loop=
cleanup() {
	set +e
	if [ -n "$loop" ]; then
		umount -R "$mnt" 2>/dev/null
		partx -d "$loop" 2>/dev/null
		losetup -d "$loop"
	fi
	rm -rf "$w"
}
trap cleanup EXIT
if [ -z "$deb" ]; then
	deb=$(make -s --no-print-directory -C "$REPO" deb DEB_DIR="$w" | tail -n1)
fi
[ -f "$deb" ] || die "no package '$deb'"

# Disk layout in MiB: 1 GPT | 4 BIOS boot (p14) | 106 ESP (p15) | [boot (p2)] | root (p1) | free | 1
esp_start=5 esp_mib=106
boot_start=$((esp_start + esp_mib))
root_start=$((boot_start + boot_mib))
root_mib=$((size_mib - root_start - free_mib - 1))
[ "$root_mib" -ge 600 ] || die "root partition would be ${root_mib} MiB: make --size-mib larger"
FS_UUID=$(cat /proc/sys/kernel/random/uuid)
BOOT_UUID= BOOT_PART=
[ "$boot_mib" -gt 0 ] && BOOT_UUID=$(cat /proc/sys/kernel/random/uuid) BOOT_PART=2
rm -f "$out"
truncate -s "${size_mib}M" "$out"
{
	echo "label: gpt"
	echo "${out}1 : start=${root_start}MiB, size=${root_mib}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4"
	[ -n "$BOOT_PART" ] &&
		echo "${out}2 : start=${boot_start}MiB, size=${boot_mib}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4"
	echo "${out}14 : start=1MiB, size=4MiB, type=21686148-6449-6E6F-744E-656564454649"
	echo "${out}15 : start=${esp_start}MiB, size=${esp_mib}MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
} | sfdisk -q "$out" >/dev/null
PART_UUID=$(sfdisk --part-uuid "$out" 1)

# Root (and /boot) file systems, empty but for the tree's skeleton: made
# with mkfs.ext4 -d, then filled through the loop mount.
log "root file system (${root_mib} MiB) from the image tree"
tree=$w/tree
cp -a "$r" "$tree"
rm -f "$tree/.done" "$tree/etc/resolv.conf"
for a in ${adds[@]+"${adds[@]}"}; do
	mkdir -p "$tree/${a#*:}" && cp "${a%%:*}" "$tree/${a#*:}/"
done
if [ "$root_fs" = ext4 ]; then
	mkfs.ext4 -q -F -L cloudimg-rootfs -U "$FS_UUID" -d "$tree" "$w/root.img" "${root_mib}M" >/dev/null
	rm -rf "$tree"
else # mkfs.xfs cannot fill from a tree: copied in through the mount below
	truncate -s "${root_mib}M" "$w/root.img"
	mkfs.xfs -q -f -L root -m uuid="$FS_UUID",bigtime=0,inobtcount=0 "$w/root.img" >/dev/null
fi
dd if="$w/root.img" of="$out" bs=1M seek="$root_start" conv=notrunc,sparse status=none
rm -f "$w/root.img"
if [ -n "$BOOT_PART" ]; then
	mkfs.ext4 -q -F -L boot -U "$BOOT_UUID" "$w/boot.img" "${boot_mib}M" >/dev/null
	dd if="$w/boot.img" of="$out" bs=1M seek="$boot_start" conv=notrunc,sparse status=none
	rm -f "$w/boot.img"
fi

# ESP: FAT made here, filled with mtools after GRUB's EFI image exists.
mkfs.vfat -C -F 32 -n ESP "$w/esp.img" $((esp_mib * 1024)) >/dev/null
ESP_UUID=$(blkid -c /dev/null -s UUID -o value "$w/esp.img")

loop=$(losetup -f --show "$out")
partx -a "$loop" 2>/dev/null || partx -u "$loop"
for p in 1 14 15 $BOOT_PART; do
	i=0; while [ ! -b "${loop}p$p" ]; do i=$((i + 1)); [ $i -lt 50 ] || die "no ${loop}p$p"; sleep 0.1; done
done
mkdir -p "$mnt"
mount -t "$root_fs" "${loop}p1" "$mnt"
rmdir "$mnt/lost+found" 2>/dev/null || :
if [ -d "$tree" ]; then
	cp -a "$tree/." "$mnt/"
	rm -rf "$tree"
fi
if [ -n "$BOOT_PART" ]; then
	mount -t ext4 "${loop}p$BOOT_PART" "$mnt/boot"
	# the tree's /boot content (config-KVER) moves to the boot file system
	# (mount hid it; it is copied again below)
fi

# img_chroot CMD...: CMD in the mounted image with /proc, /sys and a private
# /dev holding the standard nodes, this image's loop device and partitions,
# and their /dev/disk/by-{uuid,partuuid} links (no udev here).
# img_host CMD...: CMD on the host with the same mounts in the image and that
# same private /dev as the host's /dev (for tools run from outside into the
# image, like `rootcrypt enroll --root`). Both in a private mount namespace.
img_ns() { # MODE CMD...
	unshare --mount --propagation private -- sh -ec '
		mode=$1 m=$2 loop=$3; shift 3
		mount -t proc proc "$m/proc"
		mount -t sysfs sys "$m/sys"
		mount -t tmpfs -o mode=0755 dev "$m/dev"
		for n in null zero full random urandom tty console; do cp -a /dev/$n "$m/dev/"; done
		mkdir -p "$m/dev/pts" "$m/dev/shm" "$m/dev/disk/by-uuid" "$m/dev/disk/by-partuuid"
		ln -s /proc/self/fd "$m/dev/fd"
		cp -a "$loop" "$loop"p* "$m/dev/"
		for p in "$loop"p*; do
			u=$(blkid -c /dev/null -s UUID -o value "$p" || :)
			[ -z "$u" ] || ln -s "../../${p#/dev/}" "$m/dev/disk/by-uuid/$u"
			u=$(blkid -c /dev/null -s PARTUUID -o value "$p" || :)
			[ -z "$u" ] || ln -s "../../${p#/dev/}" "$m/dev/disk/by-partuuid/$u"
		done
		if [ "$mode" = host ]; then
			mount --bind "$m/dev" /dev
			exec "$@"
		fi
		exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
			DEBIAN_FRONTEND=noninteractive chroot "$m" "$@"' sh "$1" "$MNT" "$LOOP" "${@:2}"
}
img_chroot() { img_ns chroot "$@"; }
img_host() { img_ns host "$@"; }
export -f img_ns img_chroot img_host
export MNT=$mnt LOOP=$loop

log "kernel, fstab, GRUB defaults, test unit"
cp "$k/vmlinuz" "$mnt/boot/vmlinuz-$KVER"
cp "$k/config" "$mnt/boot/config-$KVER"
{
	echo "# <file system> <mount point> <type> <options> <dump> <pass>"
	if [ "$root_fs" = ext4 ]; then
		echo "UUID=$FS_UUID / ext4 rw,discard,errors=remount-ro,x-systemd.growfs 0 1"
	else
		echo "UUID=$FS_UUID / xfs defaults,x-systemd.growfs 0 0"
	fi
	[ -n "$BOOT_PART" ] && echo "UUID=$BOOT_UUID /boot ext4 defaults 0 2"
	echo "UUID=$ESP_UUID /boot/efi vfat umask=0077,nofail 0 1"
} >"$mnt/etc/fstab"
mkdir -p "$mnt/boot/efi"
echo cloudimg >"$mnt/etc/hostname"
cat >"$mnt/etc/default/grub" <<'EOF'
# as on a cloud image: serial console, no menu wait. no_timer_check: a vCPU
# starved by a loaded TCG host misses the kernel's early timer check, which
# then panics "IO-APIC + timer doesn't work!" (seen in the suite; cloud
# kernels boot VMs with it for the same reason)
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=ttyS0 panic=-1 no_timer_check"
GRUB_TERMINAL="serial console"
GRUB_SERIAL_COMMAND="serial --speed=115200"
GRUB_DISABLE_RECOVERY=true
GRUB_DISABLE_OS_PROBER=true
EOF
# a persistent journal (the online scenario reads the boot before's unit log)
mkdir -p "$mnt/var/log/journal"
for f in rctest-cloud rctest-writer; do
	cp "$QEMU_DIR/guest/cloud/$f" "$mnt/usr/local/sbin/$f"
	chmod 0755 "$mnt/usr/local/sbin/$f"
done
cp "$QEMU_DIR/guest/cloud/rctest-cloud.service" "$mnt/etc/systemd/system/"
mkdir -p "$mnt/etc/systemd/system/sysinit.target.wants"
ln -sf ../rctest-cloud.service "$mnt/etc/systemd/system/sysinit.target.wants/rctest-cloud.service"
# A TCG guest on a loaded host stalls for minutes (soft lockups of 100 s
# seen with the host at load 10): systemd's 90 s job timeouts then fail
# /boot's mount and drop to emergency mode. The waits are the harness's to
# bound (fwrun.sh --timeout), not systemd's.
mkdir -p "$mnt/etc/systemd/system.conf.d"
printf '[Manager]\nDefaultTimeoutStartSec=20min\nDefaultDeviceTimeoutSec=20min\n' \
	>"$mnt/etc/systemd/system.conf.d/rctest-slow-host.conf"
# no login prompt on the serial console: its hangup would cut the report
ln -sf /dev/null "$mnt/etc/systemd/system/serial-getty@ttyS0.service"

log "initramfs ($gen), then rootcrypt from $(basename "$deb") (dpkg -i)"
if [ "$gen" = dracut ]; then # what Debian's /etc/kernel/postinst.d/dracut runs
	img_chroot dracut -q --force "/boot/initrd.img-$KVER" "$KVER" >"$w/initramfs.log" 2>&1
else
	img_chroot update-initramfs -c -k "$KVER" >"$w/initramfs.log" 2>&1
fi || { tail -n 20 "$w/initramfs.log" >&2; die "$gen failed"; }
cp "$deb" "$mnt/tmp/rootcrypt.deb"
img_chroot dpkg -i /tmp/rootcrypt.deb >"$w/dpkg.log" 2>&1 ||
	{ tail -n 20 "$w/dpkg.log" >&2; die "dpkg -i rootcrypt failed"; }
rm -f "$mnt/tmp/rootcrypt.deb"
[ "$gen" = dracut ] || grep -q 'update-initramfs' "$w/dpkg.log" ||
	log "warning: dpkg ran no update-initramfs trigger"
sed 's/^/  dpkg: /' "$w/dpkg.log" >&2

log "GRUB: i386-pc into p14, update-grub, x86_64-efi image for the ESP"
img_chroot grub-install --target=i386-pc "$loop" >"$w/grub.log" 2>&1 ||
	{ cat "$w/grub.log" >&2; die "grub-install i386-pc failed"; }
img_chroot update-grub >>"$w/grub.log" 2>&1 || { cat "$w/grub.log" >&2; die "update-grub failed"; }
grep -q "root=UUID=$FS_UUID" "$mnt/boot/grub/grub.cfg" ||
	log "warning: grub.cfg has no root=UUID=$FS_UUID: $(grep -m1 -o 'root=[^ ]*' "$mnt/boot/grub/grub.cfg")"
# What grub-install --target=x86_64-efi would do on a FAT ESP: modules under
# /boot/grub/x86_64-efi, a core image whose embedded config finds /boot by
# UUID (the ESP's stub grub.cfg on Debian), at the removable path.
mkdir -p "$mnt/boot/grub/x86_64-efi"
cp "$mnt"/usr/lib/grub/x86_64-efi/*.mod "$mnt"/usr/lib/grub/x86_64-efi/*.lst "$mnt/boot/grub/x86_64-efi/"
if [ -n "$BOOT_PART" ]; then
	g_uuid=$BOOT_UUID g_prefix=/grub
else
	g_uuid=$FS_UUID g_prefix=/boot/grub
fi
printf 'search.fs_uuid %s root\nset prefix=($root)%s\n' "$g_uuid" "$g_prefix" >"$mnt/tmp/early.cfg"
img_chroot grub-mkimage -O x86_64-efi -o /tmp/BOOTX64.EFI -c /tmp/early.cfg -p "$g_prefix" \
	part_gpt part_msdos ext2 fat search search_fs_uuid normal configfile linux echo test \
	gzio efi_gop all_video serial terminal boot ls >>"$w/grub.log" 2>&1 ||
	{ cat "$w/grub.log" >&2; die "grub-mkimage x86_64-efi failed"; }
mv "$mnt/tmp/BOOTX64.EFI" "$w/BOOTX64.EFI"
rm -f "$mnt/tmp/early.cfg"
printf 'search.fs_uuid %s root\nset prefix=($root)%s\nconfigfile $prefix/grub.cfg\n' \
	"$g_uuid" "$g_prefix" >"$w/grub-stub.cfg"
mmd -i "$w/esp.img" ::/EFI ::/EFI/BOOT ::/EFI/debian
mcopy -i "$w/esp.img" "$w/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$w/esp.img" "$w/BOOTX64.EFI" ::/EFI/debian/grubx64.efi
mcopy -i "$w/esp.img" "$w/grub-stub.cfg" ::/EFI/debian/grub.cfg
dd if="$w/esp.img" of="${loop}p15" bs=1M conv=fsync status=none

if [ -n "$hook" ]; then
	log "hook: $hook"
	bash -c "$hook"
fi

# /boot's files, checked by the guest unit on every boot; not grub.cfg, which
# update-grub regenerates and the /boot split repoints (its search lines).
(cd "$mnt/boot" && find . -path ./efi -prune -o -type f ! -path ./grub/grub.cfg -print | sed 's|^\./||' | LC_ALL=C sort |
	xargs sha256sum) >"$mnt/var/lib/rctest-boot.sha256"
BOOT_MANIFEST=$(sha256sum "$mnt/var/lib/rctest-boot.sha256" | cut -d' ' -f1)
cp "$mnt/var/lib/rctest-boot.sha256" "$out.boot-manifest"

umount -R "$mnt"
partx -d "$loop" 2>/dev/null || :
losetup -d "$loop"
loop=
ROOT_PART=1 ESP_PART=15 ROOT_START=$((root_start * 1048576)) ROOT_SIZE=$((root_mib * 1048576))
for v in ROOT_PART ROOT_START ROOT_SIZE FS_UUID PART_UUID BOOT_PART BOOT_UUID ESP_PART ESP_UUID KVER BOOT_MANIFEST; do
	printf '%s=%s\n' "$v" "${!v}"
done >"$out.env"
log "$out: $(du -h --apparent-size "$out" | cut -f1) ($(du -h "$out" | cut -f1) allocated)"
