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
# Then against the fake IMDS + Key Vault, with volumes `rootcrypt boot`
# set up (online mode): 6. the keyring lost the key: fetched from Key
# Vault through the header's token, checked, put back, the pass runs; a
# vault that refuses leaves the old refusal; the guard rootcrypt wrote at
# P - 32 MiB cannot survive a finished pass (cryptsetup's ciphertext of the
# file system's bytes at P - 48 MiB is there, and online-resume adds no
# write: ONLINE.md "At the end"). 7. detached: the marker names the
# header's file system (a loop device) and path; online-resume finds it
# where the system mounted it, or mounts it itself in a mount namespace
# nobody else sees and unmounts it; a read-only mount, a missing device
# and a header of another volume are refused with nothing changed.
set -eu
. "$(dirname "$0")/keyring.inc"
keyring_private "$0" "$@"
command -v cryptsetup >/dev/null || { echo "cryptsetup missing"; exit 77; }
command -v mkfs.ext4 >/dev/null || { echo "mkfs.ext4 missing"; exit 77; }
t=$(mktemp -d)
bloop=
. "$(dirname "$0")/../fake/lib.sh"
cleanup() {
	fake_stop
	umount "$t/boot" 2>/dev/null || :
	[ -z "$bloop" ] || losetup -d "$bloop"
	[ -n "${KEEP:-}" ] || rm -rf "$t"
}
trap cleanup EXIT INT TERM
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

export CALLS="$t/calls" STAND_IN_IMG="$img" STAND_IN_STDIN="$t/stdin" STAND_IN_MOUNTS="$t/cs-mounts"
cat >"$t/cryptsetup" <<'SH'
#!/bin/sh
echo "$*" >>"$CALLS"
if [ "${1:-}" = --version ] && [ -n "${FAKE_CS_VERSION:-}" ]; then
	echo "cryptsetup $FAKE_CS_VERSION flags: UDEV BLKID KEYRING"; exit 0
fi
[ "${1:-}" = reencrypt ] || exec cryptsetup "$@"
cat >"$STAND_IN_STDIN"
# what the pass sees: the header file it is given, the mounts
prev=
for a in "$@"; do
	[ "$prev" != --header ] || [ ! -f "$a" ] || echo "header-seen $a" >>"$CALLS"
	prev=$a
done
cat /proc/self/mountinfo >"$STAND_IN_MOUNTS"
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
eval "cryptsetup $args --force-offline-reencrypt \"\$STAND_IN_IMG\"" <"$STAND_IN_STDIN" || exit $?
# the sector at STAND_IN_SECTOR (512-byte units) as cryptsetup left it
[ -z "${STAND_IN_SECTOR:-}" ] ||
	dd if="$STAND_IN_IMG" of="$STAND_IN_SECTOR_OUT" bs=512 skip="$STAND_IN_SECTOR" count=1 status=none
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
keyring_drop "$uuid" || die "cannot remove the key"
keyring_has "$uuid" && die "key still there"
refused "no key" "no key rootcrypt:online:$uuid"
echo "ok: wrong key, no key: paused, nothing changed"

# 3. systemd's stop: SIGTERM to the unit's processes (rootcrypt and
#    cryptsetup). rootcrypt waits for cryptsetup's safe stop, says paused,
#    keeps key and marker, exits 0.
keyring_put "$uuid" "$t/pw"
# stopped_pass CONF STATUS_DIR: online-resume with a pass that systemd's
# stop interrupts (SIGTERM to rootcrypt and cryptsetup); exit 0 expected
stopped_pass() {
	rm -f "$CALLS"
	STAND_IN_SLOW=1 "$ROOTCRYPT_TEST" online-resume --config "$1" --status-dir "$2" 2>"$t/err" &
	rc_pid=$!
	i=0
	until grep -q reencrypt "$CALLS" 2>/dev/null && [ -n "$(cat /proc/$rc_pid/task/$rc_pid/children 2>/dev/null)" ]; do
		i=$((i + 1)); [ $i -lt 100 ] || die "stand-in never started"; sleep 0.1
	done
	sleep 0.3
	cs_pid=$(cat /proc/$rc_pid/task/$rc_pid/children)
	# the mounts the pass sees, and ours while it runs
	cat /proc/self/mountinfo >"$t/our-mounts"
	kill -TERM $rc_pid $cs_pid
	rc=0; wait $rc_pid || rc=$?
	[ "$rc" = 0 ] || { cat "$t/err"; die "stopped pass: exit $rc"; }
	grep -q "stopped by a signal" "$t/err" || { cat "$t/err"; die "stopped pass: no line"; }
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["last_error"])' "$2/status.json" |
		grep -q "^paused: stopped" || { cat "$2/status.json"; die "stopped pass: status"; }
}
stopped_pass "$t/rootcrypt.conf" "$t/run"
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

