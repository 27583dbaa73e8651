#!/bin/sh
# Damaged headers: byte flips in each copy, both copies, truncation, keyslot
# area damage, and hostile JSON behind a valid checksum (overlapping or
# out-of-bounds areas, huge sizes, syntax, duplicates). One damaged copy:
# rootcrypt uses the other, says which and why, unlocks, and --repair makes
# both good again (cryptsetup agrees). Both damaged: one clear line, exit 1,
# never a crash (run under make check-asan too).
set -u
R=${ROOTCRYPT:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
have_cs=0
command -v cryptsetup >/dev/null 2>&1 && have_cs=1
printf 'pw' >pass
MD=16384
truncate -s 2M good
$R debug-luks2 format good --key-file pass --header-size 1048576 --data-offset 1048576 \
	--azure 'https://v.vault.azure.net,s,,,' >/dev/null || { echo "format failed"; exit 1; }
$R debug-luks2 dump good --json >good.json || exit 1
bad=0 n=0
fail() { echo "FAIL [$case]: $*"; bad=$((bad + 1)); }
poke() { printf "$2" | dd of=img bs=1 seek="$1" conv=notrunc status=none; }

# expect: primary|secondary (the copy rootcrypt must use) or refuse; then a
# substring of the message
check() {
	expect=$1 msg=$2
	n=$((n + 1))
	$R debug-luks2 unlock img --key-file pass >out 2>&1
	rc=$?
	[ $rc -ge 128 ] && { fail "crashed (exit $rc): $(cat out)"; return; }
	grep -q "$msg" out || fail "message lacks \"$msg\": $(cat out)"
	case $expect in
	refuse)
		[ $rc = 1 ] || fail "expected refusal, exit $rc"
		[ "$(grep -c . out)" = 1 ] || fail "refusal is not one line: $(cat out)"
		return ;;
	primary) other=secondary ;;
	secondary) other=primary ;;
	esac
	[ $rc = 0 ] || { fail "unlock failed: $(cat out)"; return; }
	grep -q "LUKS2 $other header is damaged" out || fail "damage not reported: $(cat out)"
	grep -q "using the $expect copy" out || fail "not using the $expect copy: $(cat out)"
	$R debug-luks2 dump img --repair >out 2>&1 || { fail "repair: $(cat out)"; return; }
	$R debug-luks2 dump img >out 2>&1 || fail "dump after repair: $(cat out)"
	grep -q "^primary: ok" out && grep -q "^secondary: ok" out || fail "repair incomplete: $(cat out)"
	if [ $have_cs = 1 ]; then
		cryptsetup luksDump img >out 2>&1 || fail "cryptsetup luksDump after repair: $(cat out)"
		cryptsetup open --test-passphrase --key-file pass img >out 2>&1 ||
			fail "cryptsetup test-passphrase after repair: $(cat out)"
	fi
}

# byte flips: name | offset | bytes (printf) | copy used | message
while IFS='|' read -r case off bytes expect msg; do
	[ -n "$case" ] || continue
	cp good img
	for o in $off; do poke "$o" "$bytes"; done
	check "$expect" "$msg"
done <<EOF2
primary-magic|0|X|secondary|no LUKS2 magic
primary-version|7|\\003|secondary|unsupported LUKS version 3
primary-hdr-size|8|\\377\\377|secondary|bogus header size
primary-hdr-offset|263|\\001|secondary|header offset field
primary-checksum-alg|72|sha1\\000|secondary|unsupported header checksum
primary-checksum|448|\\001\\002|secondary|checksum mismatch
primary-label|30|Z|secondary|checksum mismatch
primary-json|4200|}|secondary|checksum mismatch
primary-json-tail|16000|x|secondary|checksum mismatch
secondary-magic|$MD|X|primary|no LUKS2 magic
secondary-checksum|$((MD + 448))|\\001|primary|checksum mismatch
secondary-json|$((MD + 4096))|[|primary|checksum mismatch
both-checksums|448 $((MD + 448))|\\001|refuse|both LUKS2 header copies are damaged
both-magic|0 $MD|X|refuse|no LUKS2 header
keyslot-area|40000|0000000000000000|refuse|no LUKS2 keyslot opens
EOF2

# truncation
for len in 0 100 4096 20000 40000 100000; do
	case="truncate-$len"
	cp good img
	truncate -s $len img
	case $len in
	0|100) check refuse "no LUKS2 header" ;;
	4096) check refuse "primary: JSON area truncated" ;;
	*) check refuse "cannot read LUKS2 keyslot 0 area" ;;
	esac
