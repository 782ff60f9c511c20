#!/bin/sh
# `undistro recipe new` on tarballs made here and served from a local
# directory (file:// URLs, a plain path, and http on loopback): an autotools,
# a cmake, a meson and a plain-make project, and one with configure.ac only.
# Each written recipe passes `undistro check`, pins the file's sha256 and
# size, and has the guessed name, version, build system and license; an
# existing recipe is not replaced without --force; -o and --stdout; an
# archive without a top-level directory gets `strip = no`; the make and
# autotools drafts build (with the host's toolchain); a name
# that cannot be guessed, a missing file, a 404 and usage errors get their
# exit codes; a hostile archive (path traversal) is refused with the entry
# named, nothing written, nothing left in the work directory, the cache's
# tmp/ or beside the recipes (a killed run's scratch directory is swept).
# As nobody when root.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/synth.sh"
synthinit recipe-new
cp "$TOP/recipes/musl.recipe" "$TOP/recipes/linux-headers.recipe" "$t/tree/recipes/"
srv=$t/srv
p=$t/proj
mkdir -p "$srv" "$p"

# The projects, each with the marker files of its build system.
mkdir -p "$p/hello-auto-1.0" "$p/cm-2.1" "$p/ms-0.3" "$p/mk-v4.2" "$p/ac-0.9"
printf 'AC_INIT([hello],[1.0])\nAC_OUTPUT([Makefile])\n' >"$p/hello-auto-1.0/configure.ac"
# a stand-in for autoconf's configure: it takes what the draft passes, and
# refuses anything else
cat >"$p/hello-auto-1.0/configure" <<'EOF'
#!/bin/sh
set -eu
prefix=/usr/local cc=cc build= host=
for a; do
	case $a in
	--build=*) build=${a#*=} ;;
	--host=*) host=${a#*=} ;;
	--prefix=*) prefix=${a#*=} ;;
	CC=*) cc=${a#*=} ;;
	AR=* | RANLIB=* | STRIP=* | CFLAGS=* | LDFLAGS=* | PKG_CONFIG=* | --sysconfdir=* | --localstatedir=* | --disable-static) ;;
	*) echo "configure: unknown option $a" >&2; exit 1 ;;
	esac
done
[ -n "$build" ] && [ -n "$host" ] || { echo "configure: no --build or --host" >&2; exit 1; }
src=$(cd "$(dirname "$0")" && pwd)
printf 'all:\n\t%s -o hello %s/hello.c\ninstall:\n\tmkdir -p $(DESTDIR)%s/bin\n\tcp hello $(DESTDIR)%s/bin/\n' \
	"$cc" "$src" "$prefix" "$prefix" >Makefile
EOF
chmod 755 "$p/hello-auto-1.0/configure"
echo 'int main(void) { return 0; }' >"$p/hello-auto-1.0/hello.c"
printf 'all:\n' >"$p/hello-auto-1.0/Makefile.in"
printf '\t\t    GNU GENERAL PUBLIC LICENSE\n\t\t       Version 2, June 1991\n' >"$p/hello-auto-1.0/COPYING"
printf 'cmake_minimum_required(VERSION 3.13)\nproject(cm C)\n' >"$p/cm-2.1/CMakeLists.txt"
printf 'Copyright (c) 2026 Someone\n\nPermission is hereby granted, free of charge, to any person\n' >"$p/cm-2.1/LICENSE"
printf "project('ms', 'c')\n" >"$p/ms-0.3/meson.build"
printf '    Apache License\n    Version 2.0, January 2004\n' >"$p/ms-0.3/LICENSE"
cat >"$p/mk-v4.2/Makefile" <<'EOF'
PREFIX = /usr/local
all: hello
hello: hello.c
	$(CC) $(CFLAGS) -o hello hello.c
install: hello
	mkdir -p $(DESTDIR)$(PREFIX)/bin
	cp hello $(DESTDIR)$(PREFIX)/bin/
EOF
echo 'int main(void) { return 0; }' >"$p/mk-v4.2/hello.c"
printf 'AC_INIT([ac],[0.9])\n' >"$p/ac-0.9/configure.ac"
tar -C "$p" -czf "$srv/hello-auto-1.0.tar.gz" hello-auto-1.0
tar -C "$p" -cJf "$srv/cm-2.1.tar.xz" cm-2.1
tar -C "$p" -cjf "$srv/ms_0.3.orig.tar.bz2" ms-0.3
tar -C "$p" -czf "$srv/mk-v4.2.tar.gz" mk-v4.2
tar -C "$p" -czf "$srv/ac-0.9.tar.gz" ac-0.9
tar -C "$p/mk-v4.2" -czf "$srv/project.tar.gz" .
# a hostile archive: an honest top directory, then an entry aiming above it
python3 - "$srv/evil-1.0.tar.gz" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as tf:
    for name, data in (("evil-1.0/Makefile", b"all:\n"), ("evil-1.0/../../../escaped", b"evil\n")):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
