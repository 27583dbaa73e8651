#!/bin/sh
# `rootcrypt boot` end to end on an image file against the fake IMDS + Key
# Vault: first boot stores the key write-ahead, converts, unlocks; second
# boot fetches and unlocks without storing again; a vault that is down
# before the key is stored leaves the image byte-identical and says why.
# The host has no device-mapper, so the final `cryptsetup open` is replaced
# by a wrapper that checks the passphrase with the real cryptsetup
# (--test-passphrase) and marks the mapping in a directory of its own.
set -eu
command -v cryptsetup >/dev/null || { echo "cryptsetup missing"; exit 77; }
command -v mkfs.ext4 >/dev/null || { echo "mkfs.ext4 missing"; exit 77; }
t=$(mktemp -d)
. "$(dirname "$0")/../fake/lib.sh"
trap 'fake_stop; rm -rf "$t"' EXIT INT TERM
fake_start

mkdir -p "$t/tree/etc" "$t/mapper" "$t/run"
head -c 3000000 /dev/urandom >"$t/tree/blob"
echo hello >"$t/tree/etc/motd"
mkfs.ext4 -q -d "$t/tree" "$t/root.img" 48M
orig=$(sha256sum <"$t/root.img")

# the stand-in's hooks (ROOTCRYPT_CRYPTSETUP/MAPPER_DIR): only the test build ($ROOTCRYPT_TEST) reads them
. "$(dirname "$0")/cryptsetup-stand-in.inc"
cryptsetup_stand_in "$t"

fake_boot_conf "$t/root.img" boot-image-test "name = testroot" >"$t/rootcrypt.conf"
echo "quiet rootcrypt.name=testroot" >"$t/cmdline"
boot() { "$ROOTCRYPT_TEST" boot --config "$t/rootcrypt.conf" --cmdline "$t/cmdline" \
	--status-dir "$t/run" --device-timeout 1 --prompt-tries 0 "$@"; }
state() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
	"$t/run/status.json" "$1"; }

# First boot: store, convert, unlock.
boot 2>"$t/err1" || { cat "$t/err1"; exit 1; }
[ -e "$t/mapper/testroot" ] || { echo "no mapping"; exit 1; }
[ "$(state state)" = Encrypted ] || { cat "$t/run/status.json"; exit 1; }
cryptsetup isLuks "$t/root.img"
for id in 0 1 2 3; do
	cryptsetup token export --token-id $id "$t/root.img" 2>/dev/null || :
done >"$t/token.json"
grep -q azure-keyvault "$t/token.json" || { echo "no azure token"; cat "$t/token.json"; exit 1; }
grep -q 'encrypting .*%' "$t/err1" || { echo "no progress line"; cat "$t/err1"; exit 1; }
[ "$(fake_json 'len(j["secrets"]["boot-image-test"]["versions"])')" = 1 ]

# The secret in the vault opens the volume with stock cryptsetup and gives
# back the original file system.
fake_ctl GET '/_fake/state?values' >"$t/values.json"
python3 - "$t/values.json" "$t/pass" <<'PY'
import base64, json, sys
j = json.load(open(sys.argv[1]))
v = j["secrets"]["boot-image-test"]["versions"][-1]["value"]
open(sys.argv[2], "wb").write(base64.b64decode(v))
PY
cryptsetup open --test-passphrase --key-file "$t/pass" "$t/root.img"
# Stock cryptsetup moves the data back to offset 0, the header to a file.
cp --sparse=never "$t/root.img" "$t/copy.img"
cryptsetup reencrypt --decrypt --header "$t/hdr" --force-offline-reencrypt \
	--key-file "$t/pass" -q "$t/copy.img" >/dev/null
[ "$(head -c $((48 << 20)) "$t/copy.img" | sha256sum)" = "$orig" ] ||
	{ echo "decrypted data differs"; exit 1; }

# Second boot: fetch, unlock, no new secret version.
rm -f "$t/mapper/testroot"
boot 2>"$t/err2" || { cat "$t/err2"; exit 1; }
[ -e "$t/mapper/testroot" ]
[ "$(fake_json 'len(j["secrets"]["boot-image-test"]["versions"])')" = 1 ]
[ "$(fake_json 'sum(1 for e in log if e["method"] == "PUT")')" = 1 ]

# Vault down before the key is stored: disk untouched, status says why.
mkfs.ext4 -q -d "$t/tree" "$t/plain.img" 48M
plain=$(sha256sum <"$t/plain.img")
sed -i "s|^device = .*|device = $t/plain.img|; s|^secret = .*|secret = never-stored|" "$t/rootcrypt.conf"
fake_ctl POST /_fake/faults '{"service":"vault","status":503,"count":1000}' >/dev/null
rc=0
boot 2>"$t/err3" || rc=$?
[ "$(sha256sum <"$t/plain.img")" = "$plain" ] || { echo "plain image modified"; exit 1; }
[ "$(state state)" = NotEncrypted ] || { cat "$t/run/status.json"; exit 1; }
state last_error | grep -q 'key not stored' || { cat "$t/run/status.json"; exit 1; }
grep -q 'stays unencrypted' "$t/err3" || { cat "$t/err3"; exit 1; }
# On a real boot a linear /dev/mapper mapping follows; an image file has none.
[ "$rc" != 0 ] && grep -q 'not a block device' "$t/err3"
