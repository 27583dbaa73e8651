#!/bin/sh
# The /boot split's steps 3 (fill B) and 4 (fstab) on loop devices
# (src/boot/bootsplit_fill.c, BOOT.md), driven by the hidden
# `debug-bootsplit` of the test build, each run in its own mount namespace
# (a kill there drops its mounts, as a reboot would). An ext4 root R holds a
# Debian-like /boot (kernel, initrd, grub.cfg with search lines naming R,
# symlinks, a 0600 file, a file owned by 1000, a name with a space, the
# ESP's content under efi/) and staged i386-pc modules.
#   1. A fill killed after 3 files: no marker, decide says "fill"; rerun.
#   2. B: UUID, label, e2fsck clean; every entry of R:/boot (kind, mode,
#      owner, size, mtime, sha256 or link target) on B, except efi/'s
#      content (efi/ itself empty), grub.cfg (its search lines, and only
#      they, name B), the staged modules; `boot -> .`; decide says "fstab".
#   3. R:/boot changed after the fill (a plain boot): decide says "fill".
#   4. fstab: the line before /boot/efi, the original kept, a rerun changes
#      nothing; decide says "done"; a damaged manifest or marker then says
#      "damaged". Another /boot in fstab is refused.
#   5. R's tree (but /etc/fstab*) is what it was before the fills and
#      after them; e2fsck clean on R.
set -eu
. "$(dirname "$0")/engine-lib.inc"
need mke2fs mkfs.ext4 e2fsck losetup unshare blkid mount umount sha256sum
[ "$(id -u)" = 0 ] || { echo "skip: needs root (loop devices, mount)"; exit 77; }
[ -n "${ROOTCRYPT_TEST:-}" ] || { echo "skip: ROOTCRYPT_TEST (the test build) not given"; exit 77; }
d=$(mktemp -d)
lr= lb=
cleanup() {
	for m in "$d/mr" "$d/mb"; do mountpoint -q "$m" 2>/dev/null && umount "$m"; done
	[ -z "$lb" ] || losetup -d "$lb"
	[ -z "$lr" ] || losetup -d "$lr"
	rm -rf "$d"
}
trap cleanup EXIT
B=3c7a1e2f-9b4d-4e8a-a1b2-c3d4e5f60718
mkdir "$d/mr" "$d/mb"

truncate -s 200M "$d/r.img"
mkfs.ext4 -q -F -E nodiscard "$d/r.img"
R=$(blkid -o value -s UUID "$d/r.img")
lr=$(losetup -f --show "$d/r.img")
mount "$lr" "$d/mr"
boot=$d/mr/boot
mkdir -p "$boot/grub/i386-pc" "$boot/grub/fonts" "$boot/efi/EFI/debian" "$d/mr/etc" \
	"$d/mr/var/lib/rootcrypt/bootsplit/i386-pc"
k=6.1.0-13-cloud-amd64
head -c 3000000 /dev/urandom >"$boot/vmlinuz-$k"
head -c 7000000 /dev/urandom >"$boot/initrd.img-$k"
seq 1 20000 >"$boot/System.map-$k"
chmod 0600 "$boot/System.map-$k"
echo "CONFIG_EXT4_FS=y" >"$boot/config-$k"
ln -s "vmlinuz-$k" "$boot/vmlinuz"
ln -s "initrd.img-$k" "$boot/initrd.img"
head -c 40000 /dev/urandom >"$boot/grub/i386-pc/normal.mod"
head -c 20000 /dev/urandom >"$boot/grub/fonts/unicode.pf2"
echo "owned by a user" >"$boot/grub/my file"
chown 1000:1000 "$boot/grub/my file"
touch -d '2020-01-02 03:04:05' "$boot/config-$k"
head -c 90000 /dev/urandom >"$boot/efi/EFI/debian/grubx64.efi"
cat >"$boot/grub/grub.cfg" <<CFG
insmod part_gpt
insmod ext2
if [ x\$feature_platform_search_hint = xy ]; then
  search --no-floppy --fs-uuid --set=root --hint-bios=hd0,gpt1 --hint-efi=hd0,gpt1 --hint-baremetal=ahci0,gpt1  $R
