#!/bin/sh
# The whole /boot split as `rootcrypt boot` runs it (src/boot/bootsplit_run.c,
# BOOT.md), on a loop device holding a disk laid out like Azure's Debian 12
# image: GPT, p14 BIOS boot with a GRUB i386-pc core that finds the root by
# its UUID R (sector 0 = GRUB's boot.img pointing at it), p15 ESP (FAT, the
# Debian stub EFI/debian/grub.cfg naming R), p1 ext4 R filling the rest with
# /boot inside, and what enroll stages (a core for B, boot.img, modules) and
# writes (boot_split_* settings). Driven by the test build's hidden
# `debug-bootsplit run`, each run in its own mount namespace.
#   1. One run: the GPT (sfdisk the oracle) has pB = partition 2, type Linux
#      fs, PARTUUID PB, name boot, the last 64 MiB; p1 ends where pB starts;
#      R (e2fsck -fn clean) ends at or below F and keeps every file; B has
#      UUID B and every file of R:/boot; R's fstab mounts UUID=B on /boot;
#      the ESP stub names B with hint gpt2 (fsck.vfat clean); sector 0 points
#      at the staged core in p14's second half. A second run does nothing.
#   2. A cut right after each step (shrink, table, fill, fstab, switch-esp,
#      switch-bios) and in the middle of the copy: the next run finishes,
#      and the disk is checked as in 1.
#   3. A disk that cannot hold the split (boot_split_size larger than it)
#      is refused with the growth named, and not written. L2 (free space
#      behind p1): no shrink, p1 keeps its end, pB at the disk's end.
#   4. `rootcrypt boot` end to end: split, key, conversion, unlock; stock
#      cryptsetup decrypts p1 into R as the split left it. status.json's
#      `boot_split` member (BOOT.md "enroll, status") says done in the
#      boot's last status and `rootcrypt status` prints it; a boot whose
#      split has no room says refused with the growth, nothing written, no
#      key stored; a boot cut after a step says in-progress with that step;
#      a split that stops after it changed the disk says incomplete with the
#      step and the line; a boot with no split configured writes no member.
set -eu
. "$(dirname "$0")/engine-lib.inc"
need mke2fs mkfs.ext4 e2fsck resize2fs dumpe2fs losetup partx unshare blkid sfdisk \
	mkfs.vfat fsck.vfat mcopy mtype mmd grub-mkimage od debugfs
[ "$(id -u)" = 0 ] || { echo "skip: needs root (loop devices, mount)"; exit 77; }
[ -n "${ROOTCRYPT_TEST:-}" ] || { echo "skip: ROOTCRYPT_TEST (the test build) not given"; exit 77; }
[ -f /usr/lib/grub/i386-pc/boot.img ] || { echo "skip: grub-pc-bin not installed"; exit 77; }
d=$(mktemp -d)
loop=
cleanup() {
	[ -z "$loop" ] || { partx -d "$loop" 2>/dev/null || :; losetup -d "$loop" 2>/dev/null || :; }
	rm -rf "$d"
}
trap cleanup EXIT
dbg() { "$ROOTCRYPT_TEST" debug-bootloader "$@"; }
R=6f1c2a3b-4d5e-4f60-8172-839405a6b7c8
B=2b7e1516-28ae-4d2a-abf7-158809cf4f3c
PB=0d9c8b7a-6e5f-4a3b-8c2d-1e0f9a8b7c6d

