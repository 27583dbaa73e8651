# Shared by the qemu/ scripts (sourced, bash). Paths, logging, the apt mirror,
# and a chroot runner whose mounts die with it.

QEMU_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$QEMU_DIR/.." && pwd)
CACHE=${ROOTCRYPT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rootcrypt}
Q=${ROOTCRYPT_QEMU_CACHE:-$CACHE/qemu}   # separate knob: lets a cold-cache run keep the curl build
SUITE=bookworm
FLAVOURS="initramfs-tools dracut"
# Guest-side addresses (slirp net 169.254.169.0/24): the real IMDS address, and
# the fake vault's HTTPS host name, put into the initramfs's /etc/hosts.
IMDS_ADDR=169.254.169.254
VAULT_ADDR=169.254.169.253
VAULT_HOST=rootcrypt-test.vault.azure.net

log() { printf 'qemu: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The Debian mirror apt already uses for this release (never a hard-coded host).
mirror() {
	apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Created-By: Packages' |
		awk -v s="$SUITE" '$2 == s { print $1; exit }'
}

# Kernel version apt resolves for linux-image-cloud-amd64 today.
cloud_kver() {
	apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\(.*-cloud-amd64\)$/\1/p' | head -n1
}

# fake_start DIR: the fake IMDS + Key Vault (tests/fake) with a fresh state
# in DIR and the cached test CA, log in DIR.log; sets fake_pid (the caller's
# EXIT trap stops it).
fake_start() {
	local i=0
	rm -rf "$1" && mkdir -p "$1"
	cp "$Q/fake-ca/ca.pem" "$Q/fake-ca/ca.key" "$1/"
	python3 "$REPO/tests/fake/fake_azure.py" --state-dir "$1" 2>"$1.log" &
	fake_pid=$!
	while [ ! -s "$1/ports.json" ]; do
		i=$((i + 1)); [ $i -lt "$(($(scaled 30) * 10))" ] || die "fake_azure.py did not start"
		sleep 0.1
	done
}

# guest_enroll DIR ENROLL-ARGS...: reboot-triggered encryption as a user does
# it on the running VM. Writes DIR/rctest-enroll.sh, which the image's
# rctest-cloud runs once on a plain boot, and DIR/rctest-ca.pem (give both to
# mkcloudimg.sh --add FILE:/var/lib): the fake vault's CA and the two
# settings enroll has no option for (ca_file, resolve; enroll keeps lines it
# does not set), then `rootcrypt enroll ENROLL-ARGS`.
guest_enroll() {
	local dir=$1; shift
	cp "$Q/fake-ca/ca.pem" "$dir/rctest-ca.pem"
	cat >"$dir/rctest-enroll.sh" <<ENROLL
mkdir -p /etc/rootcrypt
cp /var/lib/rctest-ca.pem /etc/rootcrypt/ca.pem
printf 'ca_file = /etc/rootcrypt/ca.pem\nresolve = %s:443:%s\n' "$VAULT_HOST" "$VAULT_ADDR" >/etc/rootcrypt.conf
rootcrypt enroll $*
cat /etc/rootcrypt.conf
ENROLL
}

# The kernel-update scenario's second kernel: the newest signed cloud kernel
# package apt knows, when it sorts after the cached one (GRUB's default entry
# is the newest version, as after a real upgrade). Prints nothing otherwise.
update_kver() {
	local k
	k=$(apt-cache pkgnames linux-image- 2>/dev/null |
		sed -n 's/^linux-image-\([0-9]*\.[0-9]*\.[0-9][^ ]*-cloud-amd64\)$/\1/p' | sort -V | tail -n1)
	[ -n "$k" ] && [ "$k" != "$(cloud_kver)" ] &&
		[ "$(printf '%s\n%s\n' "$k" "$(cloud_kver)" | sort -V | tail -n1)" = "$k" ] && echo "$k"
}

# update_kernel_deb: the second kernel's package, downloaded once into the
# cache; prints its path.
update_kernel_deb() {
	local k d
	k=$(update_kver)
	[ -n "$k" ] || die "apt knows no cloud kernel newer than $(cloud_kver) (needed for the kernel update)"
	d=$Q/kernel-update/$k
	if [ ! -f "$d/.done" ]; then
		log "kernel package $k (the update): download"
		rm -rf "$d" && mkdir -p "$d"
		(cd "$d" && apt-get download -q -o APT::Sandbox::User=root "linux-image-$k" >&2)
		touch "$d/.done"
	fi
	ls "$d"/linux-image-*.deb
}

# in_chroot ROOT CMD...: run CMD in ROOT with /proc, /sys and /dev mounted in a
# private mount namespace, so nothing stays mounted if we die half-way.
in_chroot() {
	local root=$1; shift
	unshare --mount --propagation private -- sh -ec '
		r=$1; shift
		mount -t proc proc "$r/proc"
		mount -t sysfs sys "$r/sys"
		mount --rbind /dev "$r/dev"
		exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
			DEBIAN_FRONTEND=noninteractive chroot "$r" "$@"' sh "$root" "$@"
}

# The fake's test CA is made once and kept, so initramfs images built with it
# stay valid; each run copies it into a fresh state dir.
fake_ca() {
	local d=$Q/fake-ca
	[ -s "$d/ca.pem" ] && [ -s "$d/ca.key" ] && return 0
	log "creating the fake's test CA in $d"
	mkdir -p "$d"
	python3 "$REPO/tests/fake/fake_azure.py" --state-dir "$d" 2>"$d/fake.err" &
	local pid=$! i=0
	while [ ! -s "$d/ports.json" ]; do
		i=$((i + 1)); [ $i -lt "$(($(scaled 30) * 10))" ] || { kill $pid; die "fake_azure.py did not start"; }
		sleep 0.1
	done
	kill $pid; wait $pid 2>/dev/null || :
}

# --- how slow this host is right now (issue 19) -------------------------------
# Every wait of the suite is written as the seconds it needs on an idle 2-core
# TCG host with a margin, and goes through scaled(): run-tests.sh boots a plain
# guest first, RCTEST_SLOW = that boot's time / RCTEST_REF_BOOT (never below
# 1, never above RCTEST_SLOW_MAX), exported to run.sh and (rounded up, as
# rctest.slow=) to the guest. The ceilings keep a hang a failure: no wait is
# longer than RCTEST_SLOW_MAX times its idle figure, nor than RCTEST_CEIL
# seconds (unless its idle figure already is).
RCTEST_REF_BOOT=${RCTEST_REF_BOOT:-10}   # s: plain initramfs-tools boot, idle 2-core host, no KVM (measured 9.5 and 9.9 s, 2026-12-03)
RCTEST_SLOW_MAX=${RCTEST_SLOW_MAX:-5}
RCTEST_CEIL=${RCTEST_CEIL:-2400}         # s: no single wait is longer
# scaled SECONDS: SECONDS (idle host) scaled for this host, whole seconds
scaled() {
	awk -v s="$1" -v f="${RCTEST_SLOW:-1}" -v m="$RCTEST_SLOW_MAX" -v c="$RCTEST_CEIL" 'BEGIN {
		if (f < 1) f = 1; if (f > m) f = m
		t = s * f; if (t > c) t = (s > c ? s : c)
		printf "%d\n", (t == int(t)) ? t : int(t) + 1 }'
}
# slow_factor SECONDS: the factor a plain boot of SECONDS gives (1 decimal, clamped)
slow_factor() {
	awk -v t="$1" -v r="$RCTEST_REF_BOOT" -v m="$RCTEST_SLOW_MAX" 'BEGIN {
		f = t / r; if (f < 1) f = 1; if (f > m) f = m
		f = int(f * 10 + 0.999) / 10; printf "%.1f\n", f }'
}
# slow_int: the factor rounded up to a whole number (for the guest's sh)
slow_int() { awk -v f="${RCTEST_SLOW:-1}" 'BEGIN { printf "%d\n", (f == int(f)) ? f : int(f) + 1 }'; }

