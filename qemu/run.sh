#!/bin/bash
# Boot one test VM under TCG and wait for it to power off, time out, or be
# power-cut. Serial console -> LOG; kernel and initramfs passed directly.
# Usage: run.sh --kernel F --initrd F --disk IMG --log LOG --append CMDLINE
#   [--timeout S (300)] [--mem MIB (512)] [--smp N (2)]
#                          S is what an idle host needs (with a margin): like
#                          every wait here it is scaled by scaled() (lib.sh:
#                          $RCTEST_SLOW, the run's calibration, with its ceilings)
#   [--fake DIR]           fake_azure.py state dir: forward 169.254.169.254:80 to
#                          its IMDS and $VAULT_ADDR:443 to its vault (ports.json)
#   [--throttle LIST]      e.g. bps-total=20971520,iops-total=500 (QEMU throttling.*)
#   [--cut-on REGEX]       power cut as soon as the serial log matches REGEX
#   [--cut-after S]        power cut S seconds (idle host; scaled too) after start
#   [--cut-when CMD]       power cut as soon as the shell command CMD succeeds
#   [--slow-on REGEX --slow LIST]
#                          once the log matches REGEX, change the disk's limits
#                          through QMP, e.g. bps=8388608,iops=2 (QMP
#                          block_set_io_throttle names; unnamed limits are 0 = none)
#                          (polled; e.g. asks the fake whether a request arrived)
#   [--cut-how qmp|kill]   qmp: QMP "quit" (default); kill: SIGKILL of QEMU
#   [--answer-on REGEX --answer FILE]
#                          type FILE's first line (and Enter) on the serial
#                          console once the log matches REGEX (a prompt)
# Exit: 0 guest powered off, 3 power cut done, 124 timeout, else QEMU failed.
# Writes LOG.runner: what happened and when (seconds since start).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
args=("$@")

timeout=300 mem=512 smp=2 fake= throttle= cut_on= cut_after= cut_how=qmp
answer_on= answer= answered= cut_when= slow_on= slow= slowed=
kernel= initrd= disk= log= append=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2 ;; --initrd) initrd=$2 ;; --disk) disk=$2 ;; --log) log=$2 ;;
	--append) append=$2 ;; --timeout) timeout=$2 ;; --mem) mem=$2 ;; --smp) smp=$2 ;;
	--fake) fake=$2 ;; --throttle) throttle=$2 ;; --cut-on) cut_on=$2 ;;
	--cut-after) cut_after=$2 ;; --cut-how) cut_how=$2 ;;
	--answer-on) answer_on=$2 ;; --answer) answer=$2 ;; --cut-when) cut_when=$2 ;;
	--slow-on) slow_on=$2 ;; --slow) slow=$2 ;;
	*) die "run.sh: unknown option '$1'" ;;
	esac
	shift 2
done
for v in kernel initrd disk log; do [ -n "${!v}" ] || die "run.sh: --$v missing"; done
[ -z "$answer_on" ] || [ -r "$answer" ] || die "run.sh: --answer-on needs a readable --answer FILE"
timeout_idle=$timeout
timeout=$(scaled "$timeout")
[ -z "$cut_after" ] || cut_after=$(awk -v s="$cut_after" -v f="${RCTEST_SLOW:-1}" 'BEGIN { printf "%.1f", s * f }')

net="user,id=n0,net=169.254.169.0/24"
if [ -n "$fake" ]; then
	ports=$(cat "$fake/ports.json")
	imds=$(echo "$ports" | sed -n 's/.*"imds": *\([0-9]*\).*/\1/p')
	vault=$(echo "$ports" | sed -n 's/.*"vault": *\([0-9]*\).*/\1/p')
	[ -n "$imds" ] && [ -n "$vault" ] || die "no ports in $fake/ports.json"
	# One busybox nc per guest connection, relaying to the fake on loopback.
	net="$net,guestfwd=tcp:$IMDS_ADDR:80-cmd:busybox nc 127.0.0.1 $imds"
	net="$net,guestfwd=tcp:$VAULT_ADDR:443-cmd:busybox nc 127.0.0.1 $vault"
fi
# cache=none (O_DIRECT, no host page cache in the path) with native AIO: the
# guest sees a volatile write cache and issues its flushes as on a cloud disk,
# and a completed guest write is in the image file at once, so a cut leaves
# exactly the writes QEMU had completed: nothing is buffered in QEMU, nothing
# "un-written" by it either (see qemu/README.md).
drive="file=$disk,format=raw,if=none,id=d0,cache=none,aio=native"
[ -n "$throttle" ] && drive="$drive,$(echo "$throttle" | sed 's/\([^,]*\)/throttling.\1/g')"

run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
: >"$log"
: >"$log.runner"
# The serial console is a pair of FIFOs (QEMU's pipe chardev: it writes
# serial.out and reads serial.in), so the runner can both log it and type
# into it. QEMU opens both read-write, so neither open blocks; cat copies
# the output unbuffered, and an EOF reaches it once QEMU is gone.
mkfifo "$run/serial.in" "$run/serial.out"
cat "$run/serial.out" >"$log" &
cat_pid=$!
qemu-system-x86_64 -accel tcg -cpu max -m "$mem" -smp "$smp" -nodefaults -display none \
	-no-reboot -kernel "$kernel" -initrd "$initrd" -append "$append" \
	-chardev "pipe,id=s0,path=$run/serial" -serial chardev:s0 \
	-drive "$drive" -device virtio-blk-pci,drive=d0 \
	-netdev "$net" -device virtio-net-pci,netdev=n0 \
	-device virtio-rng-pci \
	-qmp "unix:$run/qmp.sock,server=on,wait=off" 2>"$run/qemu.err" &
