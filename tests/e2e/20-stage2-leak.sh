#!/bin/sh
# stage2 leak test: build musl from its recipe's pinned source into a fresh
# sysroot (the plain way, without the C builder), make the wrapper with
# stage2/mkwrapper, and check that what it compiles sees the sysroot only.
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

# musl as its recipe builds it (prefix /usr, loader in /lib, DESTDIR = the
# sysroot), but shared only: that halves the build, the longest step here.
sysroot=$tmp/sysroot
mkdir -p "$tmp/musl" "$sysroot"
tar -xzf "$tarball" -C "$tmp/musl" --strip-components=1
if ! (
	cd "$tmp/musl"
	./configure --prefix=/usr --syslibdir=/lib --disable-wrapper --disable-static CFLAGS="-O2 -pipe"
	make -j"$(nproc)"
	make DESTDIR="$sysroot" install
) >"$tmp/musl.log" 2>&1; then
	tail -20 "$tmp/musl.log"
	fail "musl build"
fi
sh "$top/stage2/mkwrapper" "$sysroot" "$tmp/bin"
cc=$tmp/bin/x86_64-linux-musl-gcc

# The environment must not matter: point every search variable at the host.
export CPATH=/usr/include C_INCLUDE_PATH=/usr/include LIBRARY_PATH=/usr/lib/x86_64-linux-gnu
export PKG_CONFIG_PATH=/usr/lib/x86_64-linux-gnu/pkgconfig
cd "$tmp"

# Host headers: present on the host, invisible through the wrapper.
[ -f /usr/include/x86_64-linux-gnu/gnu/libc-version.h ] || [ -f /usr/include/gnu/libc-version.h ] ||
	fail "host lacks <gnu/libc-version.h>: the test would prove nothing"
for h in gnu/libc-version.h linux/version.h zlib.h; do
	[ -f "/usr/include/$h" ] || [ -f "/usr/include/x86_64-linux-gnu/$h" ] || continue
	printf '#include <%s>\nint main(void) { return 0; }\n' "$h" >inc.c
	gcc -fsyntax-only inc.c || fail "host gcc cannot compile <$h>"
	if "$cc" -fsyntax-only inc.c 2>/dev/null; then
		fail "<$h> of the host compiled through the wrapper"
	fi
done

# Host libraries: -lz exists on the host, not in the sysroot.
printf 'int main(void) { return 0; }\n' >empty.c
for l in -lz -lgcc_s; do
	if "$cc" -o empty empty.c "$l" 2>/dev/null; then
		fail "$l linked through the wrapper"
	fi
done

# Host paths on the command line are refused with a message.
echo "-I/usr/include" >rsp
for arg in -I/usr/include "-I /usr/include/" -I=/usr/include -isystem/usr/include \
	-I../../../../../../usr/include -L/usr/lib/x86_64-linux-gnu -Wl,-O1,-L,/lib/x86_64-linux-gnu \
	/usr/lib/x86_64-linux-gnu/libz.so @rsp; do
	# shellcheck disable=SC2086 # "-I /usr/include/" is meant to split
	if "$cc" $arg -o empty empty.c 2>err; then
		fail "$arg accepted"
	fi
	grep -q 'refusing host path' err || fail "$arg: no clear error: $(cat err)"
done

# pkg-config sees the sysroot only.
if "$tmp/bin/x86_64-linux-musl-pkg-config" --exists zlib; then
	fail "pkg-config found the host's zlib"
fi

# A hello: musl's loader, only libc.so needed, no glibc versions; it runs
# under the sysroot's libc.so.
printf '#include <stdio.h>\nint main(void) { puts("hello from musl"); return 0; }\n' >hello.c
"$cc" -O2 -o hello hello.c
interp=$(readelf -lW hello | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[ "$interp" = /lib/ld-musl-x86_64.so.1 ] || fail "interpreter is '$interp'"
needed=$(readelf -dW hello | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
[ "$needed" = "libc.so " ] || fail "NEEDED is '$needed'"
if readelf -VW hello | grep -q GLIBC_; then
	fail "GLIBC_ symbol versions in hello"
fi
[ "$("$sysroot/usr/lib/libc.so" ./hello)" = "hello from musl" ] || fail "hello did not run"
echo "stage2 leak test: ok"