# Parts 6 and 7: volumes `rootcrypt boot` set up in online mode against the
# fake IMDS + Key Vault (its own cryptsetup stand-in: `open` without dm).
fake_start
. "$(dirname "$0")/cryptsetup-stand-in.inc"
mkdir -p "$t/tree" "$t/bootcs"
head -c 3000000 /dev/urandom >"$t/tree/blob"
mkfs.ext4 -q -b 4096 -d "$t/tree" "$t/plain.img" 48M >/dev/null
orig=$(sha256sum <"$t/plain.img")
echo "rootcrypt.name=testroot" >"$t/cmdline"
# boot_online CONF STATUS_DIR: rootcrypt boot (online) as the initramfs runs it
boot_online() {
	rm -f "$t/bootcs/mapper/testroot"
	(cryptsetup_stand_in "$t/bootcs"
	 "$ROOTCRYPT_TEST" boot --config "$1" --cmdline "$t/cmdline" --status-dir "$2" \
		--device-timeout 1 --prompt-tries 0) 2>"$t/boot.err" || { cat "$t/boot.err"; die "boot failed"; }
}
# vault_pass SECRET FILE: the passphrase the vault holds (latest version)
vault_pass() {
	fake_ctl GET '/_fake/state?values' >"$t/values.json"
	python3 - "$t/values.json" "$1" "$2" <<'PY'
import base64, json, sys
v = json.load(open(sys.argv[1]))["secrets"][sys.argv[2]]["versions"][-1]["value"]
open(sys.argv[3], "wb").write(base64.b64decode(v))
PY
}
secret_gets() { fake_json "sum(1 for e in log if e['method'] == 'GET' and e['path'].startswith('/secrets/'))"; }
# sector IMG OFFSET: sha256 of the 512 bytes at OFFSET
sector() { dd if="$1" bs=512 skip=$(($2 / 512)) count=1 status=none | sha256sum; }
is_guard() { [ "$(dd if="$1" bs=512 skip=$(($2 / 512)) count=1 status=none | head -c 7)" = RCGUARD ]; }
st_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1/status.json" "$2"; }

# 6. In place; the keyring lost the key.
cp "$t/plain.img" "$t/k.img"
fake_boot_conf "$t/k.img" online-k "name = testroot" "mode = online" >"$t/k.conf"
mkdir -p "$t/run6"
boot_online "$t/k.conf" "$t/run6"
ku=$(cryptsetup luksUUID "$t/k.img")
P=$(stat -c %s "$t/k.img")
guard_at=$((P - (32 << 20)))
[ "$P" = $((80 << 20)) ] || die "k.img not grown to 80 MiB"
is_guard "$t/k.img" $guard_at || die "no guard record at P - 32 MiB after boot 1"
vault_pass online-k "$t/kpass"
keyring_drop "$ku" || die "no key handed over for $ku"
export STAND_IN_IMG="$t/k.img"
# 6a. The vault refuses (403, final): the old refusal, nothing changed.
kbefore=$(sha256sum <"$t/k.img")
fake_ctl POST /_fake/faults '{"service":"vault","method":"GET","path":"^/secrets/","status":403,"count":100}' >/dev/null
rm -f "$CALLS"
if "$ROOTCRYPT_TEST" online-resume --config "$t/k.conf" --status-dir "$t/run6" 2>"$t/err"; then
	cat "$t/err"; die "resume without key and vault succeeded"
fi
fake_ctl DELETE /_fake/faults >/dev/null
grep -q "no key rootcrypt:online:$ku in root's user keyring.*not fetched from Key Vault" "$t/err" ||
	{ cat "$t/err"; die "vault refused: no line"; }
st_of "$t/run6" last_error | grep -q "^paused: no key .*not fetched from Key Vault" ||
	{ cat "$t/run6/status.json"; die "vault refused: status"; }
