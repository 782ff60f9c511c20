#!/bin/sh
# The remote package store (builder/remote.h) on a small synthetic tree,
# against real servers started here on loopback as the test's user (nobody
# when root): nginx (WebDAV PUT, create_full_put_path) and lighttpd
# (mod_webdav: a PUT into a missing collection is answered 409, so undistro
# makes it with MKCOL). For each server: store A builds the role and pushes
# it; an empty store B with only the remote builds nothing (every package
# substituted, its build-only tool not even fetched) and makes byte-identical
# outputs. Then every way a server can fail or lie: a closed port, a server
# answering 503 (asked once only), a socket that never answers (bounded
# time); a record without its blob, a truncated, a corrupted (same size) and
# an overwritten blob, an unsigned record, one signed by an untrusted key, a
# record of another key copied over, a record too long: each is refused with
# a warning, the package is built locally, and store B ends up holding
# exactly A's entries, nothing else (no bad entry, nothing left in its tmp).
# Usage: a push without a signing key and a remote without trusted keys exit
# 2; a trusted-keys file with no key exits 1. --offline asks no remote.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/synth.sh"
command -v nginx >/dev/null || fail "nginx is not installed (ci/install-deps installs it)"
command -v lighttpd >/dev/null || fail "lighttpd is not installed (ci/install-deps installs it)"
synthinit remote
pids=
trap 'davstop; for p in $pids; do kill "$p" 2>/dev/null || :; done; rm -rf "$t"' EXIT
r=$t/tree/recipes
synthrole
# shellcheck disable=SC2016 # the $DESTDIR references are for the recipe
recipe() { # name depends build-depends
	{
		printf 'name = %s\nversion = 1.0\nrelease = 1\ndesc = test package %s\n' "$1" "$1"
		printf 'license = MIT\ntoolchain = host\n'
		[ -z "$2" ] || printf 'depends = %s\n' "$2"
		[ -z "$3" ] || printf 'build-depends = %s\n' "$3"
		printf 'install <<END\nmkdir -p "$DESTDIR/usr/share/%s"\necho %s >"$DESTDIR/usr/share/%s/id"\nEND\n' \
			"$1" "$1" "$1"
	} >"$r/$1.recipe"
}
recipe tool "" ""
recipe lib "" ""
recipe app lib tool
printf 'name = r\npackages = init, app\nkernel = kern\n' >"$r/roles/r.role"
export SOURCE_DATE_EPOCH=1700000000
mkdir -p "$t/keys"
own
# shellcheck disable=SC2086 # $as is empty or a command with arguments
$as "$UNDISTRO" key new ci "$t/keys" >/dev/null || fail "undistro key new ci"
# shellcheck disable=SC2086
$as "$UNDISTRO" key new evil "$t/keys" >/dev/null || fail "undistro key new evil"
printf '# the test'"'"'s trusted keys\n\n' >"$t/trusted"
cat "$t/keys/ci.pub" >>"$t/trusted"
own

