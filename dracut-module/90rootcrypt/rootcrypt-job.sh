#!/bin/sh
# initqueue job: `rootcrypt boot`, once (queued by the online hook, or run
# by the initqueue's timeout hook with --timeout when no online event came).
. /lib/dracut-lib.sh
. /usr/lib/rootcrypt/rootcrypt-lib.sh
[ -e /run/rootcrypt/started ] && exit 0
: >/run/rootcrypt/started
if [ "${1:-}" = --timeout ]; then
	if rc_net_up; then
		rc_msg "no network-online event from dracut's network module; the route is up: starting"
	else
		rc_msg "the network is not up (initqueue timeout); starting without it"
	fi
fi
RC_NET_TIMEOUT=0 rc_boot ||
	warn "rootcrypt: the root device will not appear; /run/rootcrypt/status.json says why"
