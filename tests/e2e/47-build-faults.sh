#!/bin/sh
# Faults around the build stage, on a small synthetic tree (host toolchain):
#  - two runs with different stores but one work and log directory: the
#    second waits for the first (and says so), neither breaks the other;
#  - a source archive refused while unpacking (a path escape after some good
#    entries) leaves nothing in the work directory;
#  - SIGINT during a build stops the job and leaves nothing in the store;
#  - a store that cannot be written (a full tmpfs when root; a file size
#    limit, EFBIG, for anyone) fails with exit 4 and a message naming the
#    path and the system's error, not libarchive's bare "Write error", and
#    leaves no store entry.
# Runs as nobody when root, except the full tmpfs, which needs root to mount.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
t=$(mktemp -d /tmp/undistro-faults.XXXXXX)
mnt=
cleanup() { [ -z "$mnt" ] || umount "$mnt" 2>/dev/null || true; rm -rf "$t"; }
trap cleanup EXIT
chmod 755 "$t"
cd "$t"
as=
if [ "$(id -u)" = 0 ]; then
	as="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
fail() { echo "FAIL: $*"; exit 1; }
own() { [ -z "$as" ] || chown -R 65534:65534 "$t"; }
# ustore STORE ARGS...: undistro with its own store, the shared cache and work
# shellcheck disable=SC2086 # $as is empty or a command with arguments
ustore() {
	s=$1
	shift
	env UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$s" UNDISTRO_WORK="$t/work" HOME="$t" $as \
		"$UNDISTRO" -C "$t/tree" "$@"
}

mkdir -p "$t/tree/recipes/roles" "$t/tree/stage2" "$t/cache/sha256"
cp "$TOP/stage2/mkwrapper" "$TOP/stage2/audit" "$TOP/stage2/host-tools" "$t/tree/stage2/"
# recipe NAME INSTALL-LINE [SOURCE-BLOCK]
recipe() {
	{
		printf 'name = %s\nversion = 1.0\nrelease = 1\ndesc = test package %s\n' "$1" "$1"
		printf 'license = MIT\ntoolchain = host\n%s\n' "${3:-}"
		printf 'install <<END\n%s\nEND\n' "$2"
	} >"$t/tree/recipes/$1.recipe"
	printf 'name = %s\npackages = %s\n' "r$1" "$1" >"$t/tree/recipes/roles/r$1.role"
}

# --- two runs, two stores, one work directory
# slow checks that nobody removed its build directory while it slept
# shellcheck disable=SC2016 # for the recipe
recipe slow 'echo mine >"$BUILD/marker"; sleep 2; [ "$(cat "$BUILD/marker")" = mine ]; echo ok >"$DESTDIR/ok"'
own
ustore "$t/store1" build --packages rslow >"$t/a1" 2>&1 &
pa=$!
sleep 0.7
sb=0
ustore "$t/store2" build --packages rslow >"$t/a2" 2>&1 || sb=$?
sa=0
wait "$pa" || sa=$?
[ "$sa" = 0 ] || { cat "$t/a1"; fail "first concurrent run: exit $sa"; }
[ "$sb" = 0 ] || { cat "$t/a2"; fail "second concurrent run: exit $sb"; }
grep -q "waiting for another undistro that uses the work directory $t/work" "$t/a2" ||
	{ cat "$t/a2"; fail "the second run did not say it waits for the work directory"; }
echo "concurrent runs, two stores, one work directory: the second waited, both built"

# --- a refused archive leaves nothing in the work directory
python3 - "$t/bad.tar.gz" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as tf:
    for name, data in (("bad-1.0/README", b"x" * 4096), ("bad-1.0/sub/file", b"y" * 4096),
                       ("bad-1.0/../../escape", b"z")):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
