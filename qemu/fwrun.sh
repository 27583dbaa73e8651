#!/bin/bash
# Boot one disk image through firmware under TCG (no -kernel: the firmware
# reads the disk, GRUB reads /boot) and wait for the guest to power off or
# the timeout. Serial console (firmware, GRUB, kernel, system) -> LOG.
# Usage: fwrun.sh --firmware bios|uefi --disk IMG --log LOG [--timeout S (400)]
#   [--mem MIB (1024)] [--smp N (2)] [--fake DIR (as qemu/run.sh)]
#   [--vars FILE]  UEFI variable store to use and keep (default: a fresh copy
#                  of OVMF_VARS_4M.fd, dropped afterwards)
#   [--stop-on REGEX]  power off (QMP quit) once the log matches REGEX
#   [--trace REGEX]    note every console line matching REGEX in LOG.runner
#                      with its time (benchmarks; 0.2 s resolution)
# bios: SeaBIOS (QEMU's default); uefi: OVMF_CODE_4M.fd read-only + a writable
# OVMF_VARS_4M.fd copy as two pflash drives (Debian's ovmf).
# Exit: 0 guest powered off, 3 stopped on REGEX, 124 timeout, 125 a dead end
# (lib.sh: dead_end; the console's last lines go to stderr), else QEMU failed.
# LOG.runner: events with seconds since start, including when the serial log
# first showed "RCTEST:booted" (the root is up).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
args=("$@")
fw= disk= log= timeout=400 mem=1024 smp=2 fake= vars= stop_on= trace=
while [ $# -gt 0 ]; do
	case $1 in
	--firmware) fw=$2 ;; --disk) disk=$2 ;; --log) log=$2 ;; --timeout) timeout=$2 ;;
	--mem) mem=$2 ;; --smp) smp=$2 ;; --fake) fake=$2 ;; --vars) vars=$2 ;;
	--stop-on) stop_on=$2 ;; --trace) trace=$2 ;;
	*) die "fwrun.sh: unknown option '$1'" ;;
	esac
	shift 2
done
for v in fw disk log; do [ -n "${!v}" ] || die "fwrun.sh: --${v/fw/firmware} missing"; done
ovmf=/usr/share/OVMF
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
fwargs=()
case $fw in
bios) ;;
uefi)
	[ -r "$ovmf/OVMF_CODE_4M.fd" ] || die "no $ovmf/OVMF_CODE_4M.fd (package ovmf)"
	if [ -z "$vars" ]; then vars=$run/vars.fd; fi
	[ -s "$vars" ] || cp "$ovmf/OVMF_VARS_4M.fd" "$vars"
	fwargs=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$ovmf/OVMF_CODE_4M.fd"
		-drive "if=pflash,format=raw,unit=1,file=$vars")
	;;
*) die "fwrun.sh: --firmware bios or uefi" ;;
esac

net="user,id=n0,net=169.254.169.0/24"
if [ -n "$fake" ]; then
	ports=$(cat "$fake/ports.json")
	imds=$(echo "$ports" | sed -n 's/.*"imds": *\([0-9]*\).*/\1/p')
	vault=$(echo "$ports" | sed -n 's/.*"vault": *\([0-9]*\).*/\1/p')
	[ -n "$imds" ] && [ -n "$vault" ] || die "no ports in $fake/ports.json"
	net="$net,guestfwd=tcp:$IMDS_ADDR:80-cmd:busybox nc 127.0.0.1 $imds"
	net="$net,guestfwd=tcp:$VAULT_ADDR:443-cmd:busybox nc 127.0.0.1 $vault"
fi