[ "$(sha256sum <"$t/k.img")" = "$kbefore" ] || die "vault refused: image changed"
! grep -q reencrypt "$CALLS" 2>/dev/null || die "vault refused: cryptsetup asked to resume"
! keyring_has "$ku" || die "vault refused: a key in the keyring"
echo "ok: no key, the vault refuses: paused, nothing changed"
# 6b. Fetched through the token, checked, put back (a stopped pass keeps it).
gets=$(secret_gets)
stopped_pass "$t/k.conf" "$t/run6"
grep -q "fetching the key of volume $ku from Key Vault" "$t/err" || { cat "$t/err"; die "no fetch line"; }
[ "$(secret_gets)" -gt "$gets" ] || die "no secret GET reached the vault"
cmp -s "$t/stdin" "$t/kpass" || die "cryptsetup's stdin is not the vault's passphrase"
keyring_get "$ku" "$t/kr" || die "the fetched key was not put back in the keyring"
cmp -s "$t/kr" "$t/kpass" || die "the keyring's key is not the vault's passphrase"
echo "ok: key fetched from Key Vault, put back in the keyring"
# 6c. Fetched again for the whole pass; at the end the guard is gone: the
#     pass wrote the ciphertext of the file system's bytes at P - 48 MiB
#     there, and online-resume wrote nothing after cryptsetup.
keyring_drop "$ku"
rm -f "$t/sector.cs"
STAND_IN_SECTOR=$((guard_at / 512)) STAND_IN_SECTOR_OUT="$t/sector.cs" \
	"$ROOTCRYPT_TEST" online-resume --config "$t/k.conf" --status-dir "$t/run6" 2>"$t/err" ||
	{ cat "$t/err"; die "resume with the key from Key Vault failed"; }
[ "$(st_of "$t/run6" state)" = Encrypted ] || { cat "$t/run6/status.json"; die "6c: not Encrypted"; }
! keyring_has "$ku" || die "6c: key left after the pass"
[ ! -e "$t/run6/online" ] || die "6c: marker left"
! is_guard "$t/k.img" $guard_at || die "a guard record survived the finished pass"
[ -s "$t/sector.cs" ] || die "the stand-in did not save the guard sector"
[ "$(sha256sum <"$t/sector.cs")" = "$(sector "$t/k.img" $guard_at)" ] ||
	die "the guard area changed after cryptsetup's pass (online-resume wrote there)"
cryptsetup luksDump --dump-volume-key --key-file "$t/kpass" --batch-mode "$t/k.img" >"$t/vk" 2>/dev/null ||
	die "cannot dump the volume key"
