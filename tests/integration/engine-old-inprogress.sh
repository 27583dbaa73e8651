#!/bin/sh
# A volume cut mid-conversion by the code before issue 17.2b (the token
# moved out of luks2/ and the engine) still resumes: the fixture
# tests/fixtures/old-inprogress.img.gz was written by main at d207367 (see
# make-old-inprogress.sh): `rootcrypt boot` cut by an I/O fault after its
# in-progress header (conversion token, azure-keyvault token) went to the
# tail. This code reads both tokens, resumes with the passphrase the fake
# vault held, and the finished header carries the azure-keyvault token
# byte for byte as the old code wrote it; stock cryptsetup opens the
# volume and gives back the original file system.
set -eu
command -v cryptsetup >/dev/null || { echo "cryptsetup missing"; exit 77; }
fx=$(cd "$(dirname "$0")/../fixtures" && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT INT TERM
die() { echo "$*"; exit 1; }

gzip -dc <"$fx/old-inprogress.img.gz" >"$t/img"
token='{"type":"azure-keyvault","keyslots":["0"],"vault_url":"https://rootcrypt-test.vault.azure.net:33273","secret_name":"old-fixture","secret_version":"017e27bd43624a96808319b60f1a8a55"}'

"$ROOTCRYPT" status "$t/img" >"$t/st1" || { cat "$t/st1"; die "status of the old in-progress image failed"; }
grep -q "encrypting, 0 of 8388608 bytes done" "$t/st1" || { cat "$t/st1"; die "not read as in progress"; }
grep -qx "  key: azure-keyvault https://rootcrypt-test.vault.azure.net:33273/secrets/old-fixture/017e27bd43624a96808319b60f1a8a55" \
	"$t/st1" || { cat "$t/st1"; die "old token not read"; }
cryptsetup isLuks "$t/img" 2>/dev/null && die "a half-converted volume looks like LUKS to cryptsetup"

"$ROOTCRYPT" encrypt "$t/img" --key-file "$fx/old-inprogress.pass" 2>"$t/err" ||
	{ cat "$t/err"; die "resume failed"; }
grep -q "resuming" "$t/err" || { cat "$t/err"; die "did not resume"; }
"$ROOTCRYPT" status "$t/img" | grep -q ": encrypted" || die "not encrypted after the resume"

for id in 0 1 2 3; do
	cryptsetup token export --token-id $id "$t/img" 2>/dev/null && echo || :
done >"$t/tokens"
grep -qxF "$token" "$t/tokens" || { cat "$t/tokens"; die "azure-keyvault token changed"; }
cryptsetup open --test-passphrase --key-file "$fx/old-inprogress.pass" "$t/img" ||
	die "stock cryptsetup does not open the resumed volume"
cryptsetup reencrypt --decrypt --header "$t/hdr" --force-offline-reencrypt \
	--key-file "$fx/old-inprogress.pass" -q "$t/img" >/dev/null
[ "$(head -c 8388608 "$t/img" | sha256sum | cut -d' ' -f1)" = "$(cat "$fx/old-inprogress.plain.sha256")" ] ||
	die "decrypted data differs from the original file system"
