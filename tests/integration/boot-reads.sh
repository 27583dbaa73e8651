#!/bin/sh
# One read of the root volume per boot (issue 17.3): a later `rootcrypt
# boot` of an encrypted image reads the volume's state, header and token in
# one pass (engine_status), then only the unlock check right before
# cryptsetup opens it again. Counted as the opens of the image file by the
# rootcrypt process (strace, no -f: the cryptsetup stand-in's own opens are
# not ours). Before issue 17.3 the token was looked up with a second state
# read, a partition-table re-parse and a third header read.
set -eu
command -v strace >/dev/null || { echo "strace missing"; exit 77; }
command -v cryptsetup >/dev/null || { echo "cryptsetup missing"; exit 77; }
command -v mkfs.ext4 >/dev/null || { echo "mkfs.ext4 missing"; exit 77; }
strace -o /dev/null true 2>/dev/null || { echo "strace cannot trace here"; exit 77; }
t=$(mktemp -d)
. "$(dirname "$0")/../fake/lib.sh"
trap 'fake_stop; rm -rf "$t"' EXIT INT TERM
fake_start

mkdir -p "$t/tree/etc" "$t/run"
echo hello >"$t/tree/etc/motd"
mkfs.ext4 -q -d "$t/tree" "$t/root.img" 24M
. "$(dirname "$0")/cryptsetup-stand-in.inc"
cryptsetup_stand_in "$t"
fake_boot_conf "$t/root.img" boot-reads-test "name = testroot" >"$t/rootcrypt.conf"
echo "quiet rootcrypt.name=testroot" >"$t/cmdline"
boot() { "$@" "$ROOTCRYPT_TEST" boot --config "$t/rootcrypt.conf" --cmdline "$t/cmdline" \
	--status-dir "$t/run" --device-timeout 1 --prompt-tries 0; }

boot 2>"$t/err1" || { cat "$t/err1"; exit 1; }
[ -e "$t/mapper/testroot" ] || { echo "first boot: no mapping"; exit 1; }
rm -f "$t/mapper/testroot"
# LeakSanitizer cannot run under ptrace (check-asan); the untraced first
# boot and the other tests keep the leak check
boot env ASAN_OPTIONS=detect_leaks=0 strace -qq -e trace=openat -o "$t/trace" 2>"$t/err2" || { cat "$t/err2"; exit 1; }
[ -e "$t/mapper/testroot" ] || { echo "second boot: no mapping"; cat "$t/err2"; exit 1; }
# a blkdev is one buffered and one O_DIRECT descriptor: count read passes
# as the buffered opens
opens=$(grep "\"$t/root.img\"" "$t/trace" | grep -vc O_DIRECT || :)
echo "read passes over the volume in a later boot: $opens"
# engine_status opens the image once; the unlock check (a separate reader
# by design, just before cryptsetup) once more.
[ "$opens" -le 2 ] || { echo "the boot read the volume $opens times"; grep root.img "$t/trace"; exit 1; }
