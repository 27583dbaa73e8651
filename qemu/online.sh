#!/bin/bash
# Online mode through firmware (issue 18, src/engine/ONLINE.md "Test plan"):
# a cloud-style image (qemu/mkcloudimg.sh) with a separate ext4 /boot (p2), an
# ext4 root (p1) and 64 MiB free behind it (online's in-place layout grows the
# partition by 32 MiB), rootcrypt installed from its package and enrolled in
# the image tree with `enroll --mode online` (which enables
# rootcrypt-online.service), plus the fake vault's two settings.
# Boot 1 (first firmware): the initramfs stores the key, sets the conversion
# up with stock cryptsetup and unlocks; the system must come up while the
# status says EncryptionInProgress below 100 %; a writer in the guest
# (qemu/guest/cloud/rctest-writer) creates, overwrites and deletes files with
# known hashes for the whole background pass; the unit must finish it
# (status Encrypted) and the writer's files verify. Host side: the root
# partition's header is plain LUKS2 (no requirement, one segment, keyslot 0,
# the azure-keyvault token). Boot 2 (other firmware) must unlock it through
# GRUB, the writer's files verify. Host side: stock cryptsetup decrypts a
# copy of the partition, e2fsck -fn is clean, the writer's files in it match
# the log. Key Vault: one secret version.
# --cuts "P..." power cuts before that: "setup" stops the first boot as the
# initramfs starts the set-up; a number N stops a boot once the guest's
# progress line shows >= N % (the writer running). Every next boot must
# unlock, resume, and find the writer's files as the log allows (a cut
# between an intent and its rename may leave the older version).
# --random-cuts K: K more cuts at random points of the pass, one in each of
# K equal bands of 5..85 % (printed, so a failure can be run again with
# --cuts).
# --poweroff-at N: after the cuts, one boot shuts the guest down cleanly
# (systemctl poweroff) once the pass is at >= N %: the unit must stop at a
# safe point (the header left with no segment in reencryption) and say so,
# and the next boot resumes.
# --gen dracut: the image's initramfs comes from dracut (default
# initramfs-tools). --rate N: `online_rate = N` (MB/s) in the image's
# configuration; the pass's disk traffic (2 x the conversion's average, by
# cryptsetup's own figure and by bytes over time from the unit's progress
# lines in the journal) must not exceed it by more than 10 %, and is said to
# hold it when it is also within 10 % below.
# --layout detached: no free space behind the root; enroll puts the header
# in /boot/rootcrypt-root.luks (`--layout detached --header ...`), the whole
# partition is converted in place and never grows. The host reads the
# header from a copy of /boot after replaying its journal (a cut may leave
# the file's inode there); a set-up cut before the header file's rename
# leaves the disk plain and the next boot starts over with a new key.
# --refetch-at N: once the pass is at >= N %, the guest stops the unit,
# drops its key from root's user keyring and starts it again: the unit must
# fetch the key from the fake Key Vault over the running system's network
# (the marker's token) and finish.
# --fence-at N: once the pass is at >= N %, the guest stops the unit, makes
# dpkg's record of libcryptsetup12 say 2:2.7.2-1 (inside the 2.7.0-2.7.4
# online-reencryption bug) and starts it: the unit must refuse to resume
# (status paused, in progress); with the record restored it must finish.
# Usage: online.sh [--out DIR] [--timeout S (900)] [--first bios|uefi]
#                  [--cuts "setup N..."] [--size-mib N (1200)]
#                  [--gen initramfs-tools|dracut] [--rate N] [--poweroff-at N]
#                  [--random-cuts K] [--layout in-place|detached] [--refetch-at N]
#                  [--fence-at N]
# Exit 0 every boot as expected, 1 otherwise (the report says where).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || die "needs root"
out= timeout=900 first=bios cuts= size=1200 gen=initramfs-tools rate= poff= layout=in-place refetch= fence=
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2 ;; --timeout) timeout=$2 ;; --first) first=$2 ;; --cuts) cuts=$2 ;;
	--size-mib) size=$2 ;; --gen) gen=$2 ;; --rate) rate=$2 ;; --poweroff-at) poff=$2 ;;
	--layout) layout=$2 ;; --refetch-at) refetch=$2 ;; --fence-at) fence=$2 ;;
	--random-cuts) for i in $(seq 0 $(($2 - 1))); do
			cuts="$cuts $((5 + 80 * i / $2 + RANDOM % (80 / $2)))"
		done ;;
	*) die "online.sh: unknown option '$1'" ;;
	esac
	shift 2