# --- the image: R's tree (with what enroll stages), ESP, BIOS core ---
t=$d/tree
mkdir -p "$t/boot/grub/i386-pc" "$t/boot/efi" "$t/etc" "$t/var/lib/rootcrypt/bootsplit/i386-pc" "$t/data"
k=6.1.0-13-cloud-amd64
head -c 3000000 /dev/urandom >"$t/boot/vmlinuz-$k"
head -c 7000000 /dev/urandom >"$t/boot/initrd.img-$k"
seq 1 20000 >"$t/boot/System.map-$k"
ln -s "vmlinuz-$k" "$t/boot/vmlinuz"
cp /usr/lib/grub/i386-pc/normal.mod /usr/lib/grub/i386-pc/ext2.mod "$t/boot/grub/i386-pc/"
cat >"$t/boot/grub/grub.cfg" <<CFG
search --no-floppy --fs-uuid --set=root --hint-bios=hd0,gpt1 $R
menuentry 'Debian GNU/Linux' {
	linux	/boot/vmlinuz-$k root=UUID=$R ro console=ttyS0
	initrd	/boot/initrd.img-$k
}
CFG
printf 'PARTUUID=aaaa / ext4 rw,discard,errors=remount-ro 0 1\nPARTUUID=bbbb /boot/efi vfat umask=0077 0 1\n' >"$t/etc/fstab"
gen_tree "$t/data"
st=$t/var/lib/rootcrypt/bootsplit
dbg bios-stage /usr/lib/grub/i386-pc "$B" 2 "$st" >"$d/stage.out"
core_sha=$(awk '$1 == "sha256" {print $2}' "$d/stage.out")
cp /usr/lib/grub/i386-pc/boot.img "$st/boot.img"
cp /usr/lib/grub/i386-pc/*.mod /usr/lib/grub/i386-pc/*.lst "$st/i386-pc/"
(cd "$t" && find . -path ./boot -prune -o -type f ! -path ./etc/fstab -print | sort | xargs sha256sum) >"$d/root.sums"
(cd "$t/boot" && find . -type f | sort | xargs sha256sum) >"$d/boot.sums"

disk=$d/disk.img
# make_image P1_SECTORS OUT: the Azure-layout disk into $disk and OUT; p1 to
# the end of the disk when P1_SECTORS is empty (L1), else that long (L2)
make_image() {
	rm -f "$disk"
	truncate -s 400M "$disk"
	printf 'label: gpt\nstart=2048, size=8192, type=21686148-6449-6E6F-744E-656564454649\nstart=10240, size=69632, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\nstart=79872, %stype=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' "${1:+size=$1, }" |
		sfdisk -q "$disk"
	# sfdisk numbers them 1 2 3; Azure's are 14 15 1: renumber with --reorder's
	# inverse, by writing a dump with explicit numbers
	sfdisk -d "$disk" | sed -e 's|^\(.*\)1 : \(.*21686148\)|\114 : \2|' \
		-e 's|^\(.*\)2 : \(.*C12A7328\)|\115 : \2|' -e 's|^\(.*\)3 : \(.*0FC63DAF\)|\11 : \2|' >"$d/dump"
	sfdisk -q --wipe never "$disk" <"$d/dump"
	p1_start=$((79872 * 512))
	p1_size=$(( $(sfdisk -l -o Device,Sectors "$disk" | awk '$1 ~ /img1$/ {print $2}') * 512 ))
	[ "$p1_size" -gt 0 ] || die "no partition 1 in the test image"
	mkfs.ext4 -q -F -U "$R" -d "$t" -E nodiscard "$d/root.fs" "$((p1_size / 1024))k" >/dev/null 2>&1
	dd if="$d/root.fs" of="$disk" bs=1M seek=$((p1_start >> 20)) conv=notrunc,sparse status=none
	rm -f "$d/root.fs"
	esp=$d/esp.fs
	rm -f "$esp"
	mkfs.vfat -C "$esp" $((69632 / 2)) >/dev/null
	mmd -i "$esp" ::/EFI ::/EFI/debian
	printf "search.fs_uuid %s root hd0,gpt1 \nset prefix=(\$root)'/boot/grub'\nconfigfile \$prefix/grub.cfg\n" "$R" >"$d/stub"
	mcopy -i "$esp" "$d/stub" ::/EFI/debian/grub.cfg
	dd if="$esp" of="$disk" bs=512 seek=10240 conv=notrunc status=none
	dbg bios-stage /usr/lib/grub/i386-pc "$R" 1 "$d/old" >/dev/null
	dd if="$disk" of="$d/s0" bs=512 count=1 status=none
	dbg bios-embed /usr/lib/grub/i386-pc/boot.img "$d/s0" "$d/old/core.img" 2048 "$d/old-s0" "$d/old-core"
	dd if="$d/old-s0" of="$disk" bs=512 conv=notrunc status=none
	dd if="$d/old-core" of="$disk" bs=512 seek=2048 conv=notrunc status=none
	cp --sparse=always "$disk" "$2"
}
make_image "" "$d/pristine.img"
cat >"$d/rootcrypt.conf" <<CONF
device = PARTUUID=whatever
vault = https://x.vault.azure.net
boot_split_uuid = $B
boot_split_partuuid = $PB
boot_split_size = 64
boot_split_core = /var/lib/rootcrypt/bootsplit/core.img
boot_split_core_sha256 = $core_sha
boot_split_esp_files = EFI/debian/grub.cfg
CONF

attach() {
	loop=$(losetup -f --show "$disk")
	# a loop device keeps partitions added with BLKPG past its detach: drop
	# any the last user left (as a reboot would), then read the table
	partx -d "$loop" 2>/dev/null || :
	partx -a "$loop" 2>/dev/null || :
	[ -b "${loop}p1" ] || die "no ${loop}p1 after partx"
}
detach() { partx -d "$loop" 2>/dev/null || :; losetup -d "$loop"; loop=; }
# run [ENV=VALUE]: one split run in a mount namespace; prints its exit code
run() {
	rc=0
	env "$@" unshare -m "$ROOTCRYPT_TEST" debug-bootsplit run --work "$d/work" \
		--config "$d/rootcrypt.conf" "$loop" "${loop}p1" 1 >>"$d/run.log" 2>&1 || rc=$?
	echo "$rc"
}

# check: the disk (attached) after a finished split
check() {
	what=$1
	sfdisk --verify "$loop" >/dev/null 2>&1 || die "$what: sfdisk --verify fails"
	sfdisk -d "$loop" >"$d/after.dump"
	line=$(grep "^${loop}p2 :" "$d/after.dump") || die "$what: no partition 2: $(cat "$d/after.dump")"
	echo "$line" | grep -qi "uuid=$PB" || die "$what: partition 2 has not PARTUUID PB: $line"
	echo "$line" | grep -qi "type=0FC63DAF-8483-4772-8E79-3D69D8477DE4" || die "$what: partition 2 type: $line"
	echo "$line" | grep -q 'name="boot"' || die "$what: partition 2 name: $line"
	pb_start=$(echo "$line" | sed 's/.*start= *\([0-9]*\).*/\1/')
	pb_size=$(echo "$line" | sed 's/.*size= *\([0-9]*\).*/\1/')
	[ "$pb_size" = 131072 ] || die "$what: pB is $pb_size sectors, want 64 MiB"
	p1_line=$(grep "^${loop}p1 :" "$d/after.dump")
	p1_sz=$(echo "$p1_line" | sed 's/.*size= *\([0-9]*\).*/\1/')
	if [ -n "${L2:-}" ]; then
		[ "$p1_sz" = "$L2" ] || die "$what: p1 is $p1_sz sectors, was $L2 (L2: it keeps its end)"
	else
		[ $((79872 + p1_sz)) = "$pb_start" ] || die "$what: p1 ends at $((79872 + p1_sz)), pB starts at $pb_start"
	fi
	[ $(((pb_start + pb_size) * 512)) -le $((400 << 20)) ] && [ $(((pb_start + pb_size) * 512)) -ge $((399 << 20)) ] ||
		die "$what: pB does not end at the last usable MiB"
	[ "${2:-}" = encrypted ] || {
		dd if="$loop" of="$d/r.fs" bs=512 skip=79872 count="$p1_sz" status=none
		check_r "$what" "$d/r.fs" "$(((pb_start - 79872) * 512))"
	}
	check_b_loaders "$what" "$pb_start" "$pb_size"
}

