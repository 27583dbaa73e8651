# Shared by tests/integration/kv-*.sh (sourced, POSIX sh): start the fake in a
# temp dir, wait for ports.json, and small helpers for its control interface.
# Needs: $t (temp dir) set by the caller, python3 with cryptography.

fake_dir=$(cd "$(dirname "$0")/../fake" && pwd)
fake_pid=
vault_host=rootcrypt-test.vault.azure.net

fake_need() {
	command -v python3 >/dev/null || { echo "python3 missing"; exit 77; }
	python3 -c 'import cryptography' 2>/dev/null || { echo "python3-cryptography missing"; exit 77; }
}

fake_start() { # [extra fake_azure.py args]
	fake_need
	rm -f "$t/fake/ports.json"
	python3 "$fake_dir/fake_azure.py" --state-dir "$t/fake" "$@" 2>"$t/fake.err" &
	fake_pid=$!
	i=0
	while [ ! -s "$t/fake/ports.json" ]; do
		i=$((i + 1))
		[ $i -lt 300 ] && kill -0 "$fake_pid" 2>/dev/null ||
			{ echo "fake did not start"; cat "$t/fake.err"; exit 1; }
		sleep 0.1
	done
	imds_port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["imds"])' "$t/fake/ports.json")
	vault_port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vault"])' "$t/fake/ports.json")
	imds_url=http://127.0.0.1:$imds_port
	vault_url=https://$vault_host:$vault_port
	resolve=$vault_host:$vault_port:127.0.0.1
}

fake_stop() {
	if [ -n "$fake_pid" ]; then
		kill "$fake_pid" 2>/dev/null || :
		wait "$fake_pid" 2>/dev/null || :
	fi
	fake_pid=
}

# fake_ctl METHOD PATH [JSON-BODY]: prints the reply body; fails on HTTP >= 400.
fake_ctl() {
	python3 - "$imds_url" "$@" <<'PY'
import sys, urllib.request
base, method, path = sys.argv[1:4]
data = sys.argv[4].encode() if len(sys.argv) > 4 else None
req = urllib.request.Request(base + path, data=data, method=method)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open(req, timeout=10) as r:
    sys.stdout.write(r.read().decode())
PY
}

# fake_json EXPR: evaluates a Python expression over j = GET /_fake/state
# (and log = GET /_fake/log); prints the result.
fake_json() {
	fake_ctl GET /_fake/state >"$t/state.json" && fake_ctl GET /_fake/log >"$t/log.json" &&
	python3 - "$t/state.json" "$t/log.json" "$1" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); log = json.load(open(sys.argv[2]))
print(eval(sys.argv[3]))
PY
}

# fake_boot_conf DEVICE SECRET [LINE...]: a rootcrypt.conf for `rootcrypt
# boot` against this fake (shift layout, 3 s retry budget) on stdout, the
# extra lines after it.
fake_boot_conf() {
	printf '%s\n' "device = $1" "vault = $vault_url" "secret = $2" "layout = shift" \
		"imds = $imds_url" "ca_file = $t/fake/ca.pem" "resolve = $resolve" "retry_timeout = 3"
	shift 2
	for l in "$@"; do printf '%s\n' "$l"; done
}