done
case $layout in
in-place) free=64 layout_args= ;;
detached) free=0 layout_args="--layout detached --header /boot/rootcrypt-root.luks" ;;
*) die "online.sh: --layout in-place or detached" ;;
esac
second=$([ "$first" = bios ] && echo uefi || echo bios)
cuts=$(echo $cuts)
[ -z "$cuts" ] || echo "power cuts: $cuts"
out=${out:-$Q/online${cuts:+-cuts}${layout_args:+-detached}}
rm -rf "$out" && mkdir -p "$out"
fake_ca
fake_pid=
trap '[ -n "$fake_pid" ] && kill $fake_pid 2>/dev/null' EXIT
d=$out/online.img

cat >"$out/enroll-hook.sh" <<HOOK
set -euo pipefail
mkdir -p "\$MNT/etc/rootcrypt"
cp "$Q/fake-ca/ca.pem" "\$MNT/etc/rootcrypt/ca.pem"
img_host "$REPO/rootcrypt" enroll --root "\$MNT" --vault "https://$VAULT_HOST" --mode online $layout_args \\
	>"$out/enroll.out" 2>&1 || { cat "$out/enroll.out" >&2; exit 1; }
printf 'ca_file = /etc/rootcrypt/ca.pem\nresolve = %s:443:%s\n' "$VAULT_HOST" "$VAULT_ADDR" \\
	>>"\$MNT/etc/rootcrypt.conf"
[ -z "$poff" ] || echo "$poff" >"\$MNT/var/lib/rctest-online-poweroff-at"
[ -z "$refetch" ] || echo "$refetch" >"\$MNT/var/lib/rctest-online-refetch-at"
[ -z "$fence" ] || echo "$fence" >"\$MNT/var/lib/rctest-online-fence-at"
[ -z "$rate" ] || echo "online_rate = $rate" >>"\$MNT/etc/rootcrypt.conf"
if [ $gen = dracut ]; then
	img_chroot dracut --force --regenerate-all >"$out/generator.log" 2>&1
else
	img_chroot update-initramfs -u -k all >"$out/generator.log" 2>&1
fi
cp "\$MNT/etc/rootcrypt.conf" "$out/rootcrypt.conf"
ls -l "\$MNT/etc/systemd/system/multi-user.target.wants/" >"$out/wants.txt"
HOOK
bash "$QEMU_DIR/mkcloudimg.sh" "$d" --size-mib "$size" --boot-mib 256 --free-mib "$free" --gen "$gen" \
	--hook "bash $out/enroll-hook.sh"
# shellcheck disable=SC1090
. "$d.env"
echo "enroll said:"; sed 's/^/  /' "$out/enroll.out"
echo "/etc/rootcrypt.conf:"; sed 's/^/  /' "$out/rootcrypt.conf"
grep -q rootcrypt-online.service "$out/wants.txt" || die "enroll --mode online did not enable rootcrypt-online.service"

fake_start "$out/fake"