python3 - "$t/vk" "$t/k.img" "$t/plain.img" "$guard_at" <<'PY' || die "guard area is not the file system's data"
# AES-XTS-plain64 as cryptsetup's 4096-byte sectors: tweak = plaintext
# offset / 512, data at offset 16 MiB
import re, sys
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
dump = open(sys.argv[1]).read()
key = bytes.fromhex("".join(re.findall(r"[0-9a-f]{2}", dump.split("MK dump:")[1])))
off = int(sys.argv[4]); x = off - (16 << 20)
ct = open(sys.argv[2], "rb").read()[off:off + 4096]
d = Cipher(algorithms.AES(key), modes.XTS((x // 512).to_bytes(16, "little"))).decryptor()
pt = d.update(ct) + d.finalize()
sys.exit(0 if pt == open(sys.argv[3], "rb").read()[x:x + 4096] else 1)
PY
echo "ok: pass with the key from Key Vault; the guard area holds file system data, untouched after cryptsetup"

# 7. Detached: the header on its own file system (a loop device standing
#    for /boot), named in the marker by header_fs and header_path.
if [ "$(id -u)" != 0 ] || ! command -v losetup >/dev/null; then
	echo "skip part 7 (detached header file system): needs root and losetup"
	exit 0
fi
truncate -s 64M "$t/bootfs.img"
mkfs.ext4 -q -F "$t/bootfs.img" >/dev/null
bloop=$(losetup -f --show "$t/bootfs.img")
bdev=$(printf '%d:%d' "0x$(stat -c %t "$bloop")" "0x$(stat -c %T "$bloop")")
cp "$t/plain.img" "$t/d.img"
fake_boot_conf "$t/d.img" online-d "name = testroot" "mode = online" \
	"header = /rootcrypt-root.luks" "header_device = $bloop" |
	sed 's/^layout = shift$/layout = detached/' >"$t/d.conf"
mkdir -p "$t/run7" "$t/boot"
boot_online "$t/d.conf" "$t/run7"
grep -q "^header_fs=$bloop\$" "$t/run7/online" && grep -q '^header_path=/rootcrypt-root.luks$' "$t/run7/online" ||
	{ cat "$t/run7/online"; die "marker without the header's file system and path"; }
! grep -q " $bdev " /proc/self/mountinfo || die "boot left the header file system mounted"
mount "$bloop" "$t/boot"
du=$(cryptsetup luksUUID "$t/boot/rootcrypt-root.luks")
cp "$t/boot/rootcrypt-root.luks" "$t/d.hdr.orig"
umount "$t/boot"
[ "$(sha256sum <"$t/d.img")" = "$orig" ] || die "detached set-up changed the data"
export STAND_IN_IMG="$t/d.img"
resume7() { "$ROOTCRYPT_TEST" online-resume --config "$t/d.conf" --status-dir "$t/run7" 2>"$t/err"; }
# refused7 CASE PATTERN: paused with PATTERN, nothing changed
refused7() {
	rm -f "$CALLS"
	if resume7; then cat "$t/err"; die "$1: resume succeeded"; fi
	grep -q "$2" "$t/err" || { cat "$t/err"; die "$1: no line \"$2\""; }
	st_of "$t/run7" last_error | grep -q "^paused: .*$2" || { cat "$t/run7/status.json"; die "$1: status"; }
	! grep -q reencrypt "$CALLS" 2>/dev/null || die "$1: cryptsetup asked to resume"
	[ "$(sha256sum <"$t/d.img")" = "$orig" ] || die "$1: data changed"
	[ -e "$t/run7/online" ] || die "$1: marker removed"
	! grep -q " $bdev " /proc/self/mountinfo || mountpoint -q "$t/boot" || die "$1: a mount left behind"
	[ -z "$(ls -d "$t/run7"/header-fs.* 2>/dev/null)" ] || die "$1: a mount point left in the status dir"
}

# 7a. Not mounted: online-resume mounts it where only it (and cryptsetup)
#     see it, passes the header there, and unmounts.
stopped_pass "$t/d.conf" "$t/run7"
grep -q "header-seen $t/run7/header-fs\.[^/]*/rootcrypt-root.luks" "$CALLS" ||
	{ cat "$CALLS"; die "7a: cryptsetup did not get the header on the private mount"; }
grep -q " $bdev / $t/run7/header-fs\." "$t/cs-mounts" || die "7a: no private mount in cryptsetup's view"
! grep -q " $bdev " "$t/our-mounts" || die "7a: the private mount was visible outside during the pass"
! grep -q " $bdev " /proc/self/mountinfo || die "7a: the header file system stayed mounted"
[ -z "$(ls -d "$t/run7"/header-fs.* 2>/dev/null)" ] || die "7a: mount point left in the status dir"
echo "ok: detached, header file system not mounted: private mount for the pass, gone after"

# 7b. Refusals: the device gone, a read-only mount, another volume's header.
cp "$t/run7/online" "$t/marker7"
sed -i 's|^header_fs=.*|header_fs=/dev/rootcrypt-no-such-device|' "$t/run7/online"
refused7 "no device" "is not a block device here"
cp "$t/marker7" "$t/run7/online"
mount -o ro "$bloop" "$t/boot"
refused7 "read-only" "mounted read-only"
umount "$t/boot"
mount "$bloop" "$t/boot"
mv "$t/boot/rootcrypt-root.luks" "$t/boot/keep.luks"
truncate -s 1M "$t/other.img"
cryptsetup luksFormat --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --batch-mode \
	--header "$t/boot/rootcrypt-root.luks" --key-file "$t/pw" "$t/other.img" >/dev/null
refused7 "another volume's header" "is volume .*'s, not volume $du's"
rm "$t/boot/rootcrypt-root.luks"
refused7 "no header file" "no header file"
mv "$t/boot/keep.luks" "$t/boot/rootcrypt-root.luks"
cmp -s "$t/boot/rootcrypt-root.luks" "$t/d.hdr.orig" || die "7b: header changed"
echo "ok: detached refusals (no device, read-only, other volume, no file): paused, nothing changed"

# 7c. Mounted by the system (here at $t/boot): the header there, the whole
#     pass, and the header finished in place; the data decrypts to the
#     original.
rm -f "$CALLS"
resume7 || { cat "$t/err"; die "7c: resume failed"; }
grep -q "reencrypt .* --header $t/boot/rootcrypt-root.luks\$" "$CALLS" ||
	{ cat "$CALLS"; die "7c: not the header on the system's mount"; }
[ "$(st_of "$t/run7" state)" = Encrypted ] || { cat "$t/run7/status.json"; die "7c: not Encrypted"; }
[ "$(st_of "$t/run7" layout)" = detached ] || { cat "$t/run7/status.json"; die "7c: layout"; }
[ ! -e "$t/run7/online" ] || die "7c: marker left"
mountpoint -q "$t/boot" || die "7c: the system's mount is gone"
cryptsetup luksDump "$t/boot/rootcrypt-root.luks" >"$t/dump"
! grep -q online-reencrypt "$t/dump" || die "7c: header still in progress"
vault_pass online-d "$t/dpass"
cryptsetup reencrypt --decrypt --header "$t/boot/rootcrypt-root.luks" --force-offline-reencrypt \
	--key-file "$t/dpass" -q "$t/d.img" >/dev/null || die "7c: decryption failed"
[ "$(sha256sum <"$t/d.img")" = "$orig" ] || die "7c: decrypted data differs"
echo "ok: detached, header on the system's mount: pass finished, data intact"
