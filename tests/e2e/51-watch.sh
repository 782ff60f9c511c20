#!/bin/sh
# undistro watch on a small synthetic tree (host toolchain, a placeholder
# kernel, no sources; runs as nobody when root): the first cycle builds
# everything; an overlay edit gives a new rootfs and no package build; a
# recipe edit rebuilds that package and its dependents only (the status
# line names them); a syntax error is reported at file:line and the next
# good edit recovers; a recipe edit while that package builds stops the
# build (its sandbox killed, no work directory or store temporary left) and
# the cycle starts again; idle, strace sees no system call but the resumed
# poll; SIGINT during a build exits 0 with no build left behind. Then 100
# cycles under ASan with LeakSanitizer on, and the resident size of 100
# cycles against 10's.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/synth.sh"
synthinit watch
r=$t/tree/recipes
synthrole
# lib <- app (app's build needs lib), solo alone; slow sleeps in its build
# while $t/slow-go does not exist
for p in lib app solo slow; do
	dep=
	[ $p != app ] || dep='build-depends = lib'
	cat >"$r/$p.recipe" <<EOF
name = $p
version = 1.0
release = 1
desc = test package $p
license = MIT
toolchain = host
$dep
install <<END
mkdir -p "\$DESTDIR/usr/share/$p"
echo $p >"\$DESTDIR/usr/share/$p/v"
END
EOF
done
printf 'name = r\npackages = init, app, solo\nkernel = kern\noverlays = web\n' >"$r/roles/r.role"
printf 'name = s\npackages = init, slow\nkernel = kern\n' >"$r/roles/s.role"
mkdir -p "$t/tree/overlays/web/srv"
echo hello >"$t/tree/overlays/web/srv/index.html"
o=$t/out/$(uname -m)/r
export SOURCE_DATE_EPOCH=1700000000
own

