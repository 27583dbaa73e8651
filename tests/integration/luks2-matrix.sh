#!/bin/sh
# rootcrypt-written LUKS2 headers against stock cryptsetup, over a matrix of
# sector size x metadata size x header size x layout (header in the image
# with data after it / detached header file with data offset 0):
# isLuks, luksDump fields, open --test-passphrase (right and wrong),
# token export of the azure-keyvault token, then luksAddKey + luksKillSlot
# by cryptsetup and rootcrypt still reading and unlocking the header.
set -u
command -v cryptsetup >/dev/null 2>&1 || { echo "cryptsetup not installed"; exit 77; }
R=${ROOTCRYPT:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
printf 'correct horse battery staple' >pass
printf 'wrong passphrase' >wrong
printf 'added by cryptsetup' >pass2
head -c 64 /dev/urandom >vk
vkhex=$(od -An -tx1 -v vk | tr -d ' \n')
fail=0 cases=0 bad=0
die() { echo "FAIL [$case]: $*"; fail=1; }

azure='https://rc-test.vault.azure.net,disk-vm1,0123456789abcdef,https://rc-test.vault.azure.net/keys/kek/42,RSA-OAEP-256'
want_token='{"type":"azure-keyvault","keyslots":["0"],"vault_url":"https://rc-test.vault.azure.net","secret_name":"disk-vm1","secret_version":"0123456789abcdef","kek_id":"https://rc-test.vault.azure.net/keys/kek/42","kek_alg":"RSA-OAEP-256"}'

# sector metadata_size header_size layout
for sector in 512 4096; do
for md in 16384 65536; do
for hs in 16777216 4194304; do
for layout in image detached; do
	case="sector=$sector md=$md hs=$hs $layout"
	cases=$((cases + 1))
	[ $fail = 1 ] && bad=$((bad + 1))
	fail=0
	rm -f img hdr
	if [ $layout = image ]; then
		truncate -s $((hs + 1048576)) img
		dev=img hdropt="" off=$hs
	else
		truncate -s 1048576 img
		dev=hdr hdropt="--header hdr" off=0
	fi
	uuid=$(cat /proc/sys/kernel/random/uuid)
	$R debug-luks2 format $dev --key-file pass --volume-key-file vk --metadata-size $md \
		--header-size $hs --sector-size $sector --data-offset $off --uuid "$uuid" \
		--label "rc-$sector" --azure "$azure" >out 2>&1 || { die "format: $(cat out)"; continue; }
	cryptsetup isLuks --type luks2 $dev || die "isLuks"
	cryptsetup luksDump $dev >dump 2>&1 || die "luksDump: $(cat dump)"
	for want in "Version:.*2" "Metadata area:.*$md \[bytes\]" \
		"Keyslots area:.*$((hs - 2 * md)) \[bytes\]" "UUID:.*$uuid" "Label:.*rc-$sector" \
		"offset: $off \[bytes\]" "length: (whole device)" "cipher: aes-xts-plain64" \
		"sector: $sector \[bytes\]" "PBKDF:.*pbkdf2" "Iterations:.*1000" "AF stripes:.*4000" \
		"Area offset:.*$((2 * md)) \[bytes\]" "Area length:.*258048 \[bytes\]" \
		"0: azure-keyvault" "Key:.*512 bits"; do
		grep -q "$want" dump || die "luksDump lacks /$want/"
	done
	# shellcheck disable=SC2086
	cryptsetup open --test-passphrase $hdropt --key-file pass img >out 2>&1 ||
		die "test-passphrase (right) failed: $(cat out)"
	# shellcheck disable=SC2086
	cryptsetup open --test-passphrase $hdropt --key-file wrong img >out 2>&1 &&
		die "test-passphrase (wrong) succeeded"
	got=$(cryptsetup token export --token-id 0 $dev 2>&1)
	[ "$got" = "$want_token" ] || die "token export: $got"
	got=$($R debug-luks2 unlock $dev --key-file pass --dump-volume-key 2>/dev/null)
	[ "$got" = "$vkhex" ] || die "rootcrypt unlock after format"
	# cryptsetup's own changes keep the header readable by rootcrypt
	cryptsetup luksAddKey --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
		--key-file pass $dev pass2 >out 2>&1 || die "luksAddKey: $(cat out)"
	got=$($R debug-luks2 unlock $dev --key-file pass2 --dump-volume-key 2>/dev/null)
	[ "$got" = "$vkhex" ] || die "rootcrypt unlock of the keyslot cryptsetup added"
	cryptsetup luksKillSlot --batch-mode $dev 0 >out 2>&1 || die "luksKillSlot: $(cat out)"
	$R debug-luks2 unlock $dev --key-file pass >out 2>&1 && die "killed keyslot still opens"
	got=$($R debug-luks2 unlock $dev --key-file pass2 --dump-volume-key 2>/dev/null)
	[ "$got" = "$vkhex" ] || die "rootcrypt unlock after luksKillSlot"
	$R debug-luks2 dump $dev >out 2>&1 || die "rootcrypt dump after cryptsetup: $(cat out)"
	grep -q "token 0: azure-keyvault" out || die "token lost across cryptsetup operations"
	# and rootcrypt's metadata commit on top of cryptsetup's is accepted by it
	$R debug-luks2 token-string $dev rootcrypt-progress done 4096 >out 2>&1 || die "token-string: $(cat out)"
	cryptsetup luksDump $dev >dump 2>&1 || die "luksDump after rootcrypt commit: $(cat dump)"
	grep -q "rootcrypt-progress" dump || die "progress token not shown by cryptsetup"
done
done
done
done
[ $fail = 1 ] && bad=$((bad + 1))

# a header at a base offset (the engine's temporary header at the end of a
# partition): the bytes from the base on are a header cryptsetup accepts
for base in 1048576 7340032; do
	case="base offset $base"
	cases=$((cases + 1))
	fail=0
	rm -f img hdr
	truncate -s 12M img
	$R debug-luks2 format img --offset $base --key-file pass --volume-key-file vk \
		--header-size 4194304 --data-offset 0 >out 2>&1 || die "format: $(cat out)"
	$R debug-luks2 probe img | grep -q none || die "header leaked to offset 0"
	got=$($R debug-luks2 unlock img --offset $base --key-file pass --dump-volume-key 2>/dev/null)
	[ "$got" = "$vkhex" ] || die "rootcrypt unlock at the base offset"
	dd if=img of=hdr bs=1M skip=$((base / 1048576)) count=4 status=none
	cryptsetup open --test-passphrase --header hdr --key-file pass img >out 2>&1 ||
		die "cryptsetup on the extracted header: $(cat out)"
	$R debug-luks2 wipe img --offset $base 4194304 >out 2>&1 || die "wipe: $(cat out)"
	$R debug-luks2 probe img --offset $base | grep -q none || die "header still there after wipe"
	[ $fail = 1 ] && bad=$((bad + 1))
done
echo "$((cases - bad)) of $cases matrix cases passed"
[ $bad = 0 ]
