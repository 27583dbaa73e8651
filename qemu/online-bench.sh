#!/bin/bash
# Online mode's benchmark (issue 18; not a test: it asserts nothing, it
# measures). The online scenario's image (qemu/online.sh: separate /boot,
# ext4 root with room behind it, initramfs-tools) is built twice, enrolled
# with --mode online and with --mode offline. Three first boots through
# SeaBIOS, one guest at a time, each with a fresh fake vault:
#   online-writer  the pass under the guest's writer (qemu/guest/cloud/rctest-writer)
#   online-idle    the pass alone
#   offline        the whole conversion in the initramfs
# and one unlock boot of the offline disk, whose guest runs the writer for
# 60 s with no conversion. Printed side by side: power-on -> root mounted,
# the conversion's MB/s (online: bytes over time between the unit's first
# and last progress lines in the journal; offline: rootcrypt's own figure in
# status.json), the writer's KB/s with and without the pass.
# Usage: online-bench.sh [--out DIR] [--size-mib N (1200)]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || die "needs root"
out= size=1200
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2 ;; --size-mib) size=$2 ;;
	*) die "online-bench.sh: unknown option '$1'" ;;
	esac
	shift 2
done
out=${out:-$Q/online-bench}
rm -rf "$out" && mkdir -p "$out"
fake_ca
fake_pid=
trap '[ -n "$fake_pid" ] && kill $fake_pid 2>/dev/null' EXIT

build() { # MODE: $out/MODE.img, enrolled with --mode MODE
	cat >"$out/hook-$1.sh" <<HOOK
set -euo pipefail
mkdir -p "\$MNT/etc/rootcrypt"
cp "$Q/fake-ca/ca.pem" "\$MNT/etc/rootcrypt/ca.pem"
img_host "$REPO/rootcrypt" enroll --root "\$MNT" --vault "https://$VAULT_HOST" --mode $1 >"$out/enroll-$1.out" 2>&1
printf 'ca_file = /etc/rootcrypt/ca.pem\nresolve = %s:443:%s\n' "$VAULT_HOST" "$VAULT_ADDR" >>"\$MNT/etc/rootcrypt.conf"
img_chroot update-initramfs -u -k all >/dev/null 2>&1
echo writer >"\$MNT/var/lib/rctest-writer-bench"
HOOK
	bash "$QEMU_DIR/mkcloudimg.sh" "$out/$1.img" --size-mib "$size" --boot-mib 256 --free-mib 64 \
		--hook "bash $out/hook-$1.sh" >"$out/build-$1.log" 2>&1 || { tail -n 20 "$out/build-$1.log"; die "image ($1) not built"; }
}
build online
build offline
# shellcheck disable=SC1090
. "$out/online.img.env"
# the idle variant: the same online image, the writer switched off
cp --sparse=always "$out/online.img" "$out/online-idle.img"
mv "$out/online.img" "$out/online-writer.img"
loop=$(losetup -f --show -o "$ROOT_START" --sizelimit "$ROOT_SIZE" "$out/online-idle.img")
echo idle >"$out/idle"
debugfs -w -R "rm /var/lib/rctest-writer-bench" "$loop" >/dev/null 2>&1
debugfs -w -R "write $out/idle /var/lib/rctest-writer-bench" "$loop" >/dev/null 2>&1
e2fsck -fn "$loop" >/dev/null 2>&1 || { losetup -d "$loop"; die "the idle variant's root is not clean after debugfs"; }
losetup -d "$loop"

t_of() { sed -n "s/^\([0-9.]*\) $1.*/\1/p" "$2" | head -n1; }
boot() { # NAME IMG [keep|reuse]: keep = the vault stays up for the next
	#   boot, reuse = this boot talks to the vault the boot before kept
	[ "${3:-}" = reuse ] || { rm -rf "$out/fake-$1"; fake_start "$out/fake-$1"; }
	rm -f "$out/vars.fd"
	bash "$QEMU_DIR/fwrun.sh" --firmware bios --disk "$2" --log "$out/$1.log" --timeout 1800 \
		--fake "$out/fake-${4:-$1}" --vars "$out/vars.fd" || echo "$1: runner exit $?"
	[ "${3:-}" = keep ] || { kill "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null || :; fake_pid=; }
}
# journal_rate LOG: MB/s between the unit's first and last progress lines
journal_rate() {
	tr -d '\r' <"$1" | sed -n 's/^  online: \[ *\([0-9.]*\)\].*encrypting (online), \([0-9]*\) of .*/\1 \2/p' |
		awk 'NR == 1 { t0 = $1; b0 = $2 } { t = $1; b = $2 } END { if (t > t0) printf "%.1f", (b - b0) / (t - t0) / 1e6; else printf "-" }'
}
# writer_kbs LOG WHAT: the writer's KB/s from its "ops N bytes B seconds S" line
writer_kbs() {
	tr -d '\r' <"$1" | sed -n "s/^RCTEST:$2 ops [0-9]* bytes \([0-9]*\) seconds \([0-9]*\).*/\1 \2/p" | tail -n1 |
		awk '{ if ($2 > 0) printf "%.0f", $1 / $2 / 1024; else printf "-" } END { if (NR == 0) printf "-" }'
}
boot online-writer "$out/online-writer.img"
boot online-idle "$out/online-idle.img"
boot offline "$out/offline.img" keep
boot unlock "$out/offline.img" reuse offline   # the key the offline boot stored

{
	echo "online mode benchmark, $(date -u +%F), root $((ROOT_SIZE >> 20)) MiB, TCG 2 vCPU, SeaBIOS + GRUB, initramfs-tools"
	printf '%-14s %10s %10s %12s %12s\n' boot "kernel(s)" "root(s)" "conv MB/s" "writer KB/s"
	for b in online-writer online-idle offline unlock; do
		l=$out/$b.log
		case $b in
		online-*) mbs=$(journal_rate "$l"); w=$(writer_kbs "$l" writer) ;;
		offline) mbs=$(grep -a -m1 '^RCTEST:status' "$l" | sed -n 's/.*"mb_per_s":\([0-9.]*\).*/\1/p'); w=$(writer_kbs "$l" writer-alone) ;;
		unlock) mbs=-; w=$(writer_kbs "$l" writer-alone) ;;
		esac
		printf '%-14s %10s %10s %12s %12s\n' "$b" "$(t_of 'kernel started' "$l.runner")" \
			"$(t_of 'root up' "$l.runner")" "${mbs:--}" "${w:--}"
	done
	echo "root(s): power-on -> the root mounted (the test unit's first line); online: the pass then runs"
	echo "conv MB/s: online = the unit's bytes over time (journal), offline = rootcrypt's figure"
	echo "writer KB/s: during the pass (online-writer), with no conversion (offline, unlock: 60 s)"
} | tee "$out/bench.txt"
