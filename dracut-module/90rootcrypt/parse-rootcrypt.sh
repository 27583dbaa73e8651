#!/bin/sh
# cmdline hook: when rootcrypt manages a device, queue the job that runs
# `rootcrypt boot` (it re-queues itself until the network is up).
. /usr/lib/rootcrypt/rootcrypt-lib.sh
if rc_configured; then
	mkdir -p /run/rootcrypt
	: >/run/rootcrypt/queued
	/sbin/initqueue --settled --onetime --unique --name rootcrypt /sbin/rootcrypt-job
fi
