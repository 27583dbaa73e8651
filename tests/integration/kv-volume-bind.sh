#!/bin/sh
# Issue 16.2: the secret is bound to the volume. `rootcrypt boot` stores the
# key tagged VolumeUUID=<the UUID its header then gets>; every fetch for a
# volume checks that tag and that the vault's reply names the secret the
# token names. Here a conversion is stopped part-way by an I/O error (so a
# key that got through would make the next boot resume and rewrite the
# disk), then the vault answers for the token's secret version with:
#   - the right value, but a VolumeUUID tag naming another volume -> refused
#     with one line naming both UUIDs, the image byte-identical;
#   - the right value under another version's id -> refused, unchanged;
#   - the right value without the tag -> refused (untagged_secret = refuse,
#     the default), unchanged; with untagged_secret = accept the same reply
#     resumes and finishes the conversion (the value was right all along).
# Then the volume is converted: a normal boot (the real, tagged secret)
# unlocks; `key fetch --volume` of a volume whose token names a secret
# stored for another volume is refused; a store whose tag does not read
# back fails.
set -eu
command -v cryptsetup >/dev/null || { echo "cryptsetup missing"; exit 77; }
command -v mkfs.ext4 >/dev/null || { echo "mkfs.ext4 missing"; exit 77; }
t=$(mktemp -d)
. "$(dirname "$0")/../fake/lib.sh"
trap 'fake_stop; rm -rf "$t"' EXIT INT TERM
fake_start
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

mkdir -p "$t/tree" "$t/mapper" "$t/run"
head -c 2000000 /dev/urandom >"$t/tree/blob"
mkfs.ext4 -q -d "$t/tree" "$t/root.img" 48M >/dev/null
. "$(dirname "$0")/cryptsetup-stand-in.inc"
cryptsetup_stand_in "$t"   # its hooks and FAULT_AFTER_OPS: read by the test build only
fake_boot_conf "$t/root.img" bind-test "name = testroot" >"$t/rootcrypt.conf"
: >"$t/cmdline"
boot() { "$ROOTCRYPT_TEST" boot --config "$t/rootcrypt.conf" --cmdline "$t/cmdline" \
	--status-dir "$t/run" --device-timeout 1 --prompt-tries 0; }

# First boot stopped part-way by an injected I/O error.
export ROOTCRYPT_FAULT_AFTER_OPS=12
boot 2>"$t/err0" && { echo "first boot was not interrupted"; exit 1; }
unset ROOTCRYPT_FAULT_AFTER_OPS
"$ROOTCRYPT" status "$t/root.img" | grep -q encrypting || { echo "not half-done"; cat "$t/err0"; exit 1; }
uuid=$("$ROOTCRYPT" status "$t/root.img" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["uuid"])')
tag=$(fake_json 'j["secrets"]["bind-test"]["versions"][0]["tags"].get("VolumeUUID")')
[ "$tag" = "$uuid" ] || fail "stored with VolumeUUID tag '$tag', the header's UUID is '$uuid'"

fake_ctl GET '/_fake/state?values' >"$t/values.json"
other=c6a1f3e0-5d2b-4e8a-9b7c-1a2b3c4d5e6f
# reply VERSION TAGS_JSON: a fault answering every secret GET with the real
# value under VERSION's id and the given tags
reply() {
	python3 - "$t/values.json" "$vault_host" "$1" "$2" <<'PY'
import json, sys
j, host, ver, tags = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
v = j["secrets"]["bind-test"]["versions"][0]
body = {"id": "https://%s/secrets/bind-test/%s" % (host, ver or v["version"]), "value": v["value"],
        "contentType": v["contentType"], "attributes": {"enabled": True}}
if tags is not None:
    body["tags"] = tags
print(json.dumps({"service": "vault", "method": "GET", "path": "^/secrets/", "status": 200,
                  "count": 1000, "content_type": "application/json; charset=utf-8",
                  "body": json.dumps(body)}))
PY
}
# refused NAME FAULT EXPECTED-LINE-PART...: boot fails, image unchanged
refused() {
	name=$1 fault=$2
	shift 2
	fake_ctl DELETE /_fake/faults >/dev/null
	fake_ctl POST /_fake/faults "$fault" >/dev/null
	sum=$(sha256sum <"$t/root.img")
	rc=0
	boot 2>"$t/err.$name" || rc=$?
	[ "$rc" != 0 ] || fail "$name: boot succeeded"
	[ "$(sha256sum <"$t/root.img")" = "$sum" ] || fail "$name: the image changed"
	[ ! -e "$t/mapper/testroot" ] || fail "$name: unlocked"
	for want in "$@"; do
		grep -q "$want" "$t/err.$name" || fail "$name: no line with '$want'"
	done
	grep -q "resuming" "$t/err.$name" && fail "$name: resumed"
	return 0
}
refused other-volume "$(reply "" "{\"VolumeUUID\":\"$other\"}")" \
	"belongs to volume $other, not to volume $uuid being unlocked: refusing it"
