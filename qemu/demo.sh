#!/bin/bash
# The main job (`make demo`): a Debian guest whose initramfs (initramfs-tools)
# carries rootcrypt encrypts its root on first boot with a key stored in the
# fake Key Vault (reached at the real IMDS address through QEMU slirp), and
# unlocks it silently on the second boot. Prints what happened and where the
# serial logs and the disk are.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
flavour=${1:-initramfs-tools}
out=$(RCTEST_KEEP=1 bash "$here/run-tests.sh" "encrypt-$flavour" 2>&1 | tee /dev/stderr)
dir=$(printf '%s\n' "$out" | sed -n 's/^kept: //p')
printf '%s\n' "$out" | grep -q '^1 passed, 0 failed$' && [ -n "$dir" ] ||
	{ echo "demo: FAILED (logs above)"; exit 1; }

log1=$dir/enc1-$flavour.log log2=$dir/enc2-$flavour.log disk=$dir/enc-$flavour.img
echo
echo "=== first boot ($flavour): rootcrypt in the initramfs"
grep -a 'rootcrypt' "$log1" | tr -d '\r' | grep -v '^\[' | head -n 20
echo "=== second boot: unlock"
grep -a 'rootcrypt' "$log2" | tr -d '\r' | grep -v '^\[' | head -n 10
echo "=== host side: stock cryptsetup on the root partition"
grep -E 'luks2|Version|azure-keyvault|cipher|offset' "$disk.inspect" | head -n 12
echo
echo "serial logs: $log1"
echo "             $log2"
echo "disk image:  $disk"
echo "demo: OK (root encrypted on first boot, unlocked on the second; manifest verified both times)"
