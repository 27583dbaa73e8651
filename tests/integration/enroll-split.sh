#!/bin/sh
# `rootcrypt enroll` with /boot a directory of the root (Azure's
# Debian/Ubuntu layout: GPT, p14 BIOS boot with GRUB's core, p15 ESP with
# Debian's grub.cfg stub naming the root's UUID R, p1 ext4 to the end):
# instead of refusing it plans the /boot split (src/boot/BOOT.md), checks
# both boot loaders, stages the BIOS core, records the plan in
# /etc/rootcrypt.conf and prints it, and never writes the disk outside the
# mounted root. Refusals (XFS without room, data in the ext4 tail, an ESP
# stub the switch could not patch, an ESP not naming R) write nothing.
# --undo removes the staged split; after a boot split the disk it says so;
# on a root split and then encrypted it says it cannot decrypt it nor merge
# /boot back (and how decrypting is done offline), keeps what that root needs
# to boot and writes nothing else; the offline decryption it names works.
set -eu
. "$(dirname "$0")/engine-lib.inc"
[ "$(id -u)" = 0 ] || { echo "skip: needs root for loop devices"; exit 77; }
need losetup partx sfdisk blkid mkfs.ext4 mkfs.vfat mcopy mmd grub-mkimage busybox sha256sum
grubdir=/usr/lib/grub/i386-pc
[ -f $grubdir/boot.img ] && [ -f $grubdir/moddep.lst ] ||
	{ echo "skip: GRUB i386-pc modules missing (grub-pc-bin)"; exit 77; }
bb=$(command -v busybox)
file -L "$bb" | grep -q "statically linked" || { echo "skip: busybox not static"; exit 77; }

