#!/bin/sh
# Online mode's first boot (issue 18, src/engine/ONLINE.md "Boot 1") with
# `rootcrypt boot` against the fake IMDS + Key Vault: the key is stored
# write-ahead, the image grows by 32 MiB, rootcrypt guards the head, stock
# cryptsetup runs `reencrypt --encrypt --init-only` (the stand-in passes
# everything but `open` to the real cryptsetup), rootcrypt adds the
# azure-keyvault token, and the volume unlocks while still in progress.
# Then, on the host, stock `cryptsetup reencrypt --resume-only
# --force-offline-reencrypt` finishes the pass (no device-mapper needed)
# and the decrypted data is the original file system. Cuts (test build:
# ROOTCRYPT_FAULT_KILL_AT) after the guard, after init-only, and a head
# torn while cryptsetup wrote its header: the next boot ends in the same
# consistent state. A file system that leaves online mode no room is
# converted offline, with a line that says why, and so is one whose initramfs
# recorded a libcryptsetup inside 2.7.0-2.7.4. Detached: the header file
# appears whole under its name or not at all.
set -eu
. "$(dirname "$0")/keyring.inc"
keyring_private "$0" "$@"
command -v cryptsetup >/dev/null || { echo "cryptsetup missing"; exit 77; }
command -v mkfs.ext4 >/dev/null || { echo "mkfs.ext4 missing"; exit 77; }
t=$(mktemp -d)
loop=
. "$(dirname "$0")/../fake/lib.sh"
detach() { [ -z "$loop" ] || { partx -d "$loop" 2>/dev/null || :; losetup -d "$loop"; }; loop=; }
trap 'fake_stop; detach; [ -n "${KEEP:-}" ] || rm -rf "$t"' EXIT INT TERM
fake_start
die() { echo "FAIL: $*"; exit 1; }

mkdir -p "$t/tree/etc" "$t/run"
head -c 3000000 /dev/urandom >"$t/tree/blob"
echo hello >"$t/tree/etc/motd"
# 4096-byte blocks: cryptsetup refuses 4096-byte encryption sectors under smaller ones
mkfs.ext4 -q -b 4096 -d "$t/tree" "$t/plain.img" 48M
orig=$(sha256sum <"$t/plain.img")

. "$(dirname "$0")/cryptsetup-stand-in.inc"
cryptsetup_stand_in "$t"
echo "rootcrypt.name=testroot" >"$t/cmdline"
# libcryptsetup's version as the initramfs hooks record it (test build
# only; ONLINE.md "Version fence"); absent until case 5b writes it
ROOTCRYPT_LIBCS_VERSION_FILE=$t/libcryptsetup.version
export ROOTCRYPT_LIBCS_VERSION_FILE

# conf DEVICE SECRET [LINE...]: the boot config for one case
conf() { fake_boot_conf "$@" "name = testroot" "mode = online" >"$t/rootcrypt.conf"; }
boot() {
	rm -f "$t/mapper/testroot"
	"$ROOTCRYPT_TEST" boot --config "$t/rootcrypt.conf" --cmdline "$t/cmdline" \
		--status-dir "$t/run" --device-timeout 1 --prompt-tries 0 "$@"
}
state() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
	"$t/run/status.json" "$1"; }
