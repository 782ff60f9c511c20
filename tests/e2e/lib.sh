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
