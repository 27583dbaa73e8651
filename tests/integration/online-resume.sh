#!/bin/sh
# `rootcrypt online-resume` (issue 18, src/engine/ONLINE.md "The systemd
# unit"), the after-switch-root half, without device-mapper: the volume is
# an image stock cryptsetup set up with `reencrypt --encrypt --init-only
# --reduce-device-size 32M` plus rootcrypt's azure-keyvault token; the key
# sits in a private session keyring (test build: ROOTCRYPT_KEYRING=session,
# keyring.inc), the marker in a status dir of the test's own. A
# cryptsetup stand-in records every call and the passphrase on stdin, and
# runs `reencrypt --resume-only --active-name NAME` as the real
# `cryptsetup reencrypt --resume-only --force-offline-reencrypt IMAGE`
# (what a mapping would be); fake dpkg-query and systemctl stand for the
# package database and systemd. Cases: the binary and the library outside
# the fence (2.7.2, 2.7.3), no key, a wrong key (each: refused, status
# "paused" and why, nothing changed, cryptsetup never asked to resume);
# then the pass: the argument/stdin contract, the io.max cap from
# online_rate, status Encrypted, key and marker gone, `rootcrypt status`
# encrypted. What this cannot show (no device-mapper, no systemd): the
# resume on a mounted, active volume; that is the QEMU plan's.
set -eu
. "$(dirname "$0")/keyring.inc"
keyring_private "$0" "$@"
command -v cryptsetup >/dev/null || { echo "cryptsetup missing"; exit 77; }
command -v mkfs.ext4 >/dev/null || { echo "mkfs.ext4 missing"; exit 77; }
t=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$t"' EXIT INT TERM
die() { echo "FAIL: $*"; exit 1; }

mkdir -p "$t/bin" "$t/run"
printf 'online-pass-phrase' >"$t/pw"
img=$t/vol.img
truncate -s 80M "$img"
mkfs.ext4 -q -F -b 4096 -E nodiscard "$img" 48M
cryptsetup reencrypt --encrypt --init-only --type luks2 --cipher aes-xts-plain64 --key-size 512 \
	--sector-size 4096 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --reduce-device-size 32M \
	--key-file "$t/pw" --batch-mode "$img" >/dev/null || die "cryptsetup init-only failed"
"$ROOTCRYPT" debug-luks2 azure "$img" "https://v.vault.azure.net,s-name,0123abcd,," >/dev/null 2>&1 ||
	die "azure token on the in-progress header"
uuid=$(cryptsetup luksUUID "$img")
printf 'uuid=%s\ndevice=%s\nname=testroot\n' "$uuid" "$img" >"$t/run/online"
: >"$t/rootcrypt.conf"

export CALLS="$t/calls" STAND_IN_IMG="$img" STAND_IN_STDIN="$t/stdin"
cat >"$t/cryptsetup" <<'SH'
#!/bin/sh
echo "$*" >>"$CALLS"
if [ "${1:-}" = --version ] && [ -n "${FAKE_CS_VERSION:-}" ]; then
	echo "cryptsetup $FAKE_CS_VERSION flags: UDEV BLKID KEYRING"; exit 0
fi
[ "${1:-}" = reencrypt ] || exec cryptsetup "$@"
cat >"$STAND_IN_STDIN"
if [ -n "${STAND_IN_SLOW:-}" ]; then
	# a pass that stops at a safe point on SIGTERM, as cryptsetup does
	trap 'kill $! 2>/dev/null; echo "Reencryption interrupted." >&2; exit 1' TERM
	echo '{"device":"x","device_bytes":"4096","device_size":"8192","speed":"1000000"}'
	sleep 20 & wait
	exit 0
fi
args= skip=
for a in "$@"; do
	[ -z "$skip" ] || { skip=; continue; }
	case $a in --active-name) skip=1 ;; *) args="$args '$a'" ;; esac
done
eval "exec cryptsetup $args --force-offline-reencrypt \"\$STAND_IN_IMG\"" <"$STAND_IN_STDIN"
SH
cat >"$t/bin/dpkg-query" <<'SH'
#!/bin/sh
if [ -n "${FAKE_LIB_VERSION:-}" ]; then printf '%s' "$FAKE_LIB_VERSION"; exit 0; fi
printf '2:2.6.1-4~deb12u2'
SH
cat >"$t/bin/systemctl" <<SH
#!/bin/sh
echo "\$*" >>"$t/systemctl.calls"
SH
chmod +x "$t/cryptsetup" "$t/bin/dpkg-query" "$t/bin/systemctl"
export ROOTCRYPT_CRYPTSETUP="$t/cryptsetup" PATH="$t/bin:$PATH"

resume() {
	"$ROOTCRYPT_TEST" online-resume --config "$t/rootcrypt.conf" --status-dir "$t/run"
}
state() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
	"$t/run/status.json" "$1"; }
before=$(sha256sum <"$img")
# refused CASE PATTERN: resume fails naming PATTERN; status paused and
# why; nothing changed: image, key, marker; cryptsetup not asked to resume
refused() {
	rm -f "$CALLS" "$t/run/status.json"
	if resume 2>"$t/err"; then cat "$t/err"; die "$1: resume succeeded"; fi
	grep -q "$2" "$t/err" || { cat "$t/err"; die "$1: no line \"$2\""; }
	[ "$(state state)" = EncryptionInProgress ] || { cat "$t/run/status.json"; die "$1: status state"; }
	state last_error | grep -q "^paused: .*$2" || { cat "$t/run/status.json"; die "$1: status not paused with why"; }
	[ "$(state bytes_total)" -gt 0 ] || die "$1: status without the header's total"
	[ "$(sha256sum <"$img")" = "$before" ] || die "$1: the image changed"
	! grep -q reencrypt "$CALLS" 2>/dev/null || die "$1: cryptsetup was asked to resume"
	[ -e "$t/run/online" ] || die "$1: marker removed"
}

