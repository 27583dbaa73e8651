#!/bin/bash
# QEMU boot scenarios for both initramfs flavours. Builds (or reuses) the
# cached guest artefacts, builds one test initramfs per flavour with the real
# generator, then boots. Each run works in its own $Q/run.XXXXXX (several
# checkouts may test at once); it is removed when everything passed.
# Usage: run-tests.sh [REGEX]   (runs the scenarios whose name matches REGEX)
# Last line: N passed, N failed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, loop devices)"
filter=${1:-}
mkdir -p "$Q"
W=$(mktemp -d "$Q/run.XXXXXX")
fake_pid=
trap '[ -n "$fake_pid" ] && kill $fake_pid 2>/dev/null' EXIT

t0=$SECONDS
kver=$(bash "$QEMU_DIR/build-root.sh") || die "guest artefacts failed"
kernel=$Q/kernel/$kver/vmlinuz
echo "artefacts: kernel $kver, roots ready ($((SECONDS - t0))s)"
for f in $FLAVOURS; do
	t1=$SECONDS
	bash "$QEMU_DIR/mkinitrd.sh" "$f" "$W/initrd-$f" || die "initramfs for $f failed"
	echo "initramfs $f: $(($(stat -c %s "$W/initrd-$f") / 1048576)) MiB ($((SECONDS - t1))s)"
done

# The fake IMDS + Key Vault, in a fresh state dir with the cached test CA.
fake_start() {
	local d=$W/fake i=0
	rm -rf "$d" && mkdir -p "$d"
	cp "$Q/fake-ca/ca.pem" "$Q/fake-ca/ca.key" "$d/"
	python3 "$REPO/tests/fake/fake_azure.py" --state-dir "$d" 2>"$W/fake.log" &
	fake_pid=$!
	while [ ! -s "$d/ports.json" ]; do
		i=$((i + 1)); [ $i -lt 300 ] || die "fake_azure.py did not start"
		sleep 0.1
	done
}

# boot NAME FLAVOUR DISK [net] [run.sh options]: one VM run, log in $W/NAME.log.
# $EXTRA is added to the kernel command line; $ROOT replaces root=UUID=<fs>.
boot() {
	local name=$1 f=$2 disk=$3 net= append; shift 3
	[ "${1:-}" = net ] && { net=1; shift; }
	# shellcheck disable=SC1090
	. "$disk.env"
	append="console=ttyS0 panic=-1 ro root=${ROOT:-UUID=$FS_UUID} rctest.manifest=$MANIFEST_SHA"
	case $f in dracut*) append="$append rd.shell=0 rd.emergency=reboot" ;; esac
	if [ -n "$net" ]; then
		append="$append ip=dhcp rctest.net=1"
		case $f in dracut*) append="$append rd.neednet=1" ;; esac
		set -- --fake "$W/fake" "$@"
	fi
	bash "$QEMU_DIR/run.sh" --kernel "$kernel" --initrd "$W/initrd-$f" --disk "$disk" \
		--log "$W/$name.log" --append "$append ${EXTRA:-}" "$@"
}

# expect LOG MARKER...: every "RCTEST:MARKER" line is in the serial log.
expect() {
	local log=$1 m; shift
	for m in "$@"; do
		grep -aq "RCTEST:$m" "$log" || { echo "missing 'RCTEST:$m' in $log"; return 1; }
	done
}
booted_ok() { expect "$1" booted fsck-ok manifest-ok done; }
secs() { awk '/qemu exited|power cut/ { s = $1 } END { print s }' "$1.runner"; }
host_clean() { # host-side: partition table readable, root ext4 clean
	bash "$QEMU_DIR/inspect.sh" "$1" >"$1.inspect" 2>&1 || { tail -n 20 "$1.inspect"; return 1; }
	grep -q 'ext4 clean' "$1.inspect"
}
runs() { # runs RC CMD...: run CMD, fail unless it exits RC
	local want=$1 rc=0; shift
	"$@" || rc=$?
	[ $rc = "$want" ] || { echo "$2 exited $rc, want $want"; return 1; }
}