t_of() { sed -n "s/^\([0-9.]*\) $1.*/\1/p" "$2" | head -n1; }
report() { # NAME
	local log=$out/$1.log
	echo "$1: kernel $(t_of 'kernel started' "$log.runner")s, root $(t_of 'root up' "$log.runner")s, end $(awk '/qemu exited|timeout|quit/ { print $1 }' "$log.runner" | tail -n1)s"
	grep -aE 'RCTEST:|rootcrypt[:[]|  online(-prev)?: |grub rescue|error: |Kernel panic|ALERT|Gave up' "$log" |
		grep -av 'no suitable video mode' | tr -d '\r' | sed 's/^/    /' | tail -n 60
}
fails=0
fail() { echo "$*: FAIL"; fails=$((fails + 1)); }
bootn() { # NAME FIRMWARE [fwrun options]
	local n=$1 fw=$2 rc=0
	shift 2
	bash "$QEMU_DIR/fwrun.sh" --firmware "$fw" --disk "$d" --log "$out/$n.log" \
		--timeout "$timeout" --fake "$out/fake" --vars "$out/vars.fd" "$@" || rc=$?
	echo "$n ($fw): runner exit $rc"
	report "$n"
	return $rc
}
has() { grep -qa "^RCTEST:$2" "$out/$1.log"; }
# ge_re N: an ERE for the whole numbers N..99
ge_re() {
	local t=$(($1 / 10)) u=$(($1 % 10))
	if [ "$t" -ge 9 ]; then echo "(9[$u-9])"; else echo "($t[$u-9]|[$((t + 1))-9][0-9])"; fi
}

# passphrase: the one secret's latest value from the fake's state (absent
# before the key is stored)
passphrase() {
	python3 - "$out/fake/secrets.json" "$out/pass" <<'PY'
import base64, json, sys
d = json.load(open(sys.argv[1]))
(s,) = d.values()
open(sys.argv[2], "wb").write(base64.b64decode(s["versions"][-1]["value"]))
PY
}
# part_span N: partition N's start and size in bytes
part_span() {
	sfdisk -J "$d" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["partitiontable"]["partitions"]:
    if p["node"].endswith("'"$1"'") and not p["node"][-len("'"$1"'") - 1].isdigit():
        print(p["start"] * 512, p["size"] * 512)'
}
# header_to FILE: the LUKS2 header as the boot reads it: the root
# partition's first 16 MiB, or (detached) the header file on a copy of
# /boot with its journal replayed (after a cut the file's inode may be
# only there); FILE is absent when there is no header file
header_to() {
	local s z
	rm -f "$1"
	if [ "$layout" = detached ]; then
		read -r s z < <(part_span "$BOOT_PART")
		dd if="$d" of="$out/boot.part" bs=1M skip=$((s / 1048576)) count=$((z / 1048576)) status=none
		e2fsck -y -E journal_only "$out/boot.part" >/dev/null 2>&1 || :
		debugfs -R "dump /rootcrypt-root.luks $1" "$out/boot.part" >/dev/null 2>&1 || :
		[ -s "$1" ] || rm -f "$1"
		rm -f "$out/boot.part"
	else
		read -r s z < <(part_span "$ROOT_PART")
		dd if="$d" of="$1" bs=1M skip=$((s / 1048576)) count=16 status=none
	fi
}
# set-up cuts after which the disk was still plain and had no header: the
# next boot starts over and stores one more key version
restarts=0
# after_cut NAME: stock cryptsetup opens what the cut left with the
# passphrase (the header alone, --test-passphrase), or the partition is
# still the plain ext4 file system (a cut before cryptsetup's header landed)
after_cut() {
	local s z
	header_to "$out/cut.hdr"
	if [ -e "$out/cut.hdr" ] && cryptsetup isLuks "$out/cut.hdr"; then
		if passphrase 2>/dev/null && cryptsetup open --test-passphrase --key-file "$out/pass" "$out/cut.hdr" 2>"$out/cut.err"; then
			echo "  $1: stock cryptsetup opens the header with the passphrase ($(cryptsetup luksDump "$out/cut.hdr" | grep -i -m1 'requirements' | tr -s ' \t' ' ' || echo 'no requirement'))"
		else
			fail "$1: a LUKS2 header that stock cryptsetup does not open with the passphrase ($(cat "$out/cut.err"))"
		fi
	else
		read -r s z < <(part_span "$ROOT_PART")
		dd if="$d" of="$out/cut.head" bs=1M skip=$((s / 1048576)) count=16 status=none
		if [ "$(blkid -p -o value -s TYPE "$out/cut.head" 2>/dev/null)" = ext4 ]; then
			echo "  $1: the partition is still the plain ext4 file system${layout_args:+, no header file}"
			[ "$layout" = in-place ] || restarts=$((restarts + 1))
		else
			fail "$1: neither a LUKS2 header nor the plain file system at the root partition's start"
		fi
		rm -f "$out/cut.head"
	fi
	rm -f "$out/cut.hdr"
}

