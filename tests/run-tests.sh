#!/bin/sh
# Runs the C unit tests and every tests/integration/*.sh script.
# Usage: run-tests.sh UNIT_TEST_BINARY ROOTCRYPT_BINARY TEST_BUILD [SCRIPT_FILTER]
# Scripts get ROOTCRYPT (the release binary) and ROOTCRYPT_TEST (the same
# code built with the test hooks, src/base/test_hooks.h) as absolute paths in
# the environment; only scripts that need a hook use ROOTCRYPT_TEST. Exit 0 = pass,
# 77 = skipped, anything else = fail. With CI=true in the environment a skip
# is a failure (in CI a missing tool is a failure), for the unit tests too.
# Last line: N passed, N failed, N skipped.
set -u
unit=$1
ROOTCRYPT=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
ROOTCRYPT_TEST=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
export ROOTCRYPT ROOTCRYPT_TEST
filter=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0 skipped=0
strict=false
[ "${CI:-}" = true ] && strict=true

out=$("$unit" 2>&1)
printf '%s\n' "$out" | sed -n '/^FAIL/p;/^skip/p;/:[0-9]*: CHECK failed/p'
summary=$(printf '%s\n' "$out" | tail -n1)
re='^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$'
up=$(printf '%s\n' "$summary" | sed -n "s/$re/\\1/p")
uf=$(printf '%s\n' "$summary" | sed -n "s/$re/\\2/p")
us=$(printf '%s\n' "$summary" | sed -n "s/$re/\\3/p")
if [ -z "$up" ]; then
	echo "FAIL unit tests (no summary; crashed?)"
	printf '%s\n' "$out" | tail -n 20
	failed=$((failed + 1))
else
	echo "unit: $summary"
	passed=$((passed + up)) failed=$((failed + uf)) skipped=$((skipped + us))
fi

for t in "$here"/integration/*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	case $name in *"$filter"*) ;; *) continue ;; esac
	log=$(mktemp)
	start=$(date +%s)
	sh "$t" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	if [ "$rc" = 77 ] && $strict; then
		echo "FAIL $name (skipped, and CI=true: $(tail -n1 "$log"))"
		failed=$((failed + 1))
		rm -f "$log"
		continue
	fi
	case $rc in
	0) echo "ok   $name (${secs}s)"; passed=$((passed + 1)) ;;
	77) echo "skip $name: $(tail -n1 "$log")"; skipped=$((skipped + 1)) ;;
	*) echo "FAIL $name (exit $rc, ${secs}s)"; sed 's/^/    /' "$log" | tail -n 40
	   failed=$((failed + 1)) ;;
	esac
	rm -f "$log"
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