: >"$log"
: >"$log.runner"
qemu-system-x86_64 -accel tcg -cpu max -m "$mem" -smp "$smp" -nodefaults -display none \
	-no-reboot "${fwargs[@]}" \
	-chardev "file,id=s0,path=$log" -serial chardev:s0 \
	-drive "file=$disk,format=raw,if=none,id=d0,cache=none,aio=native" \
	-device virtio-blk-pci,drive=d0,bootindex=0 \
	-netdev "$net" -device virtio-net-pci,netdev=n0,romfile= \
	-device virtio-rng-pci \
	-qmp "unix:$run/qmp.sock,server=on,wait=off" 2>"$run/qemu.err" &
pid=$!
t0=$(date +%s%N)
elapsed() { awk -v n="$(date +%s%N)" -v t="$t0" 'BEGIN { printf "%.3f", (n - t) / 1e9 }'; }
note() { echo "$(elapsed) $*" >>"$log.runner"; }
note "started qemu pid $pid firmware $fw"
[ -z "${RCTEST_STALL_RETRIED:-}" ] || note "second attempt: the first stalled or panicked in the kernel before /init ($log.stall1)"
stall_s=${RCTEST_STALL_S:-$(scaled 60)}
seen_grub= seen_kernel= seen_root= traced=0
while kill -0 "$pid" 2>/dev/null; do
	if [ -n "$trace" ] && [ "$(wc -l <"$log")" -gt "$traced" ]; then
		n=$(wc -l <"$log")
		sed -n "$((traced + 1)),${n}p" "$log" | tr -d '\r' | { grep -aE -- "$trace" || :; } |
			while IFS= read -r l; do note "trace: $l"; done
		traced=$n
	fi
	if [ -z "$seen_kernel" ] && grep -qa 'Linux version' "$log"; then note "kernel started"; seen_kernel=1; fi
	if [ -z "$seen_root" ] && grep -qa 'RCTEST:booted' "$log"; then note "root up (RCTEST:booted)"; seen_root=1; fi
	if [ -z "$seen_grub" ] && grep -qaE 'grub rescue>|error: ' "$log"; then
		note "GRUB: $(grep -aE -m1 'grub rescue>|error: ' "$log" | tr -d '\r')"; seen_grub=1
	fi
	if [ -n "$stop_on" ] && grep -qaE -- "$stop_on" "$log"; then
		note "log matched '$stop_on': quit"
		python3 - "$run/qmp.sock" <<'PY' || kill -KILL "$pid"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.recv(4096)
s.sendall(b'{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n')
s.settimeout(5)
try:
    while s.recv(4096): pass
except OSError: pass
PY
		wait "$pid" 2>/dev/null || :
		exit 3
	fi
	if dead_end "$log"; then
		note "dead end: $(grep -aE -m1 'maintenance|emergency mode|^\(initramfs\) |dracut:/# |grub rescue>' "$log" | tr -d '\r' | cut -c1-120)"
		kill -KILL "$pid"; wait "$pid" 2>/dev/null || :
		console_tail "$log"
		exit 125
	fi
	if kernel_stalled "$log" "$stall_s"; then
		note "kernel stalled before /init: console silent ${stall_s}s"
		kill -KILL "$pid"; wait "$pid" 2>/dev/null || :
		[ -z "${RCTEST_STALL_RETRIED:-}" ] || exit 124
		rm -rf "$run"; trap - EXIT
		stall_restart "$0" "$log" stalled "${args[@]}"
	fi
	if [ "$(($(date +%s%N) - t0))" -ge $((timeout * 1000000000)) ]; then
		note "timeout after ${timeout}s"
		kill -KILL "$pid"; wait "$pid" 2>/dev/null || :
		console_tail "$log"
		exit 124
	fi
	sleep 0.2
done
rc=0
wait "$pid" || rc=$?
note "qemu exited rc=$rc"
if [ -z "${RCTEST_STALL_RETRIED:-}" ] && kernel_died_early "$log"; then
	note "kernel panicked before /init"
	rm -rf "$run"; trap - EXIT
	stall_restart "$0" "$log" panicked "${args[@]}"
fi
[ $rc = 0 ] || sed 's/^/qemu: /' "$run/qemu.err" >&2
exit $rc