else
  search --no-floppy --fs-uuid --set=root $R
fi
menuentry 'Debian GNU/Linux' {
	search --no-floppy --fs-uuid --set=root $R
	echo	'Loading Linux $k ...'
	linux	/boot/vmlinuz-$k root=UUID=$R ro console=ttyS0
	initrd	/boot/initrd.img-$k
}
CFG
chmod 0444 "$boot/grub/grub.cfg"
staged=$d/mr/var/lib/rootcrypt/bootsplit/i386-pc
head -c 41000 /dev/urandom >"$staged/normal.mod"
head -c 3000 /dev/urandom >"$staged/search_fs_uuid.mod"
printf 'PARTUUID=aaaa / ext4 rw,discard,errors=remount-ro 0 1\nPARTUUID=bbbb /boot/efi vfat umask=0077 0 1\n' \
	>"$d/mr/etc/fstab"
umount "$d/mr"

truncate -s 96M "$d/b.img"
lb=$(losetup -f --show "$d/b.img")
rc() { unshare -m --propagation private "$ROOTCRYPT_TEST" debug-bootsplit "$@"; }
state() { rc decide --work "$d/w" "$lb" "$lr" "$B" | awk '$1 == "state" { print $2 }'; }

# tree DIR: one line per entry, sorted: path|kind|mode|uid|gid|size|mtime|sha256 or target
tree() {
	( cd "$1" && find . -mindepth 1 -printf '%p|%y|%m|%U|%G|%s|%T@|%l\n' | sort |
		while IFS='|' read -r p y m u g s t l; do
			case $y in f) h=$(sha256sum <"$p" | cut -d' ' -f1) ;; l) h=$l s=- ;; *) h=- s=- ;; esac
			echo "$p|$y|$m|$u|$g|$s|$t|$h"
		done )
}
tree_r() { mount -o ro "$lr" "$d/mr"; tree "$d/mr" >"$1"; umount "$d/mr"; }
tree_r "$d/r.before"

# 1. a cut in the middle of the copy
rc_kill=0
ROOTCRYPT_FAULT_KILL_AFTER_FILES=3 rc fill --work "$d/w" --i386-pc var/lib/rootcrypt/bootsplit/i386-pc \
	"$lb" "$lr" "$B" 2>"$d/err" || rc_kill=$?
[ "$rc_kill" = 137 ] || { cat "$d/err"; die "the fill was not killed (exit $rc_kill)"; }
mount -o ro "$lb" "$d/mb"
n=$(find "$d/mb" -type f | wc -l)
[ ! -e "$d/mb/.rootcrypt-split" ] || die "a killed fill left a marker"
umount "$d/mb"
[ "$n" -ge 3 ] || die "the cut came before 3 files were copied ($n)"
[ "$(state)" = fill ] || die "after a cut in the fill, decide says '$(state)', not fill"

rc fill --work "$d/w" --i386-pc var/lib/rootcrypt/bootsplit/i386-pc "$lb" "$lr" "$B" ||
	die "the rerun of the fill failed"
[ "$(state)" = fstab ] || die "after the fill, decide says '$(state)', not fstab"

# 2. what B holds
[ "$(blkid -o value -s UUID "$lb")" = "$B" ] || die "B has UUID $(blkid -o value -s UUID "$lb")"
[ "$(blkid -o value -s LABEL "$lb")" = boot ] || die "B's label is not 'boot'"
[ "$(blkid -o value -s TYPE "$lb")" = ext4 ] || die "B is not ext4"
e2fsck -fn "$lb" >"$d/fsck" 2>&1 || { cat "$d/fsck"; die "e2fsck -fn on B"; }
dumpe2fs -h "$lb" 2>/dev/null | grep -q 'metadata_csum_seed\|orphan_file' &&
	die "B has metadata_csum_seed or orphan_file (GRUB 2.06 cannot read them)"
