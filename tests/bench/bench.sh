#!/bin/sh
# Conversion throughput on one image, in one run (not a test):
#   raw in-place O_DIRECT copy (dd, best block size) vs rootcrypt (shift and
#   detached) vs cryptsetup reencrypt --encrypt (datashift; detached header
#   with its default checksum resilience). Each run gets a fresh preallocated
#   copy of the same image. Prints seconds, MB/s, ratio to dd, ratio to
#   cryptsetup of the same layout, rootcrypt's peak RSS, and the size of the
#   read requests the disk saw (which sets much of the time on a virtual disk).
# Usage: bench.sh [SIZE_MiB (2048)] [DIR (/tmp)] [ROUNDS (5)]
#   env ROOTCRYPT=path; BENCH_RAW=FILE keeps every round's timings;
#   BENCH_SETTLE=SECONDS pause after each fresh copy (default 2).
set -eu
size=${1:-2048}
dir=${2:-/tmp}
rounds=${3:-5}
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

# A fresh copy, written out, then BENCH_SETTLE seconds (default 2) so that
# the host has finished with the copy's writes (and the discards of the file
# it replaced: this root file system is mounted with discard) before the clock
# starts. Without the pause, whichever method runs first reads data the host
# may still hold in its cache.
fresh() {
	rm -f "$w/t.img" "$w/t.hdr"
	cp --sparse=never "$w/base.img" "$w/t.img"
	sync
	sleep "${BENCH_SETTLE:-2}"
}

# The disk under DIR, for its request counters: a method's time here depends
# on how large its requests are (a request holds at most max_segments
# physical pieces, so a buffer of scattered 4 KiB pages gives ~1 MiB requests
# whatever the block size; a physically contiguous one, up to max_sectors_kb).
stat=/sys/class/block/$(basename "$(df --output=source "$w" | tail -1)")/stat
[ -r "$stat" ] || stat=

# KiB per read request between two copies of the disk's stat line.
read_req_kib() {
	echo "$1 $2" | awk '{ k = NF / 2; n = $(k + 1) - $1; print (n > 0 ? int(($(k + 3) - $3) / 2 / n) : "-") }'
}

# run NAME CMD...: prints "ROUND NAME SECONDS RSS_KB READ_REQUEST_KIB"
run() {
	name=$1
	shift
	fresh
	before=$([ -z "$stat" ] || cat "$stat")
	/usr/bin/time -f '%e %M' -o "$w/time" "$@" >/dev/null 2>"$w/err" ||
		{ cat "$w/err" >&2; echo "bench: $name failed" >&2; exit 1; }
	req=-
	[ -z "$stat" ] || req=$(read_req_kib "$before" "$(cat "$stat")")
	echo "$round $name $(cat "$w/time") $req"
}

# method NAME: times one method on a fresh copy.
method() {
	case $1 in
	dd-*)
		run "$1" dd if="$w/t.img" of="$w/t.img" bs="${1#dd-}" iflag=direct oflag=direct \
			conv=notrunc,fsync ;;
	rootcrypt-shift)
		run "$1" env ROOTCRYPT_DEBUG=1 "$rc" encrypt "$w/t.img" --key-file "$w/key"
		sed -n 's/.*data cipher backend: //p' "$w/err" > "$w/cipher" ;;
	rootcrypt-detached)
		run "$1" "$rc" encrypt "$w/t.img" --layout detached --header "$w/t.hdr" \
			--key-file "$w/key" ;;
	cryptsetup-shift)
		run "$1" cryptsetup reencrypt --encrypt --type luks2 --reduce-device-size 32M \
			--force-offline-reencrypt --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
			--key-file "$w/key" -q "$w/t.img" ;;
	cryptsetup-detached)
		run "$1" cryptsetup reencrypt --encrypt --type luks2 --header "$w/t.hdr" \
			--force-offline-reencrypt --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
			--key-file "$w/key" -q "$w/t.img" ;;
	esac
}

# shuffled SEED LIST...: LIST in an order drawn from SEED (the same every run).
shuffled() {
	seed=$1
	shift
	printf '%s\n' "$@" | awk -v seed="$seed" 'BEGIN { srand(seed) } { print rand() "\t" $0 }' |
		sort -n | cut -f2
}