# 1. The version fence: binary, then library (a partial upgrade).
keyring_put "$uuid" "$t/pw" || die "cannot put the key into the session keyring"
FAKE_CS_VERSION=2.7.2 refused "cryptsetup 2.7.2" "cryptsetup 2.7.2"
keyring_has "$uuid" || die "fence refusal removed the key"
FAKE_LIB_VERSION=2:2.7.3-1 refused "libcryptsetup 2.7.3" "libcryptsetup 2.7.3"
FAKE_CS_VERSION=2.4.2 refused "cryptsetup 2.4.2" "older than 2.4.3"
echo "ok: outside the fence: paused, nothing changed"

# 2. The key: a wrong one, then none.
printf 'not-the-pass-phrase' >"$t/wrong"
keyring_put "$uuid" "$t/wrong"
refused "wrong key" "does not open"
python3 - "$uuid" <<'PY'
import ctypes, platform, sys
KEYCTL = {"x86_64": 250, "aarch64": 219}[platform.machine()]
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
kid = libc.syscall(KEYCTL, 10, ctypes.c_long(-3), b"user", ("rootcrypt:online:" + sys.argv[1]).encode(), 0)
sys.exit(0 if kid > 0 and libc.syscall(KEYCTL, 9, ctypes.c_long(kid), ctypes.c_long(-3)) == 0 else 1)
PY
keyring_has "$uuid" && die "key still there"
refused "no key" "no key rootcrypt:online:$uuid"
echo "ok: wrong key, no key: paused, nothing changed"

# 3. systemd's stop: SIGTERM to the unit's processes (rootcrypt and
#    cryptsetup). rootcrypt waits for cryptsetup's safe stop, says paused,
#    keeps key and marker, exits 0.
keyring_put "$uuid" "$t/pw"
rm -f "$CALLS"
STAND_IN_SLOW=1 "$ROOTCRYPT_TEST" online-resume --config "$t/rootcrypt.conf" --status-dir "$t/run" \
	2>"$t/err" &
rc_pid=$!
i=0
until grep -q reencrypt "$CALLS" 2>/dev/null && [ -n "$(cat /proc/$rc_pid/task/$rc_pid/children 2>/dev/null)" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || die "stand-in never started"; sleep 0.1
done
sleep 0.3
cs_pid=$(cat /proc/$rc_pid/task/$rc_pid/children)
kill -TERM $rc_pid $cs_pid
rc=0; wait $rc_pid || rc=$?
[ "$rc" = 0 ] || { cat "$t/err"; die "stopped pass: exit $rc"; }
grep -q "stopped by a signal" "$t/err" || { cat "$t/err"; die "stopped pass: no line"; }
state last_error | grep -q "^paused: stopped" || { cat "$t/run/status.json"; die "stopped pass: status"; }
[ "$(state bytes_done)" = 4096 ] || { cat "$t/run/status.json"; die "progress line not in status.json"; }
keyring_has "$uuid" || die "stopped pass removed the key"
[ -e "$t/run/online" ] || die "stopped pass removed the marker"
[ "$(sha256sum <"$img")" = "$before" ] || die "the stand-in's stopped pass changed the image"
echo "ok: SIGTERM: cryptsetup's safe stop awaited, paused, key and marker kept"

# 4. The pass, capped by online_rate.
echo "online_rate = 20" >"$t/rootcrypt.conf"
rm -f "$CALLS"
resume 2>"$t/err" || { cat "$t/err"; die "resume failed"; }
[ "$(grep reencrypt "$CALLS")" = "reencrypt --resume-only --active-name testroot --key-file=- --batch-mode --progress-json --progress-frequency 5" ] ||
	{ cat "$CALLS"; die "cryptsetup reencrypt arguments"; }
cmp -s "$t/stdin" "$t/pw" || die "the passphrase on cryptsetup's stdin is not the key"
! grep -q "online-pass-phrase" "$CALLS" || die "passphrase in cryptsetup's arguments"
[ "$(cat "$t/systemctl.calls")" = "set-property --runtime rootcrypt-online.service IOReadBandwidthMax=$img 20000000 IOWriteBandwidthMax=$img 20000000" ] ||
	{ cat "$t/systemctl.calls"; die "io.max cap"; }
grep -q "encrypting (online), [0-9]* of [0-9]* bytes" "$t/err" || { cat "$t/err"; die "no progress line"; }
[ "$(state state)" = Encrypted ] || { cat "$t/run/status.json"; die "status not Encrypted"; }
[ "$(state bytes_done)" = "$(state bytes_total)" ] && [ "$(state bytes_total)" -gt 0 ] ||
	{ cat "$t/run/status.json"; die "status bytes at the end"; }
keyring_has "$uuid" && die "key left in the keyring after the pass"
[ ! -e "$t/run/online" ] || die "marker left after the pass"
! cryptsetup luksDump "$img" | grep -q online-reencrypt || die "still in progress"
cryptsetup open --test-passphrase --key-file "$t/pw" "$img" || die "the finished volume does not open"
"$ROOTCRYPT" status "$img" | head -1 | grep -q ': encrypted$' || die "rootcrypt status after the pass"
echo "ok: pass resumed and finished: arguments, stdin, io.max, status, key and marker gone"

# 5. Nothing left to resume: exit 0, nothing run.
rm -f "$CALLS"
resume 2>"$t/err" || { cat "$t/err"; die "second resume failed"; }
grep -q "no conversion to resume" "$t/err" || { cat "$t/err"; die "second resume: no line"; }
[ ! -e "$CALLS" ] || die "second resume ran cryptsetup"
echo "ok: nothing to resume"
