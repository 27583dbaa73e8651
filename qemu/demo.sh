#!/bin/bash
# The main job (`make demo`): a VM laid out like Azure's Debian 12 image (GPT,
# BIOS boot + ESP, the ext4 root filling the disk with /boot inside it),
# rootcrypt installed from its Debian package and enrolled in the image tree,
# booted through firmware and GRUB like a real VM. First boot (SeaBIOS): the
# initramfs gives /boot a partition of its own, stores a new key in the fake
# Key Vault (reached at the real IMDS address through QEMU slirp) and
# encrypts the root in place. Second boot (OVMF): GRUB reads the new /boot,
# the initramfs fetches the key and unlocks silently. Prints what happened
# and where the serial logs and the disk are.
# Usage: demo.sh [initramfs-tools|dracut]
set -uo pipefail
. "$(dirname "$0")/lib.sh"
gen=${1:-initramfs-tools}
out=$Q/demo-$gen
# dracut's image holds more: at 1200 MiB resize2fs's floor is above what the
# split needs and enroll refuses ("grow the disk"), as it should
size=1200
[ "$gen" != dracut ] || size=1300
bash "$QEMU_DIR/firmware-split.sh" --demo --gen "$gen" --size-mib "$size" --out "$out" 2>&1 | tee "$Q/demo-$gen.out" >&2
rc=${PIPESTATUS[0]}
[ "$rc" = 0 ] || { echo "demo: FAILED (the report above; logs in $out)"; exit 1; }

lines() { tr -d '\r' <"$1" | grep -a "$2" | grep -av '^\[' | cut -c1-160 | head -n "$3"; }
echo
echo "=== first boot (SeaBIOS -> GRUB -> kernel -> initramfs from $gen)"
lines "$out/boot1.log" '^rootcrypt: ' 40
echo "=== second boot (OVMF -> GRUB reading the new /boot): unlock"
lines "$out/boot2.log" '^rootcrypt: ' 10
lines "$out/boot2.log" '^RCTEST:\(booted\|cmdline\|boot-fs\)' 3
echo "=== host side: stock cryptsetup on the root partition"
grep -E 'Version|azure-keyvault|cipher|offset|sector' "$out/root.dump" | head -n 10
echo
echo "serial logs: $out/boot1.log"
echo "             $out/boot2.log"
echo "disk image:  $out/l1.img"
echo "demo: OK (/boot split off and the root encrypted on the first boot, unlocked through GRUB on the second)"
