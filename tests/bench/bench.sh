#!/bin/sh
# Conversion throughput on one image, in one run (not a test):
#   raw in-place O_DIRECT copy (dd, best block size) vs rootcrypt (shift and
#   detached) vs cryptsetup reencrypt --encrypt (datashift; detached header
#   with its default checksum resilience). Each run gets a fresh preallocated
#   copy of the same image. Prints seconds, MB/s, ratio to dd, ratio to
#   cryptsetup of the same layout, and rootcrypt's peak RSS.
# Usage: bench.sh [SIZE_MiB (2048)] [DIR (/tmp)]    env ROOTCRYPT=path
set -eu
size=${1:-2048}
dir=${2:-/tmp}
rc=$(cd "$(dirname "${ROOTCRYPT:-./rootcrypt}")" && pwd)/$(basename "${ROOTCRYPT:-./rootcrypt}")
for t in cryptsetup mkfs.ext4 dd /usr/bin/time; do
	command -v "$t" >/dev/null 2>&1 || { echo "bench: $t missing" >&2; exit 1; }
done
w=$(mktemp -d "$dir/rootcrypt-bench.XXXXXX")
trap 'rm -rf "$w"' EXIT
printf 'bench-key-0123456789' > "$w/key"
bytes=$((size << 20))

echo "building a ${size} MiB ext4 image in $w (random content, fully allocated)" >&2
head -c "$bytes" /dev/urandom > "$w/base.img"
mkfs.ext4 -q -F -b 4096 -E nodiscard "$w/base.img"

fresh() {
	rm -f "$w/t.img" "$w/t.hdr"
	cp --sparse=never "$w/base.img" "$w/t.img"
	sync
}

# run NAME CMD...: prints "NAME SECONDS RSS_KB"
run() {
	name=$1
	shift
	fresh
	/usr/bin/time -f '%e %M' -o "$w/time" "$@" >/dev/null 2>"$w/err" ||
		{ cat "$w/err" >&2; echo "bench: $name failed" >&2; exit 1; }
	echo "$name $(cat "$w/time")"
}

{
	best=
	for bs in 1M 4M 16M; do
		set -- $(run "dd-$bs" dd if="$w/t.img" of="$w/t.img" bs=$bs iflag=direct oflag=direct \
			conv=notrunc,fsync)
		if [ -z "$best" ] || [ "$(echo "$2 < $best" | bc -l)" = 1 ]; then
			best=$2 bestbs=$bs
		fi
	done
	echo "dd(bs=$bestbs) $best 0"
	run rootcrypt-shift "$rc" encrypt "$w/t.img" --key-file "$w/key"
	run rootcrypt-detached "$rc" encrypt "$w/t.img" --layout detached --header "$w/t.hdr" \
		--key-file "$w/key"
	run cryptsetup-shift cryptsetup reencrypt --encrypt --type luks2 --reduce-device-size 32M \
		--force-offline-reencrypt --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
		--key-file "$w/key" -q "$w/t.img"
	run cryptsetup-detached cryptsetup reencrypt --encrypt --type luks2 --header "$w/t.hdr" \
		--force-offline-reencrypt --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
		--key-file "$w/key" -q "$w/t.img"
} > "$w/results"

awk -v bytes="$bytes" -v nproc="$(nproc)" '
	{ name[NR] = $1; sec[NR] = $2; rss[NR] = $3; if ($1 ~ /^dd/) dd = $2
	  if ($1 == "cryptsetup-shift") cs["shift"] = $2
	  if ($1 == "cryptsetup-detached") cs["detached"] = $2 }
	END {
		printf "%-20s %8s %9s %8s %13s %10s\n", "method", "seconds", "MB/s", "vs dd", "vs cryptsetup", "peak RSS"
		for (i = 1; i <= NR; i++) {
			l = name[i]; sub(/^rootcrypt-/, "", l)
			vcs = (name[i] ~ /^rootcrypt/ && cs[l] > 0) ? sprintf("%.2fx", cs[l] / sec[i]) : "-"
			r = rss[i] > 0 && name[i] ~ /^rootcrypt/ ? sprintf("%.1f MiB", rss[i] / 1024) : "-"
			printf "%-20s %8.2f %9.1f %7.2fx %13s %10s\n", name[i], sec[i], bytes / sec[i] / 1e6,
				dd / sec[i], vcs, r
		}
		printf "(%d MiB image, %d CPUs; ratios: throughput relative to dd / to cryptsetup of the same layout)\n", bytes / 1048576, nproc
	}' "$w/results"