# check_r WHAT FS ROOM: R clean, ending at least the engine's 18 MiB before
# ROOM (bytes from p1's start to pB), every file kept, fstab mounts B on /boot
check_r() {
	what=$1
	[ "$2" = "$d/r.fs" ] || cp "$2" "$d/r.fs"
	e2fsck -fn "$d/r.fs" >"$d/fsck.out" 2>&1 || die "$what: e2fsck R: $(tail -n 3 "$d/fsck.out")"
	bc=$(dumpe2fs -h "$d/r.fs" 2>/dev/null | awk -F: '/^Block count/ {gsub(/ /,"",$2); print $2}')
	bs=$(dumpe2fs -h "$d/r.fs" 2>/dev/null | awk -F: '/^Block size/ {gsub(/ /,"",$2); print $2}')
	[ $((bc * bs + 18 * 1048576)) -le "$3" ] || die "$what: R ends at $((bc * bs)), too close to pB"
	rm -rf "$d/rx" && mkdir "$d/rx"
	debugfs -R "rdump / $d/rx" "$d/r.fs" >/dev/null 2>&1
	(cd "$d/rx" && sha256sum -c --quiet "$d/root.sums") || die "$what: a file of R differs"
	(cd "$d/rx/boot" && sha256sum -c --quiet "$d/boot.sums") || die "$what: a file of R:/boot differs"
	grep -q "^UUID=$B /boot ext4 " "$d/rx/etc/fstab" || die "$what: fstab has no /boot line for B"
	rm -rf "$d/rx" "$d/r.fs"
}

