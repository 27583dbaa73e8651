#!/bin/sh
# A half-converted volume carries the mandatory requirement
# "rootcrypt-conversion". Observed with cryptsetup 2.6.1 (and asserted here):
#  - refused with "Unmet LUKS2 requirements detected": luksAddKey,
#    luksConvertKey, config --label, token import;
#  - allowed: isLuks, luksDump (lists "Requirements: rootcrypt-conversion"),
#    token export, luksHeaderBackup, luksUUID, open --test-passphrase, and
#    also luksKillSlot and erase (destructive, requirement ignored);
#  - activation (open NAME) checks requirements in LUKS2_activate ->
#    LUKS2_unmet_requirements (2.6.1 source); it cannot run here (no
#    device-mapper), so the QEMU guest is where it is seen.
# rootcrypt reads and unlocks such a header; once the requirement is cleared
# cryptsetup works normally.
set -u
command -v cryptsetup >/dev/null 2>&1 || { echo "cryptsetup not installed"; exit 77; }
R=${ROOTCRYPT:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
printf 'pass-one' >pass
printf 'pass-two' >pass2
fail() { echo "FAIL: $*"; exit 1; }
truncate -s 20M img
$R debug-luks2 format img --key-file pass --data-offset 16777216 --requirement rootcrypt-conversion \
	--azure 'https://v.vault.azure.net,s,,,' >out 2>&1 || fail "format: $(cat out)"
cryptsetup isLuks img || fail "isLuks refused"
cryptsetup luksDump img >out 2>&1 || fail "luksDump: $(cat out)"
grep -q "Requirements:.*rootcrypt-conversion" out || fail "luksDump does not show the requirement"
for op in "luksAddKey --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file pass img pass2" \
	"luksConvertKey --batch-mode --pbkdf pbkdf2 --key-file pass img" "config --label x img" \
	"token import --json-file tok.json img"; do
	printf '{"type":"x","keyslots":[]}' >tok.json
	# shellcheck disable=SC2086
	cryptsetup $op >out 2>&1 && fail "cryptsetup $op succeeded on a half-converted volume"
	grep -q "Unmet LUKS2 requirements detected" out || fail "cryptsetup $op: $(cat out)"
done
cryptsetup token export --token-id 0 img >out 2>&1 || fail "token export refused: $(cat out)"
grep -q azure-keyvault out || fail "token export: $(cat out)"
cryptsetup open --test-passphrase --key-file pass img >out 2>&1 ||
	echo "note: this cryptsetup refuses --test-passphrase on a half-converted volume (2.6.1 did not)"
$R debug-luks2 unlock img --key-file pass >out 2>&1 || fail "rootcrypt unlock: $(cat out)"
$R debug-luks2 token-get img azure-keyvault >out 2>&1 || fail "rootcrypt token-get: $(cat out)"
$R debug-luks2 dump img | grep -q "requirement: rootcrypt-conversion" || fail "rootcrypt dump lacks requirement"
$R debug-luks2 require img clear rootcrypt-conversion >out 2>&1 || fail "clear: $(cat out)"
cryptsetup luksDump img | grep -q "Requirements" && fail "requirement still shown after clear"
cryptsetup token export --token-id 0 img >out 2>&1 || fail "token export after clear: $(cat out)"
cryptsetup luksAddKey --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file pass img pass2 \
	>out 2>&1 || fail "luksAddKey after clear: $(cat out)"
# set again on a header cryptsetup last wrote
$R debug-luks2 require img set rootcrypt-conversion >out 2>&1 || fail "set: $(cat out)"
cryptsetup luksAddKey --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file pass img pass \
	>out 2>&1 && fail "luksAddKey allowed after set"
$R debug-luks2 unlock img --key-file pass2 >out 2>&1 || fail "rootcrypt unlock of cryptsetup keyslot: $(cat out)"
exit 0