versions() { fake_json "len(j['secrets']['$1']['versions'])"; }
# latest_pass SECRET FILE: the passphrase the vault holds, as stock cryptsetup takes it
latest_pass() {
	fake_ctl GET '/_fake/state?values' >"$t/values.json"
	python3 - "$t/values.json" "$1" "$2" <<'PY'
import base64, json, sys
j = json.load(open(sys.argv[1]))
v = j["secrets"][sys.argv[2]]["versions"][-1]["value"]
open(sys.argv[3], "wb").write(base64.b64decode(v))
PY
}
# cut_at POINT: a boot killed at POINT (test build) as a power cut would
cut_at() {
	rc=0
	ROOTCRYPT_FAULT_KILL_AT=$1 boot 2>"$t/cut.err" || rc=$?
	[ "$rc" = 137 ] || { cat "$t/cut.err"; die "cut at $1: exit $rc, not killed"; }
}
# fresh IMG SECRET [LINE...]: a copy of the plain image and its config
fresh() {
	cp "$t/plain.img" "$1"
	conf "$@"
}
# boot_says TEXT: a boot that succeeds and logs TEXT (grep pattern)
boot_says() {
	boot 2>"$t/boot.err" || { cat "$t/boot.err"; die "boot failed (expected: $1)"; }
	grep -q "$1" "$t/boot.err" || { cat "$t/boot.err"; die "no line \"$1\""; }
}
# in_progress IMG: cryptsetup's in-progress online header with our token
in_progress() {
	cryptsetup luksDump "$1" >"$t/dump" || die "luksDump $1 failed"
	grep -q 'Requirements:.*online-reencrypt-v2' "$t/dump" || { cat "$t/dump"; die "$1: no online-reencrypt-v2"; }
	grep -q 'azure-keyvault' "$t/dump" || { cat "$t/dump"; die "$1: no azure-keyvault token"; }
}
# finish_and_compare IMG SECRET: the vault's secret opens it; stock
# cryptsetup finishes the pass on the host, the token survives, and the
# decrypted data is the original file system
finish_and_compare() {
	latest_pass "$2" "$t/pass"
	cryptsetup open --test-passphrase --key-file "$t/pass" "$1" || die "$1: vault's secret does not open it"
	cryptsetup reencrypt --resume-only --force-offline-reencrypt --key-file "$t/pass" -q "$1" \
		>/dev/null || die "$1: cryptsetup could not finish the pass"
	cryptsetup luksDump "$1" >"$t/dump"
	! grep -q 'online-reencrypt' "$t/dump" || die "$1: still in progress after the finish"
	grep -q 'azure-keyvault' "$t/dump" || die "$1: token lost in the finish"
	# a finished online volume reads as rootcrypt's, as an offline one does
	"$ROOTCRYPT" status "$1" >"$t/status" || die "$1: status failed after the finish"
	head -1 "$t/status" | grep -q ': encrypted$' || { cat "$t/status"; die "$1: not \"encrypted\" after the finish"; }
	grep -q 'layout shift, cipher aes-xts-plain64, sector 4096, data offset 16777216' "$t/status" ||
		{ cat "$t/status"; die "$1: status line of the finished volume"; }
	cp --sparse=never "$1" "$t/copy.img"
	rm -f "$t/hdr"
	cryptsetup reencrypt --decrypt --header "$t/hdr" --force-offline-reencrypt \
		--key-file "$t/pass" -q "$t/copy.img" >/dev/null
	[ "$(head -c $((48 << 20)) "$t/copy.img" | sha256sum)" = "$orig" ] ||
		die "$1: decrypted data differs from the original file system"
}

# settled IMG SECRET VERSIONS: the in-progress header with its token, the
# vault holding VERSIONS versions, the pass finished and the data intact
settled() {
	in_progress "$1"
	[ "$(versions "$2")" = "$3" ] || die "$1: $3 secret version(s) expected"
	finish_and_compare "$1" "$2"
}

# handed_over IMG SECRET: the vault's passphrase is the key
# rootcrypt:online:<UUID> of the (private) session keyring, and the
# marker for rootcrypt-online.service names the volume
handed_over() {
	u=$(cryptsetup luksUUID "$1")
	latest_pass "$2" "$t/pass"
	keyring_get "$u" "$t/kr" || die "$1: no key rootcrypt:online:$u in the keyring"
	cmp -s "$t/kr" "$t/pass" || die "$1: the keyring's key is not the vault's passphrase"
	printf 'uuid=%s\ndevice=%s\nname=testroot\n' "$u" "$1" | cmp -s - "$t/run/online" ||
		{ cat "$t/run/online"; die "$1: marker $t/run/online wrong"; }
}

