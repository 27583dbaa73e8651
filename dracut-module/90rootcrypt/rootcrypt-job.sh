#!/bin/sh
# initqueue job: wait for a default route without blocking the queue (the job
# re-queues itself, for at most 60 s after it was first queued), then run
# `rootcrypt boot` once. Without network it still runs: a plain disk must get
# its /dev/mapper/NAME, an encrypted one its recovery prompt.
. /lib/dracut-lib.sh
. /usr/lib/rootcrypt/rootcrypt-lib.sh
[ -e /run/rootcrypt/started ] && exit 0
read -r up _ </proc/uptime
[ -s /run/rootcrypt/queued ] || echo "${up%.*}" >/run/rootcrypt/queued
read -r since </run/rootcrypt/queued
if ! rc_net_up && [ $((${up%.*} - since)) -lt 60 ]; then
	/sbin/initqueue --settled --onetime --unique --name rootcrypt /sbin/rootcrypt-job
	exit 0
fi
: >/run/rootcrypt/started
RC_NET_TIMEOUT=0 rc_boot ||
	warn "rootcrypt: the root device will not appear; /run/rootcrypt/status.json says why"
