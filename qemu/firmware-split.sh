#!/bin/bash
# Layout L1 through firmware (issue 15): a cloud-style image (qemu/mkcloudimg.sh)
# laid out like Azure's Debian 12 image, the root filling the disk with /boot
# a directory of it; rootcrypt installed from its package and enrolled in
# the image tree as a pipeline does (`rootcrypt enroll --root MNT`, which
# plans the /boot split and stages a BIOS core for it), plus the two
# settings for the fake vault (ca_file, resolve), then update-initramfs.
# Boot 1 (first firmware) must split /boot off (shrink, table, fill, fstab,
# ESP files, BIOS core), store the key, encrypt and reach the root on
# /dev/mapper/root with /boot mounted from the new partition. Host side:
# the root partition is LUKS2 with the azure-keyvault token (stock
# cryptsetup), the new partition holds the file system enroll named, e2fsck
# clean. Boot 2 (the other firmware) must unlock through GRUB reading the
# new /boot, then run update-initramfs + update-grub as a package update
# does; boot 3 (first firmware) must unlock with what they wrote.
# --kernel-update: boot 2 instead installs a second kernel package (the
# newest cloud kernel apt knows, newer than the image's) with dpkg -i: its
# postinst hooks make its initramfs with initramfs-tools and rootcrypt's
# hook, and run update-grub; boot 3 must boot that kernel through GRUB's
# default entry and unlock.
# --gen dracut: the image's initramfs comes from dracut (its module carries
# the split's e2fsprogs), boot 2's package update is dracut
# --regenerate-all + update-grub.
# --free-mib N: layout L2 (an operator grew the disk): N MiB free behind the
# root; the split then takes /boot's room from there, no shrink.
# --demo (make demo): boots 1 and 2 only, no package update in boot 2.
# --cuts STEPS: before boot 1, power cuts: one boot per step named (e.g.
# "table fill switch-esp"), each stopped by the firmware runner the moment
# the console shows that step starting; the next boot carries on.
# Usage: firmware-split.sh [--out DIR] [--timeout S (900)] [--first bios|uefi]
#                          [--cuts "STEP..."] [--kernel-update] [--gen dracut]
#                          [--size-mib N (mkcloudimg's 1200)] [--demo]
#                          [--free-mib N (0)]
# Exit 0 every boot as expected, 1 otherwise (the report says where).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || die "needs root"
out= timeout=900 first=bios cuts= kupdate= gen=initramfs-tools size=1200 demo= free=0
while [ $# -gt 0 ]; do
	case $1 in
	--kernel-update) kupdate=1; shift; continue ;;
	--demo) demo=1; shift; continue ;;
	--out) out=$2 ;; --timeout) timeout=$2 ;; --first) first=$2 ;; --cuts) cuts=$2 ;; --gen) gen=$2 ;; --size-mib) size=$2 ;; --free-mib) free=$2 ;;
	*) die "firmware-split.sh: unknown option '$1'" ;;
	esac
	shift 2
done
second=$([ "$first" = bios ] && echo uefi || echo bios)
out=${out:-$Q/fwsplit${cuts:+-cuts}}
rm -rf "$out" && mkdir -p "$out"
fake_ca
fake_pid=
trap '[ -n "$fake_pid" ] && kill $fake_pid 2>/dev/null' EXIT
d=$out/l1.img

cat >"$out/enroll-hook.sh" <<HOOK
set -euo pipefail
mkdir -p "\$MNT/etc/rootcrypt"
cp "$Q/fake-ca/ca.pem" "\$MNT/etc/rootcrypt/ca.pem"
img_host "$REPO/rootcrypt" enroll --root "\$MNT" --vault "https://$VAULT_HOST" \\
	--boot-size 256 >"$out/enroll.out" 2>&1 || { cat "$out/enroll.out" >&2; exit 1; }
printf 'ca_file = /etc/rootcrypt/ca.pem\nresolve = %s:443:%s\n' "$VAULT_HOST" "$VAULT_ADDR" \\
	>>"\$MNT/etc/rootcrypt.conf"
if [ $gen = dracut ]; then
	img_chroot dracut --force --regenerate-all >"$out/generator.log" 2>&1
