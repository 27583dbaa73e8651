#!/bin/sh
# enroll and GRUB's settings (issue 15.5): a /etc/default/grub.d snippet
# that would override enroll's root= is refused before anything is written,
# and the grub.cfg update-grub generates is read back: a kernel line without
# the one root=/dev/mapper/NAME makes enroll undo itself. The tree's
# update-grub stands in for grub-mkconfig's 10_linux (source the defaults,
# then the snippets; root=GRUB_DEVICE when UUIDs are disabled); the real one
# runs in the firmware boot test (qemu/firmware-encrypt.sh).
set -eu
[ "$(id -u)" = 0 ] || { echo "needs root for chroot and mount"; exit 77; }
bb=$(command -v busybox) || { echo "busybox missing"; exit 77; }
file -L "$bb" | grep -q "statically linked" || { echo "busybox not static"; exit 77; }

t=$(mktemp -d)
trap 'umount "$t/boot" 2>/dev/null; rm -rf "$t"' EXIT INT TERM
mkdir -p "$t/bin" "$t/etc/default/grub.d" "$t/usr/sbin" "$t/usr/share/initramfs-tools/hooks" \
	"$t/tmp" "$t/boot"
cp "$bb" "$t/bin/busybox"
for c in sh mkdir cat; do ln -s busybox "$t/bin/$c"; done
# /boot a file system of its own (enroll refuses /boot inside the root)
mount -t tmpfs tmpfs "$t/boot" || { echo "cannot mount tmpfs"; exit 77; }
printf '#!/bin/sh\necho "update-initramfs $*" >>/log\n' >"$t/usr/sbin/update-initramfs"
cat >"$t/usr/sbin/update-grub" <<'G'
#!/bin/sh
GRUB_DEVICE=/dev/vda1
GRUB_DEVICE_UUID=1234
. /etc/default/grub
for f in /etc/default/grub.d/*.cfg; do [ -e "$f" ] && . "$f"; done
root=UUID=$GRUB_DEVICE_UUID
[ "${GRUB_DISABLE_LINUX_UUID:-}" != true ] || root=$GRUB_DEVICE
mkdir -p /boot/grub
printf 'menuentry "Debian" {\n\tlinux\t/vmlinuz root=%s ro %s %s\n}\n' "$root" \
	"$GRUB_CMDLINE_LINUX" "${GRUB_CMDLINE_LINUX_DEFAULT:-}" >/boot/grub/grub.cfg
G
chmod +x "$t/usr/sbin/update-initramfs" "$t/usr/sbin/update-grub"
: >"$t/usr/share/initramfs-tools/hooks/rootcrypt"
printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="console=ttyS0"\n' >"$t/etc/default/grub"
cp "$t/etc/default/grub" "$t/grub.orig"
enroll() {
	"$ROOTCRYPT" enroll --root "$t" --device PARTUUID=abcd --vault https://v.vault.azure.net "$@"
}

# 1. A harmless snippet (Ubuntu's cloud one sets only consoles): enrolled,
# the generated kernel line has the mapper root and nothing else.
printf 'GRUB_CMDLINE_LINUX_DEFAULT="console=tty1 console=ttyS0"\nGRUB_TIMEOUT=0\n' \
	>"$t/etc/default/grub.d/50-cloudimg-settings.cfg"
enroll >"$t/out"
grep -q 'every kernel line has root=/dev/mapper/root' "$t/out" || { cat "$t/out"; exit 1; }
grep -q 'linux	/vmlinuz root=/dev/mapper/root ro console=ttyS0 ' "$t/boot/grub/grub.cfg" ||
	{ cat "$t/boot/grub/grub.cfg"; exit 1; }
"$ROOTCRYPT" enroll --root "$t" --undo >/dev/null
cmp "$t/grub.orig" "$t/etc/default/grub"

# 2. A snippet that sets GRUB_DEVICE: refused, nothing written.
printf 'GRUB_DEVICE=/dev/sda1\n' >"$t/etc/default/grub.d/60-device.cfg"
rc=0
enroll >/dev/null 2>"$t/err" || rc=$?
[ "$rc" = 1 ] || { echo "GRUB_DEVICE snippet: rc=$rc"; cat "$t/err"; exit 1; }
grep -q '60-device.cfg": line 1 sets GRUB_DEVICE, which overrides' "$t/err" || { cat "$t/err"; exit 1; }
[ ! -e "$t/etc/rootcrypt.conf" ] && cmp "$t/grub.orig" "$t/etc/default/grub"
rm "$t/etc/default/grub.d/60-device.cfg"

# 3. Something the snippet scan cannot see (here update-grub itself adds a
# second root=): the read-back refuses, and enroll puts everything back.
sed -i 's|^printf .menuentry|GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX root=UUID=1234"\n&|' \
	"$t/usr/sbin/update-grub"
printf 'ca_file = /etc/ca.pem\n' >"$t/etc/rootcrypt.conf"
rc=0
enroll >"$t/out" 2>"$t/err" || rc=$?
[ "$rc" = 1 ] || { echo "second root=: rc=$rc"; cat "$t/out" "$t/err"; exit 1; }
grep -q 'has 2 root= parameters, not just root=/dev/mapper/root' "$t/err" || { cat "$t/err"; exit 1; }
grep -q 'undoing' "$t/out" || { cat "$t/out"; exit 1; }
cmp "$t/grub.orig" "$t/etc/default/grub" || { diff "$t/grub.orig" "$t/etc/default/grub"; exit 1; }
[ "$(cat "$t/etc/rootcrypt.conf")" = "ca_file = /etc/ca.pem" ] || { cat "$t/etc/rootcrypt.conf"; exit 1; }
# the initramfs was rebuilt without the enrolment: once for enroll, once for the undo
[ "$(grep -c update-initramfs "$t/log")" = 4 ] || { cat "$t/log"; exit 1; }
echo "grub.d override refused; a wrong generated root= undone"
