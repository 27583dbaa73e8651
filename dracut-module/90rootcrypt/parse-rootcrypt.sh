#!/bin/sh
# cmdline hook: when rootcrypt manages a device, run `rootcrypt boot` once
# the network is online: the online hook (sourced by the network module's
# setup_net job for each interface that comes up) queues the job in the
# settled queue. Not --onetime: a sourced hook's $job is the setup_net
# file, not this one; a second online event finds the job started. Without an online event
# (no network, or a network module that sends none) the initqueue's timeout
# hook runs it anyway: a plain disk must get its /dev/mapper/NAME, an
# encrypted one its recovery prompt.
. /usr/lib/rootcrypt/rootcrypt-lib.sh
if rc_configured; then
	mkdir -p /run/rootcrypt
	/sbin/initqueue --online --unique --name rootcrypt-online \
		/sbin/initqueue --settled --onetime --unique --name rootcrypt /sbin/rootcrypt-job
	/sbin/initqueue --timeout --onetime --unique --name rootcrypt-timeout \
		/sbin/rootcrypt-job --timeout
fi