PY
own

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# the server runs as the test's user: it only reads what is served
python3 -m http.server --bind 127.0.0.1 --directory "$srv" "$port" >"$t/http.log" 2>&1 &
httppid=$!
trap 'kill "$httppid" 2>/dev/null || true; rm -rf "$t"' EXIT
i=0
until curl -s -o /dev/null "http://127.0.0.1:$port/"; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$t/http.log"; fail "the http server did not start"; }
	sleep 0.1
done
url=http://127.0.0.1:$port
r=$t/tree/recipes

# new SOURCE RECIPE SYSTEM LICENSE [options...]: run it, then check the recipe
new() {
	src=$1 rec=$2 sys=$3 lic=$4
	shift 4
	u recipe new "$@" "$src" >"$t/out" 2>"$t/err" || { cat "$t/err"; fail "recipe new $src: exit $?"; }
	f=$r/$rec.recipe
	[ -f "$f" ] || fail "recipe new $src wrote no $f"
	file=${src##*/}
	sum=$(sha256sum "$srv/$file" | cut -d' ' -f1)
	grep -qx "	sha256 = $sum" "$f" || { cat "$f"; fail "$f: not the sha256 of $file"; }
	grep -qx "	size   = $(wc -c <"$srv/$file")" "$f" || fail "$f: not the size of $file"
	grep -qx "	file   = $file" "$f" || fail "$f: no file = $file"
	grep -qx "name     = $rec" "$f" || fail "$f: name is not $rec"
	grep -qx "build-system = $sys" "$f" || { cat "$f"; fail "$f: build system is not $sys"; }
	grep -qx "license  = $lic" "$f" || { cat "$f"; fail "$f: license is not $lic"; }
	grep -q '^# FILL: ' "$f" || fail "$f: no field marked to fill"
	grep -q "wrote $f" "$t/err" || fail "recipe new $src did not say what it wrote"
	u check >"$t/check" 2>&1 || { cat "$t/check" "$f"; fail "undistro check refuses the recipe for $src"; }
}

new "file://$srv/hello-auto-1.0.tar.gz" hello-auto autotools GPL-2.0-only
grep -qx "version  = 1.0" "$r/hello-auto.recipe" || fail "hello-auto: version"
grep -qx "	url    = file://$srv/hello-auto-1.0.tar.gz" "$r/hello-auto.recipe" || fail "hello-auto: url"
grep -q '^build <<' "$r/hello-auto.recipe" && fail "hello-auto: steps of its own beside build-system"
new "$url/cm-2.1.tar.xz" cm cmake MIT
grep -qx "version  = 2.1" "$r/cm.recipe" || fail "cm: version"
grep -qx "	url    = $url/cm-2.1.tar.xz" "$r/cm.recipe" || fail "cm: url"
grep -q "GET /cm-2.1.tar.xz" "$t/http.log" || fail "cm: not fetched over http"
new "$srv/ms_0.3.orig.tar.bz2" ms meson Apache-2.0
grep -qx "version  = 0.3" "$r/ms.recipe" || fail "ms: version"
grep -qx "	url    = file://$srv/ms_0.3.orig.tar.bz2" "$r/ms.recipe" || fail "ms: a local file's url"
new "$url/mk-v4.2.tar.gz" mkpkg make LicenseRef-FILL --name mkpkg
grep -qx "version  = 4.2" "$r/mkpkg.recipe" || fail "mkpkg: version"
new "$url/ac-0.9.tar.gz" ac autotools LicenseRef-FILL
grep -q 'autoreconf -fi' "$r/ac.recipe" || fail "ac: configure.ac only, and no autoreconf"
# the cache holds the files by hash
[ -f "$t/cache/sha256/$(sha256sum "$srv/cm-2.1.tar.xz" | cut -d' ' -f1)" ] || fail "cm-2.1.tar.xz not in the cache"

# The drafted steps run: the make and autotools drafts build and install
# their programs in the sandbox. A musl toolchain would cost this test the
# musl and linux-headers builds, so the drafts are built with the host's
# (toolchain = host, no musl dependencies): the steps, not the toolchain,
# are under test.
for rec in mkpkg hello-auto; do
	sed -e '/^depends  = musl$/d' -e '/^build-depends = /d' -e 's/^release  = 1$/release  = 1\ntoolchain = host/' \
		"$r/$rec.recipe" >"$t/host.recipe"
	cp "$t/host.recipe" "$r/$rec.recipe"
done
own
u build --packages mkpkg hello-auto >"$t/build" 2>&1 || { cat "$t/build"; fail "the drafted recipes do not build"; }
for rec in mkpkg hello-auto; do
	grep -q "^undistro: built $rec in" "$t/build" || { cat "$t/build"; fail "$rec not built"; }
done
[ "$(grep -l '^f 0755 [0-9]* [0-9a-f]* usr/bin/hello$' "$t"/store/pkg/*/manifest | wc -l)" = 2 ] ||
	{ cat "$t"/store/pkg/*/manifest; fail "the drafted recipes did not install usr/bin/hello"; }

# An existing recipe is kept, without --force.
cp "$r/cm.recipe" "$t/cm.before"
echo '# edited' >>"$r/cm.recipe"
st=0
u recipe new "$url/cm-2.1.tar.xz" 2>"$t/err" || st=$?
[ "$st" = 1 ] || fail "an existing recipe: exit $st, not 1"
grep -q "recipes/cm.recipe exists: pass --force" "$t/err" || { cat "$t/err"; fail "an existing recipe: message"; }
tail -1 "$r/cm.recipe" | grep -qx '# edited' || fail "an existing recipe was replaced without --force"
u recipe new --force "$url/cm-2.1.tar.xz" 2>"$t/err" || { cat "$t/err"; fail "--force"; }
cmp -s "$r/cm.recipe" "$t/cm.before" || fail "--force did not replace the recipe"
# -o FILE, and --stdout writes nothing
u recipe new -o "$t/other.recipe" "$url/cm-2.1.tar.xz" 2>"$t/err" || { cat "$t/err"; fail "-o"; }
cmp -s "$t/other.recipe" "$t/cm.before" || fail "-o wrote another recipe"
u recipe new --stdout --name cm2 "$url/cm-2.1.tar.xz" >"$t/stdout" 2>"$t/err" || { cat "$t/err"; fail "--stdout"; }
grep -qx "name     = cm2" "$t/stdout" || fail "--stdout: no recipe on stdout"
[ ! -e "$r/cm2.recipe" ] || fail "--stdout wrote a file"

# No single top-level directory: strip = no, and the build system still found.
u recipe new --stdout --version 1 "$url/project.tar.gz" >"$t/stdout" 2>"$t/err" || { cat "$t/err"; fail "no top"; }
grep -qx "	strip  = no" "$t/stdout" || fail "an archive without a top-level directory: no strip = no"
grep -qE "^(# )?build-system = make\$" "$t/stdout" || fail "an archive without a top-level directory: build system"

# Errors: what cannot be guessed, usage, fetch failures.
st=0
u recipe new "$url/project.tar.gz" 2>"$t/err" || st=$?
[ "$st" = 1 ] || fail "an unguessable version: exit $st, not 1"
grep -q "pass --version V" "$t/err" || { cat "$t/err"; fail "an unguessable version: no hint"; }
st=0
u recipe new --name 'Bad Name' "$url/cm-2.1.tar.xz" 2>"$t/err" || st=$?
[ "$st" = 1 ] || fail "a bad --name: exit $st, not 1"
grep -q "'Bad Name' is no package name" "$t/err" || { cat "$t/err"; fail "a bad --name: message"; }
for args in "" "-o x --stdout $url/cm-2.1.tar.xz" "--bogus $url/cm-2.1.tar.xz" "$url/a-1.tar.gz $url/b-1.tar.gz"; do
	st=0
	# shellcheck disable=SC2086 # word splitting intended
	u recipe new $args 2>"$t/err" || st=$?
	[ "$st" = 2 ] || { cat "$t/err"; fail "usage error ($args): exit $st, not 2"; }
done
st=0
u recipe 2>"$t/err" || st=$?
[ "$st" = 2 ] || fail "recipe without a verb: exit $st"
st=0
u recipe new "$url/missing-1.0.tar.gz" 2>"$t/err" || st=$?
[ "$st" = 4 ] || { cat "$t/err"; fail "a 404: exit $st, not 4"; }
grep -q "cannot fetch $url/missing-1.0.tar.gz" "$t/err" || { cat "$t/err"; fail "a 404: message"; }
st=0
u recipe new "$t/nothere-1.0.tar.gz" 2>"$t/err" || st=$?
[ "$st" = 1 ] || { cat "$t/err"; fail "a missing file: exit $st, not 1"; }

# A hostile archive: refused, entry named; nothing written or left behind
# (and what a killed run left in the work directory is swept).
mkdir -p "$t/work/recipe-new.killed/src"
own
st=0
u recipe new "$url/evil-1.0.tar.gz" 2>"$t/err" || st=$?
[ "$st" = 1 ] || { cat "$t/err"; fail "a hostile archive: exit $st, not 1"; }
grep -q "evil-1.0.tar.gz: entry 'evil-1.0/../../../escaped'" "$t/err" || { cat "$t/err"; fail "a hostile archive: message"; }
[ ! -e "$r/evil.recipe" ] || fail "a hostile archive got a recipe"
find "$t" -name escaped | grep . && fail "the hostile archive wrote outside its directory"
# (the builds above made $t/work/x86_64: only recipe new's scratch counts)
[ -z "$(find "$t/work" -maxdepth 1 -name 'recipe-new.*')" ] ||
	{ ls -la "$t/work"; fail "recipe new left files in the work directory"; }
[ -z "$(ls -A "$t/cache/tmp")" ] || { ls -la "$t/cache/tmp"; fail "recipe new left files in the cache's tmp/"; }
find "$r" -name '*.tmp.*' | grep . && fail "recipe new left temporary files beside the recipes"
u check >"$t/check" 2>&1 || { cat "$t/check"; fail "undistro check after everything"; }
echo "32-recipe-new: ok"
