#!/bin/sh
# `build-system` on a synthetic tree (toolchain = host, nothing fetched):
# recipes without build/install scripts build through stage2/build-system's
# default steps — autotools (a hand-written configure that records its
# arguments), cmake (the generated toolchain file), meson (the generated
# cross file), make, kconfig (a miniature Kconfig: base target, fragments
# merged in order, olddefconfig, every fragment line verified) — with
# configure-args, make-args and the flags' additions; a recipe's own build
# script replaces the default step while the default install still runs; a
# lost fragment line fails the build naming its file and line; editing one
# build system's file rebuilds its recipes only. cmake and meson again for
# aarch64 (cross compiler), checking the ELF machine. As nobody when root.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/synth.sh"
synthinit bsys
r=$t/tree/recipes
s=$t/tree/src
mkdir -p "$s/auto" "$s/cm" "$s/me" "$s/mk" "$s/kc/scripts/kconfig" "$s/kc/own"

hello='#include <stdio.h>
#ifndef GREETING
#define GREETING "hello"
#endif
int main(void) { puts(GREETING); return 0; }'
for d in auto cm me mk; do
	printf '%s\n' "$hello" >"$s/$d/hello.c"
done

# autotools: a configure that honours what the default step passes, records
# its arguments one a line, and writes the Makefile into the build directory
# shellcheck disable=SC2016 # the script's own variables
cat >"$s/auto/configure" <<'EOF'
#!/bin/sh
srcdir=$(dirname "$0")
for a do printf '%s\n' "$a"; done >args
prefix=/usr/local cc=cc
for a do
	case $a in
	--prefix=*) prefix=${a#*=} ;;
	CC=*) cc=${a#*=} ;;
	esac
done
printf 'all:\n\t%s -o hello %s/hello.c\ninstall:\n\tmkdir -p $(DESTDIR)%s/bin $(DESTDIR)%s/lib\n\tcp hello args $(DESTDIR)%s/bin/\n\techo la >$(DESTDIR)%s/lib/libhello.la\n' \
	"$cc" "$srcdir" "$prefix" "$prefix" "$prefix" "$prefix" >Makefile
EOF
chmod 755 "$s/auto/configure"

cat >"$s/cm/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.13)
project(hello C)
add_executable(hello hello.c)
target_compile_definitions(hello PRIVATE GREETING="${GREETING}")
install(TARGETS hello DESTINATION bin)
install(FILES ${CMAKE_TOOLCHAIN_FILE} DESTINATION share/hello)
EOF

cat >"$s/me/meson.build" <<'EOF'
project('hello', 'c')
executable('hello', 'hello.c', c_args: ['-DGREETING="' + get_option('greeting') + '"'], install: true)
EOF
echo "option('greeting', type: 'string', value: 'hello')" >"$s/me/meson_options.txt"

cat >"$s/mk/Makefile" <<'EOF'
all: hello
hello: hello.c
	$(CC) -DGREETING='"$(GREET)"' -o $@ hello.c
install:
	mkdir -p $(DESTDIR)$(PREFIX)/bin
	cp hello $(DESTDIR)$(PREFIX)/bin/
EOF

# A miniature Kconfig: `defconfig` writes the base into O=, `olddefconfig`
# drops CONFIG_B unless CONFIG_A=y (B depends on A), the default goal
# installs the resolved .config as the "program".
cat >"$s/kc/Makefile" <<'EOF'
defconfig:
	printf 'CONFIG_A=y\nCONFIG_C=y\n# CONFIG_D is not set\n' >$(O)/.config
olddefconfig:
	grep -qx CONFIG_A=y $(O)/.config || sed -i /^CONFIG_B=/d $(O)/.config
	sort -o $(O)/.config $(O)/.config
all:
	cp $(O)/.config $(O)/kconfig.out
install:
	mkdir -p $(DESTDIR)/etc
	cp $(O)/kconfig.out $(DESTDIR)/etc/kc.config
.DEFAULT_GOAL := all
EOF
echo 'olddefconfig: this Kconfig has it' >"$s/kc/scripts/kconfig/Makefile"

hdr() {
	printf 'name = %s\nversion = 1\nrelease = 1\ndesc = %s\nlicense = MIT\ntoolchain = host\nsource {\n\tdir = src/%s\n}\n' "$1" "$1" "$2"
}
{
	hdr auto auto
	echo 'build-system = autotools'
	echo 'configure-args = --enable-x, --with-y=a b'
	printf 'flag f {\n\tdefault = yes\n\tdesc = f\n\tconfigure = --enable-f --enable-g\n}\n'
} >"$r/auto.recipe"
{
	hdr cm cm
	echo 'build-system = cmake'
	echo 'configure-args = -DGREETING=hi there'
} >"$r/cm.recipe"
{
	hdr me me
	echo 'build-system = meson'
	echo 'configure-args = -Dgreeting=bonjour'
} >"$r/me.recipe"
{
	hdr mk mk
	echo 'build-system = make'
	echo 'make-args = GREET="mk"'
} >"$r/mk.recipe"
# make-args refuses quotes: the check reports it at its column
st=0; u check >"$t/check" 2>&1 || st=$?
{ [ "$st" = 1 ] && grep -q "recipes/mk.recipe:11:19: 'make-args' items are passed as they are" "$t/check"; } ||
	{ cat "$t/check"; fail "a quote in make-args: exit $st"; }
sed -i 's/^make-args = .*/make-args = GREET=made it/' "$r/mk.recipe"
{
	hdr kc kc
	echo 'build-system = kconfig'
	echo 'configure-args = defconfig, frag1.config, frag2.config'
} >"$r/kc.recipe"
mkdir -p "$r/kc"
mv "$r/kc.recipe" "$r/kc/"
printf '# comment\nCONFIG_B=y\nCONFIG_C=y\n' >"$r/kc/frag1.config"
printf '# CONFIG_C is not set\nCONFIG_D=y\n' >"$r/kc/frag2.config"
# the recipe's own build replaces the default step; the default install stays
# shellcheck disable=SC2016 # the recipe's variables
{
	hdr own mk
	echo 'build-system = make'
	printf 'build <<EOF\nmake -C "$SRC" CC="$CC" GREET=own\necho own >"$SRC/own-build-ran"\nEOF\n'
} >"$r/own.recipe"
printf 'name = r\npackages = auto, cm, me, mk, kc, own\n' >"$r/roles/r.role"
own
u check >"$t/check" 2>&1 || { cat "$t/check"; fail "check"; }

u build -k --packages r >"$t/out1" 2>&1 || { cat "$t/out1"; fail "first build"; }
w=$t/work/$(uname -m)
m=$t/store/pkg
# each installed hello prints the greeting its arguments set
runs() { [ "$("$w/$1/dest/usr/bin/hello")" = "$2" ] || fail "$1: hello does not print '$2'"; }

a=$w/auto/obj/args
{ grep -qx -- "--host=$(uname -m)-linux-musl" "$a" && grep -qx -- "--build=$(uname -m)-linux-gnu" "$a" &&
	grep -qx -- --prefix=/usr "$a" && grep -qx -- --sysconfdir=/etc "$a" && grep -qx -- --disable-static "$a"; } ||
	{ cat "$a"; fail "autotools: configure lacks the target's arguments"; }
grep -qx -- '--with-y=a b' "$a" || { cat "$a"; fail "autotools: a configure-args item with a blank was split"; }
[ "$(grep -n -- '--enable-[xfg]$' "$a" | cut -d: -f2 | tr '\n' ' ')" = "--enable-x --enable-f --enable-g " ] ||
	{ cat "$a"; fail "autotools: configure-args then the flag's words, in order"; }
grep -q '^CC=gcc$' "$a" || grep -q "^CC=$(uname -m)-linux-gnu-gcc\$" "$a" || { cat "$a"; fail "autotools: no CC"; }
{ [ -f "$w/auto/dest/usr/bin/hello" ] && [ ! -e "$w/auto/dest/usr/lib/libhello.la" ]; } ||
	fail "autotools: install did not install, or kept a .la file"
runs auto hello
echo "autotools: configure out of tree with the target's arguments, args, flags; .la removed"

runs cm "hi there"
tc=$w/cm/dest/usr/share/hello/$(uname -m)-linux-musl.cmake
{ grep -qx "set(CMAKE_SYSTEM_PROCESSOR $(uname -m))" "$tc" && grep -qx 'set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)' "$tc" &&
	grep -qx 'set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)' "$tc"; } || { cat "$tc"; fail "cmake: toolchain file"; }
{ grep -q '^tool .*cmake' "$m"/*/info && grep -q '^tool .*ninja' "$m"/*/info; } || fail "cmake: cmake and ninja not in the info as tools"
runs me bonjour
grep -q '^tool .*meson' "$m"/*/info || fail "meson: not in the info as a tool"
runs mk "made it"
echo "cmake, meson, make: built, installed, arguments applied; cmake, meson, ninja are tools"

k=$w/kc/dest/etc/kc.config
[ "$(cat "$k")" = "# CONFIG_C is not set
CONFIG_A=y
CONFIG_B=y
CONFIG_D=y" ] || { cat "$k"; fail "kconfig: merged .config"; }
echo "kconfig: base, fragments in order (a later one wins), olddefconfig, verified"

runs own own
[ -f "$w/own/src/own-build-ran" ] || fail "own: the recipe's build did not run"
echo "own build: replaces the default step; the default install still ran"

# a fragment line the resolution drops: named by file and line, exit 3
printf '# comment\n# CONFIG_A is not set\n' >"$r/kc/frag3.config"
sed -i 's/^configure-args = .*/&, frag3.config/' "$r/kc/kc.recipe"
own
st=0; u build --packages r >"$t/out2" 2>&1 || st=$?
[ "$st" = 3 ] || { cat "$t/out2"; fail "kconfig: a lost line gave exit $st, want 3"; }
grep -q 'kconfig: frag1.config:2: CONFIG_B=y did not survive: the resolved .config has it unset' "$t/out2" ||
	{ cat "$t/out2"; fail "kconfig: the lost line is not named"; }
sed -i 's/, frag3.config$//' "$r/kc/kc.recipe"
rm "$r/kc/frag3.config"
echo "kconfig: a lost fragment line fails the build, named by file and line"

# editing one build system's file rebuilds its recipes only
echo '# edited' >>"$t/tree/stage2/build-system/cmake"
own
u build --packages r >"$t/out3" 2>&1 || { cat "$t/out3"; fail "build after editing cmake's steps"; }
[ "$(grep '^undistro: building' "$t/out3")" = "undistro: building cm" ] ||
	{ cat "$t/out3"; fail "editing stage2/build-system/cmake rebuilt more (or less) than cm"; }
echo "store key: stage2/build-system/cmake is in cm's key only"

# a recipe's own patch, with the tree given as a relative path (patch runs
# in the source directory, so the patch's path must not be relative)
# shellcheck disable=SC2016 # a literal $(GREET) of the Makefile
sed 's/\$(GREET)/patched/' "$s/mk/Makefile" >"$t/Makefile.new"
(cd "$s/mk" && diff -u Makefile "$t/Makefile.new" | sed -e "1s|^--- .*|--- a/Makefile|" -e "2s|^+++ .*|+++ b/Makefile|") \
	>"$r/pt.patch" || :
{
	hdr pt mk
	echo 'build-system = make'
	printf 'patch {\n\tfile = pt.patch\n\tsha256 = %s\n}\n' "$(sha256sum <"$r/pt.patch" | cut -d' ' -f1)"
} >"$r/pt.recipe"
mkdir -p "$r/pt"
mv "$r/pt.recipe" "$r/pt.patch" "$r/pt/"
printf 'name = p\npackages = pt\n' >"$r/roles/p.role"
own
# shellcheck disable=SC2086 # $as is empty or a command with arguments
(cd "$t" && env UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$t/store" UNDISTRO_WORK="$t/work" HOME="$t" $as \
	"$UNDISTRO" -C tree build -k --packages p) >"$t/out5" 2>&1 || { cat "$t/out5"; fail "a patch with a relative tree"; }
runs pt patched
echo "patch: applied with the tree given as a relative path"

# aarch64, cross: the ELF machine is the target's. The sandbox shows no
# cross C library (a toolchain = host build is freestanding, as the
# kernel), so these programs are too: no libc, their own _start.
if command -v aarch64-linux-gnu-gcc >/dev/null; then
	mkdir -p "$s/free"
	echo 'void _start(void) { for (;;) ; }' >"$s/free/start.c"
	cat >"$s/free/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.13)
project(free C)
add_executable(free start.c)
target_link_options(free PRIVATE -nostdlib -static)
install(TARGETS free DESTINATION bin)
EOF
	cat >"$s/free/meson.build" <<'EOF'
project('free', 'c')
executable('free', 'start.c', link_args: ['-nostdlib', '-static'], install: true)
EOF
	{
		hdr cmx free
		echo 'build-system = cmake'
		echo 'configure-args = -DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY, -DCMAKE_C_FLAGS=-ffreestanding'
	} >"$r/cmx.recipe"
	{
		hdr mex free
		echo 'build-system = meson'
		echo 'configure-args = -Dc_args=-ffreestanding, -Dc_link_args=-nostdlib'
	} >"$r/mex.recipe"
	printf 'name = a\npackages = cmx, mex\n' >"$r/roles/a.role"
	own
	u build -k --arch aarch64 --packages a >"$t/out4" 2>&1 || { cat "$t/out4"; fail "aarch64 build"; }
	for p in cmx mex; do
		f=$t/work/aarch64/$p/dest/usr/bin/free
		[ "$(od -An -tu2 -j18 -N2 "$f" | tr -d ' ')" = 183 ] || fail "aarch64: $p's program is not EM_AARCH64"
	done
	grep -qx 'set(CMAKE_SYSTEM_PROCESSOR aarch64)' "$t/work/aarch64/cmx/home/aarch64-linux-musl.cmake" ||
		fail "aarch64: cmake's processor"
	grep -qx "cpu_family = 'aarch64'" "$t/work/aarch64/mex/home/aarch64-linux-musl.meson" ||
		fail "aarch64: meson's cpu_family"
	echo "aarch64: cmake and meson cross-build for EM_AARCH64"
fi
