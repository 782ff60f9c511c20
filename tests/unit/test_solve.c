/* The plan API the build stage consumes (solve.h), on the golden trees in
 * tests/golden/: order, waves, runtime marks, flag values, direct and
 * sysroot dependencies as plan indexes, single-package solves, and failures
 * that leave an empty plan. $TOP is the repository (default "."). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "alloc.h"
#include "diag.h"
#include "solve.h"
#include "target.h"
#include "tree.h"

static struct tree t;

/* Load tests/golden/NAME; fails the test when it does not check. */
static void
load(const char *name)
{
	char *dir = xasprintf("%s/tests/golden/%s", getenv("TOP") ? getenv("TOP") : ".", name);

	assert_int_equal(treeload(&t, dir), 0);
	free(dir);
}

static const struct planpkg *
get(const struct plan *pl, const char *name)
{
	long i = planfind(pl, name);

	assert_true(i >= 0);
	return &pl->pkgs[i];
}

/* The names of a list of plan indexes, joined by spaces (static). */
static const char *
names(const struct plan *pl, const size_t *v, size_t n)
{
	static char out[1024];
	size_t k = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(out + k, sizeof(out) - k, "%s%s", i ? " " : "", pl->pkgs[v[i]].r->name);
	return out;
}

static void
web_plan(void **state)
{
	struct role flat;
	struct plan pl;
	const struct planpkg *bb, *db, *hd;

	load("web");
	roleflatten(&t, treerole(&t, "web"), &flat);
	assert_int_equal(solverole(&t, &flat, targethost(), &pl), 0);
	assert_int_equal(pl.n, 6);
	assert_int_equal(pl.nwaves, 3);
	assert_int_equal(pl.nruntime, 5);
	/* build order: by wave, then name */
	const char *order[] = {"linux", "linux-headers", "musl", "busybox", "zlib", "dropbear"};
	for (size_t i = 0; i < pl.n; i++)
		assert_string_equal(pl.pkgs[i].r->name, order[i]);
	bb = get(&pl, "busybox");
	assert_int_equal(bb->wave, 1);
	assert_true(bb->runtime);
	assert_non_null(bb->choice);
	assert_string_equal(bb->r->flags[0].name, "httpd");
	assert_string_equal(bb->flags[0], "yes");
	assert_string_equal(bb->flags[1], "no");
	db = get(&pl, "dropbear");
	assert_non_null(db->choice);          /* listed by the included base role */
	assert_null(get(&pl, "zlib")->choice); /* only pulled in */
	assert_string_equal(names(&pl, db->rundeps, db->nrundeps), "musl zlib");
	assert_string_equal(names(&pl, db->builddeps, db->nbuilddeps), "linux-headers musl zlib");
	assert_string_equal(names(&pl, db->sysroot, db->nsysroot), "linux-headers musl zlib");
	hd = get(&pl, "linux-headers");
	assert_false(hd->runtime);
	assert_int_equal(hd->wave, 0);
	/* every dependency comes earlier */
	for (size_t i = 0; i < pl.n; i++)
		for (size_t k = 0; k < pl.pkgs[i].nsysroot; k++)
			assert_true(pl.pkgs[i].sysroot[k] < i);
	planfree(&pl);
	treefree(&t);
}

/* The sysroot holds the run-time closure of the build dependencies. */
static void
sysroot_closure(void **state)
{
	struct role flat;
	struct plan pl;
	const struct planpkg *app;

	load("build-only");
	roleflatten(&t, treerole(&t, "app"), &flat);
	assert_int_equal(solverole(&t, &flat, targethost(), &pl), 0);
	app = get(&pl, "app");
	assert_string_equal(names(&pl, app->builddeps, app->nbuilddeps), "linux-headers musl pkgconf bison");
	assert_string_equal(names(&pl, app->sysroot, app->nsysroot), "linux-headers musl m4 pkgconf bison");
	assert_false(get(&pl, "m4")->runtime);
	planfree(&pl);
	treefree(&t);
}

static void
single_packages(void **state)
{
	struct plan pl;
	char *want[] = {"dropbear"}, *bad[] = {"dropbaer"};

	load("web");
	assert_int_equal(solvepackages(&t, want, 1, targethost(), &pl), 0);
	assert_int_equal(pl.n, 4);   /* linux-headers musl zlib dropbear */
	assert_int_equal(planfind(&pl, "busybox"), -1);
	assert_int_equal(planfind(&pl, "linux"), -1);
	assert_true(get(&pl, "zlib")->runtime);
	planfree(&pl);
	diagsilent = 1;
	assert_int_equal(solvepackages(&t, bad, 1, targethost(), &pl), -1);
	diagsilent = 0;
	assert_int_equal(pl.n, 0);
	treefree(&t);
}

/* Unsatisfiable and cyclic trees report and leave an empty plan. */
static void
failures(void **state)
{
	static const char *const cases[][2] = {
		{"cycle3", "cyc"}, {"version-bad", "v"}, {"conflict", "c"}, {"missing-build-dep", "m"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct role flat;
		struct plan pl;
		int before;

		load(cases[i][0]);
		roleflatten(&t, treerole(&t, cases[i][1]), &flat);
		diagsilent = 1;
		before = nerrors;
		assert_int_equal(solverole(&t, &flat, targethost(), &pl), -1);
		diagsilent = 0;
		assert_int_equal(nerrors, before + 1);
		assert_int_equal(pl.n, 0);
		assert_null(pl.pkgs);
		planfree(&pl);
		treefree(&t);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(web_plan),
		cmocka_unit_test(sysroot_closure),
		cmocka_unit_test(single_packages),
		cmocka_unit_test(failures),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);

	fflush(stdout);
	return r;
}
