# rootcrypt boot glue shared by the dracut module and the initramfs-tools
# script (sourced; POSIX sh: BusyBox ash and dash both run it, one bashism
# can stop a boot). The caller brings the network up its own way (dracut:
# rd.neednet=1 ip=dhcp; initramfs-tools: configure_networking); this file
# waits for it, makes name resolution work, and runs `rootcrypt boot`, which
# leaves /dev/mapper/NAME for root= in every outcome it reports as success
# (an encrypted volume unlocked, or a disk left plain behind a linear map).

RC_BIN=/usr/sbin/rootcrypt
RC_RUN=/run/rootcrypt

rc_msg() { echo "rootcrypt: $*" >/dev/console 2>/dev/null || echo "rootcrypt: $*" >&2; }

# rc_setting KEY: the effective setting, rootcrypt.KEY= from the kernel
# command line else "KEY = value" from the file, as rootcrypt itself reads
# them (one parser: the file's quotes, the kernel's quoting rules). Empty
# when not set. RC_CONFIG_ARGS: more options of `rootcrypt config get`
# (--no-cmdline at initramfs build time; --file/--cmdline in tests).
# shellcheck disable=SC2086
rc_setting() { "$RC_BIN" config get ${RC_CONFIG_ARGS:-} "$1" 2>/dev/null; }

# rc_configured: a device to manage is named, or the configuration is
# invalid (exit 3: then `rootcrypt boot` runs anyway, to say why); else
# rootcrypt stays out of the boot.
rc_configured() {
	# shellcheck disable=SC2086
	"$RC_BIN" config get ${RC_CONFIG_ARGS:-} device >/dev/null 2>&1
	case $? in 0 | 3) return 0 ;; *) return 1 ;; esac
}

# rc_device_path SPEC: the /dev path a UUID=/PARTUUID=/LABEL=/PARTLABEL= spec names.
rc_device_path() {
	case $1 in
	UUID=*) echo "/dev/disk/by-uuid/${1#UUID=}" ;;
	PARTUUID=*) echo "/dev/disk/by-partuuid/$(echo "${1#PARTUUID=}" | tr 'A-F' 'a-f')" ;;
	LABEL=*) echo "/dev/disk/by-label/${1#LABEL=}" ;;
	PARTLABEL=*) echo "/dev/disk/by-partlabel/${1#PARTLABEL=}" ;;
	*) echo "$1" ;;
	esac
}

# rc_wait_device SPEC SECONDS: wait until udev has made the device node.
rc_wait_device() {
	_p=$(rc_device_path "$1") _i=0
	while [ ! -b "$_p" ]; do
		[ "$_i" -ge "$(($2 * 2))" ] && { rc_msg "device \"$1\" did not appear in $2 s"; return 1; }
		[ "$_i" = 0 ] && command -v udevadm >/dev/null && udevadm settle --timeout=5 2>/dev/null
		sleep 0.5
		_i=$((_i + 1))
	done
}

# rc_net_up: an IPv4 default route exists (read from /proc: no tools needed).
rc_net_up() {
	while read -r _if _dst _rest; do
		[ "$_dst" = 00000000 ] && return 0
	done </proc/net/route
	return 1
}

# rc_wait_net SECONDS: wait for rc_net_up; returns 1 on timeout.
rc_wait_net() {
	_i=0
	until rc_net_up; do
		[ "$_i" -ge "$(($1 * 2))" ] && return 1
		sleep 0.5
		_i=$((_i + 1))
	done
}

# rc_ensure_resolver: /etc/resolv.conf from the DHCP results when the network
# layer did not write one (initramfs-tools keeps them in /run/net-*.conf), and
# an nsswitch.conf that reads /etc/hosts first (glibc's default without the
# file asks DNS first and stops at its NXDOMAIN).
rc_ensure_resolver() {
	if [ ! -s /etc/resolv.conf ]; then
		for _f in /run/net-*.conf /tmp/net-*.conf; do
			[ -r "$_f" ] || continue
			# shellcheck disable=SC1090
			( . "$_f"
			  for _d in ${IPV4DNS0:-} ${IPV4DNS1:-}; do
				[ "$_d" = 0.0.0.0 ] || echo "nameserver $_d"
			  done
			  [ -n "${DNSDOMAIN:-}" ] && echo "search $DNSDOMAIN" ) >>/etc/resolv.conf
		done
	fi
	[ -e /etc/nsswitch.conf ] || echo "hosts: files dns" >/etc/nsswitch.conf
}