t_plain() { # plain root boots to the marker and powers off
	local f=$1 d=$W/plain-$1.img
	bash "$QEMU_DIR/mkdisk.sh" "$d" || return 1
	runs 0 boot "plain-$f" "$f" "$d" || return 1
	booted_ok "$W/plain-$f.log" && expect "$W/plain-$f.log" "initramfs $f" || return 1
	host_clean "$d" || return 1
	echo "boot $(secs "$W/plain-$f.log")s"
}

t_net() { # from the initramfs: IMDS token, vault TLS by name, a secret stored and read
	local f=$1 d=$W/net-$1.img
	bash "$QEMU_DIR/mkdisk.sh" "$d" --data-mib 4 || return 1
	runs 0 boot "net-$f" "$f" "$d" net || return 1
	expect "$W/net-$f.log" imds-ok vault-tls-ok secret-ok || return 1
	booted_ok "$W/net-$f.log" || return 1
	echo "boot $(secs "$W/net-$f.log")s"
}

t_powercut() { # QMP cut while the guest writes, SIGKILL cut mid-boot, then a clean boot
	local f=$1 d=$W/cut-$1.img mid
	bash "$QEMU_DIR/mkdisk.sh" "$d" || return 1
	EXTRA="rctest.writes=64" runs 3 boot "cut1-$f" "$f" "$d" --cut-on 'RCTEST:tick 4[^0-9]' || return 1
	expect "$W/cut1-$f.log" "boot-count 1" || return 1
	! expect "$W/cut1-$f.log" done >/dev/null || { echo "cut1: guest finished before the cut"; return 1; }
	# 40 % of the plain boot time: inside the initramfs
	mid=$(awk '/qemu exited/ { printf "%.1f", $1 * 0.4 }' "$W/plain-$f.log.runner" 2>/dev/null)
	runs 3 boot "cut2-$f" "$f" "$d" --cut-after "${mid:-5}" --cut-how kill || return 1
	runs 0 boot "cut3-$f" "$f" "$d" || return 1
	# the count written and synced before cut 1 survives (cut 2 may add one)
	booted_ok "$W/cut3-$f.log" && expect "$W/cut3-$f.log" "boot-count [23]" || return 1
	host_clean "$d" || return 1
	echo "cut at tick 4 (qmp), at ${mid:-5}s (kill); next boot clean"
}

t_cutlatency() { # a cut triggered by a serial line lands within a second of it
	local f=$1 d=$W/lat-$1.img last
	bash "$QEMU_DIR/mkdisk.sh" "$d" --data-mib 1 || return 1
	EXTRA="rctest.ticks=200" runs 3 boot "lat-$f" "$f" "$d" --cut-on 'RCTEST:tick 10[^0-9]' || return 1
	last=$(grep -ao 'RCTEST:tick [0-9]*' "$W/lat-$f.log" | tail -n1 | cut -d' ' -f2)
	# ticks are 0.1 s apart: at most 10 more lines in one second
	[ "$last" -le 20 ] || { echo "cut came $(((last - 10) * 100)) ms after the line"; return 1; }
	echo "cut <= $(((last - 10 + 1) * 100)) ms after the line (last tick $last)"
}

# --- rootcrypt boot (issue 8): the product's hooks in both initramfs flavours
has_boot() { "$REPO/rootcrypt" boot --help >/dev/null 2>&1; }
rc_boot_vm() { # rc_boot_vm NAME FLAVOUR DISK [run.sh options]: root on /dev/mapper/root
	local name=$1 f=$2 d=$3; shift 3
	# shellcheck disable=SC1090
	. "$d.env"
	ROOT=/dev/mapper/root EXTRA="rootcrypt.device=PARTUUID=$PART_UUID ${RCX:-}" \
		boot "$name" "$f" "$d" net --timeout 600 "$@"
}
is_luks() { # host side: LUKS2 with the azure-keyvault token
	bash "$QEMU_DIR/inspect.sh" "$1" >"$1.inspect" 2>&1 || { tail -n 20 "$1.inspect"; return 1; }
	grep -q 'luks2$' "$1.inspect" && grep -q azure-keyvault "$1.inspect" ||
		{ echo "not LUKS2 with an azure-keyvault token:"; tail -n 20 "$1.inspect"; return 1; }
}