refused other-version "$(reply 0123456789abcdef0123456789abcdef "{\"VolumeUUID\":\"$uuid\"}")" \
	"not the secret the key reference names; refusing it"
refused untagged "$(reply "" null)" "has no VolumeUUID tag, so it is not bound to volume $uuid"

# The same untagged reply where the configuration accepts it: resumes,
# finishes, unlocks.
echo "untagged_secret = accept" >>"$t/rootcrypt.conf"
boot 2>"$t/err.accept" || { fail "untagged + accept: boot failed"; cat "$t/err.accept"; }
[ -e "$t/mapper/testroot" ] || fail "untagged + accept: not unlocked"
fake_ctl DELETE /_fake/faults >/dev/null
sed -i '/^untagged_secret/d' "$t/rootcrypt.conf"
cryptsetup isLuks "$t/root.img" || fail "not LUKS after the accepted resume"
[ "$(cryptsetup luksUUID "$t/root.img")" = "$uuid" ] || fail "final header has another UUID"

# The real tagged secret, no fault: the default (refuse untagged) unlocks.
rm -f "$t/mapper/testroot"
boot 2>"$t/err.tagged" || { fail "tagged: boot failed"; cat "$t/err.tagged"; }
[ -e "$t/mapper/testroot" ] || fail "tagged: not unlocked"

# `key fetch --volume` for a token naming a secret stored for another volume.
common="--no-config --imds $imds_url --ca-file $t/fake/ca.pem --resolve $resolve
	--vault $vault_url --retry-timeout 5"
# shellcheck disable=SC2086
"$ROOTCRYPT" key store --new --key-file "$t/pass2" $common --secret vol2 --volume-uuid "$other" \
	>"$t/ref2" 2>"$t/err" || { cat "$t/err"; exit 1; }
truncate -s 20M "$t/vol.img"
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
	--uuid "$uuid" --key-file "$t/pass2" "$t/vol.img" >/dev/null 2>&1
python3 - "$t/ref2" >"$t/token.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t.update({"type": "azure-keyvault", "keyslots": ["0"]})
print(json.dumps(t))
PY
cryptsetup token import --json-file "$t/token.json" "$t/vol.img" >/dev/null 2>&1
sum=$(sha256sum <"$t/vol.img")
# shellcheck disable=SC2086
if "$ROOTCRYPT" key fetch --key-file "$t/got" $common --volume "$t/vol.img" 2>"$t/err"; then
	fail "key fetch --volume took another volume's secret"
fi
grep -q "belongs to volume $other, not to volume $uuid" "$t/err" || { fail "fetch: line"; cat "$t/err"; }
[ ! -e "$t/got" ] || fail "fetch: key file left behind"
[ "$(sha256sum <"$t/vol.img")" = "$sum" ] || fail "fetch: the volume changed"

# Write-ahead: a store for a volume whose tag does not read back (a vault
# or proxy that drops tags) is not "stored": the next fetch would refuse it.
printf 'known-passphrase' >"$t/known"
b64=$(printf 'known-passphrase' | base64)
fake_ctl POST /_fake/faults "{\"service\":\"vault\",\"method\":\"GET\",\"path\":\"^/secrets/\",
	\"status\":200,\"content_type\":\"application/json\",
	\"body\":\"{\\\"id\\\":\\\"https://$vault_host/secrets/vol3/0123\\\",\\\"value\\\":\\\"$b64\\\",\\\"contentType\\\":\\\"BEK\\\"}\"}" >/dev/null
# shellcheck disable=SC2086
if "$ROOTCRYPT" key store --key-file "$t/known" $common --secret vol3 --volume-uuid "$uuid" \
	>/dev/null 2>"$t/err"; then
	fail "store counted although its VolumeUUID tag did not read back"
fi
grep -q "reads back with VolumeUUID tag \"(none)\", not the stored \"$uuid\"" "$t/err" ||
	{ fail "store: line"; cat "$t/err"; }
fake_ctl DELETE /_fake/faults >/dev/null

[ "$fails" = 0 ] || exit 1
