#!/bin/sh
# Install everything rootcrypt needs to build and test on Debian 12, and build a
# static libcurl 7.88.1 (mbedTLS, http/https only) from Debian's own source package.
# Idempotent: packages already present are skipped; curl is cached under
# $ROOTCRYPT_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/rootcrypt).
set -eu

CACHE=${ROOTCRYPT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rootcrypt}
CURL_PREFIX=$CACHE/curl
CURL_STAMP=$CURL_PREFIX/.built-v1

PKGS="build-essential pkg-config dpkg-dev file libmbedtls-dev libjson-c-dev
cryptsetup-bin fdisk e2fsprogs xfsprogs openssl python3 python3-cryptography
qemu-system-x86 qemu-utils debootstrap busybox-static clang libclang-rt-14-dev
cpio zstd grub-pc-bin grub-efi-amd64-bin ovmf mtools dosfstools"

log() { printf 'deps: %s\n' "$*" >&2; }

install_packages() {
	missing=
	for p in $PKGS; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	log "installing:$missing"
	[ "$(id -u)" = 0 ] || { log "need root to install packages"; exit 1; }
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >&2
}

# A deb-src list built from the binary repositories apt already uses, so no
# archive host is ever named here.
write_src_list() {
	apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
		'Created-By: Packages' | sort -u |
		while read -r uri rel comp; do
			printf 'deb-src %s %s %s\n' "$uri" "$rel" "$comp"
		done >"$1"
	[ -s "$1" ] || { log "no apt repositories configured"; exit 1; }
}

build_curl() {
	if [ -f "$CURL_STAMP" ]; then
		log "static libcurl cached in $CURL_PREFIX"
		return 0
	fi
	work=$CACHE/curl-src
	rm -rf "$work" && mkdir -p "$work/lists/partial" "$work/archives/partial"
	write_src_list "$work/sources.list"
	aptopt="-o Dir::Etc::SourceList=$work/sources.list -o Dir::Etc::SourceParts=/dev/null
	        -o Dir::State::Lists=$work/lists -o Dir::Cache::Archives=$work/archives
	        -o Debug::NoLocking=1 -o APT::Sandbox::User=root"
	log "fetching curl source via $(head -n1 "$work/sources.list")"
	# shellcheck disable=SC2086
	apt-get $aptopt update -q >&2
	ver=$(apt-cache $aptopt showsrc curl | sed -n 's/^Version: //p' |
		grep '^7\.88\.1-' | sort -V | tail -n1)
	[ -n "$ver" ] || { log "curl 7.88.1 source not found"; exit 1; }
	# shellcheck disable=SC2086
	(cd "$work" && apt-get $aptopt source --download-only "curl=$ver" >&2)
	(cd "$work" && dpkg-source --skip-patches -x curl_*.dsc src >&2)
	src=$work/src
	# Debian's series ends with the patches that make the gnutls/nss flavours;
	# apply everything else.
	grep -v -e '^#' -e '^$' -e gnutls -e nss "$src/debian/patches/series" |
		while read -r p _; do
			patch -d "$src" -p1 -s <"$src/debian/patches/$p" >&2
		done
	# Patches touch autotools inputs; keep make from rerunning autotools.
	find "$src" -name Makefile.in -exec touch {} +
	touch "$src/aclocal.m4" "$src/configure"
	find "$src" -name Makefile.in -exec touch {} +
	(cd "$src" && ./configure --prefix="$CURL_PREFIX" \
		--disable-shared --enable-static --with-mbedtls --without-openssl \
		--without-gnutls --without-nss --without-zlib --without-brotli \
		--without-zstd --without-libidn2 --without-libpsl --without-nghttp2 \
		--without-libssh2 --without-librtmp --without-ca-bundle \
		--without-ca-path --without-ca-fallback --disable-ldap --disable-ldaps \
		--disable-ftp --disable-file --disable-dict --disable-telnet \
		--disable-tftp --disable-pop3 --disable-imap --disable-smtp \
		--disable-gopher --disable-rtsp --disable-mqtt --disable-smb \
		--disable-manual --disable-docs --disable-ntlm --disable-kerberos-auth \
		--disable-negotiate-auth --disable-alt-svc --disable-hsts \
		--without-gssapi --disable-unix-sockets --enable-threaded-resolver \
		>"$work/configure.log" 2>&1) ||
		{ tail -n 30 "$work/configure.log" >&2; exit 1; }
	make -C "$src/lib" -j"$(nproc)" >"$work/make.log" 2>&1 ||
		{ tail -n 30 "$work/make.log" >&2; exit 1; }
	make -C "$src/lib" install >>"$work/make.log" 2>&1
	make -C "$src/include" install >>"$work/make.log" 2>&1
	echo "$ver" >"$CURL_STAMP"
	rm -rf "$work"
	log "static libcurl $ver installed in $CURL_PREFIX"
}

install_packages
build_curl