mount -o ro "$lb" "$d/mb"
mount -o ro "$lr" "$d/mr"
tree "$d/mr/boot" | grep -v '^\./efi/' | grep -v '^\./grub/grub\.cfg|' |
	grep -v '^\./grub/i386-pc/normal\.mod|' >"$d/want"
tree "$d/mb" | grep -v '^\./lost+found' | grep -v '^\./\.rootcrypt-' | grep -v '^\./boot|' |
	grep -v '^\./grub/grub\.cfg|' | grep -v '^\./grub/i386-pc/normal\.mod|' |
	grep -v '^\./grub/i386-pc/search_fs_uuid\.mod|' >"$d/got"
diff "$d/want" "$d/got" >"$d/diff" || { cat "$d/diff"; die "B's tree differs from R:/boot"; }
grep -q "^./grub/my file|f|644|1000|1000|" "$d/got" || die "owner 1000 not kept"
grep -q "^./System.map-$k|f|600|" "$d/got" || die "mode 0600 not kept"
grep -q "^./vmlinuz|l|.*|vmlinuz-$k\$" "$d/got" || die "symlink not kept"
[ "$(readlink "$d/mb/boot")" = . ] || die "B has no boot -> . link"
[ -d "$d/mb/efi" ] && [ -z "$(ls -A "$d/mb/efi")" ] || die "B's efi/ is not an empty directory"
cmp -s "$d/mb/grub/i386-pc/normal.mod" "$d/mr/var/lib/rootcrypt/bootsplit/i386-pc/normal.mod" ||
	die "the staged normal.mod did not replace R's"
cmp -s "$d/mb/grub/i386-pc/search_fs_uuid.mod" \
	"$d/mr/var/lib/rootcrypt/bootsplit/i386-pc/search_fs_uuid.mod" || die "staged module missing"
sed -E "/^[[:space:]]*search(\\.fs_uuid)?[[:space:]]/s/$R/$B/g" "$d/mr/boot/grub/grub.cfg" >"$d/cfg.want"
cmp -s "$d/cfg.want" "$d/mb/grub/grub.cfg" || { diff "$d/cfg.want" "$d/mb/grub/grub.cfg";
	die "B's grub.cfg is not R's with the search lines naming B"; }
[ "$(grep -c "$B" "$d/mb/grub/grub.cfg")" = 3 ] || die "not 3 search lines name B"
grep -q "root=UUID=$R ro" "$d/mb/grub/grub.cfg" || die "the kernel's root=UUID=R changed"
[ "$(stat -c %a "$d/mb/grub/grub.cfg")" = 444 ] || die "grub.cfg's mode not kept"
umount "$d/mr" "$d/mb"
tree_r "$d/r.filled"
diff "$d/r.before" "$d/r.filled" >"$d/diff" || { cat "$d/diff"; die "two fills changed R's files"; }

# 3. R:/boot changes after the fill (a plain boot installed something)
mount "$lr" "$d/mr"
echo new >"$d/mr/boot/config-new"
umount "$d/mr"
[ "$(state)" = fill ] || die "after R:/boot changed, decide says '$(state)', not fill"
rc fill --work "$d/w" "$lb" "$lr" "$B" || die "the refill failed"
[ "$(state)" = fstab ] || die "after the refill, decide says '$(state)'"
mount -o ro "$lb" "$d/mb"
[ "$(cat "$d/mb/config-new")" = new ] || die "the refill did not copy the new file"
umount "$d/mb"
mount "$lr" "$d/mr"
rm "$d/mr/boot/config-new"
umount "$d/mr"
tree_r "$d/r.before"
rc fill --work "$d/w" --i386-pc var/lib/rootcrypt/bootsplit/i386-pc "$lb" "$lr" "$B" ||
	die "the third fill failed"

