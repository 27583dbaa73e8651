#!/bin/bash
# Benchmark, not a test (issue 15): layout L1 (Azure's Debian image: /boot a
# directory of the ext4 root filling the disk) with a 2 GiB root, booted
# through OVMF + GRUB against the fake Key Vault.
#   boot 0: plain; power-on -> root up. With --enroll guest (default) the
#           guest then runs `rootcrypt enroll --boot-size 256` on itself
#           (reboot-triggered); with --enroll tree the image was enrolled in
#           its tree at build time and boot 0 is skipped (no plain figure).
#   boot 1: /boot split, key, encryption; each phase timed from the console.
#   boots 2..N+1: unlock; power-on -> root up, and the unlock's own share
#           (network up -> root device ready).
# Every console line that matters is stamped by fwrun.sh --trace (0.2 s
# resolution); the table is printed and kept in OUT/bench.txt. Figures on a
# loaded host are longer: say the load with the numbers.
# Usage: firmware-bench.sh [--out DIR] [--root-mib N (2048)] [--boots N (2)]
#                          [--enroll guest|tree] [--timeout S (1800)]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || die "needs root"
out= root_mib=2048 boots=2 enroll=guest timeout=1800
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2 ;; --root-mib) root_mib=$2 ;; --boots) boots=$2 ;;
	--enroll) enroll=$2 ;; --timeout) timeout=$2 ;;
	*) die "firmware-bench.sh: unknown option '$1'" ;;
	esac
	shift 2
done
out=${out:-$Q/fwbench}
rm -rf "$out" && mkdir -p "$out"
fake_ca
fake_pid=
trap '[ -n "$fake_pid" ] && kill $fake_pid 2>/dev/null' EXIT
d=$out/l1.img
enroll_args="--vault https://$VAULT_HOST --boot-size 256"

# mkcloudimg's layout: 1 + 4 + 106 MiB before the root, 1 MiB GPT backup
size=$((root_mib + 112))
if [ "$enroll" = guest ]; then
	# shellcheck disable=SC2086
	guest_enroll "$out" $enroll_args
	bash "$QEMU_DIR/mkcloudimg.sh" "$d" --size-mib "$size" \
		--add "$out/rctest-enroll.sh:/var/lib" --add "$out/rctest-ca.pem:/var/lib"
else
	cat >"$out/enroll-hook.sh" <<HOOK
set -euo pipefail
mkdir -p "\$MNT/etc/rootcrypt"
cp "$Q/fake-ca/ca.pem" "\$MNT/etc/rootcrypt/ca.pem"
printf 'ca_file = /etc/rootcrypt/ca.pem\\nresolve = %s:443:%s\\n' "$VAULT_HOST" "$VAULT_ADDR" >"\$MNT/etc/rootcrypt.conf"
img_host "$REPO/rootcrypt" enroll --root "\$MNT" $enroll_args
HOOK
	bash "$QEMU_DIR/mkcloudimg.sh" "$d" --size-mib "$size" --hook "bash $out/enroll-hook.sh"
fi

fake_start "$out/fake"

trace='Linux version|IP-Config: .*complete|rootcrypt: (starting|"/dev/[^"]*" is|/boot split: (step [a-z-]*|done)|storing|encrypting .* in place|.* is encrypted|/dev/mapper/[^ ]* ready)|RCTEST:(booted|enroll-)'
# t NAME REGEX: seconds since power-on of the first traced line matching
t() { grep -aE -m1 "^[0-9.]+ trace: .*($2)" "$out/$1.log.runner" | cut -d' ' -f1; }
span() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "?"; else printf "%.1f", b - a }'; }
boot() { # NAME
	bash "$QEMU_DIR/fwrun.sh" --firmware uefi --disk "$d" --log "$out/$1.log" --timeout "$timeout" \
		--fake "$out/fake" --vars "$out/vars.fd" --trace "$trace" || die "$1: the runner failed"
	grep -qa '^RCTEST:booted' "$out/$1.log" || die "$1: the root never came up (see $out/$1.log)"
}
{
	echo "firmware bench: L1, ${root_mib} MiB root, OVMF + GRUB, TCG $(nproc) host cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
	if [ "$enroll" = guest ]; then
		boot boot0
		grep -qa '^RCTEST:enroll-ok' "$out/boot0.log" || die "boot0: enroll in the guest failed (see $out/boot0.log)"
		echo "plain boot 0: power-on -> root up $(t boot0 'RCTEST:booted')s"
	fi
	boot boot1
	grep -qa '/boot split: done' "$out/boot1.log" || die "boot1: no /boot split (see $out/boot1.log)"
	s=$(t boot1 'split: step shrink') sd=$(t boot1 'split: done')
	e0=$(t boot1 'encrypting .* in place') e1=$(t boot1 'is encrypted') r=$(t boot1 'RCTEST:booted')
	bytes=$(grep -aoE -m1 'in place: [0-9]+ bytes' "$out/boot1.log" | grep -oE '[0-9]+' || echo 0)
	echo "first boot: /boot split $(span "$s" "$sd")s, key stored $(span "$sd" "$e0")s," \
		"encryption $(span "$e0" "$e1")s ($(awk -v b="$bytes" -v s="$(span "$e0" "$e1")" 'BEGIN { if (s > 0) printf "%.1f", b / s / 1e6; else print "?" }') MB/s)," \
		"root up at $r s (the split began at $s s)"
	for n in $(seq 2 $((boots + 1))); do
		boot "boot$n"
		echo "unlock boot $n: power-on -> root up $(t "boot$n" 'RCTEST:booted')s;" \
			"network up -> rootcrypt's device ready $(span "$(t "boot$n" 'IP-Config: .*complete|rootcrypt: starting')" "$(t "boot$n" '/dev/mapper/[^ ]* ready')")s"
	done
} | tee "$out/bench.txt"
echo "logs in $out"
