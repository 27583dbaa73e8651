#!/bin/sh
# dracut pre-mount hook of the QEMU test harness: with rd.neednet=1 the
# initqueue has brought the network up by now; wait a little for an address
# (30 s on an idle host, times rctest.slow=).
. /usr/lib/rctest/rctest-initrd.sh
if grep -q 'rctest.net=1' /proc/cmdline; then
	i=0 n=$(rctest_slow 30)
	while [ $i -lt "$n" ] && ! ip -4 addr show | grep -q 'inet 169\.254\.169\.'; do
		sleep 1; i=$((i + 1))
	done
fi
rctest_main dracut
