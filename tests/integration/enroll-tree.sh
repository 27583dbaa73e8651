#!/bin/sh
# `rootcrypt enroll --root TREE` on an image-like tree: writes the config,
# calls the tree's initramfs generator inside a chroot, edits GRUB's
# defaults keeping foreign parameters, and --undo reverts both.
set -eu
[ "$(id -u)" = 0 ] || { echo "needs root for chroot"; exit 77; }
bb=$(command -v busybox) || { echo "busybox missing"; exit 77; }
file -L "$bb" | grep -q "statically linked" || { echo "busybox not static"; exit 77; }

t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT INT TERM
mkdir -p "$t/bin" "$t/etc/default" "$t/usr/sbin" "$t/usr/share/initramfs-tools/hooks" "$t/tmp"
cp "$bb" "$t/bin/busybox"
ln -s busybox "$t/bin/sh"
# The generator records that it ran, in the chroot (so /log is inside the tree).
printf '#!/bin/sh\necho "update-initramfs $*" >>/log\n' >"$t/usr/sbin/update-initramfs"
chmod +x "$t/usr/sbin/update-initramfs"
: >"$t/usr/share/initramfs-tools/hooks/rootcrypt"
printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="console=ttyS0 root=UUID=1234 quiet"\n' >"$t/etc/default/grub"
# Settings enroll has no option for, set by hand, survive it (issue 15.5).
printf 'device = /dev/old\n# the test vault\nca_file = /etc/rootcrypt/ca.pem\nresolve = v1.vault.azure.net:443:10.0.0.1\n' \
	>"$t/etc/rootcrypt.conf"

"$ROOTCRYPT" enroll --root "$t" --device PARTUUID=abcd --vault https://v1.vault.azure.net \
	--kek https://v1.vault.azure.net/keys/kek/1 >"$t/out"
grep -qx 'device = PARTUUID=abcd' "$t/etc/rootcrypt.conf"
grep -qx 'vault = https://v1.vault.azure.net' "$t/etc/rootcrypt.conf"
grep -qx 'kek_alg = RSA-OAEP-256' "$t/etc/rootcrypt.conf"
grep -qx 'ca_file = /etc/rootcrypt/ca.pem' "$t/etc/rootcrypt.conf" || { cat "$t/etc/rootcrypt.conf"; exit 1; }
grep -qx 'resolve = v1.vault.azure.net:443:10.0.0.1' "$t/etc/rootcrypt.conf"
grep -qx '# the test vault' "$t/etc/rootcrypt.conf"
[ "$(grep -c '^device' "$t/etc/rootcrypt.conf")" = 1 ]
[ "$(stat -c %a "$t/etc/rootcrypt.conf")" = 600 ]
grep -qx 'update-initramfs -u -k all' "$t/log"
# One root= on the generated line: none in GRUB_CMDLINE_LINUX; 10_linux
# writes root=GRUB_DEVICE (UUID/PARTUUID forms off) before it.
grep -qx 'GRUB_CMDLINE_LINUX="console=ttyS0 quiet rootcrypt.name=root rd.neednet=1 ip=dhcp"' \
	"$t/etc/default/grub" || { cat "$t/etc/default/grub"; exit 1; }
grep -qx 'GRUB_DEVICE=/dev/mapper/root  # rootcrypt' "$t/etc/default/grub"
grep -qx 'GRUB_DISABLE_LINUX_UUID=true  # rootcrypt' "$t/etc/default/grub"
grep -qx 'GRUB_DISABLE_LINUX_PARTUUID=true  # rootcrypt' "$t/etc/default/grub"
# Enrolling again changes nothing in GRUB's defaults (no second copy).
cp "$t/etc/default/grub" "$t/grub.1"
"$ROOTCRYPT" enroll --root "$t" --device PARTUUID=abcd --vault https://v1.vault.azure.net \
	--kek https://v1.vault.azure.net/keys/kek/1 >/dev/null
cmp "$t/grub.1" "$t/etc/default/grub" || { diff "$t/grub.1" "$t/etc/default/grub"; exit 1; }
grep -q "^#rootcrypt-saved: GRUB_CMDLINE_LINUX=\"console=ttyS0 root=UUID=1234 quiet\"" "$t/etc/default/grub"
grep -q 'Undo before that boot: rootcrypt enroll --undo --root' "$t/out"

"$ROOTCRYPT" enroll --root "$t" --undo >/dev/null
[ ! -e "$t/etc/rootcrypt.conf" ]
grep -qx 'GRUB_CMDLINE_LINUX="console=ttyS0 root=UUID=1234 quiet"' "$t/etc/default/grub"
if grep -q rootcrypt-saved "$t/etc/default/grub"; then echo "saved line left behind"; exit 1; fi
[ "$(grep -c update-initramfs "$t/log")" = 3 ]
if grep -q GRUB_DEVICE "$t/etc/default/grub"; then echo "GRUB_DEVICE left behind"; exit 1; fi

