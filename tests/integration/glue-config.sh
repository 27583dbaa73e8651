#!/bin/sh
# The shell glue reads settings through `rootcrypt config get` (issue 17.7):
# the file's quotes and the kernel's quoting rules are config.c's, in
# BusyBox ash and dash alike. The old sed reader returned "root" with its
# quotes, and split a quoted kernel parameter at its space.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT INT TERM
printf 'device = PARTUUID=abcd\nname = "root"\n# ca_file = /nowhere\nretry_timeout = 30\n' >"$t/conf"
printf 'quiet rootcrypt.vault="https://v.vault.azure.net" rootcrypt.header="/boot/a b.img" -- rootcrypt.name=init\n' \
	>"$t/cmdline"
printf 'bogus = 1\n' >"$t/bad"
shells=
for sh in "busybox ash" dash; do
	${sh%% *} --help >/dev/null 2>&1 || command -v "${sh%% *}" >/dev/null || continue
	shells="$shells${shells:+,}$sh"
	out=$($sh -c '
		. "$2/hook/rootcrypt-lib.sh"; RC_BIN=$1
		RC_CONFIG_ARGS="--file $3/conf --cmdline $3/cmdline"
		echo "name=$(rc_setting name)"
		echo "vault=$(rc_setting vault)"
		echo "header=$(rc_setting header)"
		echo "retry=$(rc_setting retry_timeout)"
		echo "ca=$(rc_setting ca_file)"
		rc_configured && echo configured
		RC_CONFIG_ARGS="--file $3/bad --no-cmdline"
		rc_configured && echo "invalid counts as configured"
		RC_CONFIG_ARGS="--file $3/none --no-cmdline"
		rc_configured || echo "no file: not configured"
		RC_CONFIG_ARGS="--file $3/conf --no-cmdline"
		echo "ca-bundle=$(RC_SYSTEM_CA=$3/none rc_ca_bundle || echo none)"
	' sh "$ROOTCRYPT" "$here" "$t")
	want="name=root
vault=https://v.vault.azure.net
header=/boot/a b.img
retry=30
ca=
configured
invalid counts as configured
no file: not configured
ca-bundle=none"
	[ "$out" = "$want" ] || { echo "$sh gave:"; echo "$out"; exit 1; }
done
[ -n "$shells" ] || { echo "neither busybox nor dash"; exit 77; }
echo "settings through rootcrypt config get in: $shells"