# 1. Boot 1 (online): set up, token, unlock; status says in progress.
fresh "$t/a.img" online-a
boot 2>"$t/err1" || { cat "$t/err1"; die "first boot failed"; }
[ -e "$t/mapper/testroot" ] || die "no mapping after the first boot"
[ "$(state state)" = EncryptionInProgress ] || { cat "$t/run/status.json"; die "status.json not in progress"; }
in_progress "$t/a.img"
handed_over "$t/a.img" online-a
grep -q 'Sector: *4096\|sector: 4096' "$t/dump" || { cat "$t/dump"; die "not 4096-byte sectors"; }
[ "$(stat -c %s "$t/a.img")" = $((80 << 20)) ] || die "image not grown by 32 MiB"
"$ROOTCRYPT" status "$t/a.img" >"$t/status" || die "status failed"
grep -q 'encrypting (online)' "$t/status" || { cat "$t/status"; die "status is not encrypting (online)"; }
# status.json carries the header's totals from boot 1 on
"$ROOTCRYPT" status --json "$t/a.img" >"$t/status.json"
total=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes_total"])' "$t/status.json")
[ "$total" -gt 0 ] && [ "$(state bytes_total)" = "$total" ] ||
	{ cat "$t/run/status.json"; die "boot 1: status.json bytes_total is not the header's $total"; }
[ "$(versions online-a)" = 1 ] || die "one secret version expected"
! grep -q 'offline\|resuming the encryption' "$t/err1" || { cat "$t/err1"; die "offline engine ran"; }
grep -q 'records no libcryptsetup version.*only the cryptsetup binary' "$t/err1" ||
	{ cat "$t/err1"; die "boot 1: no line that the library's version is unknown"; }
ls "$t/run" | grep -q LUKS2-temp && die "cryptsetup's temporary header left in the work dir"

# A second boot opens the in-progress header without storing a new key,
# and hands the key over again.
rm -f "$t/run/online"
boot 2>"$t/err2" || { cat "$t/err2"; die "second boot failed"; }
[ -e "$t/mapper/testroot" ] || die "no mapping after the second boot"
[ "$(state state)" = EncryptionInProgress ] || { cat "$t/run/status.json"; die "second boot: not in progress"; }
handed_over "$t/a.img" online-a
[ "$(versions online-a)" = 1 ] || die "the second boot stored a key"
[ "$(fake_json 'sum(1 for e in log if e["method"] == "PUT")')" = 1 ] || die "more than one PUT"
finish_and_compare "$t/a.img" online-a
# the boot after the finish unlocks it as any encrypted volume: no key
# handed over, no marker for the unit
rm -f "$t/run/online"
boot 2>"$t/err3" || { cat "$t/err3"; die "boot after the finish failed"; }
[ -e "$t/mapper/testroot" ] || die "no mapping after the finish"
[ "$(state state)" = Encrypted ] || { cat "$t/run/status.json"; die "after the finish: not Encrypted"; }
[ ! -e "$t/run/online" ] || die "marker written for a finished volume"
echo "ok: online boot 1, boot 2, host finish, boot after the finish"

# 2. Cut after the guard (before cryptsetup): nothing but the guard and the
#    copy past the file system changed; the next boot starts over.
fresh "$t/b.img" online-b
cut_at online-guard
[ "$(head -c $((48 << 20)) "$t/b.img" | sha256sum)" = "$orig" ] || die "cut after the guard: data changed"
! cryptsetup isLuks "$t/b.img" || die "cut after the guard: a LUKS header already"
boot_says 'starting over'
settled "$t/b.img" online-b 2
echo "ok: cut after the guard"

# 3. Cut after init-only, before the token: the next boot takes the
#    configured secret's latest version, checks it, adds the token.
fresh "$t/c.img" online-c
cut_at online-init
cryptsetup luksDump "$t/c.img" >"$t/dump"
grep -q 'online-reencrypt-v2' "$t/dump" || die "cut after init-only: no in-progress header"
! grep -q 'azure-keyvault' "$t/dump" || die "cut after init-only: token already there"
boot_says 'no key reference yet'
[ -e "$t/mapper/testroot" ] || die "no mapping after the init-only cut"
settled "$t/c.img" online-c 1
echo "ok: cut after init-only"