# Bad layout is a usage error and writes nothing.
rc=0
"$ROOTCRYPT" enroll --root "$t" --device /dev/x --vault https://v.vault.azure.net \
	--layout weird 2>/dev/null || rc=$?
[ "$rc" = 2 ] && [ ! -e "$t/etc/rootcrypt.conf" ]

# Detached: a header on the root being encrypted is refused, nothing written.
mkdir -p "$t/boot"
rc=0
"$ROOTCRYPT" enroll --root "$t" --device PARTUUID=abcd --vault https://v.vault.azure.net \
	--layout detached 2>"$t/err" || rc=$?
[ "$rc" = 1 ] && [ ! -e "$t/etc/rootcrypt.conf" ] || { echo "detached on the root fs: rc=$rc"; exit 1; }
grep -q 'root file system being encrypted' "$t/err" || { cat "$t/err"; exit 1; }
# With /boot a separate file system (an ext4 on a loop device here), the
# config names that file system and the header's path inside it.
command -v mkfs.ext4 >/dev/null || { echo "no mkfs.ext4: detached part skipped"; exit 0; }
# First one too small for the header file (LUKS2 header + digest records,
# ~17 MiB): refused at enroll, not at the first boot.
truncate -s 8M "$t/boot.img" && mkfs.ext4 -q -F "$t/boot.img"
mount -o loop "$t/boot.img" "$t/boot" 2>/dev/null || { echo "no loop mount: detached part skipped"; exit 0; }
trap 'umount "$t/boot" 2>/dev/null; rm -rf "$t"' EXIT INT TERM
rc=0
"$ROOTCRYPT" enroll --root "$t" --device PARTUUID=abcd --vault https://v.vault.azure.net \
	--layout detached >/dev/null 2>"$t/err" || rc=$?
[ "$rc" = 1 ] && [ ! -e "$t/etc/rootcrypt.conf" ] || { echo "small /boot: rc=$rc"; exit 1; }
grep -q 'MiB free; the detached header needs 18 MiB there' "$t/err" || { cat "$t/err"; exit 1; }
umount "$t/boot"
truncate -s 40M "$t/boot.img" && mkfs.ext4 -q -F "$t/boot.img"
mount -o loop "$t/boot.img" "$t/boot"
bootdev=$(findmnt -n -o SOURCE "$t/boot")
"$ROOTCRYPT" enroll --root "$t" --device PARTUUID=abcd --vault https://v.vault.azure.net \
	--layout detached >"$t/out"
grep -qx 'layout = detached' "$t/etc/rootcrypt.conf"
grep -qx 'header = /rootcrypt-header.img' "$t/etc/rootcrypt.conf" || { cat "$t/etc/rootcrypt.conf"; exit 1; }
# /dev/loopN means nothing in the VM: the file system's UUID, read from it.
grep -qx "header_device = UUID=$(blkid -p -s UUID -o value "$bootdev")" "$t/etc/rootcrypt.conf" ||
	{ cat "$t/etc/rootcrypt.conf"; exit 1; }
"$ROOTCRYPT" enroll --root "$t" --undo >/dev/null

# Online mode's unit (issue 18): enroll --mode online enables it (the
# WantedBy link systemctl enable makes), offline and --undo disable it; a
# tree without the unit file gets the link and a warning.
wants=$t/etc/systemd/system/multi-user.target.wants/rootcrypt-online.service
online() {
	"$ROOTCRYPT" enroll --root "$t" --device PARTUUID=abcd --vault https://v.vault.azure.net \
		--mode "$1" >"$t/out" 2>"$t/err" || { cat "$t/out" "$t/err"; exit 1; }
}
[ ! -e "$wants" ] && [ ! -L "$wants" ] || { echo "unit enabled by an offline enroll"; exit 1; }
online online
[ "$(readlink "$wants")" = /usr/lib/systemd/system/rootcrypt-online.service ] ||
	{ ls -l "$wants"; echo "online enroll did not enable the unit"; exit 1; }
grep -q 'rootcrypt-online.service is not installed' "$t/err" || { cat "$t/err"; echo "no warning without the unit file"; exit 1; }
mkdir -p "$t/usr/lib/systemd/system"
: >"$t/usr/lib/systemd/system/rootcrypt-online.service"
online online
[ -L "$wants" ] && [ ! -s "$t/err" ] || { cat "$t/err"; echo "second online enroll"; exit 1; }
online offline
[ ! -L "$wants" ] || { echo "offline enroll left the unit enabled"; exit 1; }
online online
"$ROOTCRYPT" enroll --root "$t" --undo >"$t/out"
[ ! -L "$wants" ] || { cat "$t/out"; echo "--undo left the unit enabled"; exit 1; }
grep -q 'disabling rootcrypt-online.service' "$t/out" || { cat "$t/out"; exit 1; }
echo "ok: enroll enables/disables rootcrypt-online.service"