# check_b_loaders WHAT PB_START PB_SECTORS
check_b_loaders() {
	what=$1 pb_start=$2 pb_size=$3
	# B: UUID, clean, /boot's files
	dd if="$loop" of="$d/b.fs" bs=512 skip="$pb_start" count="$pb_size" status=none
	[ "$(blkid -o value -s UUID "$d/b.fs")" = "$B" ] || die "$what: pB's UUID is not B"
	e2fsck -fn "$d/b.fs" >/dev/null 2>&1 || die "$what: e2fsck B fails"
	rm -rf "$d/bx" && mkdir "$d/bx"
	debugfs -R "rdump / $d/bx" "$d/b.fs" >/dev/null 2>&1
	(cd "$d/bx" && grep -v ' ./grub/grub.cfg$' "$d/boot.sums" | sha256sum -c --quiet) ||
		die "$what: a file of B differs from R:/boot"
	grep -q "search --no-floppy --fs-uuid --set=root --hint-bios=hd0,gpt1 $B" "$d/bx/grub/grub.cfg" ||
		die "$what: B's grub.cfg does not search B"
	# ESP: the stub names B, hint gpt2
	dd if="$loop" of="$d/esp.now" bs=512 skip=10240 count=69632 status=none
	fsck.vfat -n "$d/esp.now" >/dev/null 2>&1 || die "$what: ESP not clean"
	mtype -i "$d/esp.now" ::/EFI/debian/grub.cfg | grep -q "^search.fs_uuid $B root hd0,gpt2 $" ||
		die "$what: ESP stub: $(mtype -i "$d/esp.now" ::/EFI/debian/grub.cfg | head -n1)"
	# BIOS: sector 0 points at p14's second half, where the staged core is
	ks=$(dd if="$loop" bs=512 count=1 status=none | od -An -tu8 -j $((0x5c)) -N8 | tr -d ' ')
	[ "$ks" = 6144 ] || die "$what: kernel_sector $ks, want 6144"
	dbg bios-embed "$st/boot.img" "$d/s0" "$st/core.img" 6144 "$d/new-s0" "$d/new-core"
	n=$(stat -c %s "$d/new-core")
	dd if="$loop" bs=512 skip=6144 count=$((n / 512)) status=none | cmp -s - "$d/new-core" ||
		die "$what: the core at L is not the staged one"
	rm -rf "$d/bx" "$d/b.fs" "$d/esp.now"
}

# 1. one run, then a second that does nothing
attach
rc=$(run)
[ "$rc" = 0 ] || die "split run exited $rc: $(tail -n 15 "$d/run.log")"
check "one run"
grep -q "step shrink" "$d/run.log" && grep -q "step switch-bios" "$d/run.log" ||
	die "the run did not go through shrink .. switch-bios: $(cat "$d/run.log")"
