#!/bin/sh
# stage2 leak test, for every target (x86_64 and aarch64, whatever the build
# machine; STAGE2_TARGETS="x86_64" limits it): build musl from its recipe's
# pinned source into a fresh sysroot (the plain way, without the C builder;
# the recipe's own install script), make the wrapper with stage2/mkwrapper,
# and check that what it compiles sees the sysroot only, runs (through
# qemu-ARCH -L SYSROOT for another architecture) and passes stage2/audit.
# The source comes from $UNDISTRO_CACHE/sha256/HEX when there, else from
# `apt-get source --download-only`; its sha256 is checked either way.
set -eu
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stage2-leak.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }

recipe=$top/recipes/musl.recipe
sha=$(sed -n 's/^[[:space:]]*sha256[[:space:]]*=[[:space:]]*//p' "$recipe")
file=$(sed -n 's/^[[:space:]]*file[[:space:]]*=[[:space:]]*//p' "$recipe")
tarball=${UNDISTRO_CACHE:-/nonexistent}/sha256/$sha
if [ ! -f "$tarball" ]; then
	(cd "$tmp" && apt-get source --download-only musl >/dev/null 2>&1) ||
		fail "no $file in \$UNDISTRO_CACHE and apt-get source musl failed"
	tarball=$tmp/$file
fi
echo "$sha  $tarball" | sha256sum -c - >/dev/null || fail "$tarball: sha256 is not $sha"
sed -n '/^install <<EOF$/,/^EOF$/p' "$recipe" | sed '1d;$d' >"$tmp/musl-install.sh"
[ -s "$tmp/musl-install.sh" ] || fail "no install script in $recipe"
mkdir -p "$tmp/musl"
tar -xzf "$tarball" -C "$tmp/musl" --strip-components=1

# The build machine's glibc multiarch name (x86_64-linux-gnu): its headers
# and libraries are what must not leak.
hostma=$(gcc -print-multiarch)
[ -n "$hostma" ] || fail "gcc -print-multiarch printed nothing"
[ -f "/usr/include/$hostma/gnu/libc-version.h" ] || [ -f /usr/include/gnu/libc-version.h ] ||
	fail "host lacks <gnu/libc-version.h>: the test would prove nothing"
printf 'int main(void) { return 0; }\n' >"$tmp/empty.c"
printf '#include <stdio.h>\nint main(void) { puts("hello from musl"); return 0; }\n' >"$tmp/hello.c"
# gcc 12's aarch64 default, outline atomics, calls libgcc helpers that need
# glibc's __getauxval: a dynamic link of this fails unless the wrapper turns
# them off. Threads, atomics and a 128-bit division, checked by running it.
cat >"$tmp/atomics.c" <<'EOF'
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
static atomic_long n;
static void *add(void *a) { for (int i = 0; i < 10000; i++) atomic_fetch_add(&n, 1); return a; }
int main(void)
{
	pthread_t t[4];
	volatile unsigned __int128 x = (unsigned __int128)1 << 100;
	for (int i = 0; i < 4; i++) pthread_create(&t[i], 0, add, 0);
	for (int i = 0; i < 4; i++) pthread_join(t[i], 0);
	printf("%ld %llu\n", (long)n, (unsigned long long)(x / ((unsigned __int128)1 << 90)));
	return 0;
}
EOF

# setarch ARCH: the variables of ARCH's checks. cross and run are set as
# the builder sets CROSS_COMPILE and TARGET_EXEC (docs/recipes.md).
setarch() {
	arch=$1
	target=$arch-linux-musl
	dir=$tmp/$arch
	sysroot=$dir/sysroot
	bin=$dir/bin
	if [ "$arch" = "$(uname -m)" ]; then
		cross='' run=''
	else
		cross=$arch-linux-gnu- run="qemu-$arch -L $sysroot"
		command -v "qemu-$arch" >/dev/null || fail "no qemu-$arch (Debian's qemu-user; ci/install-deps)"
	fi
	command -v "${cross}gcc" >/dev/null || fail "no ${cross}gcc (ci/install-deps installs it)"
}