# b STORE [VAR=VALUE...]: build the role r into store $t/STORE, outputs in
# $t/out-STORE, with the environment given (UNDISTRO_REMOTE...)
b() {
	s=$1
	shift
	# shellcheck disable=SC2086 # $as is empty or a command with arguments
	env UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$t/$s" UNDISTRO_WORK="$t/work-$s" HOME="$t" "$@" \
		$as "$UNDISTRO" -C "$t/tree" build -o "$t/out-$s" r
}
# keyof NAME: the store key of package NAME (from store A)
keyof() { grep -l "^name $1\$" "$t"/A/pkg/*/info | sed 's,/info$,,; s,.*/,,'; }
# blob NAME FILE: the sha256 of one of the entry's files, its name on the remote
blob() { sha256sum <"$t/A/pkg/$(keyof "$1")/$2" | cut -c1-64; }

b A >"$t/a1" 2>&1 || { cat "$t/a1"; fail "the first build"; }
[ "$(grep -c '^undistro: built [a-z]* in' "$t/a1")" = 5 ] || { cat "$t/a1"; fail "expected 5 package builds"; }
app=$(keyof app) lib=$(keyof lib) tool=$(keyof tool)
echo "store A: 5 packages built (app $app)"

# servers ---------------------------------------------------------------
# nginx (lib.sh), and another nginx server that answers 503
badport=$(freeport)
davextra="server { listen 127.0.0.1:$badport; access_log $t/ng/bad.log; return 503; }"
davstart "$t/ng"
ngport=$davport
ltport=$(freeport)
mkdir -p "$t/lt/data" "$t/lt/up"
cat >"$t/lt/lighttpd.conf" <<EOF
server.document-root = "$t/lt/data"
server.bind = "127.0.0.1"
server.port = $ltport
server.errorlog = "$t/lt/error.log"
server.upload-dirs = ("$t/lt/up")
# the test swaps the served files under the running server: no stat cache
# (lighttpd would keep serving a removed file for up to a second)
server.stat-cache-engine = "disable"
server.modules = ("mod_webdav")
webdav.activate = "enable"
webdav.is-readonly = "disable"
mimetype.assign = ("" => "application/octet-stream")
EOF
own
# shellcheck disable=SC2086 # $as is empty or a command with arguments
$as lighttpd -D -f "$t/lt/lighttpd.conf" >"$t/lt/out" 2>&1 &
pids="$pids $!"
for port in "$ltport" "$badport"; do
	i=0
	until curl -s -o /dev/null "http://127.0.0.1:$port/"; do
		i=$((i + 1))
		[ $i -lt 100 ] || { cat "$t/ng/out" "$t/ng/error.log" "$t/lt/out" 2>/dev/null; fail "no server on $port"; }
		sleep 0.1
	done
done
echo "servers: nginx on $ngport (503 on $badport), lighttpd on $ltport"

# checks ----------------------------------------------------------------
# storeok: store B holds exactly A's entries for the keys it has (byte for
# byte), nothing in its tmp/, and a build with no remote builds nothing
storeok() {
	for d in "$t"/B/pkg/*; do
		k=${d##*/}
		[ -d "$t/A/pkg/$k" ] || fail "$1: store B holds $k, which A does not"
		for f in pkg.tar.zst manifest info; do
			cmp -s "$d/$f" "$t/A/pkg/$k/$f" || fail "$1: store B's $k/$f differs from A's"
		done
	done
	[ -z "$(ls -A "$t/B/tmp" 2>/dev/null)" ] || { ls -la "$t/B/tmp"; fail "$1: store B's tmp/ is not empty"; }
	b B >"$t/again" 2>&1 || { cat "$t/again"; fail "$1: the build with no remote"; }
	! grep -q 'building\|damaged' "$t/again" || { cat "$t/again"; fail "$1: store B had a bad or missing entry"; }
}
# fresh: an empty store B, work directory and outputs
fresh() { rm -rf "$t/B" "$t/work-B" "$t/out-B"; }
# built LOG: the packages the build built, sorted, on one line
built() { sed -n 's/^undistro: building //p' "$1" | sort | tr '\n' ' '; }
substituted() { sed -n 's/^undistro: substituted \([a-z]*\) from .*/\1/p' "$1" | sort | tr '\n' ' '; }

for server in nginx lighttpd; do
	case $server in
	nginx) url=http://127.0.0.1:$ngport data=$t/ng/data ;;
	lighttpd) url=http://127.0.0.1:$ltport/ data=$t/lt/data ;;
	esac
	# push: the role, and tool by itself (a sysroot the remote then has)
	b A UNDISTRO_REMOTE="$url" UNDISTRO_PUSH=1 UNDISTRO_SIGNING_KEY="$t/keys/ci.key" >"$t/push" 2>&1 ||
		{ cat "$t/push"; fail "$server: push"; }
	[ "$(grep -c '^undistro: pushed [a-z]* to' "$t/push")" = 4 ] || { cat "$t/push"; fail "$server: 4 pushes expected"; }
	grep -q "^undistro: pushed 4 packages .* 0 already there" "$t/push" || { cat "$t/push"; fail "$server: summary"; }
	# shellcheck disable=SC2086 # $as is empty or a command with arguments
	env UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$t/A" UNDISTRO_WORK="$t/work-A" HOME="$t" \
		UNDISTRO_SIGNING_KEY="$t/keys/ci.key" $as "$UNDISTRO" -C "$t/tree" build --packages tool --remote "$url" \
		--push >"$t/push2" 2>&1 || { cat "$t/push2"; fail "$server: push of tool"; }
	grep -q '^undistro: pushed tool to' "$t/push2" || { cat "$t/push2"; fail "$server: tool not pushed"; }
	{ [ -s "$data/ac/$app" ] && [ -s "$data/cas/$(blob app pkg.tar.zst)" ]; } || fail "$server: nothing under ac/ and cas/"
	b A UNDISTRO_REMOTE="$url" UNDISTRO_PUSH=1 UNDISTRO_SIGNING_KEY="$t/keys/ci.key" >"$t/push3" 2>&1 ||
		{ cat "$t/push3"; fail "$server: second push"; }
	grep -q "^undistro: pushed 0 packages .* 4 already there" "$t/push3" || { cat "$t/push3"; fail "$server: re-push"; }
	rm -rf "$t/$server.pristine"
	cp -a "$data" "$t/$server.pristine"
	echo "$server: pushed"

	# an empty store, only the remote: nothing built, the same outputs
	fresh
	start=$(date +%s.%N)
	b B UNDISTRO_REMOTE="$url" UNDISTRO_TRUSTED_KEYS="$t/trusted" >"$t/warm" 2>&1 || { cat "$t/warm"; fail "$server: warm"; }
	end=$(date +%s.%N)
	[ -z "$(built "$t/warm")" ] || { cat "$t/warm"; fail "$server: built $(built "$t/warm")"; }
	[ "$(substituted "$t/warm")" = "app init kern lib " ] || { cat "$t/warm"; fail "$server: substituted $(substituted "$t/warm")"; }
	[ ! -d "$t/B/pkg/$tool" ] || fail "$server: the build-only tool was fetched"
	for f in rootfs.tar.zst initramfs.cpio.zst manifest disk.raw sbom.spdx.json; do
		cmp -s "$t/out-A/$f" "$t/out-B/$f" || fail "$server: $f differs from store A's build"
	done
	storeok "$server warm"
	echo "$server: warm remote: nothing built, identical outputs, $(echo "$end - $start" | bc) s for the role ($(sed -n "s/^undistro: \(substituted [0-9]* packages\) .* in \(.*\)$/\1 in \2/p" "$t/warm"))"

	# every lie the server can tell about app: refused, app built here
	for c in noblob truncated corrupted overwritten unsigned untrusted otherkey toolong; do
		rm -rf "$data"
		cp -a "$t/$server.pristine" "$data"
		p=$data/cas/$(blob app pkg.tar.zst)
		case $c in
		noblob) rm "$p" ;;
		truncated) head -c 100 "$t/A/pkg/$app/pkg.tar.zst" >"$p" ;;
		corrupted) python3 -c 'import sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