sha_before=$(sha256sum <"$loop")
: >"$d/run.log"
rc=$(run)
[ "$rc" = 0 ] && grep -q "/boot split: done" "$d/run.log" && ! grep -q "step " "$d/run.log" ||
	die "second run was not a no-op (rc $rc): $(cat "$d/run.log")"
[ "$(sha256sum <"$loop")" = "$sha_before" ] || die "second run changed the disk"
detach
echo "one run: shrink, table, fill, fstab, switch-esp, switch-bios; checked; a rerun is a no-op"

# 2. cuts
for cut in shrink table fill fstab switch-esp switch-bios copy; do
	cp --sparse=always "$d/pristine.img" "$disk"
	attach
	: >"$d/run.log"
	if [ "$cut" = copy ]; then
		rc=$(run ROOTCRYPT_FAULT_KILL_AFTER_FILES=2)
	else
		rc=$(run ROOTCRYPT_FAULT_KILL_AFTER_STEP=$cut)
	fi
	[ "$rc" = 137 ] || die "cut after $cut: exit $rc, want 137 (killed): $(tail -n 5 "$d/run.log")"
	# a reboot: the kernel forgets what it was told
	detach
	attach
	rc=$(run)
	[ "$rc" = 0 ] || die "after a cut after $cut the next run exited $rc: $(tail -n 15 "$d/run.log")"
	check "cut after $cut"
	detach
	echo "cut after $cut: the next run finished the split"
done

# 3. no room: refused, nothing written
cp --sparse=always "$d/pristine.img" "$disk"
sed -i 's/^boot_split_size = .*/boot_split_size = 1024/' "$d/rootcrypt.conf"
attach
sha_before=$(sha256sum <"$loop")
: >"$d/run.log"
rc=$(run)
[ "$rc" != 0 ] || die "a 1 GiB /boot on a 400 MiB disk was not refused"
grep -q "grow the disk by" "$d/run.log" || die "the refusal names no growth: $(cat "$d/run.log")"
[ "$(sha256sum <"$loop")" = "$sha_before" ] || die "the refused split changed the disk"
detach
echo "no room: refused ($(grep -o 'grow the disk by [0-9]* MiB' "$d/run.log")), disk unchanged"

# 3b. L2: free space behind the root (an operator grew the disk): no shrink,
# p1 keeps its end, pB at the disk's end
make_image 491520 "$d/pristine-l2.img"
sed -i 's/^boot_split_size = .*/boot_split_size = 64/' "$d/rootcrypt.conf"
attach
: >"$d/run.log"
rc=$(run)
[ "$rc" = 0 ] || die "L2 split run exited $rc: $(tail -n 15 "$d/run.log")"
! grep -q "step shrink" "$d/run.log" || die "L2: the root was shrunk"
L2=491520 check "L2"
detach
echo "L2: no shrink, p1 kept its end, pB at the disk's end; checked"

# 4. `rootcrypt boot` end to end against the fake IMDS + Key Vault (the
# host has no device-mapper: cryptsetup open is the stand-in that checks the
# passphrase with stock cryptsetup): the split, then the key, the
# conversion and the unlock. Stock cryptsetup then decrypts the root
# partition (header to a file, data back to offset 0) into R as the split
# left it.
t=$d
. "$(dirname "$0")/../fake/lib.sh"
trap 'fake_stop; cleanup' EXIT
fake_start
. "$(dirname "$0")/cryptsetup-stand-in.inc"
cryptsetup_stand_in "$d/cs"
cp --sparse=always "$d/pristine.img" "$disk"
sed -i 's/^boot_split_size = .*/boot_split_size = 64/' "$d/rootcrypt.conf"
attach
{ fake_boot_conf "${loop}p1" split-boot-test "name = splitroot"; grep '^boot_split_' "$d/rootcrypt.conf"; } >"$d/boot.conf"
: >"$d/cmdline"
rc=0
unshare -m "$ROOTCRYPT_TEST" boot --config "$d/boot.conf" --cmdline "$d/cmdline" --status-dir "$d/run" \
	--device-timeout 5 --prompt-tries 0 >"$d/boot.log" 2>&1 || rc=$?
