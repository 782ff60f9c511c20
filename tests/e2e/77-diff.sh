#!/bin/sh
# undistro diff on two outputs of a small synthetic role (host toolchain, a
# placeholder kernel: tests/e2e/synth.sh; no boot): the second build has a
# package upgraded (and grown), one added, an overlay file removed, one
# added and one edited at the same size. The text and --json outputs must
# name exactly those changes, with the bytes and, from the two cost.json
# files (written here: a synthetic image cannot boot), the cost deltas; a
# cost.json measured on another disk.raw is left out with a warning; a
# directory without a manifest is an error. Runs as nobody when root.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/synth.sh"
synthinit diff
r=$t/tree/recipes
synthrole
# app VERSION BYTES: a package installing usr/bin/app of BYTES bytes
app() {
	cat >"$r/app.recipe" <<EOF
name = app
version = $1
release = 1
desc = an application
license = MIT
toolchain = host
install <<END
mkdir -p "\$DESTDIR/usr/bin"
head -c $2 /dev/zero | tr '\\\\0' a >"\$DESTDIR/usr/bin/app"
chmod 755 "\$DESTDIR/usr/bin/app"
END
EOF
}
app 1.0 1000
cat >"$r/extra.recipe" <<'EOF'
name = extra
version = 2.5
release = 3
desc = an extra tool
license = MIT
toolchain = host
install <<END
mkdir -p "$DESTDIR/usr/bin"
echo extra >"$DESTDIR/usr/bin/extra"
END
EOF
printf 'name = r\npackages = init, app\nkernel = kern\noverlays = web\n' >"$r/roles/r.role"
mkdir -p "$t/tree/overlays/web/srv"
echo one >"$t/tree/overlays/web/srv/gone.html"
echo same >"$t/tree/overlays/web/srv/edited.html"
export SOURCE_DATE_EPOCH=1700000000
own
u build -o "$t/a" r >"$t/build-a" 2>&1 || { cat "$t/build-a"; fail "build A"; }

app 1.1 5000
printf 'name = r\npackages = init, app, extra\nkernel = kern\noverlays = web\n' >"$r/roles/r.role"
rm "$t/tree/overlays/web/srv/gone.html"
echo new >"$t/tree/overlays/web/srv/new.html"
echo SAME >"$t/tree/overlays/web/srv/edited.html"
own
u build -o "$t/b" r >"$t/build-b" 2>&1 || { cat "$t/build-b"; fail "build B"; }

# cost.json DIR IDLE_MEMORY: figures measured on DIR's disk.raw
costjson() {
	sha=$(sha256sum "$1/disk.raw" | cut -c1-64)
	cat >"$1/cost.json" <<EOF
{"role": "r", "arch": "x86_64", "image_bytes": 1000, "image_zstd_bytes": 100, "rootfs_bytes": 50,
 "boot_to_ready_s": 5.5, "idle_memory_kib": $2, "idle_processes": 30, "idle_userspace_processes": 6,
 "idle_context_switches_per_s": 7.25, "boot_read_bytes": 4096, "image_sha256": "$sha"}
EOF
}
costjson "$t/a" 12000
costjson "$t/b" 13500
own

u diff "$t/a" "$t/b" >"$t/diff" 2>"$t/diff.err" || { cat "$t/diff" "$t/diff.err"; fail "diff"; }
cat "$t/diff"
[ ! -s "$t/diff.err" ] || { cat "$t/diff.err"; fail "diff warned"; }
has() { grep -qxF -- "$1" "$t/diff" || fail "the diff has no line '$1'"; }
has "A: $t/a"
has "packages: 1 added, 0 removed, 1 changed"
has "  + extra 2.5-3 (runtime)"
has "  ~ app 1.0-1 -> 1.1-1"
has "files: 2 added, 1 removed, 1 grown, 0 shrunk, 1 changed"
has "  + 6  usr/bin/extra  extra"
has "  + 4  srv/new.html  overlay:web"
has "  - 4  srv/gone.html  overlay:web"
has "  > +4000  usr/bin/app  (1000 -> 5000)  app"
has "  ~ 5  srv/edited.html  overlay:web"
grep -q '^  rootfs files  *[0-9]* -> [0-9]* (+4006)$' "$t/diff" || fail "rootfs bytes: not +4006"
grep -q '^  disk.raw ' "$t/diff" || fail "no disk.raw size"
has "  idle_memory_kib                     12000 ->        13500  (+1500, +12.5%)"
has "  boot_to_ready_s                      5.50 ->         5.50  (+0.00, +0.0%)"
# the files added come largest first
[ "$(grep -n 'usr/bin/extra' "$t/diff" | cut -d: -f1)" -lt "$(grep -n 'srv/new.html' "$t/diff" | cut -d: -f1)" ] ||
	fail "added files are not largest first"

u diff --json "$t/a" "$t/b" >"$t/diff.json" || fail "diff --json"
jq -e '.packages.added == [{"name": "extra", "version": "2.5-3", "kind": "runtime", "flags": "",
	"store_key": .packages.added[0].store_key}]' "$t/diff.json" >/dev/null || { cat "$t/diff.json"; fail "json: packages added"; }
jq -e '.packages.changed[0].a.version == "1.0-1" and .packages.changed[0].b.version == "1.1-1" and
	(.packages.removed | length) == 0' "$t/diff.json" >/dev/null || fail "json: packages changed"
jq -e '[.files.added[].path] == ["usr/bin/extra", "srv/new.html"]' "$t/diff.json" >/dev/null ||
	fail "json: files added, largest first"
jq -e '.files.grown[0].a.size == 1000 and .files.grown[0].b.size == 5000 and .files.removed[0].path == "srv/gone.html"' \
	"$t/diff.json" >/dev/null || fail "json: files grown, removed"
jq -e '.bytes.rootfs_files.delta == 4006 and .cost.idle_memory_kib == {"a": 12000, "b": 13500, "delta": 1500}' \
	"$t/diff.json" >/dev/null || fail "json: bytes, cost"

# a cost.json of another image is left out, with a warning
sed -i 's/"image_sha256": "[0-9a-f]*"/"image_sha256": "0000"/' "$t/b/cost.json"
u diff "$t/a" "$t/b" >"$t/diff2" 2>"$t/diff2.err" || fail "diff with a stale cost.json"
grep -q "cost.json was measured on another disk.raw" "$t/diff2.err" || { cat "$t/diff2.err"; fail "no stale warning"; }
grep -qx "cost: only A measured (undistro cost on B)" "$t/diff2" || fail "the stale cost was not left out"
u diff --json "$t/a" "$t/b" 2>/dev/null | jq -e '.cost == null' >/dev/null || fail "json: the stale cost was not left out"

# no manifest: an error naming it
rm "$t/b/manifest"
if u diff "$t/a" "$t/b" >"$t/diff3" 2>&1; then fail "diff without a manifest succeeded"; fi
grep -q "$t/b/manifest" "$t/diff3" || { cat "$t/diff3"; fail "the error does not name the manifest"; }
echo "diff: ok"