done

# hostile JSON with a valid checksum: name | sed expression | message
while IFS='|' read -r case expr msg; do
	[ -n "$case" ] || continue
	cp good img
	sed "$expr" good.json >evil.json
	cmp -s good.json evil.json && { fail "sed expression did not apply"; continue; }
	$R debug-luks2 put-json img primary evil.json >out 2>&1 || { fail "put-json: $(cat out)"; continue; }
	check secondary "$msg"
	# both copies hostile
	cp good img
	$R debug-luks2 put-json img primary evil.json >/dev/null 2>&1
	$R debug-luks2 put-json img secondary evil.json >/dev/null 2>&1
	case="$case (both)"
	check refuse "both LUKS2 header copies are damaged"
done <<'EOF2'
area-in-metadata|s/"offset":"32768"/"offset":"16384"/|outside the keyslots area
area-past-end|s/"size":"258048"/"size":"99999999999"/|outside the keyslots area
area-overflow|s/"offset":"32768"/"offset":"18446744073709551615"/|outside the keyslots area
area-overlap|s/"keyslots":{"0":\({[^}]*}\)/"keyslots":{"0":\1/;s/"keyslots":{/"keyslots":{"1":{"type":"luks2","key_size":64,"area":{"type":"raw","offset":"36864","size":"4096","encryption":"aes-xts-plain64","key_size":64},"kdf":{"type":"pbkdf2","salt":"AA==","hash":"sha256","iterations":1000},"af":{"type":"luks1","stripes":4000,"hash":"sha256"}},/|overlaps
keyslots-size-huge|s/"keyslots_size":"[0-9]*"/"keyslots_size":"99999999999999"/|keyslots_size
keyslots-size-unaligned|s/"keyslots_size":"[0-9]*"/"keyslots_size":"1000"/|keyslots_size
json-size|s/"json_size":"12288"/"json_size":"4190208"/|json_size
data-in-header|s/"offset":"1048576"/"offset":"65536"/|inside the header
segment-size-odd|s/"size":"dynamic"/"size":"1000"/|aligned
sector-size|s/"sector_size":512/"sector_size":1000/|sector_size
number-not-string|s/"offset":"1048576"/"offset":1048576/|offset
keyslot-id|s/"keyslots":{"0"/"keyslots":{"32"/|not a number below 32
digest-dangling|s/"segments":\["0"\]/"segments":["5"]/|segment
token-dangling|s/"keyslots":\["0"\],"vault_url"/"keyslots":["7"],"vault_url"/|token 0
duplicate-keyslot|s/"tokens":{/"tokens":{},"tokens":{/|duplicate JSON member
syntax|s/"config":{/"config":[/|JSON syntax error
leading-space|s/^{/ {/|does not start with
missing-config|s/,"config":{[^}]*}}$/}/|lacks the "config" object
EOF2

# stock cryptsetup repairs a rootcrypt header the same way
if [ $have_cs = 1 ]; then
	for off in 448 $((MD + 448)); do
		case="cryptsetup repair of a flip at $off"
		n=$((n + 1))
		cp good img
		poke $off '\001'
		cryptsetup repair --batch-mode img >out 2>&1 || fail "cryptsetup repair: $(cat out)"
		$R debug-luks2 dump img >out 2>&1 || fail "dump: $(cat out)"
		grep -q "^primary: ok" out && grep -q "^secondary: ok" out || fail "not repaired: $(cat out)"
		$R debug-luks2 unlock img --key-file pass >out 2>&1 || fail "unlock: $(cat out)"
	done
fi
echo "$((n - bad)) of $n corruption cases behaved"
[ $bad = 0 ]