PY
hex=$(sha256sum "$t/bad.tar.gz" | cut -d' ' -f1)
cp "$t/bad.tar.gz" "$t/cache/sha256/$hex"
recipe bad 'true' "$(printf 'source {\n\turl = https://example.invalid/bad-1.0.tar.gz\n\tsha256 = %s\n}' "$hex")"
own
st=0
ustore "$t/store1" build --offline --packages rbad >"$t/b1" 2>&1 || st=$?
[ "$st" = 3 ] || { cat "$t/b1"; fail "refused archive: exit $st, want 3"; }
grep -q "bad-1.0.tar.gz: entry '.*escape'" "$t/b1" || { cat "$t/b1"; fail "no message naming the entry"; }
[ ! -e "$t/work/$(uname -m)/bad" ] || { find "$t/work/$(uname -m)/bad"; fail "the refused archive left $t/work/$(uname -m)/bad"; }
{ [ ! -e "$t/escape" ] && [ ! -e "$t/work/$(uname -m)/escape" ]; } || fail "the escape was written"
echo "refused archive: exit 3, nothing left in the work directory"

# --- SIGINT during a build: the job's process group is stopped, the run
# exits by the signal, says nothing partial is left, and the store and the
# machine keep nothing of it (os.c's self-pipe, build.c's interrupted)
# a sleep no other run has (this shell's pid in its length): pgrep finds ours
nap="sleep 1$$"
recipe nap "exec $nap"
own
ustore "$t/store5" build --packages rnap >"$t/i1" 2>&1 &
pid=$!
n=0
until pgrep -fx "$nap" >/dev/null; do
	n=$((n + 1))
	[ "$n" -lt 300 ] || { cat "$t/i1"; fail "the nap build never started"; }
	sleep 0.1
done
# the undistro process itself (under setpriv when root: its child)
upid=$(pgrep -P "$pid" -x undistro || pgrep -x -P "$(pgrep -P "$pid" | head -n 1)" undistro || echo "$pid")
kill -INT "$upid"
st=0
wait "$pid" || st=$?
[ "$st" -ne 0 ] || { cat "$t/i1"; fail "interrupted build exited 0"; }
grep -q "^undistro: interrupted; nothing partial is left in the store$" "$t/i1" || { cat "$t/i1"; fail "no interrupted line"; }
! pgrep -fx "$nap" >/dev/null || fail "the build's sleep outlived the interrupt"
[ -z "$(ls "$t/store5/pkg" 2>/dev/null)" ] || fail "an entry in the store after an interrupt"
echo "SIGINT during a build: exit $st, the job stopped, nothing in the store"

# --- a store that cannot be written: the path and the reason
# big: two incompressible 600 KiB files, so the archive (1.2 MiB) exceeds
# limits that each file fits in
# shellcheck disable=SC2016 # for the recipe
recipe big 'head -c 614400 /dev/urandom >"$DESTDIR/a"; head -c 614400 /dev/urandom >"$DESTDIR/b"'
own
st=0
(ulimit -f 2000 && ustore "$t/store3" build --packages rbig) >"$t/c1" 2>&1 || st=$?
[ "$st" = 4 ] || { cat "$t/c1"; fail "file size limit: exit $st, want 4"; }
grep -q "$t/store3/tmp/.*: File too large" "$t/c1" || { cat "$t/c1"; fail "no message naming the store path and EFBIG"; }
! grep -q "Write error$" "$t/c1" || { cat "$t/c1"; fail "a bare 'Write error'"; }
[ -z "$(ls "$t/store3/pkg")" ] || fail "an entry in the store after a failed write"
grep "File too large" "$t/c1" | head -n 3
echo "file size limit (EFBIG): exit 4, path and reason named, no store entry"

if [ "$(id -u)" != 0 ]; then
	echo "not root: the full-disk case (a 1 MiB tmpfs as the store) needs root to mount; skipped"
	exit 0
fi
mnt="$t/store4"
mkdir -p "$mnt"
mount -t tmpfs -o size=1m tmpfs "$mnt"
chown 65534:65534 "$mnt"
st=0
ustore "$mnt" build --packages rbig >"$t/d1" 2>&1 || st=$?
[ "$st" = 4 ] || { cat "$t/d1"; fail "full disk: exit $st, want 4"; }
grep -q "$mnt/tmp/.*: No space left on device" "$t/d1" || { cat "$t/d1"; fail "no message naming the store path and ENOSPC"; }
! grep -q "Write error$" "$t/d1" || { cat "$t/d1"; fail "a bare 'Write error'"; }
[ -z "$(ls "$mnt/pkg")" ] || fail "an entry in the store after a full disk"
grep "No space left" "$t/d1" | head -n 3
echo "full disk (1 MiB tmpfs store): exit 4, path and reason named, no store entry"
