#!/bin/sh
# Headers written by stock cryptsetup luksFormat are read by rootcrypt, and
# the volume key rootcrypt derives equals the one cryptsetup dumps.
# argon2i/argon2id keyslots are refused with a clear message (rootcrypt links
# no argon2); a pbkdf2 keyslot next to them still opens.
set -u
command -v cryptsetup >/dev/null 2>&1 || { echo "cryptsetup not installed"; exit 77; }
R=${ROOTCRYPT:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
printf 'cryptsetup made me' >pass
printf 'second one' >pass2
bad=0 n=0
fail() { echo "FAIL [$case]: $*"; bad=$((bad + 1)); }
hex() { od -An -tx1 -v "$1" | tr -d ' \n'; }

# name | luksFormat options | layout
while IFS='|' read -r case opts layout; do
	[ -n "$case" ] || continue
	n=$((n + 1))
	rm -f img hdr vk
	truncate -s 20M img
	if [ "$layout" = detached ]; then dev=hdr; hopt="--header hdr"; else dev=img; hopt=""; fi
	# shellcheck disable=SC2086
	cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
		--key-file pass $opts $hopt img >out 2>&1 || { fail "luksFormat: $(cat out)"; continue; }
	# shellcheck disable=SC2086
	cryptsetup luksDump --batch-mode --dump-volume-key --volume-key-file vk --key-file pass $hopt img \
		>out 2>&1 || { fail "dump-volume-key: $(cat out)"; continue; }
	want=$(hex vk)
	got=$($R debug-luks2 unlock $dev --key-file pass --dump-volume-key 2>out)
	[ "$got" = "$want" ] || fail "volume key differs: $(cat out)"
	$R debug-luks2 unlock $dev --key-file pass2 >out 2>&1 && fail "wrong passphrase accepted"
	grep -q "no LUKS2 keyslot opens with this passphrase" out || fail "wrong passphrase: $(cat out)"
	$R debug-luks2 dump $dev >out 2>&1 || fail "dump: $(cat out)"
	# a rootcrypt metadata commit on cryptsetup's header keeps it whole
	cryptsetup luksDump $hopt img 2>/dev/null | grep -v "^Epoch" >dump.before
	$R debug-luks2 token-string $dev rootcrypt-progress done 1 >out 2>&1 || fail "commit: $(cat out)"
	cryptsetup luksDump $hopt img 2>/dev/null | grep -v "^Epoch" >dump.after
	diff dump.before dump.after | grep '^[<>]' | grep -v "rootcrypt-progress\|^> *[0-9]*: *$\|Keyslot:" \
		>out && fail "cryptsetup sees other changes: $(cat out)"
	grep -q "rootcrypt-progress" dump.after || fail "cryptsetup does not show the new token"
	# shellcheck disable=SC2086
	cryptsetup open --test-passphrase --key-file pass $hopt img >out 2>&1 ||
		fail "cryptsetup test-passphrase after rootcrypt commit: $(cat out)"
done <<'CASES'
default-512|--cipher aes-xts-plain64 --key-size 512|image
sector-4096|--sector-size 4096|image
metadata-64k|--luks2-metadata-size 64k --luks2-keyslots-size 1m|image
metadata-1m|--luks2-metadata-size 1m --sector-size 4096|image
sha512|--hash sha512|image
sha1|--hash sha1|image
aes-256-xts|--key-size 256|image
label|--label hello --subsystem world|image
detached|--offset 0|detached
detached-4096|--sector-size 4096 --luks2-metadata-size 32k|detached
CASES

# argon2id: refused clearly; a pbkdf2 keyslot added beside it still opens
case=argon2id
n=$((n + 1))
rm -f img vk
truncate -s 20M img
cryptsetup luksFormat --batch-mode --type luks2 --pbkdf argon2id --pbkdf-force-iterations 4 \
	--pbkdf-memory 32768 --key-file pass img >out 2>&1 || fail "luksFormat argon2id: $(cat out)"
$R debug-luks2 unlock img --key-file pass >out 2>&1 && fail "argon2id keyslot opened?"
grep -q 'uses KDF "argon2id"; rootcrypt supports only pbkdf2' out || fail "unclear argon2id refusal: $(cat out)"
cryptsetup luksAddKey --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file pass img pass2 \
	>out 2>&1 || fail "luksAddKey: $(cat out)"
cryptsetup luksDump --batch-mode --dump-volume-key --volume-key-file vk --key-file pass img >/dev/null 2>&1
got=$($R debug-luks2 unlock img --key-file pass2 --dump-volume-key 2>out)
[ "$got" = "$(hex vk)" ] || fail "pbkdf2 keyslot beside argon2id: $(cat out)"
$R debug-luks2 require img set rootcrypt-conversion >out 2>&1 || fail "commit: $(cat out)"
$R debug-luks2 require img clear rootcrypt-conversion >out 2>&1 || fail "commit: $(cat out)"
cryptsetup open --test-passphrase --key-file pass img >out 2>&1 ||
	fail "argon2id keyslot after rootcrypt commits: $(cat out)"
echo "$((n - bad)) of $n cryptsetup-made headers passed"
[ $bad = 0 ]