rm -f "$out/vars.fd"
fw=$first prev=
for c in $cuts; do
	rc=0
	if [ "$c" = setup ]; then
		bootn "cut-$c" "$fw" --stop-on 'setting up online encryption' || rc=$?
	else
		bootn "cut-$c" "$fw" --stop-on "RCTEST:online-progress $(ge_re "$c") " || rc=$?
	fi
	[ "$rc" = 3 ] || fail "cut-$c: the boot was not stopped where meant (runner exit $rc)"
	after_cut "cut-$c"
	# what the cut boot saw of the earlier cut: the writer's files as allowed
	if [ -n "$prev" ] && [ "$prev" != setup ] && ! has "cut-$c" writer-verify-ok; then
		fail "cut-$c: the writer's files after cut-$prev"
	fi
	prev=$c
	fw=$([ "$fw" = bios ] && echo uefi || echo bios)
done

if [ -n "$poff" ]; then
	bootn "poweroff-$poff" "$fw" || :
	header_to "$out/poff.hdr"
	cryptsetup luksDump "$out/poff.hdr" >"$out/poff.dump" 2>&1 || :
	if has "poweroff-$poff" "online-poweroff at" && grep -q 'online-reencrypt' "$out/poff.dump" &&
		! grep -q 'in-reencryption' "$out/poff.dump"; then
		echo "poweroff-$poff: clean shutdown mid-pass; the header has no segment left in reencryption"
	else
		fail "poweroff-$poff: clean shutdown mid-pass"; grep -iE 'requirement|: (crypt|linear)|flags' "$out/poff.dump" | sed 's/^/    /'
	fi
	fw=$([ "$fw" = bios ] && echo uefi || echo bios)
fi

# the boot that finishes the pass with the system up
bootn run "$fw" || :
# the first boot (in boot order) that came up with the pass unfinished
up=
for b in ${cuts:+$(printf 'cut-%s ' $cuts)} ${poff:+poweroff-$poff} run; do
	up=$(grep -a -m1 '^RCTEST:online-up' "$out/$b.log" 2>/dev/null | tr -d '\r' || :)
	[ -z "$up" ] || break
done
pct=$(echo "$up" | sed -n 's/.*percent=\([0-9]*\).*/\1/p')
if echo "$up" | grep -q 'state=EncryptionInProgress' && [ -n "$pct" ] && [ "$pct" -lt 100 ]; then
	echo "the system came up with the conversion at ${pct} % ($up)"
else
	fail "login while the conversion is below 100 % ('$up')"
fi
if [ -n "$poff" ]; then
	if grep -qaE '^  online-prev: .*(stopped by a signal|Reencryption interrupted)' "$out/run.log"; then
		echo "run: the unit had stopped at a safe point at the shutdown: $(grep -a -m1 'online-prev: .*stopped' "$out/run.log" | tr -d '\r' | sed 's/^ *online-prev: //')"
	else
		fail "run: no word from the unit that it stopped at the shutdown"
	fi
fi
if ! has run 'booted root=/dev/mapper/root' || ! has run done || has run writer-verify-fail; then
	fail "run"
elif has run 'online-end state=Encrypted' && [ "$(grep -ac '^RCTEST:writer-verify-ok' "$out/run.log")" = 2 ]; then
	echo "run: the pass finished with the system up, the writer's files verify"