d[len(d) // 2] ^= 0x55
open(p, "wb").write(d)' "$p" ;;
		overwritten) head -c 5000 /dev/urandom >"$p" ;;
		unsigned) sed -i '/^sig /d' "$data/ac/$app" ;;
		untrusted)
			rm "$data/ac/$app"
			b A UNDISTRO_REMOTE="$url" UNDISTRO_PUSH=1 UNDISTRO_SIGNING_KEY="$t/keys/evil.key" >"$t/evil" 2>&1 ||
				{ cat "$t/evil"; fail "$server: push with the untrusted key"; }
			grep -q "^undistro: pushed app to" "$t/evil" || { cat "$t/evil"; fail "$server: no push signed by evil"; }
			grep -q '^sig evil:' "$data/ac/$app" || fail "$server: the record is not signed by evil"
			;;
		otherkey) cp "$data/ac/$lib" "$data/ac/$app" ;;
		toolong) head -c 5000 /dev/zero | tr '\0' x >"$data/ac/$app" ;;
		esac
		fresh
		b B UNDISTRO_REMOTE="$url" UNDISTRO_TRUSTED_KEYS="$t/trusted" >"$t/$c" 2>&1 ||
			{ cat "$t/$c"; fail "$server $c: the build failed"; }
		grep -q "^undistro: warning: refused app from the remote: .*127\.0\.0\.1:" "$t/$c" ||
			{ cat "$t/$c"; fail "$server $c: no warning refusing app"; }
		[ "$(built "$t/$c")" = "app " ] || { cat "$t/$c"; fail "$server $c: built '$(built "$t/$c")', want app"; }
		[ "$(substituted "$t/$c")" = "init kern lib tool " ] ||
			{ cat "$t/$c"; fail "$server $c: substituted '$(substituted "$t/$c")'"; }
		storeok "$server $c"
		echo "$server $c: $(sed -n 's/^undistro: warning: refused app from the remote: //p' "$t/$c")"
	done
	rm -rf "$data"
	cp -a "$t/$server.pristine" "$data"
done

# unreachable ---------------------------------------------------------------
# down LOG: one warning that the remote is unreachable, every package built
down() {
	[ "$(grep -c '^undistro: warning: remote .* unreachable (.*): building locally$' "$1")" = 1 ] ||
		{ cat "$1"; fail "$2: want one 'unreachable' warning"; }
	[ "$(built "$1")" = "app init kern lib tool " ] || { cat "$1"; fail "$2: built '$(built "$1")'"; }
	! grep -q substituted "$1" || { cat "$1"; fail "$2: substituted something"; }
	storeok "$2"
}
closed=$(freeport)
fresh
b B UNDISTRO_REMOTE="http://127.0.0.1:$closed" UNDISTRO_TRUSTED_KEYS="$t/trusted" >"$t/closed" 2>&1 ||
	{ cat "$t/closed"; fail "closed port: the build failed"; }