# --- a guest kernel that hangs in its own start-up (issue 19) -------------------
# Under TCG the guest kernel very rarely stops for good before it runs the
# initramfs: CI saw one SeaBIOS boot print "pnp: PnP ACPI: found 5 devices" at
# 1.5 s and nothing more for 900 s. Nothing of the product has run by then and
# the kernel has not written the disk (only GRUB may have rewritten its
# grubenv block, as on every boot), so the runners restart such a guest once
# (RCTEST_STALL_RETRIED marks the second attempt) instead of failing a test on
# an emulator hang; the first attempt's log is kept as LOG.stall1.
# RCTEST_STALL_S overrides the silence that counts as a stall (60 s, scaled).
# kernel_stalled LOG SILENT_S: the kernel has started, nothing shows it ran
# /init (the kernel's own line, or any line of rootcrypt or the test guest),
# and the console has been silent for SILENT_S seconds.
kernel_stalled() {
	grep -qa 'Linux version' "$1" && ! past_init "$1" &&
		[ $(($(date +%s) - $(stat -c %Y "$1"))) -ge "$2" ]
}
# dead_end LOG: the guest waits at a prompt nobody here answers (systemd's
# emergency or maintenance shell, initramfs-tools' or dracut's shell, GRUB's
# rescue prompt). Waiting out the timeout from there only costs CI its hour.
dead_end() {
	grep -qaE 'Give root password for maintenance|Press Enter for maintenance|You are in emergency mode|^\(initramfs\) |dracut:/# |grub rescue>' "$1"
}
# console_tail LOG [N]: the last N (25) non-empty console lines, indented, on
# stderr: what a failed boot showed last, in the test output itself.
console_tail() {
	echo "    --- last ${2:-25} lines of the serial console, $1:" >&2
	tr -d '\r' <"$1" | grep -a . | tail -n "${2:-25}" | cut -c1-200 | sed 's/^/    | /' >&2
}
past_init() { grep -qaE 'Run /init as init process|Freeing unused kernel|rootcrypt|RCTEST' "$1"; }
# kernel_died_early LOG: the kernel panicked before it ran /init (the same
# emulator class: "IO-APIC + timer doesn't work!" when the vCPU is starved;
# the test kernels boot with no_timer_check against that one).
kernel_died_early() { grep -qa 'Kernel panic' "$1" && ! past_init "$1"; }
# stall_restart RUNNER LOG WHAT ARGS...: keep the failed attempt's log and
# start the runner again (once); prints why on stderr so the test output
# shows it.
stall_restart() {
	local runner=$1 log=$2 what=$3; shift 3
	cp "$log" "$log.stall1"; cp "$log.runner" "$log.stall1.runner"
	local last; last=$(tr -d '\r' <"$log" | grep -a . | tail -n1)   # (run.sh has its own cut())
	echo "$(basename "$runner"): the guest kernel $what before /init (last line: ${last:0:100}); restarting it once, first log in $log.stall1" >&2
	RCTEST_STALL_RETRIED=1 exec bash "$runner" "$@"
}
