#!/bin/sh
# Key service against the fake Azure with injected faults. Each scenario
# asserts its exact outcome: exit status, the last stderr line for failures,
# time within the retry budget, every injected fault really fired, the
# number of secret versions in the vault (nothing stored twice, nothing
# lost), and that the key read back later equals the key file. At the end,
# all output (run with -v) is searched for every passphrase, token and
# stored value: none may appear.
# KV_SCENARIO_LOG=FILE appends "name outcome ms" lines (for the issue table).
set -eu
t=$(mktemp -d)
. "$(dirname "$0")/../fake/lib.sh"
trap 'fake_stop; rm -rf "$t"' EXIT INT TERM
fake_start

budget=3
common="--no-config -v --imds $imds_url --ca-file $t/fake/ca.pem --resolve $resolve
	--vault $vault_url --retry-timeout $budget --retry-base-ms 50 --request-timeout-ms 1000"
n=0 fails=0
: >"$t/secrets.txt"
now_ms() { date +%s%3N; }

fail() { echo "FAIL $name: $*"; sed 's/^/    | /' "$t/err.$n" | tail -n 12; fails=$((fails + 1)); }

# check NAME EXPECT(ok|fail) VERSIONS MESSAGE RC ELAPSED_MS (uses $secret, $key, $op)
check() {
	set -- "$@" $(python3 "$fake_dir/ctl.py" "$imds_url" check "$secret" "$t/secrets.txt")
	versions=$7 fired=$8
	[ -s "$key" ] && { cat "$key"; echo; } >>"$t/secrets.txt"
	last=$(grep -v '^rootcrypt: debug: ' "$t/err.$n" | tail -n1)
	ok=1
	if [ "$2" = ok ]; then
		[ "$5" = 0 ] || { fail "exit $5, expected success"; ok=0; }
	else
		[ "$5" = 1 ] || { fail "exit $5, expected failure"; ok=0; }
		case $last in
		"rootcrypt: "*"$4"*) ;;
		*) fail "last line is not '...$4...': $last"; ok=0 ;;
		esac
	fi
	[ "$versions" = "$3" ] || { fail "$versions versions stored, expected $3"; ok=0; }
	[ "$fired" = ok ] || { fail "faults not all fired: $fired"; ok=0; }
	[ "$6" -le $((budget * 1000 + 1500)) ] || { fail "took $6 ms, budget ${budget}s"; ok=0; }
	if [ $ok = 1 ] && [ "$2" = ok ] && [ "$op" = store ]; then
		# The key really is in the vault: read it back without faults.
		"$ROOTCRYPT" key fetch --key-file "$t/back.$n" $common --secret "$secret" 2>>"$t/err.$n" ||
			{ fail "fetch after store failed"; ok=0; }
		cmp -s "$key" "$t/back.$n" || { fail "fetched key differs"; ok=0; }
	fi
	if [ "$2" = fail ] && [ "$op" = store ] && [ -e "$key" ]; then
		fail "key file left behind after a failed store"; ok=0
	fi
	[ $ok = 1 ] && [ -n "${KV_SCENARIO_LOG:-}" ] &&
		echo "$name $2 $6ms versions=$versions${4:+ | $last}" >>"$KV_SCENARIO_LOG"
	return 0
}

# store NAME FAULTS EXPECT VERSIONS MESSAGE [extra args]: `key store --new`
store() {
	name=$1 faults=$2 expect=$3 vers=$4 msg=$5 op=store
	shift 5
	n=$((n + 1)) secret=sc$n key=$t/key.$n
	python3 "$fake_dir/ctl.py" "$imds_url" reset "$faults"
	start=$(now_ms)
	rc=0
	# shellcheck disable=SC2086
	"$ROOTCRYPT" key store --new --key-file "$key" $common --secret "$secret" "$@" \
		>"$t/out.$n" 2>"$t/err.$n" || rc=$?
	check "$name" "$expect" "$vers" "$msg" "$rc" $(($(now_ms) - start))
}

# fetch NAME FAULTS EXPECT MESSAGE [extra store args]: store cleanly, then
# `key fetch` under the faults.
fetch() {
	name=$1 faults=$2 expect=$3 msg=$4 op=fetch
	shift 4
	n=$((n + 1)) secret=sc$n key=$t/key.$n
	python3 "$fake_dir/ctl.py" "$imds_url" reset
	# shellcheck disable=SC2086
	"$ROOTCRYPT" key store --new --key-file "$key" $common --secret "$secret" "$@" \
		>"$t/ref.$n" 2>"$t/err.$n" || { fail "setup store failed"; return 0; }
	[ -z "$faults" ] || fake_ctl POST /_fake/faults "$faults" >/dev/null
	start=$(now_ms)
	rc=0
	# shellcheck disable=SC2086
	"$ROOTCRYPT" key fetch --key-file "$t/got.$n" $common --ref "$t/ref.$n" \
		>"$t/out.$n" 2>>"$t/err.$n" || rc=$?
	check "$name" "$expect" 1 "$msg" "$rc" $(($(now_ms) - start))
	if [ "$expect" = ok ]; then
		cmp -s "$key" "$t/got.$n" || fail "fetched key differs"
	else
		[ ! -e "$t/got.$n" ] || fail "key file left behind after a failed fetch"
	fi
}