# 4. A header write torn over the head (the guard window): the guard's
#    copy goes back over the first 16 MiB, then the set-up starts over.
fresh "$t/d.img" online-d
cut_at online-guard
# half a LUKS2 header's first copy: what a cut inside cryptsetup's write leaves
dd if="$t/a.img" of="$t/d.img" bs=4096 count=2 conv=notrunc status=none
head -c 1000000 /dev/urandom | dd of="$t/d.img" bs=4096 seek=8 conv=notrunc status=none
boot_says 'writing the first 16 MiB back'
settled "$t/d.img" online-d 2
echo "ok: torn header over the head restored"

# 4b. cryptsetup's header landed but its keyslot area did not (torn): it
#     parses and does not open; the guard is still valid (no hotzone ran),
#     so the head goes back and the set-up starts over.
fresh "$t/f.img" online-f
cut_at online-init
cryptsetup luksDump --dump-json-metadata "$t/f.img" >"$t/meta.json"
area=$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["keyslots"]["0"]["area"]; print(int(a["offset"]), int(a["size"]))' "$t/meta.json")
head -c "${area#* }" /dev/urandom | dd of="$t/f.img" bs=4096 seek=$((${area% *} / 4096)) conv=notrunc status=none
boot_says 'writing the first 16 MiB back'
settled "$t/f.img" online-f 2
echo "ok: torn keyslot area restored"

# 5. No room for online mode (a loop device cannot grow; the file system
#    ends 24 MiB before its end): offline converts it, one line says why.
if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null; then
	truncate -s 64M "$t/e.img"
	mkfs.ext4 -q -F -b 4096 "$t/e.img" 40M
	loop=$(losetup -f --show "$t/e.img")
	conf "$loop" online-e
	boot 2>"$t/err8" || { cat "$t/err8"; die "no-room boot failed"; }
	grep -q 'online mode refused (no room' "$t/err8" || { cat "$t/err8"; die "no line about the refusal"; }
	grep -q 'converting .* offline' "$t/err8" || { cat "$t/err8"; die "no line about offline"; }
	[ "$(state state)" = Encrypted ] || { cat "$t/run/status.json"; die "no-room: not encrypted offline"; }
	cryptsetup luksDump "$loop" >"$t/dump"
	! grep -q 'online-reencrypt' "$t/dump" || die "no-room: an online header"
	detach
	echo "ok: no room -> offline"
else
	echo "skip part 5 (no room): needs root and losetup"
fi

# 5b. The initramfs recorded libcryptsetup 2.7.2 (the binary's version is
#    fine): online mode is refused before anything is written, and the
#    first boot converts offline, one line saying why.
echo 2:2.7.2-1 >"$ROOTCRYPT_LIBCS_VERSION_FILE"
fresh "$t/l.img" online-l
boot 2>"$t/err9" || { cat "$t/err9"; die "libcryptsetup 2.7.2 boot failed"; }
grep -q 'online mode refused (libcryptsetup 2.7.2: 2.7.0-2.7.4' "$t/err9" ||
	{ cat "$t/err9"; die "no line about libcryptsetup 2.7.2's refusal"; }
grep -q 'converting .* offline' "$t/err9" || { cat "$t/err9"; die "libcryptsetup 2.7.2: no line about offline"; }
[ "$(state state)" = Encrypted ] || { cat "$t/run/status.json"; die "libcryptsetup 2.7.2: not encrypted offline"; }
cryptsetup luksDump "$t/l.img" >"$t/dump"
! grep -q 'online-reencrypt' "$t/dump" || die "libcryptsetup 2.7.2: an online header"
echo 2.7.5-1 >"$ROOTCRYPT_LIBCS_VERSION_FILE"
fresh "$t/m.img" online-m
boot 2>"$t/err10" || { cat "$t/err10"; die "libcryptsetup 2.7.5 boot failed"; }
in_progress "$t/m.img"
rm -f "$ROOTCRYPT_LIBCS_VERSION_FILE" "$t/l.img" "$t/m.img"
echo "ok: recorded libcryptsetup 2.7.2 -> offline, 2.7.5 -> online"

