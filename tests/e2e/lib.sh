# shellcheck shell=sh
# Shared by the end-to-end tests that use the real roles (sourced).
# E2E: where 40-build-base.sh builds; as: run as nobody when we are root.
E2E=$TOP/o/e2e
fail() {
	echo "FAIL: $*"
	exit 1
}
if [ "$(id -u)" -eq 0 ]; then
	as() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
else
	as() { "$@"; }
fi
# ud ARGS...: undistro on the real tree with the shared cache and store
ud() {
	as env UNDISTRO_CACHE="$E2E/cache" UNDISTRO_STORE="$E2E/store" UNDISTRO_WORK="$E2E/work" HOME="$E2E" \
		"$UNDISTRO" -C "$TOP" "$@"
}
e2einit() {
	mkdir -p "$E2E"
	[ "$(id -u)" -ne 0 ] || chown 65534:65534 "$E2E"
}
# needbuild: skip unless 40-build-base.sh produced out/ROLE
needbuild() {
	[ -s "$E2E/out/$1/disk.raw" ] || fail "no $E2E/out/$1/disk.raw: tests/e2e/40-build-base.sh must pass first"
}

# Booting the real images (70-boot.sh, 72-boot-aarch64.sh). Set bootdir (a
# directory nobody can write to when we are root); boot_out (default
# $E2E/out), boot_arch (default: undistro's) and boot_tree (default $TOP)
# choose what boots. `boot ROLE NAME [run options...]` starts qemu in its
# own session and waits for the ready line on the serial console
# ($bootdir/NAME.log); `bootstop` ends every guest and waits until it is
# gone (its ports are free again).
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
asuser=
[ "$(id -u)" -ne 0 ] || asuser="setpriv --reuid=65534 --regid=65534 --clear-groups"
bootpids=
boot() {
	role=$1 name=$2
	shift 2
	log=${bootdir:?set bootdir first}/$name.log
	: >"$log"
	[ -z "$asuser" ] || chown 65534:65534 "$log" "$bootdir"
	start=$(date +%s)
	# shellcheck disable=SC2086 # $asuser is empty or a command with arguments
	setsid env HOME="$E2E" $asuser "$UNDISTRO" -C "${boot_tree:-$TOP}" run ${boot_arch:+--arch "$boot_arch"} \
		-o "${boot_out:-$E2E/out}/$role" --serial-log "$log" --timeout "${boot_timeout:-400}" "$@" "$role" \
		>"$bootdir/$name.run" 2>&1 &
	pid=$!
	bootpids="$bootpids $pid"
	i=0
	until grep -q "undistro: role $role ready" "$log"; do
		i=$((i + 1))
		[ $i -lt $((${boot_timeout:-400} * 2)) ] ||
			{ tail -30 "$log"; cat "$bootdir/$name.run"; fail "$name: no ready line after ${boot_timeout:-400} s"; }
		kill -0 "$pid" 2>/dev/null ||
			{ tail -30 "$log"; cat "$bootdir/$name.run"; fail "$name: qemu stopped before the ready line"; }
		sleep 0.5
	done
	echo "$name: ready after $(($(date +%s) - start)) s"
}
bootstop() {
	for p in $bootpids; do kill -TERM "-$p" 2>/dev/null || true; done
	for p in $bootpids; do wait "$p" 2>/dev/null || true; done
	bootpids=
}

# A remote package store (docs/remote.md) for the tests and benchmarks:
# `davstart DIR` starts nginx on a free loopback port ($davport) serving
# DIR/data with WebDAV PUT (create_full_put_path), its access log in
# DIR/access.log, as the test's user (nobody when root: DIR must be theirs);
# $davextra, when set, is added to its http block (more server blocks).
# `davstop` ends every server started so.
davpids=
davstart() {
	davport=$(freeport)
	mkdir -p "$1/data" "$1/tmp"
	cat >"$1/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $1/nginx.pid;
error_log $1/error.log;
events { worker_connections 64; }
http {
	client_body_temp_path $1/tmp/body;
	proxy_temp_path $1/tmp/proxy;
	fastcgi_temp_path $1/tmp/fastcgi;
	uwsgi_temp_path $1/tmp/uwsgi;
	scgi_temp_path $1/tmp/scgi;
	server {
		listen 127.0.0.1:$davport;
		access_log $1/access.log;
		root $1/data;
		client_max_body_size 2g;
		location / {
			dav_methods PUT;
			create_full_put_path on;
			dav_access user:rw group:r all:r;
		}
	}
	${davextra:-}
}
CONF
	[ -z "$asuser" ] || chown -R 65534:65534 "$1"
	# a simple command, so that $! is nginx's master (exec'ed by setpriv)
	# shellcheck disable=SC2086 # $asuser is empty or a command with arguments
	$asuser nginx -p "$1" -c "$1/nginx.conf" -e "$1/error.log" >"$1/out" 2>&1 &
	davpids="$davpids $!"
	i=0
	until curl -s -o /dev/null "http://127.0.0.1:$davport/"; do
		i=$((i + 1))
		[ $i -lt 100 ] || { cat "$1/out" "$1/error.log"; fail "nginx did not start on port $davport"; }
		sleep 0.1
	done
}
davstop() {
	for p in $davpids; do kill "$p" 2>/dev/null || true; done
	for p in $davpids; do wait "$p" 2>/dev/null || true; done
	davpids=
}
