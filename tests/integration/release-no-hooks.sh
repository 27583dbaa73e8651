#!/bin/sh
# The release binary ($ROOTCRYPT, what `make deb` packages) has no test hooks
# (issue 16.4): the environment cannot choose the program that gets the
# passphrase, the /dev/mapper it checks, or inject faults, and the kernel
# command line cannot set the IMDS URL, the vault's address or the CA bundle
# (those come from /etc/rootcrypt.conf only). Each check first shows the hook
# working in the test build ($ROOTCRYPT_TEST), so a check that passes proves
# the release binary ignored it rather than the test missing it.
set -eu
. "$(dirname "$0")/engine-lib.inc"
need cryptsetup mkfs.ext4 strings
[ -n "${ROOTCRYPT_TEST:-}" ] || { echo "skip: ROOTCRYPT_TEST (the test build) not given"; exit 77; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
hooks='ROOTCRYPT_CRYPTSETUP|ROOTCRYPT_MAPPER_DIR|ROOTCRYPT_FAULT_AFTER_OPS|ROOTCRYPT_CONSOLE|ROOTCRYPT_FAULT_KILL_AFTER_FILES|ROOTCRYPT_FAULT_KILL_AT|ROOTCRYPT_KEYRING|ROOTCRYPT_LIBCS_VERSION_FILE'

# 1. The names are not in the release binary at all.
strings "$ROOTCRYPT_TEST" | grep -Eq 'ROOTCRYPT_CRYPTSETUP' ||
	die "control: the test build has no ROOTCRYPT_CRYPTSETUP (is it the test build?)"
found=$(strings "$ROOTCRYPT" | grep -E "$hooks" || :)
[ -z "$found" ] || die "release binary carries test hooks: $found"

# 2. ROOTCRYPT_FAULT_AFTER_OPS=0 fails every write in the test build; the
#    release binary converts the image.
printf 'release-no-hooks-key' >"$d/key"
printf 'a-wrong-key' >"$d/wrong"
truncate -s 40M "$d/t.img"
mkfs.ext4 -q -F -b 4096 -E nodiscard "$d/t.img" 16M
cp "$d/t.img" "$d/control.img"
if ROOTCRYPT_FAULT_AFTER_OPS=0 "$ROOTCRYPT_TEST" encrypt "$d/control.img" --key-file "$d/key" \
	2>"$d/err"; then
	die "control: ROOTCRYPT_FAULT_AFTER_OPS=0 did not fail the test build"
fi
ROOTCRYPT_FAULT_AFTER_OPS=0 "$ROOTCRYPT" encrypt "$d/t.img" --key-file "$d/key" 2>"$d/err" ||
	{ cat "$d/err"; die "release binary obeyed ROOTCRYPT_FAULT_AFTER_OPS"; }
"$ROOTCRYPT" status "$d/t.img" | grep -q encrypted || die "release: image not encrypted"

# 3. ROOTCRYPT_MAPPER_DIR with NAME in it: the test build says it exists; the
#    release binary looks in /dev/mapper only and goes on to check the key
#    (wrong here, so nothing is opened).
name=rc-nohooks-$$
mkdir "$d/mapper" && : >"$d/mapper/$name"
[ ! -e "/dev/mapper/$name" ] || die "/dev/mapper/$name exists on this host"
ROOTCRYPT_MAPPER_DIR=$d/mapper "$ROOTCRYPT_TEST" open "$d/t.img" "$name" --key-file "$d/wrong" \
	2>"$d/err" && die "control: test build opened with a wrong key"
grep -q "$d/mapper/$name\" already exists" "$d/err" || { cat "$d/err"; die "control: ROOTCRYPT_MAPPER_DIR not read"; }
ROOTCRYPT_MAPPER_DIR=$d/mapper "$ROOTCRYPT" open "$d/t.img" "$name" --key-file "$d/wrong" \
	2>"$d/err" && die "release binary opened with a wrong key"
! grep -q "$d/mapper" "$d/err" || { cat "$d/err"; die "release binary read ROOTCRYPT_MAPPER_DIR"; }
grep -q "no LUKS2 keyslot opens" "$d/err" || { cat "$d/err"; die "release: not refused for the key"; }

# 4. ROOTCRYPT_CRYPTSETUP naming a program that is not there: the test build
#    stops at once ("cryptsetup not found"); the release binary finds the
#    system's cryptsetup and goes on to the key check (wrong key: it never runs).
found=
for p in /sbin/cryptsetup /usr/sbin/cryptsetup /bin/cryptsetup /usr/bin/cryptsetup; do
	[ -x "$p" ] && found=$p
done
[ -n "$found" ] || { echo "skip: no cryptsetup in /sbin, /usr/sbin, /bin or /usr/bin"; exit 77; }
ROOTCRYPT_CRYPTSETUP=$d/no-such-program "$ROOTCRYPT_TEST" open "$d/t.img" "$name" \
	--key-file "$d/wrong" 2>"$d/err" && die "control: test build opened with a wrong key"
grep -q "cryptsetup not found" "$d/err" || { cat "$d/err"; die "control: ROOTCRYPT_CRYPTSETUP not read"; }
ROOTCRYPT_CRYPTSETUP=$d/no-such-program "$ROOTCRYPT" open "$d/t.img" "$name" \
	--key-file "$d/wrong" 2>"$d/err" && die "release binary opened with a wrong key"
grep -q "no LUKS2 keyslot opens" "$d/err" || { cat "$d/err"; die "release binary read ROOTCRYPT_CRYPTSETUP"; }

# 5. Kernel command line: rootcrypt.imds/resolve/ca_file are ignored with one
#    line each (the file's values stand); the device does not exist, so the
#    boot stops at the device wait and touches nothing.
mkdir "$d/run"
cat >"$d/conf" <<CONF
device = $d/no-such-device
vault = https://nohooks.vault.azure.net
imds = http://127.0.0.1:1
CONF
echo "quiet rootcrypt.imds=http://10.0.0.1:80 rootcrypt.resolve=x:443:10.0.0.1 rootcrypt.ca_file=/etc/x.pem" >"$d/cmdline"
"$ROOTCRYPT" boot --config "$d/conf" --cmdline "$d/cmdline" --status-dir "$d/run" \
	--device-timeout 1 --prompt-tries 0 2>"$d/err" || :
for k in imds resolve ca_file; do
	grep -q "kernel command line: 'rootcrypt.$k' .*ignored" "$d/err" ||
		{ cat "$d/err"; die "release: rootcrypt.$k on the kernel line not refused"; }
done
echo "release binary: no hook names, FAULT_AFTER_OPS/MAPPER_DIR/CRYPTSETUP ignored, kernel-line imds/resolve/ca_file refused"
