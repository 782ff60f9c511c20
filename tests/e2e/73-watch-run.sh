#!/bin/sh
# e2e: images (needs the web role built by 40-build-base.sh; make check-quick skips it)
# undistro watch --run web on a copy of the real tree with the e2e store (no
# package is built: their store keys are those of 40's build): the guest
# boots and serves the overlay's page to curl through the forwarded port; an
# edit of overlays/web/srv/www/index.html gives a new rootfs and images (and
# no package build), the guest is rebooted with them and serves the new
# page; SIGINT ends watch with exit 0 and no qemu left. As nobody when root.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/lib.sh"
needbuild web
d=$(mktemp -d /tmp/e2e-watch-run.XXXXXX)
pid=
cleanup() {
	[ -z "$pid" ] || { kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
	rm -rf "$d"
}
trap cleanup EXIT
chmod 755 "$d"
mkdir "$d/tree"
for f in recipes stage2 overlays keys; do
	[ ! -e "$TOP/$f" ] || cp -a "$TOP/$f" "$d/tree/"
done
[ "$(id -u)" -ne 0 ] || chown -R 65534:65534 "$d"
export SOURCE_DATE_EPOCH=1700000000

# watch --run in its own session (qemu in its process group), the serial
# console and the status lines on w.out, the rest on w.err
# shellcheck disable=SC2086 # $asuser is empty or a command with arguments
setsid env UNDISTRO_CACHE="$E2E/cache" UNDISTRO_STORE="$E2E/store" UNDISTRO_WORK="$E2E/work" HOME="$E2E" \
	$asuser "$UNDISTRO" -C "$d/tree" watch --run -o "$d/out" web </dev/null \
	>"$d/w.out" 2>"$d/w.err" &
pid=$!

# waitfor WHAT SECONDS COMMAND...: until COMMAND succeeds
waitfor() {
	what=$1 secs=$2
	shift 2
	i=0
	until "$@"; do
		i=$((i + 1))
		[ $i -lt $((secs * 2)) ] || { tail -30 "$d/w.out"; cat "$d/w.err"; fail "$what: not after $secs s"; }
		kill -0 "$pid" 2>/dev/null || { tail -30 "$d/w.out"; cat "$d/w.err"; fail "$what: watch exited"; }
		sleep 0.5
	done
}
statuses() { grep -c '^undistro: watch: ' "$d/w.out" || true; }
nstatus() { [ "$(statuses)" -ge "$1" ]; }
ready() { [ "$(grep -c 'undistro: role web ready' "$d/w.out" || true)" -ge "$1" ]; }
page() { curl -fsS --max-time 10 "http://127.0.0.1:$port/" 2>/dev/null; }
serves() { page | grep -q "$1"; }

waitfor "the first cycle" 600 nstatus 1
grep '^undistro: watch: ' "$d/w.out" | head -1 | grep -Eq 'rebuilt rootfs images|up to date' ||
	{ cat "$d/w.out"; fail "the first cycle built packages (the e2e store should have them all)"; }
port=$(sed -n 's/^undistro: guest port 80 is 127.0.0.1:\([0-9]*\)$/\1/p' "$d/w.err" | head -1)
[ -n "$port" ] || { cat "$d/w.err"; fail "watch did not say which host port is the guest's 80"; }
waitfor "the first boot" 400 ready 1
waitfor "the first page" 60 serves .
page >"$d/page1"
echo "first guest serves $(wc -c <"$d/page1") bytes on 127.0.0.1:$port"

# the edit: a new rootfs and images, the guest rebooted with them
marker="watch-run-$$-$(date +%s)"
start=$(date +%s.%N)
echo "<p>$marker</p>" >>"$d/tree/overlays/web/srv/www/index.html"
waitfor "the cycle after the edit" 120 nstatus 2
l=$(grep '^undistro: watch: ' "$d/w.out" | sed -n 2p)
echo "$l" | grep -Eq '^undistro: watch: rebuilt rootfs images in [0-9.]+ s$' ||
	{ cat "$d/w.out"; fail "the edit's cycle: '$l'"; }
echo "edit -> new image: $(echo "$(date +%s.%N) - $start" | bc) s"
waitfor "the second boot" 400 ready 2
waitfor "the new page" 60 serves "$marker"
echo "edit -> the rebooted guest serves the new page: $(echo "$(date +%s.%N) - $start" | bc) s"

# SIGINT: exit 0, no guest left
kill -INT "$pid"
st=0
wait "$pid" || st=$?
pid=
[ "$st" = 0 ] || { cat "$d/w.err"; fail "SIGINT: exit status $st"; }
sleep 0.5
! pgrep -f "$d/out/disk.raw" >/dev/null || fail "SIGINT left the guest running"
echo "watch --run: ok"