else
	img_chroot update-initramfs -u -k all >"$out/generator.log" 2>&1
fi
cp "\$MNT/etc/rootcrypt.conf" "$out/rootcrypt.conf"
cp "\$MNT/boot/grub/grub.cfg" "$out/grub.cfg"
[ "$demo" = 1 ] || : >"\$MNT/var/lib/rctest-update-request"
HOOK
kadd=() KVER2=
if [ -n "$kupdate" ]; then
	kadd=(--add "$(update_kernel_deb):/var/lib/rctest-kernel")
	KVER2=$(update_kver)
fi
bash "$QEMU_DIR/mkcloudimg.sh" "$d" --size-mib "$size" --free-mib "$free" --gen "$gen" ${kadd[@]+"${kadd[@]}"} --hook "bash $out/enroll-hook.sh"
# shellcheck disable=SC1090
. "$d.env"
echo "enroll said:"; sed 's/^/  /' "$out/enroll.out"
echo "/etc/rootcrypt.conf:"; sed 's/^/  /' "$out/rootcrypt.conf"
echo "grub.cfg linux line: $(grep -m1 -E '^\s*linux' "$out/grub.cfg" | sed 's/^[[:space:]]*//')"
conf() { sed -n "s/^$1 = //p" "$out/rootcrypt.conf"; }
B=$(conf boot_split_uuid) PB=$(conf boot_split_partuuid)
[ -n "$B" ] && [ -n "$PB" ] || die "enroll configured no /boot split"

fake_start "$out/fake"

t_of() { sed -n "s/^\([0-9.]*\) $1.*/\1/p" "$2" | head -n1; }
report() { # NAME
	local log=$out/$1.log
	echo "$1: kernel $(t_of 'kernel started' "$log.runner")s, root $(t_of 'root up' "$log.runner")s, end $(awk '/qemu exited|timeout|stopped/ { print $1 }' "$log.runner" | tail -n1)s"
	grep -aE 'RCTEST:|rootcrypt[:[]|grub rescue|error: |Kernel panic|ALERT|Gave up' "$log" | grep -av 'no suitable video mode' |
		tr -d '\r' | sed 's/^/    /' | tail -n 40
}
fails=0
fail() { echo "$*: FAIL"; fails=$((fails + 1)); }
bootn() { # NAME FIRMWARE [fwrun options]
	local n=$1 fw=$2 rc=0
	shift 2
	bash "$QEMU_DIR/fwrun.sh" --firmware "$fw" --disk "$d" --log "$out/$n.log" \
		--timeout "$timeout" --fake "$out/fake" --vars "$out/vars.fd" "$@" || rc=$?
	echo "$n ($fw): runner exit $rc"
	report "$n"
	return $rc
}
ok() { # NAME: root on the mapping, /boot from the new partition, intact, encrypted
	local log=$out/$1.log
	grep -qa '^RCTEST:booted root=/dev/mapper/root' "$log" &&
		grep -qaE '^RCTEST:boot-fs /dev/vda2 +ext4' "$log" &&
		grep -qa '^RCTEST:boot-manifest-ok' "$log" &&
		grep -qa '^RCTEST:status.*"Encrypted"' "$log" && grep -qa '^RCTEST:done' "$log"
}

rm -f "$out/vars.fd"
# Power cuts during the split: each boot stops as the step starts (the
# runner's QMP quit: what was written is kept, what was in flight is not).
fw=$first
for step in $cuts; do
	rc=0
	bootn "cut-$step" "$fw" --stop-on "/boot split: step $step" || rc=$?
	if [ "$rc" = 3 ]; then
		echo "cut during step $step: powered off as it started"
	else
		fail "cut during step $step (the step never started: runner exit $rc)"
	fi
	fw=$([ "$fw" = bios ] && echo uefi || echo bios)
done

bootn boot1 "$first" || :
if ok boot1 && grep -qa '/boot split: done' "$out/boot1.log" && grep -qa 'rootcrypt: encrypting' "$out/boot1.log"; then
	echo "boot 1: /boot split off, encrypted, root on /dev/mapper/root, /boot on vda2 intact"
else
	fail "boot 1"