# 6. Detached header (ONLINE.md "Detached"): cryptsetup writes the header
#    under a temporary name, rootcrypt adds the token and renames it into
#    place; the data is untouched until the pass. A cut before the rename
#    leaves no header under the configured name: plain, and the next boot
#    sets it up again.
mkdir -p "$t/hdrdir"
hdr=$t/hdrdir/root.hdr
fresh "$t/g.img" online-g "header = $hdr"
sed -i 's/^layout = shift$/layout = detached/' "$t/rootcrypt.conf"
cut_at online-init
[ ! -e "$hdr" ] || die "detached cut: a header under the configured name before the rename"
[ "$(sha256sum <"$t/g.img")" = "$orig" ] || die "detached cut: data changed"
boot 2>"$t/err11" || { cat "$t/err11"; die "detached boot failed"; }
[ -e "$t/mapper/testroot" ] || die "detached: no mapping"
[ "$(ls "$t/hdrdir")" = root.hdr ] || die "detached: files left beside the header: $(ls "$t/hdrdir")"
[ "$(sha256sum <"$t/g.img")" = "$orig" ] || die "detached: data changed at set-up"
in_progress "$hdr"
grep -q 'Resilience:.*journal' "$t/dump" || { cat "$t/dump"; die "detached: not journal resilience"; }
"$ROOTCRYPT" status "$t/g.img" --header "$hdr" >"$t/status" || die "detached status failed"
grep -q 'encrypting (online)' "$t/status" || { cat "$t/status"; die "detached: not encrypting (online)"; }
[ "$(versions online-g)" = 2 ] || die "detached: expected two key versions (one from the cut boot)"
boot 2>"$t/err12" || { cat "$t/err12"; die "second detached boot failed"; }
[ "$(versions online-g)" = 2 ] || die "second detached boot stored a key"
latest_pass online-g "$t/pass"
cryptsetup reencrypt --resume-only --force-offline-reencrypt --header "$hdr" --key-file "$t/pass" \
	-q "$t/g.img" >/dev/null || die "detached: cryptsetup could not finish the pass"
cryptsetup luksDump "$hdr" >"$t/dump"
! grep -q 'online-reencrypt' "$t/dump" || die "detached: still in progress after the finish"
grep -q 'azure-keyvault' "$t/dump" || die "detached: token lost in the finish"
cryptsetup reencrypt --decrypt --header "$hdr" --force-offline-reencrypt --key-file "$t/pass" \
	-q "$t/g.img" >/dev/null || die "detached: decryption failed"
[ "$(sha256sum <"$t/g.img")" = "$orig" ] || die "detached: decrypted data differs"
echo "ok: detached header, cut before the rename"

# 7. A GPT partition whose file system fills it, free disk space behind:
#    boot grows the partition by 32 MiB (table and kernel) before the guard.
if [ "$(id -u)" = 0 ] && command -v sfdisk >/dev/null && command -v partx >/dev/null; then
	truncate -s 160M "$t/disk.img"
	echo 'start=2048, size=98304, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4' |
		sfdisk -q --label gpt "$t/disk.img"
	dd if="$t/plain.img" of="$t/disk.img" bs=1M seek=1 conv=notrunc status=none
	loop=$(losetup -f --show "$t/disk.img")
	partx -a "$loop" 2>/dev/null || :
	[ -b "${loop}p1" ] || die "no ${loop}p1 after partx"
	conf "${loop}p1" online-h
	boot_says 'growing partition 1'
	[ "$(blockdev --getsize64 "${loop}p1")" = $((80 << 20)) ] || die "kernel's p1 not 80 MiB"
	sfdisk --verify "$loop" >/dev/null 2>&1 || die "GPT does not verify after the grow"
	[ "$(sfdisk -l -o Device,Sectors "$loop" | awk '$1 ~ /p1$/ {print $2}')" = 163840 ] ||
		die "GPT's p1 not 80 MiB"
	dd if="${loop}p1" of="$t/h.img" bs=1M status=none
	detach
	settled "$t/h.img" online-h 1
	echo "ok: partition grown for online mode"
else
	echo "skip part 7 (partition grow): needs root, sfdisk and partx"
fi