t_encrypt() { # first boot encrypts (shift layout), second boot unlocks
	local f=$1 d=$W/enc-$1.img
	bash "$QEMU_DIR/mkdisk.sh" "$d" --free-mib 32 || return 1
	runs 0 rc_boot_vm "enc1-$f" "$f" "$d" || return 1
	booted_ok "$W/enc1-$f.log" && expect "$W/enc1-$f.log" 'status.*"Encrypted"' || return 1
	is_luks "$d" || return 1
	runs 0 rc_boot_vm "enc2-$f" "$f" "$d" || return 1
	booted_ok "$W/enc2-$f.log" && expect "$W/enc2-$f.log" 'status.*"Encrypted"' || return 1
	! grep -aq 'rootcrypt: encrypting' "$W/enc2-$f.log" || { echo "second boot encrypted again"; return 1; }
	echo "encrypt+boot $(secs "$W/enc1-$f.log")s, unlock boot $(secs "$W/enc2-$f.log")s"
}

t_resume() { # t_resume FLAVOUR TAG REGEX: power cut when the serial log matches
	local f=$1 d=$W/res-$2-$1.img   # REGEX; the next boot resumes and finishes
	bash "$QEMU_DIR/mkdisk.sh" "$d" --free-mib 32 || return 1
	# a disk capped at 8 MB/s makes the pass long enough to cut into
	runs 3 rc_boot_vm "res1-$2-$f" "$f" "$d" --throttle bps-total=8388608 --cut-on "$3" \
		${RES_SLOW_ON:+--slow-on "$RES_SLOW_ON" --slow bps=8388608,iops=2} || return 1
	! expect "$W/res1-$2-$f.log" booted >/dev/null || { echo "booted before the cut"; return 1; }
	runs 0 rc_boot_vm "res2-$2-$f" "$f" "$d" || return 1
	booted_ok "$W/res2-$2-$f.log" && expect "$W/res2-$2-$f.log" 'status.*"Encrypted"' || return 1
	is_luks "$d" || return 1
	[ -z "${RES_STATE:-}" ] || grep -aq "\"/dev/vda[0-9]*\" is $RES_STATE" "$W/res2-$2-$f.log" ||
		{ echo "the next boot did not find the disk $RES_STATE"; return 1; }
	echo "cut at '$(grep -aE "$3" "$W/res1-$2-$f.log" | head -n1 | tr -d '\r' | cut -c1-60)'," \
		"next boot found it $(grep -ao '"/dev/vda[0-9]*" is [a-z]*' "$W/res2-$2-$f.log" | head -n1 |
		cut -d' ' -f3), resumed in $(secs "$W/res2-$2-$f.log")s"
}

fake_ctl() { # fake_ctl METHOD PATH [JSON]: the fake's control interface
	python3 - "$W/fake/ports.json" "$@" <<'PY'
import json, sys, urllib.request
port = json.load(open(sys.argv[1]))["imds"]
data = sys.argv[4].encode() if len(sys.argv) > 4 else None
req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, sys.argv[3]), data=data, method=sys.argv[2])
urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req, timeout=10).read()
PY
}