[ "$rc" = 0 ] || die "rootcrypt boot exited $rc: $(tail -n 20 "$d/boot.log")"
[ -e "$d/cs/mapper/splitroot" ] || die "rootcrypt boot made no mapping"
grep -q "step switch-bios" "$d/boot.log" && grep -q "encrypting" "$d/boot.log" ||
	die "boot did not split, then encrypt: $(cat "$d/boot.log")"
grep -q '"Encrypted"' "$d/run/status.json" || die "status: $(cat "$d/run/status.json")"
# split_member: status.json's boot_split as "state|step|reason" (python's
# None for null), "absent" when there is none
split_member() {
	python3 - "$d/run/status.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
m = j.get("boot_split", "absent")
print(m if m == "absent" else "%s|%s|%s" % (m.get("state", "-"), m.get("step", "-"), m.get("reason", "-")))
PY
}
[ "$(split_member)" = "done|None|None" ] ||
	die "the boot's last status does not say the split is done: $(cat "$d/run/status.json")"
"$ROOTCRYPT" status "${loop}p1" --status-dir "$d/run" >"$d/status.out" 2>&1 ||
	die "rootcrypt status failed: $(cat "$d/status.out")"
grep -qx '  /boot split: done (/boot has a partition of its own)' "$d/status.out" ||
	die "rootcrypt status says nothing about the split: $(cat "$d/status.out")"
cryptsetup isLuks "${loop}p1" || die "stock cryptsetup sees no LUKS on the root partition"
check "rootcrypt boot" encrypted
fake_ctl GET '/_fake/state?values' >"$d/values.json"
python3 - "$d/values.json" "$d/pass" <<'PY'
import base64, json, sys
j = json.load(open(sys.argv[1]))
v = j["secrets"]["split-boot-test"]["versions"][-1]["value"]
open(sys.argv[2], "wb").write(base64.b64decode(v))
PY
p1_bytes=$(blockdev --getsize64 "${loop}p1")
dd if="${loop}p1" of="$d/r.fs" bs=1M status=none
detach
cryptsetup reencrypt --decrypt --header "$d/hdr" --force-offline-reencrypt --key-file "$d/pass" -q \
	"$d/r.fs" >/dev/null || die "stock cryptsetup cannot decrypt the root partition"
check_r "rootcrypt boot, decrypted by cryptsetup" "$d/r.fs" "$p1_bytes"
echo "rootcrypt boot: split, stored the key, encrypted, unlocked; cryptsetup decrypts R intact"

# boot_on IMAGE CONF [ENV=VALUE...]: a fresh copy of IMAGE attached, then
# `rootcrypt boot` with CONF (status in $d/run); its exit code in $rc
boot_on() {
	img=$1 conf=$2
	shift 2
	cp --sparse=always "$img" "$disk"
	attach
	rm -rf "$d/run"
	rc=0
	env "$@" unshare -m "$ROOTCRYPT_TEST" boot --config "$conf" --cmdline "$d/cmdline" \
		--status-dir "$d/run" --device-timeout 5 --prompt-tries 0 >"$d/boot.log" 2>&1 || rc=$?
}
# stayed_plain WHAT: NotEncrypted, no key stored beyond section 4's; then
# `rootcrypt status` into $d/status.out
stayed_plain() {
	grep -q '"NotEncrypted"' "$d/run/status.json" || die "$1: $(cat "$d/run/status.json")"
	[ "$(fake_ctl GET '/_fake/state?values' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["secrets"]["split-boot-test"]["versions"]))')" = 1 ] ||
		die "$1: a key was stored"
	"$ROOTCRYPT" status "${loop}p1" --status-dir "$d/run" >"$d/status.out" 2>&1 || :
}

