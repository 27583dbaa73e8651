#!/bin/sh
# `rootcrypt key` as operators use it: settings from a config file, binary
# key files, stdin/stdout only when asked, no overwriting, user-assigned
# identities by each selector, a denied identity's 403 verbatim, exit codes.
set -eu
t=$(mktemp -d)
. "$(dirname "$0")/../fake/lib.sh"
trap 'fake_stop; rm -rf "$t"' EXIT INT TERM
fake_start
R=$ROOTCRYPT
net="--imds $imds_url --resolve $resolve --retry-timeout 3 --retry-base-ms 50"
die() { echo "$*"; exit 1; }

"$R" key --help >/dev/null || die "--help failed"
rc=0; "$R" key >/dev/null 2>&1 || rc=$?; [ $rc = 2 ] || die "no operation: exit $rc"
rc=0; "$R" key frobnicate --key-file x >/dev/null 2>&1 || rc=$?; [ $rc = 2 ] || die "bad op: exit $rc"
rc=0; "$R" key store --no-config >/dev/null 2>&1 || rc=$?; [ $rc = 2 ] || die "no key file: exit $rc"
rc=0; "$R" key store --key-file x --retry-timeout 0 >/dev/null 2>&1 || rc=$?; [ $rc = 2 ] || die "bad timeout: exit $rc"
rc=0; "$R" key store --key-file x --config "$t/none.conf" >/dev/null 2>"$t/err" || rc=$?
[ $rc = 1 ] && grep -q "cannot read '$t/none.conf'" "$t/err" || die "missing --config: $rc $(cat "$t/err")"

# Settings from a config file (as enroll writes it), options override it.
cat >"$t/rootcrypt.conf" <<CONF
# test
vault = $vault_url
secret = from-config
ca_file = $t/fake/ca.pem
kek = $vault_url/keys/kek
kek_alg = RSA-OAEP
CONF
"$R" key store --new --key-file "$t/k1" --config "$t/rootcrypt.conf" $net >"$t/ref1" 2>"$t/err" ||
	die "store with config: $(cat "$t/err")"
grep -q '"secret_name":"from-config"' "$t/ref1" && grep -q '"kek_alg":"RSA-OAEP"' "$t/ref1" ||
	die "config not used: $(cat "$t/ref1")"
"$R" key fetch --key-file - --config "$t/rootcrypt.conf" $net >"$t/k1b" 2>"$t/err" || die "fetch to stdout"
cmp -s "$t/k1" "$t/k1b" || die "stdout fetch differs"
rc=0; "$R" key fetch --key-file "$t/k1" --config "$t/rootcrypt.conf" $net 2>"$t/err" || rc=$?
[ $rc = 1 ] && grep -q "refusing to overwrite" "$t/err" || die "overwrote a key file"
cmp -s "$t/k1" "$t/k1b" || die "existing key file changed"
rc=0; printf 'vualt = x\n' >"$t/bad.conf"; "$R" key store --key-file "$t/k1" --config "$t/bad.conf" 2>"$t/err" || rc=$?
[ $rc = 1 ] && [ "$(cat "$t/err")" = "rootcrypt: $t/bad.conf:1: unknown key 'vualt'" ] || die "bad config: $(cat "$t/err")"

# A binary key file (NUL bytes, no newline) round-trips exactly, via stdin.
head -c 64 /dev/urandom >"$t/bin"
printf '\0\0' >>"$t/bin"
"$R" key store --key-file - --no-config --vault "$vault_url" --ca-file "$t/fake/ca.pem" --secret bin $net \
	<"$t/bin" >"$t/ref2" 2>"$t/err" || die "store from stdin: $(cat "$t/err")"
"$R" key fetch --key-file "$t/bin2" --no-config --ca-file "$t/fake/ca.pem" --ref "$t/ref2" $net 2>"$t/err" ||
	die "fetch binary: $(cat "$t/err")"
cmp -s "$t/bin" "$t/bin2" || die "binary key differs"
rc=0; : >"$t/empty"; "$R" key store --key-file "$t/empty" --no-config --vault "$vault_url" $net 2>"$t/err" || rc=$?
[ $rc = 1 ] && grep -q "is empty" "$t/err" || die "empty key file accepted"

