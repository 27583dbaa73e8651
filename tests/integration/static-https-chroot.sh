#!/bin/sh
# Static proof: rootcrypt alone in an empty chroot (no libc, no NSS modules,
# no CA store) fetches an HTTPS URL through src/base/http.c with a test CA and a
# host name from /etc/hosts; and fails clearly on a wrong CA or wrong name.
set -eu
[ "$(id -u)" = 0 ] || { echo "needs root for chroot"; exit 77; }
command -v openssl >/dev/null || { echo "openssl missing"; exit 77; }
file -L "$ROOTCRYPT" | grep -q "statically linked" || { echo "binary is not static (sanitizer build)"; exit 77; }

t=$(mktemp -d)
srv=
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$t"; }
trap cleanup EXIT INT TERM

pki() { # dir name hostname
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$2 CA" \
		-keyout "$1/$2-ca.key" -out "$1/$2-ca.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$3" -keyout "$1/$2.key" \
		-out "$1/$2.csr" 2>/dev/null
	printf 'subjectAltName=DNS:%s\n' "$3" >"$1/$2.ext"
	openssl x509 -req -in "$1/$2.csr" -CA "$1/$2-ca.pem" -CAkey "$1/$2-ca.key" \
		-CAcreateserial -days 2 -extfile "$1/$2.ext" -out "$1/$2.pem" 2>/dev/null
}
pki "$t" good static-proof.example.test
pki "$t" other static-proof.example.test

mkdir -p "$t/www"
echo "hello from the test server" >"$t/www/hello.txt"
python3 - "$t" <<'PY' &
import functools, http.server, os, ssl, sys
d = sys.argv[1]
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=d + "/www"))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + "/good.pem", d + "/good.key")
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(d + "/port.tmp", "w").write(str(srv.server_address[1]))
os.rename(d + "/port.tmp", d + "/port")
srv.serve_forever()
PY
srv=$!
i=0
while [ ! -s "$t/port" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "server did not start"; exit 1; }
	sleep 0.1
done
port=$(cat "$t/port")

root=$t/root
mkdir -p "$root/etc"
cp "$ROOTCRYPT" "$root/rootcrypt"
cp "$t/good-ca.pem" "$root/ca.pem"
cp "$t/other-ca.pem" "$root/wrong-ca.pem"
echo "127.0.0.1 static-proof.example.test" >"$root/etc/hosts"
[ "$(find "$root" -type f | wc -l)" = 4 ] || { echo "bare root is not bare"; exit 1; }

url=https://static-proof.example.test:$port/hello.txt
out=$(chroot "$root" /rootcrypt debug-http "$url" --ca-file /ca.pem 2>"$t/err") ||
	{ echo "fetch in bare chroot failed:"; cat "$t/err"; exit 1; }
[ "$out" = "hello from the test server" ] || { echo "unexpected body: $out"; exit 1; }

# Wrong CA: must fail, with one line naming the URL and the certificate problem.
if chroot "$root" /rootcrypt debug-http "$url" --ca-file /wrong-ca.pem >/dev/null 2>"$t/err"; then
	echo "wrong CA accepted"; exit 1
fi
grep -qi "GET $url: .*cert" "$t/err" || { echo "wrong-CA message:"; cat "$t/err"; exit 1; }

# Wrong host name (cert is for static-proof.example.test): must fail.
echo "127.0.0.1 static-proof.example.test other-name.example.test" >"$root/etc/hosts"
url2=https://other-name.example.test:$port/hello.txt
if chroot "$root" /rootcrypt debug-http "$url2" --ca-file /ca.pem >/dev/null 2>"$t/err"; then
	echo "wrong host name accepted"; exit 1
fi
grep -qi "GET $url2: .*CN_MISMATCH" "$t/err" || { echo "wrong-name message:"; cat "$t/err"; exit 1; }
[ "$(wc -l <"$t/err")" = 1 ] || { echo "error is not one line:"; cat "$t/err"; exit 1; }

# --resolve works without /etc/hosts at all.
rm "$root/etc/hosts"
out=$(chroot "$root" /rootcrypt debug-http "$url" --ca-file /ca.pem \
	--resolve "static-proof.example.test:$port:127.0.0.1" 2>"$t/err") ||
	{ echo "fetch with --resolve failed:"; cat "$t/err"; exit 1; }
[ "$out" = "hello from the test server" ]
