#!/bin/sh
# Issue 16.7: the instance metadata call that only feeds tags (VmId,
# MachineName) must not cost the retry budget. Azure's guidance per
# endpoint: /metadata/instance answers 404 for "no such element" (final);
# 410/429/5xx there are retried, but an optional call gets a few attempts
# (IMDS_OPTIONAL_ATTEMPTS = 3) within a few seconds, then the store goes on.
# The token endpoint keeps its own rules (404 retried: kv-faults.sh).
# Bounds are request counts from the fake's log, never durations.
set -eu
t=$(mktemp -d)
. "$(dirname "$0")/../fake/lib.sh"
trap 'fake_stop; rm -rf "$t"' EXIT INT TERM
fake_start
# A budget of 60 s: before the fix a 503 here was retried for all of it.
common="--no-config --imds $imds_url --ca-file $t/fake/ca.pem --resolve $resolve
	--vault $vault_url --retry-timeout 60 --retry-base-ms 50"
inst='"service":"imds","path":"^/metadata/instance"'
fails=0
fail() { echo "FAIL $name: $*"; sed 's/^/    | /' "$t/err" | tail -n 8; fails=$((fails + 1)); }

# count EXPR: over the fake's log
instance_requests() { fake_json "len([e for e in log if e['path'].startswith('/metadata/instance')])"; }
all_requests() { fake_json "len([e for e in log if e['service'] in ('imds', 'vault')])"; }

# scenario NAME STATUS MAX_INSTANCE_REQUESTS
scenario() {
	name=$1
	python3 "$fake_dir/ctl.py" "$imds_url" reset "[{$inst,\"status\":$2,\"count\":100}]"
	rc=0
	# shellcheck disable=SC2086
	"$ROOTCRYPT" key store --new --key-file "$t/key.$name" $common --secret "s-$name" \
		>/dev/null 2>"$t/err" || rc=$?
	[ "$rc" = 0 ] || fail "store failed (exit $rc)"
	n=$(instance_requests)
	[ "$n" -ge 1 ] && [ "$n" -le "$3" ] || fail "$n instance metadata requests, expected 1..$3"
	# token + PUT + read-back GET besides them: nothing else retried
	total=$(all_requests)
	[ "$total" -le $((n + 3)) ] || fail "$total requests in all for $n instance requests"
	[ "$(fake_json "len(j['secrets']['s-$name']['versions'])")" = 1 ] || fail "not stored once"
	[ "$(fake_json "'VmId' in j['secrets']['s-$name']['versions'][0]['tags']")" = False ] ||
		fail "VmId tag stored although the metadata call failed"
	grep -q "storing without vmId/machine name tags" "$t/err" || fail "no warning line"
}

scenario instance-404-final 404 1
scenario instance-503-bounded 503 3
scenario instance-410-bounded 410 3
scenario instance-429-bounded 429 3

# Without a configured secret name the vmId is needed for the name: then
# the call is not optional, and a 404 (no such element) fails at once with
# one line, storing nothing.
name=instance-404-required
python3 "$fake_dir/ctl.py" "$imds_url" reset "[{$inst,\"status\":404,\"count\":100}]"
rc=0
# shellcheck disable=SC2086
"$ROOTCRYPT" key store --new --key-file "$t/key.$name" $common >/dev/null 2>"$t/err" || rc=$?
[ "$rc" = 1 ] || fail "exit $rc, expected 1"
[ "$(instance_requests)" = 1 ] || fail "$(instance_requests) instance requests, expected 1"
[ "$(fake_json "len(j['secrets'])")" = 0 ] || fail "something was stored"
tail -n1 "$t/err" | grep -q "no secret name configured and no vmId" || fail "last line: $(tail -n1 "$t/err")"

[ "$fails" = 0 ] || exit 1
