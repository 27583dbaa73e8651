#!/bin/sh
# initramfs-like proof: in a new network namespace the fake IMDS listens on
# the real address 169.254.169.254:80 (on lo) and the HTTPS vault on
# loopback; the static binary runs in a bare chroot (the binary, the CA
# file, /etc/hosts) with no IMDS override, reaches the vault by host name
# through --resolve, stores a KEK-wrapped key and fetches it back.
set -eu
if [ -z "${KV_IN_NETNS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "needs root for unshare/chroot"; exit 77; }
	command -v unshare >/dev/null && command -v ip >/dev/null || { echo "unshare or ip missing"; exit 77; }
	file -L "$ROOTCRYPT" | grep -q "statically linked" || { echo "binary is not static (sanitizer build)"; exit 77; }
	unshare -n true 2>/dev/null || { echo "cannot create a network namespace here"; exit 77; }
	exec unshare -n env KV_IN_NETNS=1 sh "$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
fi
t=$(mktemp -d)
. "$(dirname "$0")/../fake/lib.sh"
trap 'fake_stop; rm -rf "$t"' EXIT INT TERM
ip link set lo up
ip addr add 169.254.169.254/32 dev lo
fake_start --imds-listen 169.254.169.254:80
[ "$imds_port" = 80 ] || { echo "fake IMDS not on port 80"; exit 1; }
imds_url=http://169.254.169.254:80   # for lib.sh's control calls

root=$t/root
mkdir -p "$root/etc"
cp "$ROOTCRYPT" "$root/rootcrypt"
cp "$t/fake/ca.pem" "$root/ca.pem"
echo "127.0.0.1 localhost" >"$root/etc/hosts"
[ "$(find "$root" -type f | wc -l)" = 3 ] || { echo "bare root is not bare"; exit 1; }

opts="--no-config --ca-file /ca.pem --resolve $resolve --vault $vault_url --retry-timeout 10"
chroot "$root" /rootcrypt key store --new --key-file /key $opts --secret netns \
	--kek "$vault_url/keys/kek" --volume-uuid 0b7e2a51-9f0c-4c53-a0a4-2f7b1d1f6a10 \
	>"$t/ref" 2>"$t/err" || { echo "store in bare chroot failed:"; cat "$t/err"; exit 1; }
cp "$t/ref" "$root/ref"
chroot "$root" /rootcrypt key fetch --key-file /key2 $opts --ref /ref 2>"$t/err" ||
	{ echo "fetch in bare chroot failed:"; cat "$t/err"; exit 1; }
cmp -s "$root/key" "$root/key2" || { echo "fetched key differs"; exit 1; }
[ "$(wc -c <"$root/key")" = 43 ] || { echo "passphrase is not 43 characters"; exit 1; }
got=$(fake_json "sorted(set((e['path'], e['client']) for e in log if e['service'] == 'imds'))")
[ "$got" = "[('/metadata/identity/oauth2/token', '169.254.169.254'), ('/metadata/instance/compute', '169.254.169.254')]" ] ||
	{ echo "IMDS requests: $got"; exit 1; }
tags=$(fake_json "j['secrets']['netns']['versions'][0]['tags']")
case $tags in
*"'VmId': '5c08b38e-4d57-4c23-ac45-aca61037f084'"*"'VolumeUUID': '0b7e2a51-9f0c-4c53-a0a4-2f7b1d1f6a10'"*"'DiskEncryptionKeyEncryptionAlgorithm': 'RSA-OAEP-256'"*) ;;
*) echo "tags: $tags"; exit 1 ;;
esac