# One round = every method once, each on a fresh copy, in an order shuffled
# per round: a slow spell of this shared host hits all methods alike, and no
# method always runs right after the same one (the copy before each run, and
# the run before it, leave the host's caches in different states). dd runs at
# three block sizes every round; the summary compares against the size with
# the best median (a per-round best-of-three would give dd the minimum of
# three noisy samples against one for everyone else).
methods="dd-1M dd-4M dd-16M rootcrypt-shift rootcrypt-detached cryptsetup-shift cryptsetup-detached"
for round in $(seq "$rounds"); do
	echo "round $round of $rounds" >&2
	for m in $(shuffled "$round" $methods); do
		method "$m"
	done
done > "$w/results"
[ -z "${BENCH_RAW:-}" ] || cp "$w/results" "$BENCH_RAW"

# Median per method (and min..max); ratios two ways. "vs dd" is the ratio of
# medians. "paired" is the median over rounds of each round's own ratio (dd
# at the block size with the best median, or cryptsetup of the same layout,
# timed in the same round): this host drifts by tens of percent over minutes,
# and a round's methods run within about a minute of each other.
awk -v bytes="$bytes" -v nproc="$(nproc)" -v rounds="$rounds" -v methods="$methods" \
    -v cipher="$(cat "$w/cipher")" '
	function median(list,   n, a, i, j, t) {
		n = split(list, a, " ")
		for (i = 1; i <= n; i++)
			for (j = i + 1; j <= n; j++)
				if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		lo = a[1]; hi = a[n]
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	# paired(M, REF): median over rounds of t(REF) / t(M) in the same round
	function paired(m, ref,   r, l) {
		l = ""
		for (r = 1; r <= rounds; r++)
			if (t[r, m] > 0 && t[r, ref] > 0)
				l = l " " t[r, ref] / t[r, m]
		return l == "" ? "-" : sprintf("%.2fx", median(l))
	}
	BEGIN { n = split(methods, order, " ") }
	{ t[$1, $2] = $3; secs[$2] = secs[$2] " " $3; if ($4 > rss[$2]) rss[$2] = $4
	  if ($5 != "-") reqs[$2] = reqs[$2] " " $5 }
	END {
		for (i = 1; i <= n; i++) {
			m = order[i]; med[m] = median(secs[m]); min[m] = lo; max[m] = hi
			if (m ~ /^dd-/ && (dd == "" || med[m] < med[dd])) dd = m
		}
		printf "%-20s %8s %13s %8s %6s %7s %9s %7s %9s %13s\n", "method", "median s", "min..max s",
			"MB/s", "vs dd", "paired", "vs cs", "paired", "peak RSS", "read req KiB"
		for (i = 1; i <= n; i++) {
			m = order[i]; l = m; sub(/^rootcrypt-/, "", l)
			cs = "cryptsetup-" l
			rc = m ~ /^rootcrypt/ && med[cs] > 0
			vcs = rc ? sprintf("%.2fx", med[cs] / med[m]) : "-"
			pcs = rc ? paired(m, cs) : "-"
			r = m ~ /^rootcrypt/ ? sprintf("%.1f MiB", rss[m] / 1024) : "-"
			name = m ~ /^dd-/ ? "dd bs=" substr(m, 4) (m == dd ? " (best)" : "") : m
			q = "-"
			if (reqs[m] != "") { median(reqs[m]); q = lo ".." hi }
			printf "%-20s %8.2f %13s %8.1f %5.2fx %7s %9s %7s %9s %13s\n", name,
				med[m], sprintf("%.2f..%.2f", min[m], max[m]), bytes / med[m] / 1e6,
				med[dd] / med[m], paired(m, dd), vcs, pcs, r, q
		}
		# The best median among three noisy dd rows is biased low (the
		# minimum of three estimates), so each rootcrypt row is also paired
		# with every block size.
		for (i = 1; i <= n; i++) {
			m = order[i]
			if (m !~ /^rootcrypt/)
				continue
			printf "%s paired with dd", m
			for (j = 1; j <= n; j++)
				if (order[j] ~ /^dd-/)
					printf " bs=%s %s", substr(order[j], 4), paired(m, order[j])
			printf "\n"
		}
		printf "(%d MiB image, %d CPUs, %d rounds, rootcrypt cipher %s; medians; ratios are throughput relative to dd at its best block size (vs dd) and to cryptsetup reencrypt of the same layout (vs cs): of the medians, and paired = the median of the per-round ratios; read req KiB = the smallest..largest per-run average read request on the disk)\n", bytes / 1048576, nproc, rounds, cipher
	}' "$w/results"
