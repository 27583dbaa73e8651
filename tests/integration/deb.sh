#!/bin/sh
# `make deb`: the package holds exactly the files `make install` puts in /usr
# (modes, root ownership), its control fields and update-initramfs trigger,
# and, installed into a scratch root without /etc/rootcrypt.conf, its
# initramfs-tools hook and dracut check() add nothing (installing the package
# changes no boot); with a config they do act (the check can fail), and
# both record libcryptsetup's package version when dpkg-query knows it.
# Exit 0 pass, 77 skip (dpkg-deb missing), 1 fail.
set -eu
command -v dpkg-deb >/dev/null || { echo "dpkg-deb missing"; exit 77; }
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${ROOTCRYPT:-$repo/rootcrypt}
fail() { echo "FAIL: $*"; exit 1; }

t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT INT TERM
version=$(sed -n 's/^VERSION := *//p' "$repo/Makefile")
[ -n "$version" ] || fail "no VERSION in the Makefile"
deb=$t/rootcrypt_${version}_amd64.deb
make -s -C "$repo" deb DEB_DIR="$t" ROOTCRYPT_BIN="$bin" >"$t/make.out" 2>&1 ||
	{ cat "$t/make.out"; fail "make deb"; }
[ -f "$deb" ] || fail "make deb made no $deb"

# Contents: mode, owner, path; nothing more, nothing less.
dpkg-deb -c "$deb" | awk '{ print $1, $2, $6 }' | LC_ALL=C sort >"$t/contents"
d='drwxr-xr-x root/root' x='-rwxr-xr-x root/root' r='-rw-r--r-- root/root'
dm=./usr/lib/dracut/modules.d/90rootcrypt it=./usr/share/initramfs-tools
LC_ALL=C sort >"$t/expected" <<EOF
$d ./
$d ./usr/
$d ./usr/lib/
$d ./usr/lib/dracut/
$d ./usr/lib/dracut/modules.d/
$d $dm/
$x $dm/module-setup.sh
$x $dm/parse-rootcrypt.sh
$x $dm/rootcrypt-job.sh
$d ./usr/lib/rootcrypt/
$r ./usr/lib/rootcrypt/rootcrypt-lib.sh
$d ./usr/lib/systemd/
$d ./usr/lib/systemd/system/
$r ./usr/lib/systemd/system/rootcrypt-online.service
$d ./usr/sbin/
$x ./usr/sbin/rootcrypt
$d ./usr/share/
$d $it/
$d $it/hooks/
$x $it/hooks/rootcrypt
$d $it/scripts/
$d $it/scripts/local-top/
$x $it/scripts/local-top/rootcrypt
EOF
diff -u "$t/expected" "$t/contents" || fail "package contents differ (- expected, + found)"

# `make install` puts the same files at the same paths with the same modes.
make -s -C "$repo" install DESTDIR="$t/inst" PREFIX=/usr ROOTCRYPT_BIN="$bin" >/dev/null 2>&1 ||
	fail "make install"
(cd "$t/inst" && find . -mindepth 1 ! -type d -printf '%M %p\n' | LC_ALL=C sort) >"$t/inst.list"
grep -v '^d' "$t/contents" | sed 's| root/root | |' >"$t/deb.files"
diff -u "$t/deb.files" "$t/inst.list" || fail "make install and the package differ"

# Control fields and the trigger.
dpkg-deb -I "$deb" >"$t/info" || fail "dpkg-deb -I"
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = rootcrypt ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version), Makefile says $version"
[ "$(field Architecture)" = amd64 ] || fail "Architecture: $(field Architecture)"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
[ -n "$(field Description)" ] || fail "no Description"
[ -z "$(field Depends)" ] || fail "a static binary needs no Depends: $(field Depends)"
[ "$(field Recommends)" = cryptsetup-bin ] || fail "Recommends: $(field Recommends)"
mkdir "$t/ctrl"
dpkg-deb -e "$deb" "$t/ctrl"
[ "$(cat "$t/ctrl/triggers")" = "activate-noawait update-initramfs" ] ||
	fail "triggers: $(cat "$t/ctrl/triggers")"
