#!/bin/sh
# undistro key new, as an unprivileged user: a 0600 secret key and its .pub,
# one NAME:BASE64 line each, whatever the umask; an existing key is never
# overwritten (exit 1, named); bad names exit 1 and write nothing; usage
# errors exit 2; a directory that cannot be written exits 4. The files are
# plain Ed25519: openssl signs with the seed of NAME.key, and the key of
# NAME.pub verifies it (and refuses another message).
set -eu
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${UNDISTRO:-$top/undistro}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
as=
if [ "$(id -u)" -eq 0 ]; then
	as="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
# shellcheck disable=SC2086 # $as is empty or a command with arguments
u() { $as "$bin" "$@"; }
# code CMD...: its exit status (set -e stays on)
code() { if "$@" >"$tmp/out" 2>"$tmp/err"; then echo 0; else echo $?; fi; }
mkdir "$tmp/k" "$tmp/ro"
[ -z "$as" ] || { chmod 755 "$tmp"; chown 65534:65534 "$tmp/k"; }
[ -n "$as" ] || chmod 555 "$tmp/ro"   # as root: nobody cannot write a root-owned 755 directory

"$bin" --help | grep -q '^  key ' || fail "--help does not list key"
"$bin" key --help | grep -q 'key new NAME \[DIR\]' || fail "key --help"

# a new key, as nobody with umask 000: still 0600
[ "$(umask 000; code u key new ci-main_1.x "$tmp/k")" = 0 ] || { cat "$tmp/err"; fail "key new"; }
grep -q "$tmp/k/ci-main_1.x.key" "$tmp/out" || fail "key new does not print the secret key's path"
grep -q "$tmp/k/ci-main_1.x.pub" "$tmp/out" || fail "key new does not print the public key's path"
grep -q UNDISTRO_TRUSTED_KEYS "$tmp/out" || fail "key new does not say how to trust the key"
[ "$(stat -c %a "$tmp/k/ci-main_1.x.key")" = 600 ] || fail "secret key mode $(stat -c %a "$tmp/k/ci-main_1.x.key")"
if [ -n "$as" ]; then
	[ "$(stat -c %u "$tmp/k/ci-main_1.x.key")" = 65534 ] || fail "secret key not owned by who made it"
fi
re='^ci-main_1\.x:[A-Za-z0-9+/]\{43\}=$'
for f in "$tmp/k/ci-main_1.x.key" "$tmp/k/ci-main_1.x.pub"; do
	[ "$(wc -l <"$f")" = 1 ] || fail "$f: not one line"
	grep -q "$re" "$f" || fail "$f: not NAME:BASE64 of 32 bytes: $(cat "$f")"
done
cmp -s "$tmp/k/ci-main_1.x.key" "$tmp/k/ci-main_1.x.pub" && fail "the public key is the secret one"
files() { find "$1" -mindepth 1 -printf '%f\n' | sort | tr '\n' ' '; }
[ "$(files "$tmp/k")" = "ci-main_1.x.key ci-main_1.x.pub " ] || fail "files left: $(files "$tmp/k")"

# never overwritten: exit 1 naming the file; the key stays as it was
cp "$tmp/k/ci-main_1.x.key" "$tmp/key.before"
cp "$tmp/k/ci-main_1.x.pub" "$tmp/pub.before"
[ "$(code u key new ci-main_1.x "$tmp/k")" = 1 ] || fail "key new over an existing key: not exit 1"
grep -q "$tmp/k/ci-main_1.x.key exists" "$tmp/err" || fail "the refusal does not name the key: $(cat "$tmp/err")"
cmp -s "$tmp/key.before" "$tmp/k/ci-main_1.x.key" || fail "the secret key changed"
cmp -s "$tmp/pub.before" "$tmp/k/ci-main_1.x.pub" || fail "the public key changed"

# bad names: exit 1, nothing written
for n in '' 'a/b' 'a b' 'k:1' '../k' 'é' 12345678901234567890123456789012345678901234567890123456789012345; do
	[ "$(code u key new "$n" "$tmp/k")" = 1 ] || fail "key new '$n': not exit 1"
	grep -q 'is not a key name' "$tmp/err" || fail "key new '$n': $(cat "$tmp/err")"
done
[ "$(files "$tmp/k")" = "ci-main_1.x.key ci-main_1.x.pub " ] || fail "bad names left files: $(files "$tmp/k")"

# usage errors: exit 2
[ "$(code u key)" = 2 ] || fail "key without a command"
[ "$(code u key old x)" = 2 ] || fail "key old"
[ "$(code u key new)" = 2 ] || fail "key new without a name"
[ "$(code u key new a "$tmp/k" extra)" = 2 ] || fail "key new with three operands"
[ "$(code u key new --bogus a)" = 2 ] || fail "key new --bogus"

# a directory that is not there, or that cannot be written: exit 4, nothing left
[ "$(code u key new k "$tmp/none")" = 4 ] || fail "key new into a missing directory: not exit 4"
grep -q "cannot create $tmp/none/k.key" "$tmp/err" || fail "missing directory: $(cat "$tmp/err")"
[ "$(code u key new k "$tmp/ro")" = 4 ] || fail "key new into a read-only directory: not exit 4"
[ -z "$(files "$tmp/ro")" ] || fail "files left in the read-only directory: $(files "$tmp/ro")"

# the default directory is .
(cd "$tmp/k" && [ "$(code u key new here)" = 0 ]) || fail "key new without DIR"
[ -s "$tmp/k/here.key" ] || fail "key new without DIR did not write ./here.key"
[ -s "$tmp/k/here.pub" ] || fail "key new without DIR did not write ./here.pub"

# plain Ed25519: openssl signs with NAME.key's seed, NAME.pub's key verifies.
# DER wrappings of RFC 8410: PKCS#8 for the seed, SubjectPublicKeyInfo for the key.
{ printf '\060\056\002\001\000\060\005\006\003\053\145\160\004\042\004\040'
  cut -d: -f2 "$tmp/k/ci-main_1.x.key" | base64 -d; } >"$tmp/seed.der"
{ printf '\060\052\060\005\006\003\053\145\160\003\041\000'
  cut -d: -f2 "$tmp/k/ci-main_1.x.pub" | base64 -d; } >"$tmp/pub.der"
printf 'undistro-record 1\n' >"$tmp/msg"
openssl pkeyutl -sign -rawin -keyform DER -inkey "$tmp/seed.der" -in "$tmp/msg" -out "$tmp/sig" ||
	fail "openssl cannot sign with the secret key"
[ "$(wc -c <"$tmp/sig")" = 64 ] || fail "not an Ed25519 signature"
openssl pkeyutl -verify -rawin -pubin -keyform DER -inkey "$tmp/pub.der" -in "$tmp/msg" -sigfile "$tmp/sig" \
	>/dev/null || fail "the .pub key does not verify a signature by the .key seed"
printf 'undistro-record 2\n' >"$tmp/msg2"
if openssl pkeyutl -verify -rawin -pubin -keyform DER -inkey "$tmp/pub.der" -in "$tmp/msg2" \
	-sigfile "$tmp/sig" >/dev/null 2>&1; then
	fail "the .pub key verifies a signature of another message"
fi
# and the public key openssl derives from the seed is NAME.pub's
openssl pkey -inform DER -in "$tmp/seed.der" -pubout -outform DER | cmp -s - "$tmp/pub.der" ||
	fail "openssl derives another public key from the seed"
echo "16-key: ok"