pid=
stopwatch() {
	[ -z "$pid" ] || { kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
	pid=
}
trap 'stopwatch; rm -rf "$t"' EXIT
# startwatch ROLE: undistro watch in the background, its status lines in
# $t/w.out, the rest in $t/w.err
startwatch() {
	: >"$t/w.out"
	: >"$t/w.err"
	# not through u: $! must be undistro's pid (env and setpriv exec it)
	# shellcheck disable=SC2086 # $as is empty or a command with arguments
	env UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$t/store" UNDISTRO_WORK="$t/work" HOME="$t" $as "$UNDISTRO" \
		-C "$t/tree" watch -o "$t/out/$(uname -m)/$1" "$1" >"$t/w.out" 2>"$t/w.err" &
	pid=$!
}
# line N: wait (60 s at most) for the Nth status line and print it
line() {
	i=0
	while [ "$(grep -c '^undistro: watch: ' "$t/w.out")" -lt "$1" ]; do
		i=$((i + 1))
		[ $i -lt 600 ] || { cat "$t/w.out" "$t/w.err"; fail "no status line $1 after 60 s"; }
		kill -0 "$pid" 2>/dev/null || { cat "$t/w.out" "$t/w.err"; fail "watch exited"; }
		sleep 0.1
	done
	grep '^undistro: watch: ' "$t/w.out" | sed -n "$1p"
}
# expect N REGEX: the Nth status line matches
expect() {
	l=$(line "$1")
	echo "$l" | grep -Eq "$2" || { cat "$t/w.out" "$t/w.err"; fail "status line $1 is '$l', expected /$2/"; }
	echo "status $1: $l"
}
index() { tar --zstd -xOf "$o/rootfs.tar.zst" ./srv/index.html 2>/dev/null || tar --zstd -xOf "$o/rootfs.tar.zst" srv/index.html; }

startwatch r
expect 1 '^undistro: watch: rebuilt .* rootfs images in [0-9.]+ s$'
for p in app init kern lib solo; do line 1 | grep -q " $p " || fail "the first cycle did not build $p"; done
[ "$(index)" = hello ] || fail "the first rootfs lacks the overlay"

# an overlay edit: a new rootfs, no package
start=$(date +%s.%N)
echo changed >"$t/tree/overlays/web/srv/index.html"
expect 2 '^undistro: watch: rebuilt rootfs images in [0-9.]+ s$'
echo "overlay edit -> new rootfs and images: $(echo "$(date +%s.%N) - $start" | bc) s (wall)"
[ "$(index)" = changed ] || fail "the new rootfs lacks the edited overlay file"

# a recipe edit: that package and its dependents
sed -i 's/^release = 1/release = 2/' "$r/lib.recipe"
expect 3 '^undistro: watch: rebuilt lib app rootfs images in [0-9.]+ s$'

# a syntax error: reported at file:line, then the next good edit recovers
cp "$r/solo.recipe" "$t/solo.good"
echo 'this is not a recipe line' >>"$r/solo.recipe"
expect 4 '^undistro: watch: failed \(exit status 1\) after [0-9.]+ s; waiting for a change$'
grep -q "solo.recipe:[0-9]*:[0-9]*: " "$t/w.err" || { cat "$t/w.err"; fail "the error does not name solo.recipe:LINE:COL"; }
cp "$t/solo.good" "$r/solo.recipe"
expect 5 '^undistro: watch: up to date \([0-9.]+ s\)$'

# idle: blocked in poll, no system call for 2 s
if command -v strace >/dev/null; then
	timeout 2 strace -f -p "$pid" -o "$t/strace" 2>/dev/null || true
	if grep -v -e 'restart_syscall' -e '<detached' -e 'resumed>' "$t/strace" | grep -q .; then
		cat "$t/strace"
		fail "idle watch made the system calls above"
	fi
	echo "idle: $(wc -l <"$t/strace") strace lines, none a new system call"
fi
n=$(grep -c '^undistro: watch: ' "$t/w.out")
stopwatch
[ "$(grep -c '^undistro: watch: ' "$t/w.out")" = "$n" ] || fail "a cycle ran on SIGINT"

# a recipe edit while that package builds: the build is stopped and the
# cycle starts again with the new recipe
sed -i 's|^echo slow >.*|&\nsleep 4141|' "$r/slow.recipe"
startwatch s
i=0
until pgrep -f 'sleep 4141' >/dev/null; do
	i=$((i + 1))
	[ $i -lt 300 ] || { cat "$t/w.out" "$t/w.err"; fail "slow never started"; }
	sleep 0.1
done
sed -i '/^sleep 4141$/d' "$r/slow.recipe"
expect 1 '^undistro: watch: an input changed during the build, starting again'
expect 2 '^undistro: watch: rebuilt (.* )?slow rootfs images in [0-9.]+ s$'
! pgrep -f 'sleep 4141' >/dev/null || fail "the stopped build still runs"
[ -z "$(ls -A "$t/store/tmp")" ] || { ls -la "$t/store/tmp"; fail "store temporaries left"; }
[ ! -e "$t/work/$(uname -m)/slow" ] || fail "the stopped build's work directory is left"

# SIGINT during a build: exit 0, nothing left
sed -i 's|^echo slow >.*|&\nsleep 4242|' "$r/slow.recipe"
i=0
until pgrep -f 'sleep 4242' >/dev/null; do
	i=$((i + 1))
	[ $i -lt 300 ] || { cat "$t/w.out" "$t/w.err"; fail "slow never started again"; }
	sleep 0.1
done
kill -INT "$pid"
st=0
wait "$pid" || st=$?
pid=
[ "$st" = 0 ] || { cat "$t/w.err"; fail "SIGINT: exit status $st, expected 0"; }
sleep 0.2
! pgrep -f 'sleep 4242' >/dev/null || fail "SIGINT left the build running"
[ -z "$(ls -A "$t/store/tmp")" ] || fail "SIGINT left store temporaries"
[ ! -e "$t/work/$(uname -m)/slow" ] || fail "SIGINT left the work directory"
echo "SIGINT during a build: exit 0, nothing left"

# every cycle's memory freed: 100 cycles under LeakSanitizer, and the
# resident size of 100 cycles no more than 10's (plus 2 MiB)
sed -i '/^sleep 4242$/d' "$r/slow.recipe"
u build r >/dev/null 2>&1 || fail "build r"
if [ -x "${UNDISTRO_ASAN:-}" ]; then
	UNDISTRO=$UNDISTRO_ASAN ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 u watch --cycles 100 r >"$t/asan.out" 2>&1 ||
		{ tail -40 "$t/asan.out"; fail "100 cycles under ASan"; }
	# the first redoes the outputs: the output key names the executable
	[ "$(grep -c '^undistro: watch: \(up to date\|rebuilt rootfs images\)' "$t/asan.out")" = 100 ] ||
		{ tail "$t/asan.out"; fail "not 100 good cycles"; }
	echo "ASan: 100 cycles, no leak"
fi
# shellcheck disable=SC2086 # $as is empty or a command with arguments
rss() { /usr/bin/time -f %M -o "$t/rss" $as "$UNDISTRO" -C "$t/tree" watch --cycles "$1" r >/dev/null 2>&1; cat "$t/rss"; }
if [ -x /usr/bin/time ]; then
	a=$(UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$t/store" UNDISTRO_WORK="$t/work" HOME="$t" rss 10)
	b=$(UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$t/store" UNDISTRO_WORK="$t/work" HOME="$t" rss 100)
	echo "max RSS: 10 cycles $a KiB, 100 cycles $b KiB"
	[ "$b" -le $((a + 2048)) ] || fail "100 cycles grew to $b KiB from $a KiB"
fi
echo "watch: ok"