t_vaultdown() { # vault down before the key is stored: disk untouched, boots plain
	local f=$1 d=$W/vd-$1.img rc=0
	bash "$QEMU_DIR/mkdisk.sh" "$d" --free-mib 32 --data-mib 4 || return 1
	fake_ctl POST /_fake/faults '{"service":"vault","status":503,"count":100000}' || return 1
	RCX="rootcrypt.retry_timeout=5" runs 0 rc_boot_vm "vd-$f" "$f" "$d" || rc=1
	fake_ctl DELETE /_fake/faults || return 1
	[ $rc = 0 ] || return 1
	booted_ok "$W/vd-$f.log" && expect "$W/vd-$f.log" 'status.*"NotEncrypted"' || return 1
	! expect "$W/vd-$f.log" 'status.*"last_error":null' >/dev/null || { echo "status gives no reason"; return 1; }
	host_clean "$d" || return 1
	echo "booted plain: $(grep -ao '"last_error":"[^"]*' "$W/vd-$f.log" | head -n1 | cut -c15-90)"
}

t_storm() { # a 429 storm with Retry-After on the vault: first boot still encrypts
	local f=$1 d=$W/storm-$1.img
	bash "$QEMU_DIR/mkdisk.sh" "$d" --free-mib 32 --data-mib 4 || return 1
	fake_ctl POST /_fake/faults \
		'{"service":"vault","status":429,"retry_after":"1","count":6}' || return 1
	runs 0 rc_boot_vm "storm-$f" "$f" "$d" || { fake_ctl DELETE /_fake/faults; return 1; }
	# every queued 429 must have been served (and so retried past)
	python3 - "$W/fake/ports.json" <<'PY2' || { fake_ctl DELETE /_fake/faults; return 1; }
import json, sys, urllib.request
port = json.load(open(sys.argv[1]))["imds"]
op = urllib.request.build_opener(urllib.request.ProxyHandler({}))
faults = json.load(op.open("http://127.0.0.1:%d/_fake/faults" % port, timeout=10))
hits = sum(f.get("hits", 0) for f in faults if f.get("status") == 429)
print("429 served %d times" % hits)
sys.exit(0 if hits == 6 else 1)
PY2
	fake_ctl DELETE /_fake/faults || return 1
	booted_ok "$W/storm-$f.log" && expect "$W/storm-$f.log" 'status.*"Encrypted"' || return 1
	is_luks "$d" || return 1
	echo "6 x 429 (Retry-After 1) absorbed; encrypt+boot $(secs "$W/storm-$f.log")s"
}

fake_secret() { # fake_secret URL: the value the fake holds for .../secrets/NAME/VERSION
	python3 - "$W/fake/ports.json" "$1" <<'PY'
import json, sys, urllib.request
port = json.load(open(sys.argv[1]))["imds"]
name, version = sys.argv[2].rstrip("/").split("/")[-2:]
op = urllib.request.build_opener(urllib.request.ProxyHandler({}))
st = json.load(op.open("http://127.0.0.1:%d/_fake/state?values" % port, timeout=10))
print(next(v["value"] for v in st["secrets"][name]["versions"] if v["version"] == version))
PY
}

t_recovery() { # encrypted root, vault down: bounded retry, then the serial
	local f=$1 d=$W/rec-$1.img id sum rc=0   # prompt; then a wrong secret refused
	bash "$QEMU_DIR/mkdisk.sh" "$d" --free-mib 32 --data-mib 4 || return 1
	runs 0 rc_boot_vm "rec1-$f" "$f" "$d" || return 1
	expect "$W/rec1-$f.log" 'status.*"Encrypted"' || return 1
	# the version this disk's key was stored as (the boot says so)
	id=$(grep -ao 'key stored as https://[^;]*' "$W/rec1-$f.log" | head -n1 | cut -d' ' -f4 | tr -d '\r')
	[ -n "$id" ] && fake_secret "$id" >"$W/rec-$f.answer" || { echo "rec1-$f: no stored key"; return 1; }
	# vault down: the retries give up, the prompt comes, the answer typed on
	# ttyS0 (the recovery secret from the vault) unlocks and the boot goes on
	fake_ctl POST /_fake/faults '{"service":"vault","status":503,"count":100000}' || return 1
	RCX="rootcrypt.retry_timeout=5 rootcrypt.prompt_timeout=120" runs 0 rc_boot_vm "rec2-$f" \
		"$f" "$d" --answer-on 'Enter the recovery secret' --answer "$W/rec-$f.answer" || rc=1
	fake_ctl DELETE /_fake/faults || return 1
	[ $rc = 0 ] || return 1
	grep -aq 'Enter the recovery secret' "$W/rec2-$f.log" || { echo "no prompt in rec2-$f.log"; return 1; }
	booted_ok "$W/rec2-$f.log" && expect "$W/rec2-$f.log" 'status.*"Encrypted"' || return 1
	# a wrong secret (valid base64, wrong passphrase) served under the token's
	# version: refused, nothing written
	sum=$(sha256sum <"$d")
	fake_ctl POST /_fake/faults "{\"service\":\"vault\",\"method\":\"GET\",\"path\":\"^/secrets/\",
		\"status\":200,\"count\":100000,\"content_type\":\"application/json\",
		\"body\":\"{\\\"id\\\":\\\"$id\\\",\\\"value\\\":\\\"$(printf not-the-secret | base64)\\\",\\\"attributes\\\":{\\\"enabled\\\":true}}\"}" || return 1
	RCX="rootcrypt.prompt_timeout=5 rootdelay=10 rd.timeout=30" \
		rc_boot_vm "rec3-$f" "$f" "$d" --timeout 300 || rc=$?
	fake_ctl DELETE /_fake/faults || return 1
	[ $rc = 0 ] || [ $rc = 1 ] || { echo "rec3-$f: run.sh exited $rc"; return 1; }
	grep -aq 'secret from Key Vault does not open' "$W/rec3-$f.log" ||
		{ echo "rec3-$f: no refusal in the log"; return 1; }
	! expect "$W/rec3-$f.log" booted >/dev/null || { echo "rec3-$f: booted with a wrong secret"; return 1; }
	[ "$(sha256sum <"$d")" = "$sum" ] || { echo "rec3-$f: the disk changed"; return 1; }
	echo "prompt answered over serial, unlock boot $(secs "$W/rec2-$f.log")s; wrong secret refused, disk unchanged"
}

t_keycut() { # power cut while the key is on its way to the vault: the disk is
	local f=$1 d=$W/kc-$1.img sum rc=0   # untouched; the next boot starts over
	bash "$QEMU_DIR/mkdisk.sh" "$d" --free-mib 32 --data-mib 4 || return 1
	sum=$(sha256sum <"$d")
	# the vault holds the PUT for 60 s; the cut comes once the fake has it
	fake_ctl POST /_fake/faults '{"service":"vault","method":"PUT","delay":60,"count":1}' || return 1
	runs 3 rc_boot_vm "kc1-$f" "$f" "$d" --cut-when "python3 '$QEMU_DIR/fake-hit.py' '$W/fake/ports.json' PUT" || rc=1
	fake_ctl DELETE /_fake/faults || return 1
	[ $rc = 0 ] || return 1
	grep -aq 'storing a new key' "$W/kc1-$f.log" || { echo "kc1-$f: cut before the key store"; return 1; }
	! grep -aq 'key stored as' "$W/kc1-$f.log" || { echo "kc1-$f: key stored before the cut"; return 1; }
	[ "$(sha256sum <"$d")" = "$sum" ] || { echo "kc1-$f: the disk changed before the key was stored"; return 1; }
	runs 0 rc_boot_vm "kc2-$f" "$f" "$d" || return 1
	booted_ok "$W/kc2-$f.log" && expect "$W/kc2-$f.log" 'status.*"Encrypted"' || return 1
	is_luks "$d" || return 1
	echo "cut with the PUT in flight: disk unchanged; next boot encrypted in $(secs "$W/kc2-$f.log")s"
}

t_detached() { # header on /boot (no room after the root): encrypt, then unlock
	local f=$1 d=$W/det-$1.img hdr=$W/det-$1.hdr
	bash "$QEMU_DIR/mkdisk.sh" "$d" --boot-mib 48 --data-mib 4 || return 1
	# shellcheck disable=SC1090
	. "$d.env"
	local rcx="rootcrypt.layout=detached rootcrypt.header=/rootcrypt-root.luks"
	rcx="$rcx rootcrypt.header_device=UUID=$BOOT_UUID"
	RCX=$rcx runs 0 rc_boot_vm "det1-$f" "$f" "$d" || return 1
	booted_ok "$W/det1-$f.log" && expect "$W/det1-$f.log" 'status.*"Encrypted"' || return 1
	# host side: the header is a file on /boot; stock cryptsetup reads it and
	# the root partition itself carries no header (data from sector 0)
	dd if="$d" of="$hdr.boot" bs=1M skip=1 count=48 status=none
	debugfs -R "dump /rootcrypt-root.luks $hdr" "$hdr.boot" >/dev/null 2>&1 || { echo "no header file on /boot"; return 1; }
	cryptsetup luksDump "$hdr" >"$hdr.dump" 2>&1 && grep -q azure-keyvault "$hdr.dump" ||
		{ echo "header on /boot is not LUKS2 with the token"; head -n 20 "$hdr.dump"; return 1; }
	! bash "$QEMU_DIR/inspect.sh" "$d" >"$d.inspect" 2>&1 || grep -q luks "$d.inspect" ||
		{ echo "root partition still reads as a plain file system"; return 1; }
	RCX=$rcx runs 0 rc_boot_vm "det2-$f" "$f" "$d" || return 1
	booted_ok "$W/det2-$f.log" && expect "$W/det2-$f.log" 'status.*"Encrypted"' || return 1
	! grep -aq 'rootcrypt: encrypting' "$W/det2-$f.log" || { echo "second boot encrypted again"; return 1; }
	echo "encrypt+boot $(secs "$W/det1-$f.log")s, unlock boot $(secs "$W/det2-$f.log")s (header on /boot)"
}

t_bench() { # not a test (only with FILTER=bench): throttled disk, ADE-style dd
	local f=initramfs-tools cap=${RCBENCH_CAP:-8388608} d=$W/bench-dd.img e=$W/bench-rc.img
	local dd_line dd_rate rc_rate plain unlock
	bash "$QEMU_DIR/mkdisk.sh" "$d" --free-mib 32 --data-mib 64 || return 1
	cp --sparse=always "$d" "$e" && cp "$d.env" "$e.env" || return 1
	# baseline: dd bs=64K through dm-crypt in place, same cap (read+write)
	EXTRA="rctest.bench=/dev/vda1" runs 0 boot bench-dd "$f" "$d" --throttle "bps-total=$cap" || return 1
	dd_line=$(grep -a 'RCTEST:bench-dd ' "$W/bench-dd.log" | tr -d '\r') || { echo "no dd result"; return 1; }
	dd_rate=$(echo "$dd_line" | awk '{ printf "%.2f", $2 / ($5 - $4) / 1e6 }')
	runs 0 rc_boot_vm bench-rc "$f" "$e" --throttle "bps-total=$cap" || return 1
	expect "$W/bench-rc.log" 'status.*"Encrypted"' || return 1
	# the last progress line's rate covers the whole pass
	rc_rate=$(grep -a 'rootcrypt: encrypting /.*100\.0%' "$W/bench-rc.log" | tail -n1 |
		sed -n 's/.* \([0-9.]*\) MB\/s.*/\1/p')
	runs 0 rc_boot_vm bench-unlock "$f" "$e" --throttle "bps-total=$cap" || return 1
	t_plain "$f" >/dev/null || return 1
	plain=$(secs "$W/plain-$f.log")
	unlock=$(secs "$W/bench-unlock.log")
	awk -v cap="$cap" -v dd="$dd_rate" -v rc="$rc_rate" -v u="$unlock" -v p="${plain:-?}" 'BEGIN {
		half = cap / 2 / 1e6   # in place: every byte is read once and written once
		printf "cap %.2f MB/s read+write (%.2f MB/s in place)\n", cap / 1e6, half
		printf "dd bs=64K via dm-crypt  %6.2f MB/s  %5.1f %% of the cap\n", dd, 100 * dd / half
		printf "rootcrypt (shift)       %6.2f MB/s  %5.1f %% of the cap\n", rc, 100 * rc / half
		printf "boot: plain %s s, unlock (Key Vault + cryptsetup) %s s\n", p, u
		printf "rootcrypt %.2f MB/s = %.0f %% of the cap, %.2fx dd\n", rc, 100 * rc / half, rc / dd }' |
		tee "$Q/bench.txt" | tail -n 1
}