# 5. a split with no room, through `rootcrypt boot`: refused before anything
# is written or stored; status.json says why (the host has no device-mapper:
# the plain boot's linear mapping fails, so the exit code is not checked)
sed 's/^boot_split_size = .*/boot_split_size = 1024/' "$d/boot.conf" >"$d/boot-big.conf"
boot_on "$d/pristine.img" "$d/boot-big.conf"
m=$(split_member)
case $m in
"refused|None|/boot split refused: "*"; grow the disk by "[0-9]*" MiB") ;;
*) die "a split with no room: boot_split is \"$m\": $(cat "$d/run/status.json")" ;;
esac
[ "$(sha256sum <"$loop")" = "$(sha256sum <"$d/pristine.img")" ] || die "the refused split changed the disk"
stayed_plain "refused split"
grep -q '^  /boot split: refused: [a-z"].*; grow the disk by [0-9]* MiB$' "$d/status.out" ||
	die "rootcrypt status does not print the refusal: $(cat "$d/status.out")"
detach
echo "no room, through rootcrypt boot: boot_split refused (${m##*; }), disk unchanged, no key stored"

# 5b. a boot cut right after the fill step (the test build's kill hook): the
# status it leaves says which step was running
boot_on "$d/pristine.img" "$d/boot.conf" ROOTCRYPT_FAULT_KILL_AFTER_STEP=fill
[ "$rc" = 137 ] || die "boot cut after fill: exit $rc, want 137: $(tail -n 5 "$d/boot.log")"
m=$(split_member)
[ "$m" = "in-progress|fill|None" ] || die "boot cut after fill: boot_split is \"$m\""
detach
echo "boot cut after the fill step: boot_split in-progress, step fill"

# 5c. a split that stops after it changed the disk (an ESP file the config
# names is not on the ESP: found once shrink and table are done): incomplete,
# with the step last begun and the line that stopped it; no key stored
sed 's|^boot_split_esp_files = .*|boot_split_esp_files = EFI/debian/gone.cfg|' "$d/boot.conf" >"$d/boot-gone.conf"
boot_on "$d/pristine.img" "$d/boot-gone.conf"
m=$(split_member)
case $m in
"incomplete|table|'"*"' has no file 'EFI/debian/gone.cfg'") ;;
*) die "a split stopped after table: boot_split is \"$m\": $(tail -n 5 "$d/boot.log")" ;;
esac
stayed_plain "stopped split"
grep -q "^  /boot split: incomplete after step table: .* has no file 'EFI/debian/gone.cfg' (the next boot goes on)$" "$d/status.out" ||
	die "rootcrypt status does not print the stopped split: $(cat "$d/status.out")"
detach
echo "split stopped after table: boot_split incomplete, step table, the line that stopped it"

# 6. no split configured (L2 image: room behind p1): the boot converts and
# its status has no boot_split member at any point it can be read after
cp --sparse=always "$d/pristine-l2.img" "$disk"
attach
fake_boot_conf "${loop}p1" nosplit-boot-test "name = nosplit" >"$d/boot-nosplit.conf"
rm -rf "$d/run"
rc=0
unshare -m "$ROOTCRYPT_TEST" boot --config "$d/boot-nosplit.conf" --cmdline "$d/cmdline" --status-dir "$d/run" \
	--device-timeout 5 --prompt-tries 0 >"$d/boot.log" 2>&1 || rc=$?
[ "$rc" = 0 ] || die "rootcrypt boot without a split exited $rc: $(tail -n 20 "$d/boot.log")"
grep -q '"Encrypted"' "$d/run/status.json" || die "no split: $(cat "$d/run/status.json")"
[ "$(split_member)" = absent ] || die "a boot with no split configured wrote boot_split: $(cat "$d/run/status.json")"
"$ROOTCRYPT" status "${loop}p1" --status-dir "$d/run" >"$d/status.out" 2>&1 || die "status: $(cat "$d/status.out")"
! grep -q 'boot split' "$d/status.out" || die "rootcrypt status prints a split that was not configured"
detach
echo "no split configured: encrypted, status.json has no boot_split member"