t=$(mktemp -d)
loop=
mnt=$t/mnt
detach() {
	umount "$mnt/boot" 2>/dev/null || :
	umount "$mnt" 2>/dev/null || :
	[ -z "$loop" ] || { partx -d "$loop" 2>/dev/null || :; losetup -d "$loop" 2>/dev/null || :; }
	loop=
}
trap 'detach; rm -rf "$t"' EXIT INT TERM
mkdir "$mnt"
R=0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0
P1_START=79872	# 39 MiB: after p14 (1-5 MiB) and p15 (5-39 MiB)
dbg() { "$ROOTCRYPT" debug-bootloader "$@"; }
enroll() { "$ROOTCRYPT" enroll --root "$mnt" --vault https://x.vault.azure.net "$@"; }
uuid_re='[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'
conf=$mnt/etc/rootcrypt.conf
key() { sed -n "s/^$1 = //p" "$conf"; }

stub() { # UUID [PAD]: Debian's ESP grub.cfg, PAD '#' bytes first
	[ -z "${2:-}" ] || { head -c "$2" /dev/zero | tr '\0' '#'; printf '\n'; }
	printf "search.fs_uuid %s root hd0,gpt1\nset prefix=(\$root)'/boot/grub'\nconfigfile \$prefix/grub.cfg\n" "$1"
}
put_stub() { # the ESP's EFI/debian/grub.cfg, written through mtools on p15
	stub "$@" >"$t/stub"
	mcopy -o -i "${loop}p15" "$t/stub" ::/EFI/debian/grub.cfg 2>/dev/null
}

# disk FS-CMD DISK-MiB [P1-MiB]: the cloud layout on a loop device, R on p1
# (to the end of the disk, or P1-MiB with free space behind), GRUB's BIOS
# core in p14 as grub-install places it, the ESP stub naming R, a root tree
# with /boot inside and the generator faked as in enroll-plan.sh.
disk() {
	detach
	rm -f "$t/disk.img"
	truncate -s "$2"M "$t/disk.img"
	size=${3:+, size=$(($3 * 2048))}
	printf 'label: gpt\nd14 : start=2048, size=8192, type=21686148-6449-6E6F-744E-656564454649\nd15 : start=10240, size=69632, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\nd1 : start=%d%s, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' \
		$P1_START "$size" | sfdisk -q "$t/disk.img"
	loop=$(losetup --show -f "$t/disk.img")
	partx -a "$loop"
	[ -b "${loop}p15" ] || { echo "skip: no partition nodes for $loop"; exit 77; }
	$1 "${loop}p1" >/dev/null
	mkfs.vfat "${loop}p15" >/dev/null 2>&1
	mmd -i "${loop}p15" ::/EFI ::/EFI/debian ::/EFI/BOOT 2>/dev/null
	head -c 5000 /dev/urandom >"$t/shim"
	mcopy -i "${loop}p15" "$t/shim" ::/EFI/BOOT/BOOTX64.EFI 2>/dev/null
	put_stub "$R"
	rm -rf "$t/old"
	dbg bios-stage $grubdir "$R" 1 "$t/old" >/dev/null
	dd if="$loop" of="$t/s0" bs=512 count=1 status=none
	dbg bios-embed $grubdir/boot.img "$t/s0" "$t/old/core.img" 2048 "$t/old-s0" "$t/old-core"
	dd if="$t/old-s0" of="$loop" bs=512 conv=notrunc status=none
	dd if="$t/old-core" of="$loop" bs=512 seek=2048 conv=notrunc status=none
	mount "${loop}p1" "$mnt"
	mkdir -p "$mnt/boot/grub" "$mnt/bin" "$mnt/etc/default" "$mnt/usr/sbin" \
		"$mnt/usr/share/initramfs-tools/hooks" "$mnt/usr/lib/grub" "$mnt/var/lib"
	printf 'linux /boot/vmlinuz root=UUID=%s\n' "$R" >"$mnt/boot/grub/grub.cfg"
	head -c 300000 /dev/urandom >"$mnt/boot/vmlinuz"
	head -c 900000 /dev/urandom >"$mnt/boot/initrd.img"
	cp -a $grubdir "$mnt/usr/lib/grub/"
	cp "$bb" "$mnt/bin/busybox"
	ln -s busybox "$mnt/bin/sh"
	printf '#!/bin/sh\necho "update-initramfs $*" >>/log\n' >"$mnt/usr/sbin/update-initramfs"
	chmod +x "$mnt/usr/sbin/update-initramfs"
	: >"$mnt/usr/share/initramfs-tools/hooks/rootcrypt"
	printf 'GRUB_CMDLINE_LINUX="console=ttyS0"\n' >"$mnt/etc/default/grub"
	printf 'UUID=%s / ext4 errors=remount-ro 0 1\nUUID=ABCD-1234 /boot/efi vfat umask=0077 0 1\n' "$R" \
		>"$mnt/etc/fstab"
	sync
}
# The disk outside p1 (tables, p14, p15, backup GPT) and the root tree.
outside() {
	last=$(($(blockdev --getsz "$loop") - 1))
	p1_end=$(sfdisk -d "$loop" | sed -n 's/.*p1 : start= *\([0-9]*\), size= *\([0-9]*\).*/\1 \2/p' |
		awk '{print $1 + $2}')
	{ dd if="$loop" bs=1M count=$((P1_START * 512)) iflag=direct,count_bytes status=none
	  dd if="$loop" bs=1M skip=$((p1_end * 512)) count=$(((last + 1 - p1_end) * 512)) \
		iflag=direct,skip_bytes,count_bytes status=none; } | sha
}
tree() { (cd "$mnt" && find . -printf '%p %y %s %T@\n' | sort) | sha; }
# expect_refusal WHAT PATTERN ARGS...: enroll fails naming PATTERN, and the
# disk outside p1 and the root tree are as they were.
expect_refusal() {
	what=$1 pat=$2
	shift 2
	o=$(outside) tr0=$(tree)
	rc=0
	enroll "$@" >"$t/out" 2>"$t/err" || rc=$?
	[ "$rc" = 1 ] || { cat "$t/out" "$t/err"; die "$what: rc=$rc, want a refusal"; }
	grep -q "$pat" "$t/err" || { cat "$t/err"; die "$what: the refusal does not say \"$pat\""; }
	[ "$(outside)" = "$o" ] || die "$what: the disk outside p1 changed"
	[ "$(tree)" = "$tr0" ] || die "$what: the root tree changed"
	[ ! -e "$conf" ] || die "$what: a config was written"
	echo "refused ($what): $(tail -n1 "$t/err")"
}

# --- L1: R fills the disk; the first boot shrinks it ---
disk "mkfs.ext4 -q -F -U $R" 340
out0=$(outside) tree0=$(tree)
# --boot-size must hold /boot twice + 64 MiB (BOOT.md): 64 is too small for
# any /boot with files in it
expect_refusal "boot size below 2 x /boot + 64 MiB" 'is too small for the [0-9]* MiB in .*: give --boot-size 6[5-9] or more' --boot-size 64
enroll --boot-size 72 --dry-run >"$t/out" || { cat "$t/out"; die "dry run failed"; }
[ "$(outside)" = "$out0" ] && [ "$(tree)" = "$tree0" ] && [ ! -e "$conf" ] ||
	die "--dry-run wrote something"
grep -q 'plan: split /boot - the first boot shrinks the root file system from 300 to [0-9]* MiB' "$t/out" ||
	{ cat "$t/out"; die "dry run: no plan line"; }
enroll --boot-size 72 >"$t/out" || { cat "$t/out"; die "enroll failed"; }
cat "$t/out"
grep -q 'plan: split /boot - the first boot shrinks the root file system from 300 to [0-9]* MiB and its partition to [0-9]* MiB, adds a 72 MiB /boot partition (number 2, PARTUUID' "$t/out" ||
	die "no plan line"
grep -q 'repoints GRUB (UEFI: EFI/debian/grub.cfg; BIOS: staged core), then encrypts the root with the shift layout' "$t/out" ||
	die "plan line does not name both loaders"
B=$(key boot_split_uuid) PB=$(key boot_split_partuuid)
echo "$B" | grep -Eqx "$uuid_re" || die "boot_split_uuid \"$B\" is not a random lower-case UUID"
echo "$PB" | grep -Eqx "$uuid_re" || die "boot_split_partuuid \"$PB\" is not a random lower-case UUID"
[ "$B" != "$PB" ] || die "B and PB are the same"
grep -q "PARTUUID $PB, file system UUID $B" "$t/out" || die "plan line names other UUIDs"
[ "$(key boot_split_size)" = 72 ] || die "boot_split_size $(key boot_split_size)"
[ "$(key boot_split_esp_files)" = EFI/debian/grub.cfg ] || die "esp_files \"$(key boot_split_esp_files)\""
st=$mnt/var/lib/rootcrypt/bootsplit
[ "$(key boot_split_core)" = /var/lib/rootcrypt/bootsplit/core.img ] || die "core path $(key boot_split_core)"
[ "$(key boot_split_core_sha256)" = "$(sha <"$st/core.img")" ] || die "core sha256 is not the staged core's"
grep -qx "search.fs_uuid $B root hd0,gpt2" "$st/load.cfg" || die "staged load.cfg does not name B on gpt2"
cmp -s "$st/boot.img" $grubdir/boot.img || die "staged boot.img differs from GRUB's"
for f in biosdisk.mod ext2.mod normal.mod moddep.lst command.lst; do
	cmp -s "$st/i386-pc/$f" "$grubdir/$f" || die "staged i386-pc/$f differs or is missing"
done
[ "$(ls "$st/i386-pc" | grep -c '\.mod$')" = "$(ls $grubdir | grep -c '\.mod$')" ] ||
	die "not every module staged"
[ ! -e "$st.new" ] || die "staging directory left behind"
[ "$(outside)" = "$out0" ] || die "enroll wrote the disk outside p1"
[ "$("$ROOTCRYPT" config get boot_split_uuid --file "$conf" --no-cmdline)" = "$B" ] ||
	die "config get does not read boot_split_uuid"
grep -qx 'layout = shift' "$conf"
grep -qx 'update-initramfs -u -k all' "$mnt/log" || die "initramfs not regenerated"
# A re-enroll replaces the keys (one line each) and keeps B and PB: the staged
# core names B.
enroll --boot-size 96 >/dev/null
for k in boot_split_uuid boot_split_partuuid boot_split_size boot_split_core \
	boot_split_core_sha256 boot_split_esp_files; do
	[ "$(grep -c "^$k =" "$conf")" = 1 ] || { cat "$conf"; die "$k not exactly once after a re-enroll"; }
done
[ "$(key boot_split_uuid)" = "$B" ] && [ "$(key boot_split_partuuid)" = "$PB" ] ||
	die "a re-enroll changed B or PB"
[ "$(key boot_split_size)" = 96 ] || die "re-enroll kept the old size"
[ "$(key boot_split_core_sha256)" = "$(sha <"$st/core.img")" ] || die "re-staged core sha256"
# --undo before the first boot: config and staged directory go.
"$ROOTCRYPT" enroll --root "$mnt" --undo >"$t/out"
[ ! -e "$conf" ] && [ ! -e "$st" ] || die "--undo left the config or the staged split"
grep -q 'removing .*/var/lib/rootcrypt/bootsplit' "$t/out" || { cat "$t/out"; die "--undo did not say it"; }
[ "$(outside)" = "$out0" ] || die "--undo wrote the disk outside p1"

# --- refusals on the same disk, nothing written ---
rc=0; enroll --boot-size 63 >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || die "--boot-size 63: rc=$rc, want 2"
# (b) data in the ext4 tail: most of R filled with a file
dd if=/dev/zero of="$mnt/fill" bs=1M count=230 status=none
sync
expect_refusal "data in the ext4 tail" \
	'the last [0-9]* MiB of the root file system hold data: grow the disk by [0-9]* MiB' --boot-size 72
rm "$mnt/fill"
sync
# (b2) nothing in the tail, but more than resize2fs will shrink below: its
# own estimate (`resize2fs -P`, counting the metadata the remaining groups
# need) is far above the used blocks; planning by the used blocks alone
# promised a shrink that failed on every first boot (seen with a dracut
# image through firmware)
for i in $(seq 1 110); do head -c 1M /dev/zero >"$mnt/many$i"; done
sync
expect_refusal "above resize2fs's minimum" \
	"resize2fs will not shrink the root file system below [0-9]* MiB (its own estimate of the minimum), the split needs it at [0-9]* MiB: grow the disk by [0-9]* MiB" --boot-size 72
rm "$mnt"/many*
sync
# (c) an ESP stub whose UUID straddles a 512-byte boundary of the file
put_stub "$R" 484
mtype -i "${loop}p15" ::/EFI/debian/grub.cfg 2>/dev/null | grep -abo "$R" | grep -q "^500:" || die "the padded stub does not put R at byte 500"
expect_refusal "stub across a sector" "EFI/debian/grub.cfg cannot be repointed" --boot-size 72
# an ESP whose GRUB does not find /boot by R (another UUID): UEFI could not follow
put_stub 99999999-8888-4777-8666-555555555555
expect_refusal "ESP not naming R" "does not find /boot by the root's UUID" --boot-size 72
# a BIOS boot partition with GRUB in sector 0 but no grub-pc-bin in the tree
put_stub "$R"
mv "$mnt/usr/lib/grub/i386-pc" "$t/i386-pc.away"
sync
expect_refusal "no grub-pc-bin" "install grub-pc-bin" --boot-size 72
mv "$t/i386-pc.away" "$mnt/usr/lib/grub/i386-pc"
# sector 0's boot code is another loader's, not this GRUB's boot.img: the
# BIOS switch (bios_core_check) would refuse, so enroll does
dd if="$loop" of="$t/s0-grub" bs=512 count=1 iflag=direct status=none
{ head -c 440 /dev/urandom; tail -c 72 "$t/s0-grub"; } >"$t/s0-other"
dd if="$t/s0-other" of="$loop" bs=512 count=1 conv=notrunc oflag=direct status=none
expect_refusal "sector 0 not GRUB's" "BIOS boot loader cannot be switched to /boot's new partition" --boot-size 72
dd if="$t/s0-grub" of="$loop" bs=512 count=1 conv=notrunc oflag=direct status=none
# step 4 could not add /boot to fstab: one already mounts something there
cp "$mnt/etc/fstab" "$t/fstab"
printf 'LABEL=old /boot ext4 defaults 0 2\n' >>"$mnt/etc/fstab"
sync
expect_refusal "fstab mounts /boot already" "already mounts something on /boot" --boot-size 72
cp "$t/fstab" "$mnt/etc/fstab"
sync
# the detached layout keeps its rule: the header needs a separate file system
expect_refusal "detached" "root file system being encrypted" --layout detached --header /boot/h.img

# --- L2: free space behind p1; no shrink. Then a boot "splits": --undo says so ---
disk "mkfs.ext4 -q -F -U $R" 440 300
enroll --boot-size 72 >"$t/out" || { cat "$t/out"; die "enroll (L2) failed"; }
grep -q 'plan: split /boot - the first boot adds a 72 MiB /boot partition (number 2, .*at the end of the disk (free space: no shrink)' "$t/out" ||
	{ cat "$t/out"; die "L2 plan line"; }
B=$(key boot_split_uuid) PB=$(key boot_split_partuuid)
# what steps 2-4 of a first boot do: pB with PB at the end of the disk, B on
# it, mounted on /boot (fstab)
fake_split() {
	last=$(sfdisk -d "$loop" | sed -n 's/^last-lba: *//p')
	printf 'd2 : start=%d, size=%d, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=%s\n' \
		$(((last + 1) / 2048 * 2048 - 72 * 2048)) $((72 * 2048)) "$PB" |
		sfdisk -q --append --no-reread --no-tell-kernel "$loop"
	partx -a "$loop" 2>/dev/null || :
	[ -b "${loop}p2" ] || die "no node for the new partition 2"
	mkfs.ext4 -q -F -U "$B" "${loop}p2"
}
fake_split
mount "${loop}p2" "$mnt/boot"
# A re-enroll now (/boot is B, no longer inside the root) keeps the split's
# lines: a boot that stopped before repointing both loaders finishes first.
enroll >"$t/out" || { cat "$t/out"; die "re-enroll with /boot on B failed"; }
grep -q "/boot is the split's file system (UUID $B): its boot_split_\* lines stay" "$t/out" ||
	{ cat "$t/out"; die "re-enroll with /boot on B did not say it keeps the split"; }
[ "$(key boot_split_uuid)" = "$B" ] && [ "$(key boot_split_partuuid)" = "$PB" ] &&
	[ "$(key boot_split_size)" = 72 ] && [ "$(key boot_split_esp_files)" = EFI/debian/grub.cfg ] &&
	[ -n "$(key boot_split_core_sha256)" ] || { cat "$conf"; die "re-enroll dropped the split's lines"; }
umount "$mnt/boot"
"$ROOTCRYPT" enroll --root "$mnt" --undo >"$t/out"
grep -q 'the /boot split is done: /boot stays on its own partition' "$t/out" ||
	{ cat "$t/out"; die "--undo after a split did not say so"; }
[ ! -e "$conf" ] || die "--undo kept the config"
[ -e "$mnt/var/lib/rootcrypt/bootsplit/core.img" ] || die "--undo removed the staged split of a done split"

# --- split, then encrypted (the running system after its first boot): --undo
# cannot decrypt a root in use nor merge /boot back; it says so and how, keeps
# what the encrypted root needs to boot (config, initramfs, GRUB's root=),
# removes the staged split, writes nothing else. Stock cryptsetup then
# decrypts offline as it says, and --undo on the decrypted root undoes the rest.
disk "mkfs.ext4 -q -F -U $R" 440 300
enroll --boot-size 72 >/dev/null || die "enroll before the encrypted --undo failed"
B=$(key boot_split_uuid) PB=$(key boot_split_partuuid)
fake_split
sys=$t/sys
rm -rf "$sys" && mkdir "$sys"
cp -a "$mnt/." "$sys/"
umount "$mnt"
# the configured device by its node: this host has no udev PARTUUID links
sed -i "s|^device = .*|device = ${loop}p1|" "$sys/etc/rootcrypt.conf"
head -c 48 /dev/urandom | base64 -w0 >"$t/pass"
"$ROOTCRYPT" encrypt "$loop" --partition 1 --key-file "$t/pass" >"$t/enc.out" 2>&1 ||
	{ cat "$t/enc.out"; die "rootcrypt encrypt of the split root failed"; }
[ "$("$ROOTCRYPT" status "${loop}p1" | head -n1)" = "${loop}p1: encrypted" ] || die "p1 is not encrypted"
# the tree but the staged split (and the mtime of the directory holding it)
sysv() { (cd "$sys" && find . ! -path './var/lib/rootcrypt/bootsplit*' ! -path ./var/lib/rootcrypt \
	-printf '%p %y %s %T@\n' | sort &&
	cat etc/rootcrypt.conf etc/default/grub) | sha; }
sys0=$(sysv) disk0=$(sha <"$loop")
undo_encrypted() { # EXTRA-ARG: --undo on the encrypted tree, rc 1 and the lines
	rc=0
	"$ROOTCRYPT" enroll --root "$sys" --undo $1 >"$t/out" 2>"$t/err" || rc=$?
	[ "$rc" = 1 ] || { cat "$t/out" "$t/err"; die "--undo $1 on an encrypted root: rc=$rc, want 1"; }
	grep -q "the root partition ${loop}p1 is encrypted (LUKS2 .*): rootcrypt cannot decrypt it from the running system" "$t/out" &&
		grep -qF "cryptsetup reencrypt --decrypt --header NEW-HEADER-FILE --hotzone-size 4M ${loop}p1" "$t/out" &&
		grep -qF "/boot stays on its own partition (PARTUUID $PB, file system UUID $B): rootcrypt cannot merge /boot back into the root" "$t/out" &&
		grep -qF "kept: /etc/rootcrypt.conf, the initramfs and GRUB's root=/dev/mapper/root" "$t/out" ||
		{ cat "$t/out"; die "--undo $1 on an encrypted root does not say what it cannot undo"; }
	[ "$(wc -l <"$t/err")" = 1 ] && grep -q 'the root is encrypted, nothing else was changed' "$t/err" ||
		{ cat "$t/err"; die "--undo $1: not one line on stderr"; }
	[ "$(sysv)" = "$sys0" ] || die "--undo $1 on an encrypted root changed the config, GRUB or the initramfs"
	[ "$(sha <"$loop")" = "$disk0" ] || die "--undo $1 on an encrypted root wrote the disk"
}
undo_encrypted --dry-run
[ -e "$sys/var/lib/rootcrypt/bootsplit/core.img" ] || die "--undo --dry-run removed the staged split"
undo_encrypted ""
grep -q 'removing .*/var/lib/rootcrypt/bootsplit' "$t/out" || { cat "$t/out"; die "--undo did not say it removes the staged split"; }
[ ! -e "$sys/var/lib/rootcrypt/bootsplit" ] || die "--undo on an encrypted root kept the staged split"
echo "split + encrypted: --undo says it cannot decrypt or merge /boot back, keeps config/initramfs/GRUB, removes the staged split"
if command -v cryptsetup >/dev/null; then
	# the command --undo printed, with the passphrase (and no prompt)
	cmd=$(sed -n 's/^ *\(cryptsetup reencrypt --decrypt .*\)$/\1/p' "$t/out" | sed "s|NEW-HEADER-FILE|$t/hdr|")
	$cmd --force-offline-reencrypt --key-file "$t/pass" -q >"$t/dec.out" 2>&1 ||
		{ cat "$t/dec.out"; die "stock cryptsetup cannot decrypt as --undo says ($cmd)"; }
	e2fsck -fn "${loop}p1" >/dev/null 2>&1 || die "the decrypted root is not a clean ext4"
	[ "$(blkid -o value -s UUID "${loop}p1")" = "$R" ] || die "decrypted p1 is not R"
	"$ROOTCRYPT" enroll --root "$sys" --undo >"$t/out" 2>"$t/err" ||
		{ cat "$t/out" "$t/err"; die "--undo on the decrypted root failed"; }
	[ ! -e "$sys/etc/rootcrypt.conf" ] && grep -qx 'GRUB_CMDLINE_LINUX="console=ttyS0"' "$sys/etc/default/grub" ||
		die "--undo on the decrypted root left the config or GRUB's parameters"
	echo "decrypted offline as --undo says (R back); --undo then removed config and GRUB parameters"
else
	echo "offline decryption skipped: no cryptsetup"
fi

# --- (a) XFS filling the disk with /boot inside: cannot shrink, say the growth ---
if command -v mkfs.xfs >/dev/null; then
	disk "mkfs.xfs -q -f -m uuid=$R" 340
	expect_refusal "XFS without room" \
		'/boot is inside the XFS root and XFS cannot shrink: grow the disk by [0-9]* MiB' --boot-size 72
else
	echo "XFS refusal skipped: no mkfs.xfs"
fi
# --- the contract: what enroll recorded and staged is what the boot side runs ---
# (the split as `rootcrypt boot` runs it, through the test build's hidden
# `debug-bootsplit run`, on the unmounted disk)
if [ -n "${ROOTCRYPT_TEST:-}" ] && command -v unshare >/dev/null; then
	disk "mkfs.ext4 -q -F -U $R" 340
	enroll --boot-size 72 >/dev/null || die "enroll before the boot side's run failed"
	B=$(key boot_split_uuid) PB=$(key boot_split_partuuid)
	cp "$conf" "$t/boot.conf"
	umount "$mnt"
	rc=0
	unshare -m "$ROOTCRYPT_TEST" debug-bootsplit run --work "$t/work" --config "$t/boot.conf" \
		"$loop" "${loop}p1" 1 >"$t/run.log" 2>&1 || rc=$?
	[ "$rc" = 0 ] || { tail -n 20 "$t/run.log"; die "the boot side's split run failed on what enroll staged"; }
	sfdisk -d "$loop" | grep "^${loop}p2 :" | grep -qi "uuid=$PB" || die "no partition 2 with PB after the run"
	mtype -i "${loop}p15" ::/EFI/debian/grub.cfg 2>/dev/null | grep -q "search.fs_uuid $B root hd0,gpt2" ||
		die "the ESP stub does not name B after the run"
	ks=$(od -An -tu8 -j $((0x5c)) -N8 "$loop" | tr -d ' ')
	[ "$ks" = $((2048 + 4096)) ] || die "sector 0 points at $ks, not the staged core at p14 + half"
	echo "boot side: split done from enroll's config and staging (pB = PB, stub names B, BIOS core switched)"
else
	echo "boot side's run skipped: no ROOTCRYPT_TEST (the test build) or unshare"
fi
echo "ok"
