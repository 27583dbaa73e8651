#!/bin/bash
# dracut module of the QEMU test harness (added with -a rctest).
check() { return 255; }
depends() { echo network; }
install() {
	local f
	for f in /usr/lib/rctest/*; do inst_simple "$f"; done
	cat /usr/lib/rctest/hosts >>"$initdir/etc/hosts"
	inst_hook pre-mount 50 "$moddir/rctest-hook.sh"
}