# 4. fstab
rc fstab --work "$d/w" "$lr" "$B" || die "the fstab step failed"
mount -o ro "$lr" "$d/mr"
printf 'PARTUUID=aaaa / ext4 rw,discard,errors=remount-ro 0 1\nUUID=%s /boot ext4 defaults 0 2\nPARTUUID=bbbb /boot/efi vfat umask=0077 0 1\n' \
	"$B" >"$d/fstab.want"
cmp -s "$d/fstab.want" "$d/mr/etc/fstab" || { cat "$d/mr/etc/fstab"; die "fstab not as expected"; }
grep -q '^PARTUUID=aaaa / ' "$d/mr/etc/fstab.rootcrypt-orig" && ! grep -q "$B" "$d/mr/etc/fstab.rootcrypt-orig" ||
	die "fstab.rootcrypt-orig is not the original"
[ ! -e "$d/mr/etc/fstab.rootcrypt-new" ] || die "fstab.rootcrypt-new left behind"
sum=$(sha256sum <"$d/mr/etc/fstab")
umount "$d/mr"
rc fstab --work "$d/w" "$lr" "$B" || die "a rerun of the fstab step failed"
mount -o ro "$lr" "$d/mr"
[ "$(sha256sum <"$d/mr/etc/fstab")" = "$sum" ] || die "a rerun changed fstab"
umount "$d/mr"
[ "$(state)" = done ] || die "after fstab, decide says '$(state)'"
# a manifest that no longer has the marker's digest: the marker is invalid,
# and with fstab naming B that is damage, not a cut
mount "$lb" "$d/mb"
cp "$d/mb/.rootcrypt-manifest" "$d/manifest"
echo "f 0644 0 0 1 - extra" >>"$d/mb/.rootcrypt-manifest"
umount "$d/mb"
[ "$(state)" = damaged ] || die "with a changed manifest, decide says '$(state)', not damaged"
mount "$lb" "$d/mb"
cp "$d/manifest" "$d/mb/.rootcrypt-manifest"
sed -i "s/^boot-uuid .*/boot-uuid $R/" "$d/mb/.rootcrypt-split"
umount "$d/mb"
[ "$(state)" = damaged ] || die "with a marker naming another B, decide says '$(state)'"
# another /boot in fstab is refused and left as it was
mount "$lr" "$d/mr"
cp "$d/mr/etc/fstab" "$d/fstab.ours"
echo 'LABEL=oldboot /boot ext2 defaults 0 2' >"$d/mr/etc/fstab"
sum=$(sha256sum <"$d/mr/etc/fstab")
umount "$d/mr"
if rc fstab --work "$d/w" "$lr" "$B" 2>"$d/err"; then die "fstab with another /boot accepted"; fi
grep -q 'fstab already mounts "LABEL=oldboot" on /boot' "$d/err" || { cat "$d/err"; die "no clear refusal"; }
mount "$lr" "$d/mr"
[ "$(sha256sum <"$d/mr/etc/fstab")" = "$sum" ] || die "the refused fstab was changed"
cp "$d/fstab.ours" "$d/mr/etc/fstab"
umount "$d/mr"

# 5. R as it was, but for fstab
tree_r "$d/r.after"
grep -v '^\./etc/fstab' "$d/r.before" | grep -v '^\./etc|' >"$d/rb"
grep -v '^\./etc/fstab' "$d/r.after" | grep -v '^\./etc|' >"$d/ra"
diff "$d/rb" "$d/ra" >"$d/diff" || { cat "$d/diff"; die "R's files changed"; }
e2fsck -fn "$lr" >"$d/fsck" 2>&1 || { cat "$d/fsck"; die "e2fsck -fn on R"; }
echo "fill cut after 3 files and redone, B verified, stale fill redone, fstab added once, R unchanged"
