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
	. /usr/lib/rootcrypt/rootcrypt-lib.sh
	# shellcheck disable=SC2086
	hostonly='' instmods -c $RC_MODULES
	# the /boot split mounts the root and the new /boot (ext4)
	[[ -z $(rc_split_tools) ]] || hostonly='' instmods ext4
}

# The CA bundle (rootcrypt-lib.sh: rc_ca_bundle, shared with initramfs-tools).
rootcrypt_ca() {
	local ca
	. /usr/lib/rootcrypt/rootcrypt-lib.sh
	if ! ca=$(rc_ca_bundle); then
		dwarn "rootcrypt: no ca_file in /etc/rootcrypt.conf and no system CA bundle"
		return 0
	fi
	inst_simple "$ca" || dfatal "rootcrypt: CA bundle '$ca' (ca_file) missing"
	[[ $ca != "$RC_SYSTEM_CA" ]] || RC_CONFIG_ARGS=--no-cmdline rc_setting ca_file >/dev/null ||
		echo "ca_file = $RC_SYSTEM_CA" >>"$initdir/etc/rootcrypt.conf"
}

install() {
	inst_multiple rootcrypt cryptsetup cat sleep modprobe
	inst_simple /usr/lib/rootcrypt/rootcrypt-lib.sh
	. /usr/lib/rootcrypt/rootcrypt-lib.sh
	local split_tools
	split_tools=$(rc_split_tools)
	if [[ $split_tools ]]; then
		# shellcheck disable=SC2086
		inst_multiple $split_tools || dfatal "rootcrypt: e2fsprogs missing: the /boot split needs $split_tools"
		[[ ! -f /etc/mke2fs.conf ]] || inst_simple /etc/mke2fs.conf
	fi
	mkdir -p "$initdir/etc"
	[[ -f /etc/rootcrypt.conf ]] && inst_simple /etc/rootcrypt.conf
	rootcrypt_ca
	rc_record_libcryptsetup "$initdir" || dfatal "rootcrypt: cannot record libcryptsetup's version in the initramfs"
	inst_hook cmdline 90 "$moddir/parse-rootcrypt.sh"
	inst_script "$moddir/rootcrypt-job.sh" /sbin/rootcrypt-job
	dracut_need_initqueue
}