for s in preinst postinst prerm postrm; do
	[ ! -e "$t/ctrl/$s" ] || fail "unexpected maintainer script $s"
done
grep -q 'triggers' "$t/info" || fail "dpkg-deb -I lists no triggers file"

# Install into a scratch root. As root through dpkg itself (its database in
# the scratch root), else unpacked.
s=$t/root
mkdir -p "$s/var/lib/dpkg/info" "$s/var/lib/dpkg/updates" "$s/bin" "$s/etc" "$s/tmp"
: >"$s/var/lib/dpkg/status"
if [ "$(id -u)" = 0 ] && command -v dpkg >/dev/null; then
	dpkg --root="$s" --force-all -i "$deb" >"$t/dpkg.out" 2>&1 ||
		{ cat "$t/dpkg.out"; fail "dpkg --root -i"; }
	grep -q '^Status: install ok installed' "$s/var/lib/dpkg/status" ||
		fail "dpkg does not list the package as installed"
	chr() { chroot "$s" "$@"; }
else
	dpkg-deb -x "$deb" "$s"
	chr() { unshare -r chroot "$s" "$@"; }
fi
[ -x "$s/usr/sbin/rootcrypt" ] || fail "no /usr/sbin/rootcrypt in the scratch root"
# Online mode's unit: runs the installed binary, only while a conversion
# is in progress; installing the package does not enable it (enroll does).
u=$s/usr/lib/systemd/system/rootcrypt-online.service
grep -qx 'ExecStart=/usr/sbin/rootcrypt online-resume' "$u" || fail "unit: ExecStart"
grep -qx 'ConditionPathExists=/run/rootcrypt/online' "$u" || fail "unit: ConditionPathExists"
grep -qx 'WantedBy=multi-user.target' "$u" || fail "unit: WantedBy"
grep -qx 'Type=simple' "$u" || fail "unit: Type"
! grep -q '@SBINDIR@' "$u" || fail "unit: @SBINDIR@ not replaced"
[ ! -e "$s/etc/systemd/system/multi-user.target.wants/rootcrypt-online.service" ] ||
	fail "the package enabled the unit"

# The hook and check() run in the scratch root (its /etc, not the host's)
# with a static busybox as /bin/sh and stubs that log every generator call.
bb=$(command -v busybox) || fail "busybox (busybox-static) missing"
file -L "$bb" | grep -q "statically linked" || fail "busybox is not static (busybox-static)"
cp "$bb" "$s/bin/busybox"
ln -s busybox "$s/bin/sh"
ln -s busybox "$s/bin/sed"
ln -s busybox "$s/bin/tail"
ln -s busybox "$s/bin/mkdir"
# the hooks' redirections need a /dev/null, as every build host has
mkdir -p "$s/dev"
[ "$(id -u)" = 0 ] && mknod -m 0666 "$s/dev/null" c 1 3 2>/dev/null || : >"$s/dev/null"
cat >"$s/usr/share/initramfs-tools/hook-functions" <<'EOF'
echo "sourced hook-functions" >>/calls
copy_exec() { echo "copy_exec $*" >>/calls; }
copy_file() { echo "copy_file $*" >>/calls; }
manual_add_modules() { echo "manual_add_modules $*" >>/calls; }
auto_add_modules() { echo "auto_add_modules $*" >>/calls; }
EOF
mkdir -p "$s/dest"
run_hook() {
	rm -f "$s/calls"
	chr /bin/sh -c 'DESTDIR=/dest; export DESTDIR; /bin/sh /usr/share/initramfs-tools/hooks/rootcrypt'
}
run_check() { # HOSTONLY
	chr /bin/sh -c '
		hostonly=$1
		require_binaries() { echo "require_binaries $*" >>/calls; }
		. /usr/lib/dracut/modules.d/90rootcrypt/module-setup.sh
		check' sh "$1"
}