t_nosystemd() { # dracut without systemd in the initramfs (its shell init)
	local t1=$SECONDS   # runs the same module: encrypt, then unlock
	bash "$QEMU_DIR/mkinitrd.sh" dracut-nosystemd "$W/initrd-dracut-nosystemd" || return 1
	echo "initramfs dracut-nosystemd built in $((SECONDS - t1))s"
	t_encrypt dracut-nosystemd || return 1
	! grep -aq 'Reached target' "$W/enc1-dracut-nosystemd.log" ||
		{ echo "systemd ran in the initramfs"; return 1; }
}

passed=0 failed=0
scenario() { # scenario NAME CMD...
	local name=$1 out t1=$SECONDS; shift
	[ -z "$filter" ] || echo "$name" | grep -qE -- "$filter" || return 0
	if out=$("$@" 2>&1); then
		echo "ok   $name ($((SECONDS - t1))s) $(echo "$out" | tail -n1)"
		passed=$((passed + 1))
	else
		echo "FAIL $name ($((SECONDS - t1))s)"; echo "$out" | sed 's/^/    /' | tail -n 30
		failed=$((failed + 1))
	fi
}

fake_start
for f in $FLAVOURS; do
	scenario "plain-$f" t_plain "$f"
	scenario "net-$f" t_net "$f"
	scenario "powercut-$f" t_powercut "$f"
