#!/bin/bash
# Layout L3 through firmware, RHEL-style: a cloud-style image
# (qemu/mkcloudimg.sh --gen dracut --root-fs xfs) with a separate ext4 /boot
# (p2) and an XFS root (p1) filling the disk, dracut as the initramfs
# generator; rootcrypt installed from its package, not enrolled.
# Reboot-triggered encryption, as a user does it on a running VM: boot 0
# (first firmware) comes up plain and runs, in the guest, `rootcrypt enroll
# --vault URL --layout detached --header /boot/rootcrypt-root.luks` (which
# regenerates the initramfs with dracut and runs update-grub), after writing
# the two settings enroll has no option for (ca_file, resolve) into
# /etc/rootcrypt.conf, which enroll keeps. Host side: grub.cfg on /boot has
# one root=, /dev/mapper/root. Boot 1 (the other firmware) must store the
# key in the fake Key Vault and encrypt; boot 2 (the first firmware) must
# unlock; each must reach the root on /dev/mapper/root with /boot's files
# intact. Host side after boot 1: the header file on /boot is LUKS2 with the
# azure-keyvault token, the root partition shows no plain file system.
# Usage: firmware-encrypt.sh [--out DIR] [--timeout S (900)] [--first bios|uefi]
# Exit 0 every boot as expected, 1 otherwise (the report says where).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || die "needs root"
out= timeout=900 first=bios
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2 ;; --timeout) timeout=$2 ;; --first) first=$2 ;;
	*) die "firmware-encrypt.sh: unknown option '$1'" ;;
	esac
	shift 2
done
second=$([ "$first" = bios ] && echo uefi || echo bios)
out=${out:-$Q/fwenc}
rm -rf "$out" && mkdir -p "$out"
fake_ca
fake_pid=
trap '[ -n "$fake_pid" ] && kill $fake_pid 2>/dev/null' EXIT
d=$out/l3.img

# What the user runs in the guest (rctest-cloud runs it once, on boot 0).
guest_enroll "$out" --vault "https://$VAULT_HOST" --layout detached --header /boot/rootcrypt-root.luks
bash "$QEMU_DIR/mkcloudimg.sh" "$d" --boot-mib 256 --gen dracut --root-fs xfs \
	--add "$out/rctest-enroll.sh:/var/lib" --add "$out/rctest-ca.pem:/var/lib"
# shellcheck disable=SC1090
. "$d.env"

# The fake IMDS + Key Vault, fresh state with the cached test CA.
fake_start "$out/fake"

t_of() { sed -n "s/^\([0-9.]*\) $1.*/\1/p" "$2" | head -n1; }
report() { # NAME: what the boot did
	local log=$out/$1.log
	echo "$1: kernel $(t_of 'kernel started' "$log.runner")s, root $(t_of 'root up' "$log.runner")s, end $(awk '/qemu exited|timeout/ { print $1 }' "$log.runner")s"
	grep -aE 'RCTEST:|rootcrypt[:[]|grub rescue|error: |Kernel panic|ALERT|Gave up' "$log" | grep -av 'no suitable video mode' |
		tr -d '\r' | sed 's/^/    /' | tail -n 40
}
fails=0
bootn() { # N FIRMWARE [TIMEOUT]
	local n=$1 fw=$2 rc=0
	bash "$QEMU_DIR/fwrun.sh" --firmware "$fw" --disk "$d" --log "$out/boot$n.log" \
		--timeout "${3:-$timeout}" --fake "$out/fake" --vars "$out/vars.fd" || rc=$?
	echo "boot $n ($fw): runner exit $rc"
	report "boot$n"
	return $rc
}
ok() { # N: reached the root on the mapping, /boot intact, encrypted status
	local log=$out/boot$1.log
	grep -qa '^RCTEST:booted root=/dev/mapper/root' "$log" &&
		grep -qa '^RCTEST:boot-manifest-ok' "$log" &&
		grep -qa '^RCTEST:status.*"Encrypted"' "$log" && grep -qa '^RCTEST:done' "$log"
}

rm -f "$out/vars.fd"
# boot 0 runs dracut in the TCG guest: minutes, more on a loaded host
bootn 0 "$first" "$((timeout * 2))" || :
if grep -qa "^RCTEST:booted root=/dev/vda1 " "$out/boot0.log" && grep -qa '^RCTEST:enroll-ok' "$out/boot0.log" &&
	grep -qa '^RCTEST:boot-manifest-ok' "$out/boot0.log" && grep -qa '^RCTEST:done' "$out/boot0.log"; then
	echo "boot 0: plain, enrolled in the running guest"
else
	echo "boot 0: FAIL"; fails=$((fails + 1))
fi
# Host side: what enroll left on /boot for GRUB: one root=, the mapping.
bpart=$out/boot.part
dd if="$d" of="$bpart" bs=1M skip=111 count=256 status=none
debugfs -R "cat /grub/grub.cfg" "$bpart" 2>/dev/null >"$out/grub.cfg" || :
l=$(grep -m1 -E '^\s*linux\s' "$out/grub.cfg" || :)
if [ "$(echo "$l" | grep -o ' root=[^ ]*' | tr -d ' ')" = root=/dev/mapper/root ]; then
	echo "host: grub.cfg after enroll: $(echo "$l" | sed 's/^[[:space:]]*//')"
else
	echo "host: FAIL grub.cfg after enroll: '$l'"; fails=$((fails + 1))
fi

bootn 1 "$second" || :
if ok 1 && grep -qa 'rootcrypt: encrypting' "$out/boot1.log"; then
	echo "boot 1: encrypted, root on /dev/mapper/root, /boot intact"
else
	echo "boot 1: FAIL"; fails=$((fails + 1))
fi

# Host side: header on /boot, LUKS2 with the token; root partition not plain.
hdr=$out/header.luks
dd if="$d" of="$bpart" bs=1M skip=111 count=256 status=none
if debugfs -R "dump /rootcrypt-root.luks $hdr" "$bpart" >/dev/null 2>&1 && [ -s "$hdr" ] &&
	cryptsetup luksDump "$hdr" >"$hdr.dump" 2>&1 && grep -q azure-keyvault "$hdr.dump"; then
	echo "host: /boot/rootcrypt-root.luks is LUKS2 with the azure-keyvault token ($(grep -m1 -i 'cipher:' "$hdr.dump" | tr -s ' \t' ' '))"
else
	echo "host: FAIL no LUKS2 header with the token on /boot"; fails=$((fails + 1))
fi
rm -f "$bpart"
if blkid -p -O "$ROOT_START" -S "$ROOT_SIZE" "$d" >"$out/root.blkid" 2>&1 && grep -q 'TYPE=' "$out/root.blkid"; then
	echo "host: FAIL the root partition still shows a file system: $(cat "$out/root.blkid")"; fails=$((fails + 1))
else
	echo "host: the root partition shows no plain file system"
fi

bootn 2 "$first" || :
if ok 2 && ! grep -qa 'rootcrypt: encrypting' "$out/boot2.log"; then
	echo "boot 2: unlocked, root on /dev/mapper/root, /boot intact"
else
	echo "boot 2: FAIL"; fails=$((fails + 1))
fi
# One secret (named after the fake's vmId), one version, after both boots.
v=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join("%s:%d" % (k, len(s["versions"])) for k, s in d.items()))' "$out/fake/secrets.json" 2>&1)
case $v in
*" "* | "" | *:[02-9]*) echo "vault: FAIL secrets (name:versions) $v"; fails=$((fails + 1)) ;;
*) echo "vault: one secret version: $v" ;;
esac
echo "logs and disk in $out"
[ "$fails" = 0 ]
