#!/bin/sh
# Online mode (issue 18, src/engine/ONLINE.md "Unlock compatibility"):
# headers that stock cryptsetup writes for `reencrypt --encrypt
# --init-only` (in place with --reduce-device-size 32M, and detached with
# --header) carry the requirement online-reencrypt-v2, a linear segment 0
# and the volume key's digest bound to the backup-final segment.
# rootcrypt's reader must find keyslot 0 and the volume key cryptsetup
# dumps, `rootcrypt open` (boot's check) must hand such a header to
# cryptsetup held to keyslot 0, and variants rootcrypt's online mode never
# makes (a second requirement, a cipher_null final segment, a decrypt-mode
# reencrypt keyslot) must be refused before cryptsetup runs. Also a header
# stopped part-way by SIGTERM (cryptsetup's offline resume works on an
# image file without device-mapper). No device-mapper here: the
# cryptsetup stand-in runs `open --test-passphrase`.
set -eu
. "$(dirname "$0")/engine-lib.inc"
need cryptsetup mkfs.ext4 python3
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
printf 'online-pass-phrase' >"$d/pw"
. "$(dirname "$0")/cryptsetup-stand-in.inc"
cryptsetup_stand_in "$d"
export CALLS="$d/calls"

CS_INIT="reencrypt --encrypt --init-only --type luks2 --cipher aes-xts-plain64 --key-size 512
	--pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file $d/pw --batch-mode"

truncate -s 96M "$d/plain"
mkfs.ext4 -q -F -E nodiscard "$d/plain" 64M
cp "$d/plain" "$d/inplace"
# shellcheck disable=SC2086
cryptsetup $CS_INIT --reduce-device-size 32M "$d/inplace" >/dev/null ||
	die "cryptsetup init-only (in place) failed"
cp "$d/plain" "$d/data"
# shellcheck disable=SC2086
cryptsetup $CS_INIT --resilience journal --header "$d/hdr" "$d/data" >/dev/null ||
	die "cryptsetup init-only (detached) failed"
cryptsetup luksDump "$d/inplace" | grep -q "online-reencrypt-v2" || die "set-up: no requirement"

# vk FILE [--header H]: the volume key stock cryptsetup dumps, as hex
vk() {
	f=$1; shift
	cryptsetup luksDump --dump-volume-key --key-file "$d/pw" --batch-mode "$@" "$f" |
		sed -n '/MK dump:\|Volume key:/,$p' | sed 's/^[^:]*://' | tr -d ' \t\n'
}

# the reader: keyslot 0 opens, the key is cryptsetup's
check_unlock() { # NAME HEADER-FILE VK
	"$ROOTCRYPT" debug-luks2 unlock "$2" --key-file "$d/pw" --dump-volume-key \
		>"$d/out" 2>"$d/err" || die "$1: rootcrypt debug-luks2 unlock: $(cat "$d/err")"
	grep -qx "keyslot 0" "$d/err" || die "$1: not keyslot 0: $(cat "$d/err")"
	[ "$(cat "$d/out")" = "$3" ] || die "$1: volume key differs from cryptsetup's"
}
check_open() { # NAME TARGET [--header H]
	n=$1; shift
	rm -f "$d/calls"
	"$ROOTCRYPT_TEST" open "$@" "open-$n" --key-file "$d/pw" 2>"$d/err" ||
		die "$n: rootcrypt open refused a header cryptsetup wrote: $(cat "$d/err")"
	grep -q -- "--key-slot=0" "$d/calls" || die "$n: cryptsetup not held to keyslot 0"
}
# status STATE-LINE ARGS...: the text line and the JSON agree with it
status_is() {
	want=$1; shift
	"$ROOTCRYPT" status "$@" >"$d/st" 2>"$d/err" || die "status $*: $(cat "$d/err")"
	head -n1 "$d/st" | grep -qF "$want" || die "status $*: $(cat "$d/st"), want '$want'"
	"$ROOTCRYPT" status "$@" --json >"$d/stj" || die "status --json $*"
}
json_is() { # KEY VALUE
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if str(j.get(sys.argv[2])) == sys.argv[3] else 1)' \
		"$d/stj" "$1" "$2" || die "status --json: $1 is not $2: $(cat "$d/stj")"
}
status_is "encrypting (online), 0 of $((64 << 20)) bytes done (0.0%)" "$d/inplace"
json_is state encrypting; json_is mode online; json_is layout shift
json_is bytes_done 0; json_is bytes_total $((64 << 20)); json_is data_offset $((16 << 20))
status_is "encrypting (online), 0 of $((96 << 20)) bytes done (0.0%)" "$d/data" --header "$d/hdr"
json_is layout detached; json_is bytes_total $((96 << 20)); json_is data_offset 0
"$ROOTCRYPT" status "$d/plain" | grep -q ": plain" || die "plain image not plain"
# the token rootcrypt's own writer adds while cryptsetup's requirement is set
cp "$d/inplace" "$d/tok"
"$ROOTCRYPT" debug-luks2 azure "$d/tok" "https://v.vault.azure.net,s-name,0123abcd,," >/dev/null 2>&1 ||
	die "azure token on an in-progress header"
