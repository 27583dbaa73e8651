#!/bin/sh
# Data proof, the strongest oracle: sectors rootcrypt encrypts with the
# volume key of a header it wrote are given back bit-exact by stock
# `cryptsetup reencrypt --decrypt` (offline, no device-mapper), and data
# cryptsetup encrypts is decrypted by rootcrypt. For 512- and 4096-byte
# sectors, detached header and header-in-image (cryptsetup 2.6 decrypts
# only with a detached header at data offset 0, so the in-image case moves
# the header and the ciphertext apart first, header via rootcrypt's own
# metadata commit).
set -u
command -v cryptsetup >/dev/null 2>&1 || { echo "cryptsetup not installed"; exit 77; }
R=${ROOTCRYPT:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
printf 'data proof' >pass
head -c 3145728 /dev/urandom >payload
want=$(sha256sum <payload | cut -d' ' -f1)
bad=0 n=0
fail() { echo "FAIL [$case]: $*"; bad=$((bad + 1)); }
sum() { sha256sum <"$1" | cut -d' ' -f1; }
decrypt() { # header data
	cryptsetup reencrypt --decrypt --batch-mode --force-offline-reencrypt --header "$1" \
		--key-file pass "$2" >out 2>&1 || fail "cryptsetup reencrypt --decrypt: $(cat out)"
}

for sector in 512 4096; do
	case="detached sector=$sector"
	n=$((n + 1))
	rm -f hdr data
	cp payload data
	$R debug-luks2 format hdr --key-file pass --data-offset 0 --sector-size $sector \
		--header-size 4194304 >out 2>&1 || fail "format: $(cat out)"
	$R debug-luks2 encrypt-data data --header hdr --key-file pass >out 2>&1 || fail "encrypt: $(cat out)"
	[ "$(sum data)" != "$want" ] || fail "encrypt-data changed nothing"
	decrypt hdr data
	[ "$(sum data)" = "$want" ] || fail "cryptsetup decrypted something else"

	case="in-image sector=$sector"
	n=$((n + 1))
	H=1048576
	rm -f img hdr data
	truncate -s $H img
	cat payload >>img
	$R debug-luks2 format img --key-file pass --data-offset $H --sector-size $sector \
		--header-size $H >out 2>&1 || fail "format: $(cat out)"
	$R debug-luks2 encrypt-data img --key-file pass >out 2>&1 || fail "encrypt: $(cat out)"
	dd if=img of=hdr bs=$H count=1 status=none
	dd if=img of=data bs=$H skip=1 status=none
	[ "$(sum data)" != "$want" ] || fail "encrypt-data changed nothing"
	cryptsetup open --test-passphrase --key-file pass img >out 2>&1 || fail "test-passphrase: $(cat out)"
	$R debug-luks2 set-segment hdr 0 dynamic >out 2>&1 || fail "set-segment: $(cat out)"
	decrypt hdr data
	[ "$(sum data)" = "$want" ] || fail "cryptsetup decrypted something else"

	case="cryptsetup-encrypted sector=$sector"
	n=$((n + 1))
	rm -f hdr data
	cp payload data
	cryptsetup reencrypt --encrypt --type luks2 --batch-mode --force-offline-reencrypt --header hdr \
		--pbkdf pbkdf2 --pbkdf-force-iterations 1000 --sector-size $sector --key-file pass data \
		>out 2>&1 || fail "cryptsetup reencrypt --encrypt: $(cat out)"
	[ "$(sum data)" != "$want" ] || fail "cryptsetup encrypted nothing"
	$R debug-luks2 decrypt-data data --header hdr --key-file pass >out 2>&1 || fail "decrypt: $(cat out)"
	[ "$(sum data)" = "$want" ] || fail "rootcrypt decrypted something else"
done
echo "$((n - bad)) of $n data round trips matched sha256 $want"
[ $bad = 0 ]