kek="--kek $vault_url/keys/kek"
tok='"service":"imds","path":"/oauth2/token"'

# --- IMDS: retried and succeeded ---
store imds-404-retried "[{$tok,\"status\":404}]" ok 1 ""
store imds-410-twice-retried "[{$tok,\"status\":410,\"count\":2}]" ok 1 ""
store imds-429-retry-after "[{$tok,\"status\":429,\"retry_after\":\"1\"}]" ok 1 ""
store imds-500-503-retried "[{$tok,\"status\":500},{$tok,\"status\":503}]" ok 1 ""
store imds-reset-retried "[{$tok,\"action\":\"reset\"}]" ok 1 ""
store imds-timeout-retried "[{$tok,\"delay\":2}]" ok 1 ""
store imds-malformed-json-retried "[{$tok,\"action\":\"malformed\"}]" ok 1 ""
store imds-html-content-type-retried "[{$tok,\"action\":\"content_type\"}]" ok 1 ""
store imds-truncated-retried "[{$tok,\"action\":\"truncate\"}]" ok 1 ""
store imds-instance-410-retried '[{"service":"imds","path":"/metadata/instance","status":410}]' ok 1 ""
# --- IMDS: final or out of budget ---
store imds-503-budget-exhausted "[{$tok,\"status\":503,\"count\":100}]" fail 0 \
	"s: HTTP 503: service_unavailable: IMDS service unavailable"
store imds-unknown-identity-final "" fail 0 \
	"IMDS token: HTTP 400: invalid_request: Identity not found" --client-id 00000000-0000-0000-0000-00000000dead
store imds-huge-reply-final "[{$tok,\"action\":\"huge\"}]" fail 0 "reply larger than 65536 bytes"
store imds-429-retry-after-beyond-budget "[{$tok,\"status\":429,\"retry_after\":\"60\"}]" fail 0 \
	"IMDS token: gave up after 0 retries"
store imds-user-assigned-identity "" ok 1 "" --client-id 11111111-2222-3333-4444-555555555555

# --- Key Vault: retried (and, for writes, never stored twice) ---
put='"service":"vault","method":"PUT"'
get='"service":"vault","method":"GET","path":"^/secrets/"'
store kv-401-challenge-new-token "[{$put,\"status\":401}]" ok 1 ""
store kv-401-scope-challenge "[{$put,\"status\":401,\"headers\":{\"WWW-Authenticate\":\"Bearer authorization_uri=\\\"https://login.microsoftonline.com/t\\\", scope=\\\"https://vault.azure.net/.default\\\"\"}}]" ok 1 ""
store kv-401-foreign-resource-refused "[{$put,\"status\":401,\"headers\":{\"WWW-Authenticate\":\"Bearer authorization=\\\"https://login.microsoftonline.com/t\\\", resource=\\\"https://management.azure.com\\\"\"}}]" fail 0 \
	"challenge asks for a token for 'https://management.azure.com', which is not rootcrypt-test.vault.azure.net's domain; refusing"
store kv-expired-token-refreshed "[{$put,\"action\":\"expire_token\"}]" ok 1 ""
store kv-429-retry-after "[{$put,\"status\":429,\"retry_after\":\"1\"}]" ok 1 ""
store kv-500-before-write-retried "[{$put,\"status\":500}]" ok 1 ""
store kv-503-after-write-adopted "[{$put,\"status\":503,\"after\":true}]" ok 1 ""
store kv-reset-after-write-adopted "[{$put,\"action\":\"reset\",\"after\":true}]" ok 1 ""
store kv-truncated-put-reply-adopted "[{$put,\"action\":\"truncate\"}]" ok 1 ""
store kv-html-put-reply-retried "[{$put,\"action\":\"content_type\"}]" ok 1 ""
store kv-readback-malformed-retried "[{$get,\"action\":\"malformed\"}]" ok 1 ""
store kv-readback-timeout-retried "[{$get,\"delay\":2}]" ok 1 ""
store kv-wrapkey-503-retried "[{\"service\":\"vault\",\"path\":\"/wrapkey\$\",\"status\":503,\"count\":2}]" ok 1 "" $kek
store kv-wrapped-rsa-oaep "" ok 1 "" $kek --kek-alg RSA-OAEP
fetch kv-unwrap-reset-retried '[{"service":"vault","path":"/unwrapkey$","action":"reset"}]' ok "" $kek
fetch kv-fetch-500-retried "[{$get,\"status\":500,\"count\":2}]" ok ""

# --- Key Vault: final, one line, verbatim ---
store kv-401-twice-final "[{$put,\"status\":401,\"count\":2}]" fail 0 \
	"HTTP 401 Unauthorized: Unauthorized: AKV10000: Request is missing a Bearer or PoP token."
store kv-403-final "[{$put,\"status\":403}]" fail 0 \
	"HTTP 403 Forbidden: Forbidden: Caller is not authorized to perform action on resource."