down "$t/closed" "closed port"
echo "closed port: $(grep unreachable "$t/closed")"
fresh
b B UNDISTRO_REMOTE="http://127.0.0.1:$badport" UNDISTRO_TRUSTED_KEYS="$t/trusted" >"$t/503" 2>&1 ||
	{ cat "$t/503"; fail "503: the build failed"; }
down "$t/503" "503"
[ "$(grep -c '"undistro"$' "$t/ng/bad.log")" = 1 ] || { cat "$t/ng/bad.log"; fail "the 503 server was not asked once"; }
echo "503: one request, then local builds"
# --offline: the environment's remote is not asked at all
fresh
# shellcheck disable=SC2086 # $as is empty or a command with arguments
env UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$t/B" UNDISTRO_WORK="$t/work-B" HOME="$t" \
	UNDISTRO_REMOTE="http://127.0.0.1:$badport" UNDISTRO_TRUSTED_KEYS="$t/trusted" \
	$as "$UNDISTRO" -C "$t/tree" build --offline -o "$t/out-B" r >"$t/offline" 2>&1 || { cat "$t/offline"; fail "--offline"; }
! grep -q 'unreachable\|substituted' "$t/offline" || { cat "$t/offline"; fail "--offline used the remote"; }
[ "$(grep -c '"undistro"$' "$t/ng/bad.log")" = 1 ] || { cat "$t/ng/bad.log"; fail "--offline asked the remote"; }
echo "--offline: the remote is not asked"
# a socket that accepts connections (the kernel's backlog) and never answers
stall=$(freeport)
python3 -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
time.sleep(120)' "$stall" &
pids="$pids $!"
sleep 0.5
fresh
start=$(date +%s)
b B UNDISTRO_REMOTE="http://127.0.0.1:$stall" UNDISTRO_TRUSTED_KEYS="$t/trusted" >"$t/stall" 2>&1 ||
	{ cat "$t/stall"; fail "stalled server: the build failed"; }
secs=$(($(date +%s) - start))
down "$t/stall" "stalled server"
[ "$secs" -lt 30 ] || fail "a stalled server cost the build $secs s"
echo "stalled server: $secs s in all, $(grep unreachable "$t/stall")"

# usage -------------------------------------------------------------------
# code STORE [VAR=VALUE...]: the build's exit status
code() { if b "$@" >"$t/usage" 2>&1; then echo 0; else echo $?; fi; }
[ "$(code B UNDISTRO_REMOTE="http://127.0.0.1:$ngport" UNDISTRO_PUSH=1 UNDISTRO_TRUSTED_KEYS="$t/trusted")" = 2 ] ||
	{ cat "$t/usage"; fail "push without a signing key: not exit 2"; }
grep -q 'UNDISTRO_SIGNING_KEY' "$t/usage" || { cat "$t/usage"; fail "push without a signing key: no hint"; }
[ "$(code B UNDISTRO_REMOTE="http://127.0.0.1:$ngport")" = 2 ] || { cat "$t/usage"; fail "no trusted keys: not exit 2"; }
grep -q 'UNDISTRO_TRUSTED_KEYS' "$t/usage" || { cat "$t/usage"; fail "no trusted keys: no hint"; }
[ "$(code B UNDISTRO_REMOTE="ftp://127.0.0.1:$ngport" UNDISTRO_TRUSTED_KEYS="$t/trusted")" = 2 ] ||
	{ cat "$t/usage"; fail "an ftp remote: not exit 2"; }
[ "$(code B UNDISTRO_PUSH=1 UNDISTRO_SIGNING_KEY="$t/keys/ci.key")" = 2 ] || { cat "$t/usage"; fail "push, no remote"; }
[ "$(code B UNDISTRO_REMOTE="http://127.0.0.1:$ngport" UNDISTRO_TRUSTED_KEYS="$t/tree/recipes/roles/r.role")" = 1 ] ||
	{ cat "$t/usage"; fail "a trusted-keys file that is not one: not exit 1"; }
printf '# none yet\n' >"$t/nokeys"
own
[ "$(code B UNDISTRO_REMOTE="http://127.0.0.1:$ngport" UNDISTRO_TRUSTED_KEYS="$t/nokeys")" = 1 ] ||
	{ cat "$t/usage"; fail "a trusted-keys file with no key: not exit 1"; }
grep -q "$t/nokeys holds no public key" "$t/usage" || { cat "$t/usage"; fail "no key: message"; }
echo "usage: push without a key, no trusted keys, not http: exit 2; no usable trusted key: exit 1"
