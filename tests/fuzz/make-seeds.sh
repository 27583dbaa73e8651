#!/bin/sh
# Writes the seeds of fuzz_engine_hdr and fuzz_luks2_keyslot (input format:
# fuzz_hdr_image.h) from headers the product itself wrote:
#   shift-in-progress   `rootcrypt encrypt` stopped part-way (I/O error
#                       injected): the in-progress header in the tail
#   detached-in-progress the same with --layout detached: the header file
#   final-with-token    a finished conversion, plus an azure-keyvault token
#                       (imported with stock cryptsetup, as kv-luks2-token.sh does)
# Each seed is: flags byte 1 (both copies), the header's JSON text, then
# (luks2_keyslot only) NUL and its keyslots area. The keyslot passphrase is the harness's "fuzz-passphrase".
# Usage: tests/fuzz/make-seeds.sh ROOTCRYPT OUTDIR   (the checked-in seeds
# were made with ./rootcrypt and tests/fuzz/seeds; test_fuzz_seeds checks them).
set -eu
rc=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
out=$2
command -v cryptsetup >/dev/null || { echo "cryptsetup missing" >&2; exit 77; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
printf 'fuzz-passphrase' >"$d/key"
mkdir -p "$out/engine_hdr" "$out/luks2_keyslot"

# seed IMAGE OFFSET FILE...: header at OFFSET of IMAGE -> seed files
seed() {
	python3 - "$@" <<'PY'
import json, sys
img, off, outs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
with open(img, "rb") as f:
    f.seek(off)
    hdr = f.read(4 << 20)
assert hdr[:6] == b"LUKS\xba\xbe", "no LUKS2 header at %d of %s" % (off, img)
text = hdr[4096:16384].split(b"\0", 1)[0]
j = json.loads(text)
area = b""
if j["keyslots"]:
    a = j["keyslots"]["0"]["area"]
    start, size = int(a["offset"]), int(a["size"])
    assert start == 32768, "first keyslot area at %d, not 32768" % start
    area = hdr[start:start + size]
for o in outs:
    # fuzz_engine_hdr opens no keyslot: its seeds are the JSON alone
    with open(o, "wb") as f:
        f.write(b"\x01" + text + (b"" if "/engine_hdr/" in o else b"\0" + area))
PY
}

half_done() { # IMG [--header F [--layout detached]]
	img=$1
	shift
	ROOTCRYPT_FAULT_AFTER_OPS=40 "$rc" encrypt "$img" --key-file "$d/key" --unit 1M "$@" \
		>/dev/null 2>&1 || :
	"$rc" status "$img" ${1:+"$1" "$2"} | grep -q encrypting ||
		{ echo "could not stop a conversion part-way" >&2; exit 1; }
}

truncate -s 40M "$d/shift.img"
half_done "$d/shift.img"
size=$(stat -c %s "$d/shift.img")
seed "$d/shift.img" $((size - 2097152)) "$out/engine_hdr/shift-in-progress.bin" \
	"$out/luks2_keyslot/shift-in-progress.bin"

truncate -s 40M "$d/det.img"
half_done "$d/det.img" --header "$d/det.hdr" --layout detached
seed "$d/det.hdr" 0 "$out/engine_hdr/detached-in-progress.bin"

truncate -s 40M "$d/final.img"
"$rc" encrypt "$d/final.img" --key-file "$d/key" >/dev/null 2>&1
cat >"$d/token.json" <<'TOK'
{"type":"azure-keyvault","keyslots":["0"],"vault_url":"https://rootcrypt-test.vault.azure.net",
 "secret_name":"rootcrypt-5c08b38e-4d57-4c23-ac45-aca61037f084",
 "secret_version":"0123456789abcdef0123456789abcdef",
 "kek_id":"https://rootcrypt-test.vault.azure.net/keys/kek/00112233445566778899aabbccddeeff",
 "kek_alg":"RSA-OAEP-256"}
TOK
cryptsetup token import --json-file "$d/token.json" "$d/final.img" >/dev/null
seed "$d/final.img" 0 "$out/engine_hdr/final-with-token.bin" "$out/luks2_keyslot/final-with-token.bin"
ls -l "$out/engine_hdr" "$out/luks2_keyslot"
