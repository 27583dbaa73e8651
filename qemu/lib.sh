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
		i=$((i + 1)); [ $i -lt 300 ] || { kill $pid; die "fake_azure.py did not start"; }
		sleep 0.1
	done
	kill $pid; wait $pid 2>/dev/null || :
}
