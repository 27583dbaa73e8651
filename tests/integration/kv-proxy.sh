#!/bin/sh
# Proxies from the environment apply to the vault and never to IMDS:
# 1. http_proxy/https_proxy/all_proxy point at a dead port: IMDS still
#    answers (token + instance metadata reach the fake directly), the vault
#    request fails with one line naming the proxy, nothing is stored.
# 2. They point at a live CONNECT proxy: store and fetch succeed, the proxy
#    saw only CONNECTs to the vault host, never an IMDS request.
# 3. no_proxy names the vault domain: the dead proxy is bypassed (libcurl's own rule).
set -eu
t=$(mktemp -d)
. "$(dirname "$0")/../fake/lib.sh"
proxy_pid=
trap '[ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null; fake_stop; rm -rf "$t"' EXIT INT TERM
fake_start
common="--no-config --imds $imds_url --ca-file $t/fake/ca.pem --resolve $resolve
	--vault $vault_url --retry-timeout 2 --retry-base-ms 50 --request-timeout-ms 1000"

# 1. dead proxy
rc=0
env http_proxy=http://user:pw@127.0.0.1:1 https_proxy=http://user:pw@127.0.0.1:1 \
	all_proxy=http://127.0.0.1:1 no_proxy= \
	"$ROOTCRYPT" key store --new --key-file "$t/k1" $common --secret p1 >"$t/out1" 2>"$t/err1" || rc=$?
[ $rc = 1 ] || { echo "dead proxy: exit $rc"; cat "$t/err1"; exit 1; }
last=$(tail -n1 "$t/err1")
case $last in
"rootcrypt: Key Vault PUT $vault_url/secrets/p1: gave up after "*"(through proxy http://127.0.0.1:1)") ;;
*) echo "dead proxy: unexpected last line: $last"; exit 1 ;;
esac
grep -q "pw@" "$t/err1" && { echo "proxy credentials printed"; exit 1; }
[ ! -e "$t/k1" ] || { echo "key file left behind"; exit 1; }
got=$(fake_json "sorted(set((e['path'], e['status']) for e in log if e['service'] == 'imds'))")
[ "$got" = "[('/metadata/identity/oauth2/token', 200), ('/metadata/instance/compute', 200)]" ] ||
	{ echo "IMDS not reached directly: $got"; exit 1; }
[ "$(fake_json "len([e for e in log if e['service'] == 'vault'])")" = 0 ] ||
	{ echo "vault reached despite the dead proxy"; exit 1; }
[ "$(fake_json "len(j['secrets'])")" = 0 ] || { echo "something stored"; exit 1; }

# 2. live proxy
python3 "$fake_dir/connect_proxy.py" "$t/proxy.port" "$t/proxy.log" &
proxy_pid=$!
i=0
while [ ! -s "$t/proxy.port" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "proxy did not start"; exit 1; }
	sleep 0.1
done
p=http://127.0.0.1:$(cat "$t/proxy.port")
fake_ctl POST /_fake/reset >/dev/null
env http_proxy=$p https_proxy=$p HTTP_PROXY=$p HTTPS_PROXY=$p no_proxy= \
	"$ROOTCRYPT" key store --new --key-file "$t/k2" $common --secret p2 \
	--kek "$vault_url/keys/kek" >"$t/ref2" 2>"$t/err2" || { echo "store via proxy failed"; cat "$t/err2"; exit 1; }
env http_proxy=$p https_proxy=$p no_proxy= \
	"$ROOTCRYPT" key fetch --key-file "$t/k2b" $common --ref "$t/ref2" 2>"$t/err3" ||
	{ echo "fetch via proxy failed"; cat "$t/err3"; exit 1; }
cmp -s "$t/k2" "$t/k2b" || { echo "fetched key differs"; exit 1; }
bad=$(grep -v "^CONNECT $vault_host:$vault_port HTTP/1.1$" "$t/proxy.log" || :)
[ -z "$bad" ] || { echo "proxy saw more than vault CONNECTs: $bad"; exit 1; }
[ "$(wc -l <"$t/proxy.log")" -ge 4 ] || { echo "vault did not go through the proxy"; exit 1; }
[ "$(fake_json "len([e for e in log if e['service'] == 'imds' and e['status'] == 200])")" -ge 3 ] ||
	{ echo "IMDS not reached directly"; exit 1; }

# 3. no_proxy naming the vault host: libcurl's own no_proxy rule sends the
#    request directly even though https_proxy points at a dead port.
env https_proxy=http://127.0.0.1:1 all_proxy=http://127.0.0.1:1 no_proxy=".vault.azure.net" \
	"$ROOTCRYPT" key store --new --key-file "$t/k3" $common --secret p3 >/dev/null 2>"$t/err4" ||
	{ echo "no_proxy did not bypass the proxy"; cat "$t/err4"; exit 1; }