fi
if [ "$free" -gt 0 ]; then
	if grep -qa 'boot split: shrinking' "$out/boot1.log"; then
		fail "boot 1 shrank the root file system with $free MiB free behind it (L2)"
	else
		echo "boot 1: L2, /boot's room taken from the $free MiB behind the root, no shrink"
	fi
fi
if [ -z "$cuts" ] && ! grep -qa '/boot split: step switch-bios' "$out/boot1.log"; then
	fail "boot 1 did not run the split's steps through switch-bios"
fi

# Host side: p1 LUKS2 with the token; p2 = B, clean, partition GUID PB.
dd if="$d" of="$out/root-head" bs=1M skip=$((ROOT_START >> 20)) count=16 status=none
if cryptsetup luksDump "$out/root-head" >"$out/root.dump" 2>&1 && grep -q azure-keyvault "$out/root.dump"; then
	echo "host: the root partition is LUKS2 with the azure-keyvault token"
else
	fail "host: no LUKS2 header with the token on the root partition"
fi
sfdisk -d "$d" >"$out/table.dump"
p2=$(grep -E '^[^ ]*2 :' "$out/table.dump" || :)
if echo "$p2" | grep -qi "uuid=$PB" && echo "$p2" | grep -q 'name="boot"'; then
	s=$(echo "$p2" | sed 's/.*start= *\([0-9]*\).*/\1/') n=$(echo "$p2" | sed 's/.*size= *\([0-9]*\).*/\1/')
	dd if="$d" of="$out/boot.fs" bs=512 skip="$s" count="$n" status=none
	if [ "$(blkid -o value -s UUID "$out/boot.fs")" = "$B" ] && e2fsck -fn "$out/boot.fs" >/dev/null 2>&1; then
		echo "host: partition 2 (PARTUUID $PB) holds /boot's file system $B, e2fsck clean"
	else
		fail "host: partition 2 does not hold a clean file system $B"
	fi
	rm -f "$out/boot.fs"
else
	fail "host: no partition 2 with PARTUUID $PB: $p2"
fi
rm -f "$out/root-head"

bootn boot2 "$second" --timeout "$((timeout * 2))" || :
if ok boot2 && ! grep -qa 'rootcrypt: encrypting\|/boot split: step' "$out/boot2.log"; then
	echo "boot 2: unlocked through GRUB reading the new /boot"
else
	fail "boot 2"
fi
if [ -n "$demo" ]; then
	:
elif [ -z "$kupdate" ]; then
	if grep -qa '^RCTEST:update-ok .*root=/dev/mapper/root' "$out/boot2.log"; then
		echo "boot 2: $(grep -a -m1 '^RCTEST:update: ' "$out/boot2.log" | tr -d '\r' | sed 's/^RCTEST:update: //') on the encrypted system: root=/dev/mapper/root kept"
	else
		fail "boot 2: the generator + update-grub on the encrypted system"
	fi
elif grep -qa "^RCTEST:update-ok .*vmlinuz-$KVER2 .*root=/dev/mapper/root" "$out/boot2.log"; then
	echo "boot 2: kernel $KVER2 installed on the encrypted system (dpkg -i): grub.cfg boots it with root=/dev/mapper/root"
else
	fail "boot 2: kernel package $KVER2 installed on the encrypted system"
fi
[ -n "$demo" ] || bootn boot3 "$first" || :
if [ -n "$demo" ]; then
	:
elif ok boot3 && ! grep -qa 'rootcrypt: encrypting\|/boot split: step' "$out/boot3.log" &&
	grep -qa "^RCTEST:booted root=/dev/mapper/root ${KVER2:-$KVER} " "$out/boot3.log"; then
	echo "boot 3: kernel ${KVER2:-$KVER} (GRUB's default) unlocked with what boot 2 wrote"
else
	fail "boot 3"
fi
v=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join("%s:%d" % (k, len(s["versions"])) for k, s in d.items()))' "$out/fake/secrets.json" 2>&1)
case $v in
*" "* | "" | *:[02-9]*) fail "vault: secrets (name:versions) $v" ;;
*) echo "vault: one secret version: $v" ;;
esac
echo "logs and disk in $out"
[ "$fails" = 0 ]
