#!/bin/bash
# dracut module for rootcrypt: the static binary, its config and CA bundle,
# the shared glue (/usr/lib/rootcrypt/rootcrypt-lib.sh), and an initqueue job
# that runs `rootcrypt boot` once the network is up, so root=/dev/mapper/NAME
# appears while the initqueue waits for it.

check() {
	# Not enrolled (no /etc/rootcrypt.conf, as right after the package is
	# installed): only when asked for by name (-a rootcrypt), in host-only
	# and generic images alike, so installing the package changes no image.
	[[ -f /etc/rootcrypt.conf ]] || return 255
	require_binaries rootcrypt cryptsetup || return 1
	return 0
}

depends() {
	# network: Key Vault; dm: device-mapper udev rules (/dev/mapper/NAME).
	# Not "crypt": its udev rule would offer every LUKS volume to a
	# passphrase prompt, including the one rootcrypt unlocks.
	echo network dm
}

cmdline() {
	echo -n " rd.neednet=1"
}

installkernel() {
	hostonly='' instmods -c dm_mod dm_crypt
	hostonly='' instmods xts aesni_intel aes_generic
}

# The CA bundle named by ca_file in the config, else the system bundle (then
# the initramfs's copy of the config says so).
rootcrypt_ca() {
	local ca
	ca=$(sed -n 's/^[[:space:]]*ca_file[[:space:]]*=[[:space:]]*\(.*[^[:space:]]\)[[:space:]]*$/\1/p' \
		/etc/rootcrypt.conf 2>/dev/null | tail -n 1)
	if [[ $ca ]]; then
		inst_simple "$ca" || dfatal "rootcrypt: CA bundle '$ca' (ca_file) missing"
	elif [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
		inst_simple /etc/ssl/certs/ca-certificates.crt
		echo "ca_file = /etc/ssl/certs/ca-certificates.crt" >>"$initdir/etc/rootcrypt.conf"
	else
		dwarn "rootcrypt: no ca_file in /etc/rootcrypt.conf and no system CA bundle"
	fi
}

install() {
	inst_multiple rootcrypt cryptsetup cat sed tr tail sleep modprobe
	inst_simple /usr/lib/rootcrypt/rootcrypt-lib.sh
	mkdir -p "$initdir/etc"
	[[ -f /etc/rootcrypt.conf ]] && inst_simple /etc/rootcrypt.conf
	rootcrypt_ca
	inst_hook cmdline 90 "$moddir/parse-rootcrypt.sh"
	inst_script "$moddir/rootcrypt-job.sh" /sbin/rootcrypt-job
	dracut_need_initqueue
}
