# Test hook run inside the initramfs (POSIX sh; sourced or run by the dracut and
# initramfs-tools wrappers after the network is up). With rctest.net=1 it proves
# the guest reaches the fake IMDS at the real address and the fake vault over
# HTTPS by host name with the test CA. Lines start "RCTEST:".
T=/usr/lib/rctest
rctest_say() { echo "RCTEST:$*" >/dev/console; }
# rctest_slow SECONDS: SECONDS (idle host) times the host's slowness factor,
# rctest.slow= on the command line (a whole number; run-tests.sh's calibration)
rctest_slow() {
	_f=1
	for _a in $(cat /proc/cmdline); do
		case $_a in rctest.slow=[1-9]*) _f=${_a#rctest.slow=} ;; esac
	done
	echo $(($1 * _f))
}

rctest_net() {
	bb=$T/busybox
	url='http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net'
	# (busybox-static 1.35 wget crashes on -T: bound it with timeout instead)
	if $bb timeout "$(rctest_slow 20)" $bb wget -q -O /tmp/rctest-token.json --header 'Metadata: true' "$url" &&
		grep -q '"access_token"' /tmp/rctest-token.json; then
		rctest_say "imds-ok"
	else
		rctest_say "imds-fail"
	fi
	# No token sent: the vault's 401 challenge proves TCP, TLS, CA and name check.
	$T/rootcrypt debug-http "https://$(cat $T/vault-host)/secrets/rctest?api-version=7.4" \
		--ca-file $T/ca.pem >/tmp/rctest-vault.out 2>/tmp/rctest-vault.err
	if grep -q '^HTTP 401' /tmp/rctest-vault.err && grep -q Unauthorized /tmp/rctest-vault.out; then
		rctest_say "vault-tls-ok"
	else
		rctest_say "vault-tls-fail $(tail -n1 /tmp/rctest-vault.err)"
	fi
	# The real client: IMDS token, store a new secret, read it back by name.
	# a short budget: scenarios that take the vault down must not wait 90 s here
	set -- --vault "https://$(cat $T/vault-host)" --secret rctest-initrd --ca-file $T/ca.pem --no-config \
		--retry-timeout "$(rctest_slow 10)"
	rm -f /tmp/rctest-k1 /tmp/rctest-k2
	if $T/rootcrypt key store --new --key-file /tmp/rctest-k1 "$@" >/tmp/rctest-ref.json 2>/tmp/rctest-key.err &&
		$T/rootcrypt key fetch --key-file /tmp/rctest-k2 "$@" 2>>/tmp/rctest-key.err &&
		[ -s /tmp/rctest-k1 ] && $T/busybox cmp -s /tmp/rctest-k1 /tmp/rctest-k2; then
		rctest_say "secret-ok"
	else
		rctest_say "secret-fail $(tail -n1 /tmp/rctest-key.err)"
	fi
}

# rctest.bench=DEV: the ADE-style baseline for qemu/run-tests.sh's bench
# scenario: a LUKS2 mapping with its header in RAM over DEV, then one
# buffered `dd bs=64K` from DEV into the mapping (in place), timed; then off.
rctest_bench_dd() {
	bb=$T/busybox dev=$1 i=0
	while [ ! -b "$dev" ] && [ $i -lt "$(rctest_slow 100)" ]; do $bb sleep 0.1; i=$((i + 1)); done
	modprobe -q dm_crypt 2>/dev/null
	$bb head -c 64 /dev/urandom >/tmp/bench.key
	if cryptsetup luksFormat -q --type luks2 --header /tmp/bench.hdr --pbkdf pbkdf2 \
		--pbkdf-force-iterations 1000 --key-file /tmp/bench.key "$dev" &&
		cryptsetup open --header /tmp/bench.hdr --key-file /tmp/bench.key "$dev" rcbench; then
		t0=$($bb cut -d' ' -f1 /proc/uptime)
		$bb dd if="$dev" of=/dev/mapper/rcbench bs=64k conv=fsync 2>/tmp/bench.err
		t1=$($bb cut -d' ' -f1 /proc/uptime)
		rctest_say "bench-dd $($bb blockdev --getsize64 "$dev") bytes $t0 $t1"
		cryptsetup close rcbench
	else
		rctest_say "bench-dd-fail"
	fi
	$bb poweroff -f
}

rctest_main() {
	rctest_say "initramfs $1"
	for a in $(cat /proc/cmdline); do
		case $a in rctest.bench=*) rctest_bench_dd "${a#rctest.bench=}" ;; esac
	done
	grep -q 'rctest.net=1' /proc/cmdline && rctest_net
	return 0
}