# buildmusl ARCH: musl as its recipe builds it (prefix /usr, loader in /lib,
# DESTDIR = the sysroot), but shared only: that halves the build, the
# longest step here. Out of tree, one build directory per target.
buildmusl() {
	setarch "$1"
	mkdir -p "$dir/obj" "$sysroot"
	if ! (
		cd "$dir/obj"
		"$tmp/musl/configure" --target="$target" --prefix=/usr --syslibdir=/lib --disable-wrapper \
			--disable-static CC="${cross}gcc" AR="${cross}ar" RANLIB="${cross}ranlib" CFLAGS="-O2 -pipe"
		make -j"$(nproc)"
		cd "$tmp/musl"
		BUILD=$dir/obj DESTDIR=$sysroot ARCH=$arch sh -e "$tmp/musl-install.sh"
	) >"$dir/musl.log" 2>&1; then
		tail -c 3000 "$dir/musl.log"
		fail "$arch: musl build"
	fi
}

# check ARCH: make ARCH's wrapper and run every check against it.
check() {
	setarch "$1"
	case $arch in
	x86_64) machine="Advanced Micro Devices X86-64" ;;
	aarch64) machine=AArch64 ;;
	*) fail "no checks for $arch" ;;
	esac
	# The cross gcc's glibc (Debian's libc6-ARCH-cross), or the host's own.
	if [ -n "$cross" ]; then
		hostlib=/usr/${cross%-}/lib
	else
		hostlib=/usr/lib/$hostma
	fi
	[ -f "$hostlib/libc.so.6" ] || fail "no $hostlib/libc.so.6: the test would prove nothing"
	CROSS_COMPILE=$cross sh "$top/stage2/mkwrapper" "$sysroot" "$bin" "$target"
	cc=$bin/$target-gcc
	cd "$dir"
	# as many ../ as $dir has components: a relative path to /
	up=$(printf '%s\n' "$dir" | sed 's|/[^/]*|../|g')

	# Host headers: present on the host, invisible through the wrapper.
	for h in gnu/libc-version.h linux/version.h zlib.h; do
		[ -f "/usr/include/$h" ] || [ -f "/usr/include/$hostma/$h" ] || continue
		printf '#include <%s>\nint main(void) { return 0; }\n' "$h" >inc.c
		gcc -fsyntax-only inc.c || fail "host gcc cannot compile <$h>"
		if "$cc" -fsyntax-only inc.c 2>/dev/null; then
			fail "$arch: <$h> of the host compiled through the wrapper"
		fi
	done

	# Host libraries: -lz exists on the host, the others in gcc's private
	# directory (built for glibc); none in the sysroot.
	for l in -lz -lgcc_s -latomic -lstdc++; do
		if "$cc" -o empty "$tmp/empty.c" "$l" 2>/dev/null; then
			fail "$arch: $l linked through the wrapper"
		fi
	done

	# Host paths on the command line are refused with a message: the host's
	# and the cross compiler's glibc.
	echo "-I/usr/include" >rsp
	for arg in -I/usr/include "-I /usr/include/" -I=/usr/include -isystem/usr/include \
		"-I${up}usr/include" "-L/usr/lib/$hostma" "-Wl,-O1,-L,/lib/$hostma" \
		"/usr/lib/$hostma/libc.so.6" @rsp "-L$hostlib" "-Wl,-L$hostlib" "$hostlib/libc.so.6" \
		-L/usr/aarch64-linux-gnu/lib -I//usr//x86_64-linux-gnu/include; do
		# shellcheck disable=SC2086 # "-I /usr/include/" is meant to split
		if "$cc" $arg -o empty "$tmp/empty.c" 2>err; then
			fail "$arch: $arg accepted"
		fi
		grep -q 'refusing host path' err || fail "$arch: $arg: no clear error: $(cat err)"
	done

	# pkg-config sees the sysroot only.
	if "$bin/$target-pkg-config" --exists zlib; then
		fail "$arch: pkg-config found the host's zlib"
	fi

	# A hello: ARCH's machine, musl's loader, only libc.so needed, no glibc
	# versions; it runs under the sysroot's libc.so and, for another
	# architecture, through qemu -L SYSROOT (which needs the relative
	# loader link of the musl recipe).
	mkdir -p dest/usr/bin
	"$cc" -O2 -o dest/usr/bin/hello "$tmp/hello.c"
	h=dest/usr/bin/hello
	m=$(readelf -hW "$h" | sed -n 's/^ *Machine: *//p')
	[ "$m" = "$machine" ] || fail "$arch: hello's machine is '$m'"
	interp=$(readelf -lW "$h" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
	[ "$interp" = "/lib/ld-musl-$arch.so.1" ] || fail "$arch: interpreter is '$interp'"
	needed=$(readelf -dW "$h" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
	[ "$needed" = "libc.so " ] || fail "$arch: NEEDED is '$needed'"
	if readelf -VW "$h" | grep -q GLIBC_; then
		fail "$arch: GLIBC_ symbol versions in hello"
	fi
	# shellcheck disable=SC2086 # $run is empty or a command with arguments
	[ "$($run "$sysroot/usr/lib/libc.so" "$h")" = "hello from musl" ] || fail "$arch: hello did not run"
	if [ -n "$run" ]; then
		# shellcheck disable=SC2086
		[ "$($run "$h")" = "hello from musl" ] || fail "$arch: hello did not run through $run"
	fi

	# Dynamic link with atomics and threads (see atomics.c).
	"$cc" -O2 -o dest/usr/bin/atomics "$tmp/atomics.c" || fail "$arch: atomics did not link"
	# shellcheck disable=SC2086
	out=$($run "$sysroot/usr/lib/libc.so" dest/usr/bin/atomics) || fail "$arch: atomics did not run"
	[ "$out" = "40000 1024" ] || fail "$arch: atomics printed '$out'"

	# stage2/audit passes what the wrapper made and refuses a host program.
	sh "$top/stage2/audit" "$sysroot" dest "$arch" || fail "$arch: audit refused the wrapper's programs"
	cp /bin/true dest/usr/bin/
	if sh "$top/stage2/audit" "$sysroot" dest "$arch" >audit.out; then
		fail "$arch: audit accepted the host's /bin/true"
	fi
	grep -q '^audit: /usr/bin/true: ' audit.out || fail "$arch: audit said: $(cat audit.out)"
	# A static program of the build machine has no interpreter and no
	# symbol versions: only its ELF machine tells it from a target program.
	if [ -n "$cross" ]; then
		rm dest/usr/bin/true
		gcc -static -o dest/usr/bin/hoststatic "$tmp/empty.c" || fail "host gcc -static failed"
		if sh "$top/stage2/audit" "$sysroot" dest "$arch" >audit.out; then
			fail "$arch: audit accepted a static program of the build machine"
		fi
		grep -q '^audit: /usr/bin/hoststatic: .*machine' audit.out || fail "$arch: audit said: $(cat audit.out)"
	fi
	echo "stage2 leak test: $arch ok"
}

targets=${STAGE2_TARGETS:-x86_64 aarch64}
for a in $targets; do
	buildmusl "$a"
done
# The environment must not matter: point every search variable at the host.
export CPATH=/usr/include C_INCLUDE_PATH=/usr/include "LIBRARY_PATH=/usr/lib/$hostma"
export "PKG_CONFIG_PATH=/usr/lib/$hostma/pkgconfig"
for a in $targets; do
	check "$a"
done
echo "stage2 leak test: ok"
