#!/bin/sh
# Targets from the command line (no builds): `undistro --help` lists them;
# --arch with an unknown name is a usage error listing the known ones; a
# role that does not support the target is refused at its arch line by
# every command that plans (resolve, graph, fetch, build, run); a build for a
# foreign target without its cross compiler or user-mode emulator names the
# Debian package to install and starts nothing; `run` without a built image
# says which command builds it, and forwards the role's TCP and UDP ports.
# Runs as nobody when root.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
t=$(mktemp -d /tmp/undistro-targets.XXXXXX)
trap 'rm -rf "$t"' EXIT
chmod 755 "$t"
as=
[ "$(id -u)" != 0 ] || as="setpriv --reuid=65534 --regid=65534 --clear-groups"
fail() { echo "FAIL: $*"; exit 1; }
# u ARGS...: undistro on the test tree (under $wrap when set)
wrap=
u() {
	# shellcheck disable=SC2086 # $as and $wrap are empty or commands with arguments
	env UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$t/store" UNDISTRO_WORK="$t/work" HOME="$t" \
		timeout 60 $as $wrap "$UNDISTRO" -C "$t/tree" "$@"
}
# expect CODE PATTERN ARGS...
expect() {
	code=$1 pat=$2
	shift 2
	rc=0
	u "$@" >"$t/out" 2>&1 || rc=$?
	[ "$rc" = "$code" ] || { cat "$t/out"; fail "undistro $*: exit $rc, want $code"; }
	grep -q -- "$pat" "$t/out" || { cat "$t/out"; fail "undistro $*: no '$pat'"; }
}
host=$(uname -m)
case $host in x86_64) other=aarch64 ;; *) other=x86_64 ;; esac

mkdir -p "$t/tree/recipes/roles" "$t/tree/stage2"
cp "$TOP/stage2/mkwrapper" "$TOP/stage2/audit" "$TOP/stage2/host-tools" "$t/tree/stage2/"
printf 'name = p\nversion = 1\nrelease = 1\ndesc = p\nlicense = MIT\ninstall <<END\ntrue\nEND\n' >"$t/tree/recipes/p.recipe"
printf 'name = any\npackages = p\n' >"$t/tree/recipes/roles/any.role"
printf 'name = only\npackages = p\narch = %s\n' "$host" >"$t/tree/recipes/roles/only.role"
[ -z "$as" ] || chown -R 65534:65534 "$t"

"$UNDISTRO" --help | grep -q "^targets (--arch of build, run, cost, resolve, graph, fetch): x86_64, aarch64$" ||
	fail "undistro --help does not list the targets"
expect 2 "unknown architecture 'arm64' for --arch (known: x86_64, aarch64)" resolve --arch arm64 any
expect 2 "option '--arch' needs a value" build any --arch
expect 0 "role any: 1 packages" resolve --arch "$other" any
expect 0 "role any: 1 packages" resolve any --arch="$other"
for cmd in resolve graph fetch build; do
	expect 1 "only.role:3:8: role 'only' does not support $other (it supports: $host)" $cmd --arch "$other" only
done
expect 1 "only.role:3:8: role 'only' does not support $other" run --arch "$other" only
echo "arch: refused at the role's line by resolve, graph, fetch, build and run"

# the cross compiler and the user-mode emulator hidden where the sandbox
# looks for them (/usr/bin): a bubblewrap namespace binds an empty,
# non-executable file over each
hide="--ro-bind /dev/null /usr/bin/$other-linux-gnu-gcc --ro-bind /dev/null /usr/bin/qemu-$other"
[ -e "/usr/bin/$other-linux-gnu-gcc" ] || hide="--ro-bind /dev/null /usr/bin/qemu-$other"
[ -e "/usr/bin/qemu-$other" ] || fail "no /usr/bin/qemu-$other here (ci/install-deps installs qemu-user)"
wrap="bwrap --dev-bind / / $hide"
expect 4 "needs $other-linux-gnu-gcc in /usr/bin:/bin: install Debian's gcc-" build --arch "$other" --packages p
grep -q "needs qemu-$other in /usr/bin:/bin to run the recipes' tests: install Debian's qemu-user" "$t/out" ||
	{ cat "$t/out"; fail "the missing emulator is not named"; }
wrap=
[ ! -e "$t/store/pkg" ] || [ -z "$(ls "$t/store/pkg")" ] || fail "a package was built without the cross tools"
echo "missing cross tools: named with their Debian packages, nothing built"

expect 4 "out/$host/any/disk.raw: .*build the image first" run any
echo "run: no image, says to build it"

# forwarded ports: the role's TCP and UDP ports (image { ports }), and
# --port GUEST[/udp]:HOST; anything else is a usage error
printf 'name = dns\npackages = p\nimage {\n\tports = 5353, 5353/udp\n}\n' >"$t/tree/recipes/roles/dns.role"
[ -z "$as" ] || chown 65534:65534 "$t/tree/recipes/roles/dns.role"
expect 4 "guest port 5353/udp is 127.0.0.1:[0-9]" run dns
grep -q "guest port 5353 is 127.0.0.1:[0-9]" "$t/out" || { cat "$t/out"; fail "no TCP forward of 5353"; }
expect 4 "guest port 5353/udp is 127.0.0.1:15353" run --port 5353/udp:15353 dns
expect 2 "--port takes GUEST:HOST port numbers (GUEST/udp:HOST for UDP), not '53/sctp:1053'" run --port 53/sctp:1053 dns
expect 2 "not '53/udp'" run --port 53/udp dns
printf 'name = bad\npackages = p\nimage {\n\tports = 53/icmp\n}\n' >"$t/tree/recipes/roles/bad.role"
[ -z "$as" ] || chown 65534:65534 "$t/tree/recipes/roles/bad.role"
expect 1 "bad.role:4:10: port '53/icmp' is not a port number (1-65535), optionally followed by /tcp or /udp" check
rm "$t/tree/recipes/roles/bad.role"
echo "run: TCP and UDP ports forwarded, bad ones refused"