pid=$!

t0=$(date +%s%N)
elapsed() { awk -v n="$(date +%s%N)" -v t="$t0" 'BEGIN { printf "%.3f", (n - t) / 1e9 }'; }
note() { echo "$(elapsed) $*" >>"$log.runner"; }
since() { awk -v n="${1/./}" -v t="$t0" 'BEGIN { printf "%.3f", (n * 1000 - t) / 1e9 }'; }   # EPOCHREALTIME -> s since start
# After QEMU exits: let cat drain what is left and see its EOF (opening the
# FIFO (read-write: never blocks) also frees a cat still in its own open).
log_done() { : <>"$run/serial.out"; wait "$cat_pid" 2>/dev/null || :; }
cut() {
	note "power cut ($1, $cut_how)"
	if [ "$cut_how" = kill ]; then
		kill -KILL "$pid"
	else
		python3 - "$run/qmp.sock" "$(scaled 5)" <<'PY' || kill -KILL "$pid"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.recv(4096)
s.sendall(b'{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n')
s.settimeout(float(sys.argv[2]))
try:
    while s.recv(4096): pass
except OSError: pass
PY
	fi
	wait "$pid" 2>/dev/null || :
	note "qemu gone"
	log_done
	exit 3
}
# qmp COMMAND-JSON: one QMP command, its reply on stdout.
qmp() {
	python3 - "$run/qmp.sock" "$1" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()
for cmd in ('{"execute":"qmp_capabilities"}', sys.argv[2]):
    f.write(cmd + "\n"); f.flush()
    while True:
        reply = json.loads(f.readline())
        if "return" in reply or "error" in reply:
            break
print(json.dumps(reply))
sys.exit(1 if "error" in reply else 0)
PY
}
throttle_json() { # bps=N,iops=N -> block_set_io_throttle for drive d0
	python3 -c '
import json, sys
a = dict.fromkeys(("bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr"), 0)
for kv in sys.argv[1].split(","):
    k, v = kv.split("=")
    a[k] = int(v)
a["device"] = "d0"
print(json.dumps({"execute": "block_set_io_throttle", "arguments": a}))' "$1"
}
t_absent=$EPOCHREALTIME   # the last poll that did not find the --cut-on line
note "started qemu pid $pid; timeout ${timeout}s (${timeout_idle}s idle x ${RCTEST_SLOW:-1})"
[ -z "${RCTEST_STALL_RETRIED:-}" ] || note "second attempt: the first stalled or panicked in the kernel before /init ($log.stall1)"
stall_s=${RCTEST_STALL_S:-$(scaled 60)}
while kill -0 "$pid" 2>/dev/null; do
	if [ -n "$cut_on" ]; then
		t_poll=$EPOCHREALTIME
		# the line came after the previous poll: the note keeps both bounds
		if grep -qE -- "$cut_on" "$log"; then
			echo "$(since "$t_absent") the previous poll: no line matched '$cut_on'" >>"$log.runner"
			cut "log matched '$cut_on'"
		fi
		t_absent=$t_poll
	fi
	if [ -n "$slow_on" ] && [ -z "$slowed" ] && grep -qE -- "$slow_on" "$log"; then
		note "log matched '$slow_on': disk limits $slow: $(qmp "$(throttle_json "$slow")" 2>&1)"
		slowed=1
	fi
	if [ -n "$cut_when" ] && sh -c "$cut_when" >/dev/null 2>&1; then cut "'$cut_when' succeeded"; fi
	if [ -n "$answer_on" ] && [ -z "$answered" ] && grep -qE -- "$answer_on" "$log"; then
		note "log matched '$answer_on': typing the answer"
		head -n 1 "$answer" >"$run/serial.in"
		answered=1
	fi
	if [ -n "$cut_after" ] && [ "$(($(date +%s%N) - t0))" -ge "$(echo "$cut_after" | awk '{printf "%.0f", $1 * 1e9}')" ]; then
		cut "after ${cut_after}s"
	fi
	if kernel_stalled "$log" "$stall_s"; then
		note "kernel stalled before /init: console silent ${stall_s}s"
		kill -KILL "$pid"; wait "$pid" 2>/dev/null || :
		log_done
		[ -z "${RCTEST_STALL_RETRIED:-}" ] || exit 124
		rm -rf "$run"; trap - EXIT
		stall_restart "$0" "$log" stalled "${args[@]}"
	fi
	if [ "$(($(date +%s%N) - t0))" -ge $((timeout * 1000000000)) ]; then
		note "timeout after ${timeout}s"
		kill -KILL "$pid"; wait "$pid" 2>/dev/null || :
		log_done
		exit 124
	fi
	sleep 0.1
done
rc=0
wait "$pid" || rc=$?
log_done
note "qemu exited rc=$rc"
if [ -z "${RCTEST_STALL_RETRIED:-}" ] && kernel_died_early "$log"; then
	note "kernel panicked before /init"
	rm -rf "$run"; trap - EXIT
	stall_restart "$0" "$log" panicked "${args[@]}"
fi
[ $rc = 0 ] || sed 's/^/qemu: /' "$run/qemu.err" >&2
exit $rc
