#!/bin/sh
# Shift with no room for the header (a file system filling a device that
# cannot grow): `enroll` refuses with the MiB missing, and a first boot
# that gets there anyway checks the same rule before it stores a key, so
# it stores nothing in Key Vault, boots plain and says why in the status
# (issue 15.5: before, every such boot left one more unused secret version).
set -eu
[ "$(id -u)" = 0 ] || { echo "needs root for loop devices"; exit 77; }
for c in losetup mkfs.ext4 python3; do
	command -v $c >/dev/null || { echo "$c missing"; exit 77; }
done
t=$(mktemp -d)
loop=
. "$(dirname "$0")/../fake/lib.sh"
trap 'fake_stop; [ -z "$loop" ] || losetup -d "$loop"; rm -rf "$t"' EXIT INT TERM
fake_start

mkdir -p "$t/run"
truncate -s 48M "$t/root.img"
mkfs.ext4 -q -F "$t/root.img"
loop=$(losetup -f --show "$t/root.img")
orig=$(sha256sum <"$t/root.img")

fake_boot_conf "$loop" no-room-test >"$t/rootcrypt.conf"
: >"$t/cmdline"
state() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
	"$t/run/status.json" "$1"; }

rc=0
"$ROOTCRYPT" boot --config "$t/rootcrypt.conf" --cmdline "$t/cmdline" --status-dir "$t/run" \
	--device-timeout 1 --prompt-tries 0 2>"$t/err" || rc=$?
# No key stored: not one PUT reached the vault, no secret exists.
[ "$(fake_json 'sum(1 for e in log if e["method"] == "PUT")')" = 0 ] ||
	{ echo "a key was stored for a disk that cannot be encrypted"; cat "$t/err"; exit 1; }
[ "$(fake_json '"no-room-test" in j["secrets"]')" = False ]
[ "$(sha256sum <"$t/root.img")" = "$orig" ] || { echo "image modified"; exit 1; }
[ "$(state state)" = NotEncrypted ] || { cat "$t/run/status.json"; exit 1; }
state last_error | grep -q '18 MiB missing' || { cat "$t/run/status.json"; exit 1; }
state last_error | grep -q '`layout = detached`' || { cat "$t/run/status.json"; exit 1; }
grep -q 'stays unencrypted' "$t/err" || { cat "$t/err"; exit 1; }
# (no device-mapper here: the plain linear mapping that follows fails)
echo "boot rc=$rc: $(state last_error)"