# rc_load_modules: device-mapper for the unlock or the plain linear map.
rc_load_modules() {
	for _m in dm_mod dm_crypt; do modprobe -q "$_m" 2>/dev/null || :; done
}

# rc_boot: the whole flow. Returns rootcrypt's exit code; 0 means
# /dev/mapper/NAME is there for root=.
rc_boot() {
	_name=$(rc_setting name); _name=${_name:-root}
	_dev=$(rc_setting device)
	mkdir -p "$RC_RUN"
	if [ -b "/dev/mapper/$_name" ]; then
		rc_msg "/dev/mapper/$_name already exists, nothing to do"
		return 0
	fi
	rc_load_modules
	[ -z "$_dev" ] || rc_wait_device "$_dev" 60 || :   # rootcrypt boot waits and reports too
	if ! rc_wait_net "${RC_NET_TIMEOUT:-60}"; then
		rc_msg "no network (no default route) after ${RC_NET_TIMEOUT:-60} s; trying anyway"
	fi
	rc_ensure_resolver
	rc_msg "starting on \"$_dev\" -> /dev/mapper/$_name"
	# Progress lines go to the console; the recovery prompt reads it.
	"$RC_BIN" boot </dev/console >/dev/console 2>&1
	_rc=$?
	if [ "$_rc" = 0 ] && [ -b "/dev/mapper/$_name" ]; then
		rc_msg "/dev/mapper/$_name ready"
	elif [ "$_rc" = 0 ]; then
		rc_msg "rootcrypt boot succeeded but /dev/mapper/$_name is missing"
		_rc=1
	else
		rc_msg "rootcrypt boot failed (exit $_rc); see $RC_RUN/status.json"
	fi
	echo "$_rc" >"$RC_RUN/boot-exit"
	return "$_rc"
}

# --- initramfs build time (both generators' hooks) ---------------------------
# Kernel modules the boot needs: device-mapper and the cipher.
RC_MODULES="dm_mod dm_crypt xts aesni_intel aes_generic"
RC_SYSTEM_CA=/etc/ssl/certs/ca-certificates.crt

# rc_ca_bundle: the CA bundle the initramfs needs: ca_file from the host's
# configuration, else the system bundle (then the caller also appends
# "ca_file = $RC_SYSTEM_CA" to the initramfs's copy of the configuration).
# Prints the path; fails when there is neither.
rc_ca_bundle() {
	RC_CONFIG_ARGS=--no-cmdline rc_setting ca_file && return 0
	[ -f "$RC_SYSTEM_CA" ] && echo "$RC_SYSTEM_CA"
}

# rc_record_libcryptsetup ROOT: libcryptsetup12's package version (dpkg)
# into ROOT$RC_LIBCS_VERSION, which `rootcrypt boot` reads for online mode's
# version fence (src/engine/ONLINE.md "Version fence": the library, not
# only the cryptsetup binary, has the 2.7.0-2.7.4 bug). No dpkg-query or no
# such package: nothing is written (the boot then checks the binary only).
# Fails only when the file cannot be written.
RC_LIBCS_VERSION=/etc/rootcrypt/libcryptsetup.version
rc_record_libcryptsetup() {
	command -v dpkg-query >/dev/null 2>&1 || return 0
	# one line: co-installed multiarch copies print one version each
	_v=$(dpkg-query -W -f='${Version}\n' libcryptsetup12 2>/dev/null | { read -r _l; echo "$_l"; })
	[ -n "$_v" ] || return 0
	mkdir -p "$1${RC_LIBCS_VERSION%/*}" && echo "$_v" >"$1$RC_LIBCS_VERSION"
}

# rc_split_tools: the e2fsprogs the first boot's /boot split runs (BOOT.md:
# e2fsck, resize2fs, mke2fs), when enroll configured a split; nothing else.
rc_split_tools() {
	RC_CONFIG_ARGS=--no-cmdline rc_setting boot_split_uuid >/dev/null || return 0
	echo "e2fsck resize2fs mke2fs"
}
