# shellcheck shell=sh
# Shared by the tests on small synthetic recipe trees (sourced; not a test):
# synthinit NAME makes a fresh directory $t (removed on exit) holding
# $t/tree with stage2/, and cds there; u ARGS... runs undistro on that tree
# with the test's own cache, store and work directories, as nobody when we
# are root; own hands $t to nobody then; fail reports and exits.
as=
if [ "$(id -u)" = 0 ]; then
	as="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
fail() { echo "FAIL: $*"; exit 1; }
own() { [ -z "$as" ] || chown -R 65534:65534 "$t"; }
# shellcheck disable=SC2086 # $as is empty or a command with arguments
u() { env UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$t/store" UNDISTRO_WORK="$t/work" HOME="$t" $as "$UNDISTRO" -C "$t/tree" "$@"; }
synthinit() {
	t=$(mktemp -d "/tmp/undistro-$1.XXXXXX")
	trap 'rm -rf "$t"' EXIT
	chmod 755 "$t"
	cd "$t" || exit 1
	mkdir -p "$t/tree/recipes/roles" "$t/tree/stage2"
	cp "$TOP/stage2/mkwrapper" "$TOP/stage2/audit" "$t/tree/stage2/"
}