done
scenario "cutlatency-initramfs-tools" t_cutlatency initramfs-tools
if has_boot; then
	# progress lines on the console ("rootcrypt: encrypting DEV:  50.0%, 0.05
	# of 0.09 GiB, ..."): the pattern is the part that a kernel message
	# printed into the middle of the line leaves whole
	P=' ' PE='\.[0-9]%, [0-9.]+ of [0-9.]+ GiB'
	for f in $FLAVOURS; do
		scenario "encrypt-$f" t_encrypt "$f"
		# a progress line comes whenever another tenth is done (src/progress.h):
		# each window spans two tenths, so a kernel message interleaved with one
		# console line cannot make the cut miss (lines at 50.0 and 62.5 here)
		scenario "resume-mid-$f" t_resume "$f" mid "$P(5[0-9]|6[0-4])$PE"
	done
	for f in $FLAVOURS; do scenario "vaultdown-$f" t_vaultdown "$f"; done
	for f in $FLAVOURS; do scenario "recovery-$f" t_recovery "$f"; done
	scenario "keycut-dracut" t_keycut dracut
	for f in $FLAVOURS; do scenario "detached-$f" t_detached "$f"; done
	scenario "encrypt-dracut-nosystemd" t_nosystemd
	scenario "storm-initramfs-tools" t_storm initramfs-tools
	scenario "resume-start-dracut" t_resume dracut start "rootcrypt: encrypting '.*' in place"
	scenario "resume-early-dracut" t_resume dracut early "$P(1[0-9]|2[0-4])$PE"
	scenario "resume-late-initramfs-tools" t_resume initramfs-tools late \
		"$P(8[0-9]|9[0-9])$PE"
	# the 100 % line comes right before the final header write (ENGINE.md
	# step 5); from 80 % on the disk does 2 I/Os per second, so that header's
	# writes and flushes take seconds, far longer than the cut's latency
	# after the 100 % line: the cut lands inside them
	RES_SLOW_ON="$P(8[0-9]|9[0-9])$PE" RES_STATE=encrypting \
		scenario "resume-final-dracut" t_resume dracut final "${P}100$PE"
else
	echo "skip encrypt/resume: this rootcrypt has no 'boot' subcommand yet"
fi
# a benchmark, not a test: only when asked for by name (make qemu-bench)
case $filter in bench*) scenario "bench-initramfs-tools" t_bench ;; esac
if [ "$failed" = 0 ]; then
	[ -n "$fake_pid" ] && kill $fake_pid && wait $fake_pid 2>/dev/null
	fake_pid=
	# RCTEST_KEEP=1 (make demo): keep logs and disks, say where.
	if [ -n "${RCTEST_KEEP:-}" ]; then echo "kept: $W"; else rm -rf "$W"; fi
	echo "qemu total $((SECONDS - t0))s"
else
	echo "qemu total $((SECONDS - t0))s; logs and disks in $W"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
