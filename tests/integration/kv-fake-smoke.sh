#!/bin/sh
# The fake Azure server's own contract, checked with a stdlib client: IMDS
# token rules, vault 401 challenge, secret versions, RSA-OAEP wrap round trip,
# fault injection, state and log.
set -eu
t=$(mktemp -d)
. "$(dirname "$0")/../fake/lib.sh"
trap 'fake_stop; rm -rf "$t"' EXIT INT TERM
fake_start
python3 "$fake_dir/smoke.py" "$t/fake" >"$t/out" 2>&1 || { cat "$t/out"; exit 1; }
# A restart with the same state dir keeps the CA and the secrets.
sum=$(sha256sum "$t/fake/ca.pem")
fake_stop
fake_start
[ "$(sha256sum "$t/fake/ca.pem")" = "$sum" ] || { echo "CA regenerated on restart"; exit 1; }
[ "$(fake_json 'len(j["secrets"]["s1"]["versions"])')" = 2 ] || { echo "secrets lost on restart"; exit 1; }
