#!/bin/sh
# The fetch tests (tests/unit/test_fetch.c: loopback HTTP server, mirrors,
# offline mode, SIGKILL mid-download, the Debian backend for real) again as
# an unprivileged user: run.sh has run them as the current one. As root, they
# run as nobody from a copy nobody can read, with HOME unset.
set -eu
: "${TOP:?}"
bin="$TOP/o/tests/test_fetch"
[ -x "$bin" ] || { echo "30-fetch: $bin not built (make units)" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then
	echo "30-fetch: not root; run.sh already ran test_fetch as $(id -un)"
	exit 0
fi
tmp=$(mktemp -d /tmp/e2e-fetch.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/tests/unit"
cp "$bin" "$tmp/"
cp "$TOP/tests/unit/fetchserver.py" "$tmp/tests/unit/"
chmod -R a+rX "$tmp"
cd "$tmp"
setpriv --reuid=65534 --regid=65534 --clear-groups env -u HOME TOP="$tmp" ./test_fetch