store kv-429-beyond-budget "[{$put,\"status\":429,\"retry_after\":\"30\"}]" fail 0 \
	"gave up after 0 retries in 0."
store kv-503-budget-exhausted "[{$put,\"status\":503,\"count\":100}]" fail 0 \
	"s: HTTP 503 Service Unavailable: ServiceUnavailable: The service is temporarily unavailable."
store kv-tls-wrong-ca-final '[{"service":"vault","action":"wrong_cert"}]' fail 0 \
	"Cert verify failed: BADCERT_NOT_TRUSTED"
store kv-tls-wrong-host-name-final '[{"service":"vault","action":"wrong_name"}]' fail 0 \
	"Cert verify failed: BADCERT_CN_MISMATCH"
store kv-readback-huge-final "[{$get,\"action\":\"huge\"}]" fail 1 \
	"was stored but could not be read back"
# Write-ahead: a read-back that differs is not "stored".
store kv-readback-differs-final "[{$get,\"status\":200,\"body\":\"{\\\"value\\\":\\\"b3RoZXI=\\\",\\\"contentType\\\":\\\"BEK\\\",\\\"id\\\":\\\"https://x.vault.azure.net/secrets/x/0123abcd\\\"}\"}]" fail 1 \
	"reads back different from what was stored"
store kv-unwrap-differs-final '[{"service":"vault","path":"/unwrapkey$","status":200,"body":"{\"kid\":\"https://x.vault.azure.net/keys/kek/0123\",\"value\":\"b3RoZXI\"}"}]' fail 1 \
	"does not give the passphrase back" $kek
fetch kv-fetch-huge-final "[{$get,\"action\":\"huge\"}]" fail "reply larger than 262144 bytes"
fetch kv-unwrap-400-final '[{"service":"vault","path":"/unwrapkey$","status":400,"body":"{\"error\":{\"code\":\"BadParameter\",\"message\":\"The parameter is incorrect.\"}}"}]' fail \
	"HTTP 400 Bad Request: BadParameter: The parameter is incorrect." $kek
fetch kv-fetch-404-final "[{$get,\"status\":404,\"body\":\"{\\\"error\\\":{\\\"code\\\":\\\"SecretNotFound\\\",\\\"message\\\":\\\"A secret with (name/id) x was not found in this key vault.\\\"}}\"}]" fail \
	"HTTP 404 Not Found: SecretNotFound: A secret with (name/id) x was not found in this key vault."
store kv-managed-hsm-refuses-secrets "" fail 0 "is a Managed HSM, which holds keys only" \
	--vault https://rootcrypt-test.managedhsm.azure.net
store kv-not-a-vault-host "" fail 0 "is not a Key Vault URL" --vault https://example.com

# Soft-deleted name: the vault's 409 comes through verbatim.
n=$((n + 1)) name=kv-soft-deleted-409 secret=sc$n key=$t/key.$n op=store
fake_ctl POST /_fake/reset >/dev/null
"$ROOTCRYPT" key store --new --key-file "$t/first.$n" $common --secret "$secret" >/dev/null 2>"$t/err.$n"
cat "$t/first.$n" >>"$t/secrets.txt"
python3 - "$t/fake" "$secret" <<'PY'
import json, os, sys
# Soft-delete through the fake's own state file semantics: DELETE over HTTPS.
import http.client, socket, ssl, urllib.request
d, name = sys.argv[1:3]
ports = json.load(open(os.path.join(d, "ports.json")))
imds = "http://127.0.0.1:%d" % ports["imds"]
tok = json.load(urllib.request.build_opener(urllib.request.ProxyHandler({})).open(urllib.request.Request(
    imds + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net",
    headers={"Metadata": "true"})))["access_token"]
ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
host = "rootcrypt-test.vault.azure.net"
c = http.client.HTTPSConnection(host, ports["vault"], context=ctx)
c.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", ports["vault"])), server_hostname=host)
c.request("DELETE", "/secrets/%s?api-version=7.4" % name, headers={"Authorization": "Bearer " + tok})
assert c.getresponse().status == 200
PY
start=$(now_ms) rc=0
"$ROOTCRYPT" key store --new --key-file "$key" $common --secret "$secret" >"$t/out.$n" 2>"$t/err.$n" || rc=$?
check "$name" fail 1 "HTTP 409 Conflict: Conflict: Secret $secret is currently in a deleted but recoverable state" \
	"$rc" $(($(now_ms) - start))

# --- hygiene: no passphrase, token or stored value in any output ---
sort -u "$t/secrets.txt" | sed '/^$/d' >"$t/needles"
[ "$(wc -l <"$t/needles")" -gt 40 ] || { echo "FAIL hygiene: too few needles collected"; fails=$((fails + 1)); }
if cat "$t"/out.* "$t"/err.* | grep -F -f "$t/needles" >"$t/leaks"; then
	echo "FAIL hygiene: secret material in output:"; head -n 5 "$t/leaks"; fails=$((fails + 1))
fi
[ "$fails" = 0 ] || { echo "$fails of $n scenarios failed"; exit 1; }
