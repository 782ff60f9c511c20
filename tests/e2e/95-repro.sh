#!/bin/sh
# e2e: images (needs the real roles built by 40-build-base.sh; make check-quick skips it)
# The reproducibility gate for base (ci/repro): a second build from scratch
# (its own tree copy, store, work and output directories, current directory,
# umask, TZ and LANG, later in time) must give byte-identical artifacts and
# store packages. The first build is the one tests/e2e/40-build-base.sh made
# from scratch ($TOP/o/e2e, reused with --first to save a cold build), or
# from a remote package store's packages when tests/run.sh was given one
# (then the gate checks them against a build from source); with
# REPRO_FULL=1 both builds are made here. Run `rm -rf o/e2e` first when that
# store may hold packages built by an older undistro under the same keys.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/lib.sh"
needbuild base
if [ -n "${REPRO_FULL:-}" ]; then
	sh "$TOP/ci/repro" base
else
	sh "$TOP/ci/repro" --first "$E2E" base
fi
