#!/bin/sh
# e2e: images (needs the store of 40-build-base.sh; make check-quick skips it)
# The service roles, x86_64: proxy, cache and resolver are built into the
# e2e store (only their own packages build: base's are there), booted under
# qemu one at a time, and used through the forwarded ports by each
# service's real client on this machine, as an unprivileged user: curl
# through nginx (the static page, a request proxied to the backend service,
# a regex rewrite, gzip), redis-cli (SET, GET, INCR, a hash, the data
# directory), dig over UDP and TCP (local names of the role's dnsmasq.conf,
# and a query forwarded to the DHCP server's resolver).
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/lib.sh"
needbuild base
for c in curl redis-cli dig; do
	command -v "$c" >/dev/null || fail "no $c: ci/install-deps installs it"
done
t=$(mktemp -d /tmp/e2e-services.XXXXXX)
trap 'bootstop; rm -rf "$t"' EXIT
chmod 755 "$t"
bootdir=$t

for role in proxy cache resolver; do
	start=$(date +%s)
	ud build "$role" -o "$E2E/out/$role" >"$E2E/build-$role.log" 2>&1 ||
		{ tail -40 "$E2E/build-$role.log"; fail "build $role"; }
	echo "build $role: $(($(date +%s) - start)) s"
	grep '^undistro: built' "$E2E/build-$role.log" || true
	if grep -q 'undistro: building linux' "$E2E/build-$role.log"; then
		fail "$role rebuilt the kernel: base's store entries were not reused"
	fi
	[ -s "$E2E/out/$role/disk.raw" ] || fail "no out/$role/disk.raw"
done

# proxy: nginx's own page, /api/ through nginx to busybox httpd on the
# guest's 127.0.0.1:8080 (content only the backend has, a header only
# nginx adds), /v1/ rewritten to /api/ by a regular expression, gzip
port=$(freeport)
boot proxy proxy --port "80:$port"
url=http://127.0.0.1:$port
curl -fsS --max-time 30 "$url/" >"$t/page" || { tail -20 "$t/proxy.log"; fail "curl /"; }
cmp "$t/page" "$TOP/overlays/proxy/srv/www/index.html" || fail "proxy served a different page"
curl -fsS --max-time 30 -D "$t/headers" "$url/api/hello" >"$t/api" || { tail -20 "$t/proxy.log"; fail "curl /api/hello"; }
cmp "$t/api" "$TOP/overlays/proxy/srv/backend/api/hello" || fail "/api/hello is not the backend's file: $(cat "$t/api")"
grep -qi '^X-Proxied-By: undistro-proxy' "$t/headers" || { cat "$t/headers"; fail "no X-Proxied-By header"; }
grep -qi '^Server: nginx' "$t/headers" || { cat "$t/headers"; fail "not answered by nginx"; }
curl -fsS --max-time 30 "$url/v1/hello" | cmp - "$TOP/overlays/proxy/srv/backend/api/hello" ||
	fail "/v1/hello was not rewritten to the backend's /api/hello"
curl -fsS --max-time 30 -H 'Accept-Encoding: gzip' -D "$t/gzheaders" -o "$t/page.gz" "$url/"
grep -qi '^Content-Encoding: gzip' "$t/gzheaders" || { cat "$t/gzheaders"; fail "nginx did not gzip the page"; }
gzip -dc "$t/page.gz" | cmp - "$TOP/overlays/proxy/srv/www/index.html" || fail "gzip'ed page differs"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$url/api/nosuch")
[ "$code" = 404 ] || fail "/api/nosuch answered $code, not the backend's 404"
echo "proxy: page, proxied /api/hello, rewritten /v1/hello, gzip"
bootstop

# cache: redis-cli against the guest's redis
port=$(freeport)
boot cache cache --port "6379:$port"
rc() { redis-cli -h 127.0.0.1 -p "$port" "$@"; }
[ "$(rc PING)" = PONG ] || { tail -20 "$t/cache.log"; fail "redis PING"; }
[ "$(rc SET greeting 'hello from the cache role')" = OK ] || fail "SET"
[ "$(rc GET greeting)" = 'hello from the cache role' ] || fail "GET"
[ "$(rc INCR hits)" = 1 ] || fail "INCR"
[ "$(rc INCR hits)" = 2 ] || fail "INCR again"
rc HSET user:1 name ada lang c >/dev/null
[ "$(rc HGET user:1 lang)" = c ] || fail "HGET"
[ "$(rc DBSIZE)" = 3 ] || fail "DBSIZE is $(rc DBSIZE), not 3"
[ "$(rc CONFIG GET dir | tail -1)" = /var/lib/redis ] || fail "redis's data directory is not /var/lib/redis"
rc INFO server | grep -q '^redis_version:7\.' || fail "INFO server"
[ "$(rc BGSAVE)" = 'Background saving started' ] || fail "BGSAVE"
echo "cache: SET, GET, INCR, HSET/HGET, BGSAVE into /var/lib/redis"
bootstop

# resolver: dig over UDP and TCP through the forwarded ports (the role
# forwards 53 and 53/udp)
port=$(freeport)
uport=$(python3 -c 'import socket; s=socket.socket(type=socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
boot resolver resolver --port "53:$port" --port "53/udp:$uport"
grep -q "guest port 53/udp is 127.0.0.1:$uport" "$t/resolver.run" || { cat "$t/resolver.run"; fail "no UDP forward"; }
q() { dig +short +time=10 +tries=2 -p "$uport" @127.0.0.1 "$@"; }
qt() { dig +tcp +short +time=10 +tries=2 -p "$port" @127.0.0.1 "$@"; }
[ "$(q db.lan A)" = 10.0.2.50 ] || { tail -20 "$t/resolver.log"; fail "db.lan over UDP: $(q db.lan A)"; }
[ "$(qt db.lan A)" = 10.0.2.50 ] || fail "db.lan over TCP: $(qt db.lan A)"
[ "$(q api.svc.lan A)" = 10.0.2.60 ] || fail "api.svc.lan (address=/svc.lan/): $(q api.svc.lan A)"
[ "$(q -x 10.0.2.50)" = db.lan. ] || fail "reverse of 10.0.2.50: $(q -x 10.0.2.50)"
dig +time=10 -p "$uport" @127.0.0.1 nosuch.lan A | grep -q 'status: NXDOMAIN' || fail "nosuch.lan is not NXDOMAIN"
# anything else is forwarded to the server of the DHCP lease (qemu's,
# 10.0.2.3); whether that answers depends on this machine's network
dig +time=10 +tries=1 -p "$uport" @127.0.0.1 example.org A >/dev/null || true
i=0
until grep -q 'forwarded example\.org to 10\.0\.2\.3' "$t/resolver.log"; do
	i=$((i + 1))
	[ $i -lt 20 ] || { tail -20 "$t/resolver.log"; fail "dnsmasq did not forward example.org to 10.0.2.3"; }
	sleep 0.5
done
echo "resolver: host-record, address=, reverse, NXDOMAIN, forwarding"
bootstop
