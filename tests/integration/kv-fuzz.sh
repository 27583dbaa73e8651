#!/bin/sh
# Bounded libFuzzer run of the key service parsers (IMDS token/error/
# instance JSON, Key Vault error and secret/key replies, URLs, challenge
# headers, base64/base64url, config file and kernel command line): any
# finding fails. KV_FUZZ_SECONDS per target (default 2; `make fuzz-keysvc`
# runs longer).
set -eu
command -v clang >/dev/null || { echo "clang missing"; exit 77; }
# One run per `make check` is enough; the sanitizer pass skips it.
file -L "$ROOTCRYPT" | grep -q "statically linked" || { echo "sanitizer build: fuzzed in the static pass"; exit 77; }
root=$(cd "$(dirname "$0")/../.." && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT INT TERM
make -s -C "$root" fuzz-keysvc FUZZ_OUT="$t" FUZZ_SECONDS="${KV_FUZZ_SECONDS:-2}" >"$t/out" 2>&1 ||
	{ cat "$t/out"; exit 1; }
[ "$(grep -c 'no finding' "$t/out")" = 5 ] || { cat "$t/out"; exit 1; }