# Each user-assigned identity selector; the token request names it.
base="--no-config --vault $vault_url --ca-file $t/fake/ca.pem $net"
for sel in "--client-id 11111111-2222-3333-4444-555555555555" \
	"--object-id 66666666-7777-8888-9999-000000000000" \
	"--msi-res-id /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rootcrypt-test/providers/Microsoft.ManagedIdentity/userAssignedIdentities/rootcrypt-test"; do
	fake_ctl POST /_fake/reset >/dev/null
	# shellcheck disable=SC2086
	"$R" key store --new --key-file "$t/u.$$" $base --secret uai $sel >/dev/null 2>"$t/err" ||
		die "store with $sel: $(cat "$t/err")"
	rm -f "$t/u.$$"
	[ "$(fake_json "sorted(set(e.get('identity') for e in log if e['path'].endswith('/token')))")" = "['user']" ] ||
		die "identity not used: $sel"
done
rc=0; "$R" key store --key-file "$t/bin" $base --client-id a --object-id b 2>"$t/err" || rc=$?
[ $rc = 1 ] && grep -q "at most one of client_id" "$t/err" || die "two selectors accepted"

# An identity without access: the vault's 403 message, verbatim, one line.
fake_ctl POST /_fake/reset >/dev/null
fake_ctl POST /_fake/config '{"deny_client_ids":["11111111-2222-3333-4444-555555555555"]}' >/dev/null
rc=0
"$R" key store --new --key-file "$t/k403" $base --secret denied \
	--client-id 11111111-2222-3333-4444-555555555555 2>"$t/err" || rc=$?
[ $rc = 1 ] || die "denied identity: exit $rc"
[ "$(cat "$t/err")" = "rootcrypt: Key Vault PUT $vault_url/secrets/denied: HTTP 403 Forbidden: Forbidden: Caller is not authorized to perform action on resource. Caller: appid=11111111-2222-3333-4444-555555555555" ] ||
	die "403 message: $(cat "$t/err")"
[ ! -e "$t/k403" ] || die "key file left after failure"

# Secret name derived from the vmId when none is configured.
fake_ctl POST /_fake/reset >/dev/null
"$R" key store --new --key-file "$t/kvm" $base >"$t/refvm" 2>"$t/err" || die "store by vmId: $(cat "$t/err")"
grep -q '"secret_name":"rootcrypt-5c08b38e-4d57-4c23-ac45-aca61037f084"' "$t/refvm" || die "vmId name: $(cat "$t/refvm")"
"$R" key fetch --key-file "$t/kvm2" $base 2>"$t/err" || die "fetch by vmId: $(cat "$t/err")"
cmp -s "$t/kvm" "$t/kvm2" || die "vmId fetch differs"

# One token per process: wrap + PUT + read-back + unwrap share the cached token.
fake_ctl POST /_fake/reset >/dev/null
"$R" key store --new --key-file "$t/kc" $base --secret cached --kek "$vault_url/keys/kek" >/dev/null 2>"$t/err" ||
	die "store with kek: $(cat "$t/err")"
[ "$(fake_json "[e['path'].rsplit('/', 1)[1] for e in log]")" = \
	"['compute', 'token', 'kek', 'wrapkey', 'cached', '$(fake_json "j['secrets']['cached']['versions'][0]['version']")', 'unwrapkey']" ] ||
	die "unexpected request sequence: $(fake_json "[(e['service'], e['path']) for e in log]")"
# Tokens close to expiry (< 5 min) are not reused.
fake_ctl POST /_fake/reset >/dev/null
fake_ctl POST /_fake/config '{"token_lifetime": 200}' >/dev/null
"$R" key store --new --key-file "$t/kc2" $base --secret short --kek "$vault_url/keys/kek" >/dev/null 2>"$t/err" ||
	die "store with short tokens: $(cat "$t/err")"
[ "$(fake_json "j['tokens_issued']")" = 5 ] || die "short-lived token reused: $(fake_json "j['tokens_issued']")"