elif [ -n "$cuts$poff" ] && has run 'status.*"Encrypted"' && has run writer-verify-ok; then
	# after a late cut the unit may finish what was left before the test's
	# checks are through: the pass under the writer is then the earlier boots'
	echo "run: the unit finished the rest before the writer started, the writer's files verify"
else
	fail "run"
fi

if [ -n "$refetch" ]; then
	if has run 'online-refetch key dropped' && grep -qa '^  online: .*fetching the key of volume .* from Key Vault' "$out/run.log" &&
		has run 'online-end state=Encrypted'; then
		echo "run: $(grep -a -m1 '^RCTEST:online-refetch' "$out/run.log" | tr -d '\r' | sed 's/^RCTEST://'); the unit fetched it from Key Vault and finished"
	else
		fail "run: the Key Vault fallback (--refetch-at $refetch)"
	fi
fi

if [ -n "$fence" ]; then
	if has run 'online-fence library 2:2.7.2-1 ' &&
		grep -qaE '^RCTEST:online-fence state=EncryptionInProgress .*service=.*(inactive|failed) .*last_error=paused: ' "$out/run.log" &&
		grep -qa '^  online: .*2\.7\.2.*not resuming' "$out/run.log" && has run 'online-end state=Encrypted'; then
		echo "run: $(grep -a -m1 '^RCTEST:online-fence state' "$out/run.log" | tr -d '\r' | sed 's/^RCTEST://' | cut -c1-200)"
		echo "run: with dpkg's record restored the unit resumed and finished"
	else
		fail "run: the version fence on the running system (--fence-at $fence)"
		grep -a 'online-fence\|not resuming' "$out/run.log" | tr -d '\r' | sed 's/^/    /'
	fi
fi

# The rate limit: cryptsetup's average, and bytes over time between the
# first and the last progress line of the unit in the journal (monotonic
# clock), both within 10 % of the setting.
if [ -n "$rate" ]; then
	# the setting caps the disk traffic, reads and writes counted together;
	# each converted byte is read once and written once, one after the
	# other (ONLINE.md "Rate limit"): traffic = 2 x the conversion's MB/s
	cs=$(grep -a '^RCTEST:online-progress 100 Encrypted' "$out/run.log" | tr -d '\r' | awk '{ printf "%.1f", 2 * $4 }' | tail -n1)
	jr=$(tr -d '\r' <"$out/run.log" | sed -n 's/^  online: \[ *\([0-9.]*\)\].*encrypting (online), \([0-9]*\) of .*/\1 \2/p' |
		awk 'NR == 1 { t0 = $1; b0 = $2 } { t = $1; b = $2 } END { if (t > t0) printf "%.1f\n", 2 * (b - b0) / (t - t0) / 1e6 }')
	# the cap must hold (never 10 % over it); reaching it depends on the
	# host (a busy TCG host converts below any cap): said, not failed
	if ! awk -v a="$cs" -v b="$jr" -v r="$rate" 'BEGIN { exit !(a != "" && b != "" &&
		a <= 1.1 * r && b <= 1.1 * r) }'; then
		fail "rate: online_rate = $rate MB/s exceeded: traffic by cryptsetup's average '$cs' MB/s, by the journal '$jr' MB/s"
	elif awk -v a="$cs" -v b="$jr" -v r="$rate" 'BEGIN { exit !(a >= 0.9 * r && b >= 0.9 * r) }'; then
		echo "rate: online_rate = $rate MB/s held within 10 %: traffic by cryptsetup's average $cs MB/s, by the journal $jr MB/s"
	else
		echo "rate: online_rate = $rate MB/s not exceeded; not within 10 % below it by both measures (traffic by cryptsetup's average $cs MB/s, by the journal $jr MB/s; a busy host converts below any cap)"
	fi
fi