# Not enrolled: the hook returns 0 at once, the initramfs gets nothing; dracut
# leaves the module out of host-only and generic images.
rc=0; run_hook >"$t/hook.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || { cat "$t/hook.out"; fail "hook without config exited $rc"; }
[ ! -e "$s/calls" ] || { cat "$s/calls"; fail "hook without config called the generator"; }
[ -z "$(ls -A "$s/dest")" ] || fail "hook without config wrote into the initramfs"
[ ! -s "$t/hook.out" ] || { cat "$t/hook.out"; fail "hook without config printed something"; }
for h in "" 1; do
	rc=0; run_check "$h" || rc=$?
	[ "$rc" = 255 ] || fail "dracut check() without config (hostonly='$h') returned $rc, not 255"
done

# Enrolled (a config): they act. Without cryptsetup the hook refuses.
printf 'device = PARTUUID=abcd\nvault = https://v1.vault.azure.net\n' >"$s/etc/rootcrypt.conf"
rc=0; run_hook >"$t/hook.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q 'cryptsetup missing' "$t/hook.out" ||
	{ cat "$t/hook.out"; fail "hook with config and no cryptsetup: exit $rc"; }
printf '#!/bin/sh\n' >"$s/usr/sbin/cryptsetup"
chmod 0755 "$s/usr/sbin/cryptsetup"
rc=0; run_hook >"$t/hook.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || { cat "$t/hook.out"; fail "hook with config exited $rc"; }
grep -q '^copy_exec /usr/sbin/rootcrypt' "$s/calls" || { cat "$s/calls"; fail "hook with config copied no rootcrypt"; }
grep -q '^copy_file config /etc/rootcrypt.conf' "$s/calls" || fail "hook with config copied no config"
for h in "" 1; do
	rc=0; run_check "$h" || rc=$?
	[ "$rc" = 0 ] || fail "dracut check() with config (hostonly='$h') returned $rc"
done

# libcryptsetup's package version for the boot-side fence (ONLINE.md
# "Version fence"): nothing without dpkg-query; with it, dpkg's version in
# both generators' images (one line, though multiarch copies print two).
lv=etc/rootcrypt/libcryptsetup.version
[ ! -e "$s/dest/$lv" ] || fail "hook without dpkg-query recorded a libcryptsetup version"
run_install() {
	rm -rf "$s/dest2"
	chr /bin/sh -c '
		initdir=/dest2 moddir=/usr/lib/dracut/modules.d/90rootcrypt
		for f in inst_multiple inst_simple inst_hook inst_script dracut_need_initqueue dwarn; do
			eval "$f() { echo \"$f \$*\" >>/calls; }"
		done
		dfatal() { echo "dfatal $*"; exit 1; }
		. $moddir/module-setup.sh
		install'
}
run_install >"$t/install.out" 2>&1 || { cat "$t/install.out"; fail "dracut install() failed"; }
[ ! -e "$s/dest2/$lv" ] || fail "dracut install() without dpkg-query recorded a libcryptsetup version"
mkdir -p "$s/usr/bin"
cat >"$s/usr/bin/dpkg-query" <<'EOF'
#!/bin/sh
[ "$*" = '-W -f=${Version}\n libcryptsetup12' ] || { echo "dpkg-query: $*" >&2; exit 1; }
printf '2.7.0-1ubuntu4.1\n2.7.0-1ubuntu4.1\n'
EOF
chmod 0755 "$s/usr/bin/dpkg-query"
rc=0; run_hook >"$t/hook.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || { cat "$t/hook.out"; fail "hook with dpkg-query exited $rc"; }
[ "$(cat "$s/dest/$lv" 2>/dev/null)" = 2.7.0-1ubuntu4.1 ] ||
	{ cat "$t/hook.out"; fail "hook did not record libcryptsetup 2.7.0-1ubuntu4.1 in $lv"; }
run_install >"$t/install.out" 2>&1 || { cat "$t/install.out"; fail "dracut install() with dpkg-query failed"; }
[ "$(cat "$s/dest2/$lv" 2>/dev/null)" = 2.7.0-1ubuntu4.1 ] ||
	{ cat "$t/install.out"; fail "dracut install() did not record libcryptsetup 2.7.0-1ubuntu4.1 in $lv"; }
echo "deb: $(basename "$deb") $(stat -c %s "$deb") bytes, contents/control/trigger ok, inactive until enrolled, libcryptsetup version recorded"
