#!/bin/bash
# Firmware boot of a cloud-layout image (qemu/mkcloudimg.sh): SeaBIOS ->
# GRUB i386-pc (core.img in p14) and OVMF -> GRUB x86_64-efi (ESP removable
# path), each on its own copy of the image, one guest at a time. A boot passes
# when the guest's rctest-cloud unit reports the root mounted from the root
# partition with root=UUID= on the command line, the firmware it was meant
# to come through, /boot's files intact, and powers off.
# Usage: firmware-boot.sh [--img IMG (default: build one)] [--out DIR]
#                         [--firmware "bios uefi"] [--timeout S (400)]
# Prints one line per firmware: power-on -> kernel, power-on -> root, total.
# Exit 0 all passed, 1 a boot failed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
img= out= fws="bios uefi" timeout=400
while [ $# -gt 0 ]; do
	case $1 in
	--img) img=$2 ;; --out) out=$2 ;; --firmware) fws=$2 ;; --timeout) timeout=$2 ;;
	*) die "firmware-boot.sh: unknown option '$1'" ;;
	esac
	shift 2
done
out=${out:-$Q/fwboot}
mkdir -p "$out"
if [ -z "$img" ]; then
	img=$out/cloud-l1.img
	bash "$QEMU_DIR/mkcloudimg.sh" "$img"
fi
# shellcheck disable=SC1090
. "$img.env"
t_of() { sed -n "s/^\([0-9.]*\) $1.*/\1/p" "$2" | head -n1; }
fails=0
for fw in $fws; do
	d=$out/$fw.img log=$out/$fw.log
	cp --sparse=always "$img" "$d"
	rc=0
	bash "$QEMU_DIR/fwrun.sh" --firmware "$fw" --disk "$d" --log "$log" --timeout "$timeout" || rc=$?
	why=
	[ "$rc" = 0 ] || why="runner exit $rc"
	grep -qa "^RCTEST:booted root=/dev/vda$ROOT_PART " "$log" || why="$why; no RCTEST:booted from /dev/vda$ROOT_PART"
	grep -qa "^RCTEST:firmware $( [ "$fw" = bios ] && echo bios || echo uefi)" "$log" || why="$why; wrong or no firmware line"
	grep -qa "^RCTEST:cmdline .*root=UUID=$FS_UUID" "$log" || why="$why; no root=UUID=$FS_UUID"
	grep -qa "^RCTEST:boot-manifest-ok" "$log" || why="$why; /boot manifest not verified"
	grep -qa "^RCTEST:done" "$log" || why="$why; no RCTEST:done"
	printf '%s: kernel %ss, root %ss, power-off %ss after power-on' "$fw" \
		"$(t_of 'kernel started' "$log.runner")" "$(t_of 'root up' "$log.runner")" \
		"$(t_of 'qemu exited' "$log.runner")"
	if [ -z "$why" ]; then
		echo " ok"
		rm -f "$d"
	else
		echo " FAIL (${why#; }); log $log, disk $d"
		tail -n 15 "$log" | sed 's/^/    /'
		fails=$((fails + 1))
	fi
done
[ "$fails" = 0 ]