# Host side: the root partition's header is a finished, standard LUKS2.
read -r pstart psize < <(part_span "$ROOT_PART")
header_to "$out/hdr"
cryptsetup luksDump "$out/hdr" >"$out/hdr.dump" 2>&1 || :
if grep -q azure-keyvault "$out/hdr.dump" && ! grep -qi 'requirements:.*online' "$out/hdr.dump" &&
	[ "$(grep -cE '^  [0-9]+: crypt' "$out/hdr.dump")" = 1 ] && ! grep -qE '^  [0-9]+: linear' "$out/hdr.dump"; then
	echo "host: the root header is LUKS2, no requirement, one crypt segment, the token (partition $((psize / 1048576)) MiB)"
else
	fail "host: root header"; sed 's/^/    /' "$out/hdr.dump" | head -n 60
fi

bootn unlock "$second" || :
if has unlock 'booted root=/dev/mapper/root' && has unlock 'status.*"Encrypted"' &&
	has unlock writer-verify-ok && ! has unlock online-up && has unlock done; then
	echo "unlock: unlocked through GRUB, the writer's files verify"
else
	fail "unlock"
fi

# Host side: stock cryptsetup decrypts a copy; the file system is clean and
# holds the writer's files as its log says.
passphrase
dd if="$d" of="$out/root.part" bs=1M skip=$((pstart / 1048576)) count=$((psize / 1048576)) status=none
# in place: cryptsetup moves the header out to dec.hdr first; detached:
# dec.hdr is a copy of the header file
rm -f "$out/dec.hdr"
[ "$layout" = in-place ] || cp "$out/hdr" "$out/dec.hdr"
if cryptsetup reencrypt --decrypt --header "$out/dec.hdr" --force-offline-reencrypt \
	--key-file "$out/pass" -q "$out/root.part" >"$out/decrypt.log" 2>&1 &&
	e2fsck -fn "$out/root.part" >"$out/fsck.log" 2>&1; then
	rm -rf "$out/wx" && mkdir "$out/wx"
	debugfs -R "rdump /var/lib/rctest-writer $out/wx" "$out/root.part" >/dev/null 2>&1
	bad=$(cd "$out/wx/rctest-writer" && awk '$1 == "W" && NF == 3 { c[$2] = $3 } $1 == "D" && NF == 2 { c[$2] = "-" }
		END { for (k in c) print k, c[k] }' log | while read -r n h; do
			x=-; [ -e "f/$n" ] && x=$(sha256sum <"f/$n" | cut -d' ' -f1)
			[ "$x" = "$h" ] || echo "$n"
		done)
	nf=$(ls "$out/wx/rctest-writer/f" | wc -l)
	if [ -z "$bad" ] && [ "$nf" -gt 0 ]; then
		echo "host: stock cryptsetup decrypts the root, e2fsck -fn clean, $nf writer files match the log"
	else
		fail "host: writer files in the decrypted root (bad: $bad; files $nf)"
	fi
else
	fail "host: decrypt + e2fsck"; tail -n 5 "$out/decrypt.log" "$out/fsck.log" | sed 's/^/    /'
fi
rm -f "$out/root.part"
v=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join("%s:%d" % (k, len(s["versions"])) for k, s in d.items()))' "$out/fake/secrets.json" 2>&1)
# one version, and one more for each cut that stopped the set-up before
# cryptsetup's header landed (the next boot starts over with a new key)
# (in place the boot after such a cut says it found the guard and went back
# to plain; detached the cut left no header file, after_cut counts those)
want=$((1 + restarts + $(cat "$out"/cut-*.log "$out/run.log" 2>/dev/null | grep -acE 'online set-up of volume .* was cut (before|while) cryptsetup' || :)))
case $v in
*" "* | "") fail "vault: secrets (name:versions) $v" ;;
*) if [ "${v##*:}" = "$want" ]; then echo "vault: $v (name:versions): one, plus one per set-up cut"
   else fail "vault: $v (name:versions), $want expected"; fi ;;
esac
echo "logs and disk in $out"
[ "$fails" = 0 ]