"$ROOTCRYPT" status "$d/tok" | grep -q "key: azure-keyvault https://v.vault.azure.net/secrets/s-name/0123abcd" ||
	die "status key line: $("$ROOTCRYPT" status "$d/tok")"

check_unlock in-place "$d/inplace" "$(vk "$d/inplace")"
check_open in-place "$d/inplace"
check_unlock detached "$d/hdr" "$(vk "$d/data" --header "$d/hdr")"
check_open detached "$d/data" --header "$d/hdr"

final='[s for s in j["segments"].values() if "backup-final" in s.get("flags", [])][0]'
reenc='[k for k in j["keyslots"].values() if k["type"] == "reencrypt"][0]'
i=0
for m in 'j["config"]["requirements"]["mandatory"].append("other-requirement")' \
	"$final[\"encryption\"] = \"cipher_null-ecb\"" \
	"$reenc[\"mode\"] = \"decrypt\"" \
	'j["config"]["requirements"]["mandatory"] = ["online-reencrypt-v3"]'; do
	i=$((i + 1))
	for layout in inplace detached; do
		if [ $layout = inplace ]; then
			cp "$d/inplace" "$d/evil"; hdr="$d/evil"; set -- "$d/evil"
		else
			cp "$d/hdr" "$d/evil-hdr"; hdr="$d/evil-hdr"; set -- "$d/data" --header "$d/evil-hdr"
		fi
		luks2_mutate "$hdr" "$m"
		cryptsetup isLuks "$hdr" || die "set-up: mutation $i ($layout) not LUKS any more"
		rm -f "$d/calls"
		rc=0
		"$ROOTCRYPT_TEST" open "$@" "evil-$i" --key-file "$d/pw" 2>"$d/err" || rc=$?
		[ "$rc" = 1 ] || die "mutation $i ($layout): exit $rc, expected 1 ($m)"
		[ ! -e "$d/calls" ] || die "mutation $i ($layout): cryptsetup was run"
		[ ! -e "$d/mapper/evil-$i" ] || die "mutation $i ($layout): mapping made"
		echo "refused ($layout): $(cat "$d/err")" >&2
	done
done

# part-way: cryptsetup's own resume (offline, on the image file), stopped
# by SIGTERM after its first hotzones; retried with a shorter delay when it
# finished first or a longer one when it had not started
partial() { # IMG DELAY -> 0 when the header is part-way
	cp "$d/inplace" "$1"
	cryptsetup reencrypt --resume-only --force-offline-reencrypt --key-file "$d/pw" \
		--batch-mode "$1" >/dev/null 2>&1 &
	pid=$!
	sleep "$2"
	kill -TERM $pid 2>/dev/null || true
	wait $pid || true
	python3 - "$1" <<'PY'
import json, subprocess, sys
j = json.loads(subprocess.run(["cryptsetup", "luksDump", "--dump-json-metadata", sys.argv[1]],
                              capture_output=True, check=True).stdout)
done = [s for s in j["segments"].values() if s["type"] == "crypt" and not s.get("flags")]
req = j["config"].get("requirements", {}).get("mandatory", [])
sys.exit(0 if done and req else 1)
PY
}
got=
for delay in 0.15 0.05 0.3 0.02 0.6; do
	if partial "$d/part" $delay; then got=$delay; break; fi
done
if [ -n "$got" ]; then
	check_unlock part-way "$d/part" "$(vk "$d/part")"
	check_open part-way "$d/part"
	# done: whole 16 MiB hotzones (datashift), above 0, below the total
	"$ROOTCRYPT" status "$d/part" --json >"$d/stj"
	done_b=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes_done"])' "$d/stj")
	[ "$done_b" -gt 0 ] && [ "$done_b" -lt $((64 << 20)) ] && [ $((done_b % (16 << 20))) = 0 ] ||
		die "part-way status: $(cat "$d/stj")"
	json_is bytes_total $((64 << 20))
	# and it is what cryptsetup's metadata says is converted
	want=$(cryptsetup luksDump --dump-json-metadata "$d/part" | python3 -c '
import json, sys
j = json.load(sys.stdin)
print(sum(int(s["size"]) for s in j["segments"].values() if s["type"] == "crypt" and not s.get("flags")))')
	[ "$done_b" = "$want" ] || die "part-way: status $done_b, cryptsetup's crypt segments $want"
	echo "part-way header (SIGTERM after ${got} s) unlocks, status $done_b of $((64 << 20))" >&2
else
	echo "note: no part-way header produced (cryptsetup finished or never started)" >&2
fi
exit 0
