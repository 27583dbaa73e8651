#!/bin/sh
# The key reference is the LUKS2 azure-keyvault token: a volume formatted by
# stock cryptsetup with a passphrase from `key store`, the token imported
# with `cryptsetup token import`; `key fetch --volume` unlocks it
# (cryptsetup --test-passphrase); `key rewrap --volume` stores the
# passphrase under a new KEK version and repoints the token, and the volume
# still opens with what the new token names.
set -eu
command -v cryptsetup >/dev/null || { echo "cryptsetup missing"; exit 77; }
t=$(mktemp -d)
. "$(dirname "$0")/../fake/lib.sh"
trap 'fake_stop; rm -rf "$t"' EXIT INT TERM
fake_start
common="--no-config --imds $imds_url --ca-file $t/fake/ca.pem --resolve $resolve
	--vault $vault_url --retry-timeout 5"

# The secret is tagged with the UUID the volume then gets (fetch --volume
# checks the VolumeUUID tag).
uuid=5d1c8e0a-3f6b-4a2e-9c7d-0e1f2a3b4c5d
"$ROOTCRYPT" key store --new --key-file "$t/pass" $common --secret vol1 \
	--kek "$vault_url/keys/kek" --volume-uuid $uuid >"$t/ref" 2>"$t/err" || { cat "$t/err"; exit 1; }
truncate -s 20M "$t/img"
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
	--uuid $uuid --key-file "$t/pass" "$t/img" >/dev/null 2>&1 || { echo "luksFormat failed"; exit 1; }
python3 - "$t/ref" >"$t/token.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t.update({"type": "azure-keyvault", "keyslots": ["0"]})
print(json.dumps(t))
PY
cryptsetup token import --json-file "$t/token.json" "$t/img" >/dev/null 2>&1 ||
	{ echo "token import failed"; exit 1; }

"$ROOTCRYPT" key fetch --key-file "$t/got" $common --volume "$t/img" 2>"$t/err" ||
	{ cat "$t/err"; exit 1; }
cryptsetup open --test-passphrase --key-file "$t/got" "$t/img" ||
	{ echo "fetched passphrase does not open the volume"; exit 1; }
# `cryptsetup token export` output is a valid --ref too.
cryptsetup token export --token-id 0 "$t/img" >"$t/exported"
"$ROOTCRYPT" key fetch --key-file "$t/got2" $common --ref "$t/exported" 2>"$t/err" ||
	{ cat "$t/err"; exit 1; }
cmp -s "$t/got" "$t/got2"

old=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret_version"])' "$t/ref")
kid=$(fake_ctl POST /_fake/keys/kek | python3 -c 'import json,sys; print(json.load(sys.stdin)["kid"].rsplit("/",1)[1])')
sum=$(dd if="$t/img" bs=1M skip=16 2>/dev/null | sha256sum)
"$ROOTCRYPT" key rewrap $common --volume "$t/img" --kek "$vault_url/keys/kek" --kek-alg RSA-OAEP \
	>"$t/ref2" 2>"$t/err" || { cat "$t/err"; exit 1; }
[ "$(dd if="$t/img" bs=1M skip=16 2>/dev/null | sha256sum)" = "$sum" ] || { echo "rewrap touched data"; exit 1; }
cryptsetup token export --token-id 0 "$t/img" >"$t/exported2"
python3 - "$t/exported2" "$t/ref2" "$old" "$kid" "$vault_url" <<'PY'
import json, sys
tok, ref = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
old, kid, vault = sys.argv[3:6]
assert tok["type"] == "azure-keyvault" and tok["keyslots"] == ["0"], tok
assert tok["secret_version"] == ref["secret_version"] != old, (tok, old)
assert tok["kek_id"] == "%s/keys/kek/%s" % (vault, kid), tok
assert tok["kek_alg"] == "RSA-OAEP", tok
PY
"$ROOTCRYPT" key fetch --key-file "$t/got3" $common --volume "$t/img" 2>"$t/err" || { cat "$t/err"; exit 1; }
cmp -s "$t/got" "$t/got3" || { echo "rewrapped passphrase differs"; exit 1; }
cryptsetup open --test-passphrase --key-file "$t/got3" "$t/img"
[ "$(fake_json "len(j['secrets']['vol1']['versions'])")" = 2 ]
[ "$(fake_json "j['secrets']['vol1']['versions'][1]['tags']['VolumeUUID']")" = $uuid ]
# A volume without the token: one clear line.
truncate -s 20M "$t/img2"
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
	--key-file "$t/pass" "$t/img2" >/dev/null 2>&1
if "$ROOTCRYPT" key fetch --key-file "$t/got4" $common --volume "$t/img2" 2>"$t/err"; then
	echo "fetch without token succeeded"; exit 1
fi
[ "$(cat "$t/err")" = "rootcrypt: '$t/img2' has no azure-keyvault token" ] || { cat "$t/err"; exit 1; }
