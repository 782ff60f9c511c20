/* watch.h: the watch set of a role's plan (recipes/ and stage2/ always;
 * overlays, key directories and in-tree sources from the plan); which
 * packages an event changes (a package directory's file, a flat recipe
 * file, a file below an in-tree source; nothing for another recipe's file)
 * and their dependents; the debounce's poll timeouts; and inotify itself:
 * an edit is read, a new subdirectory of a recursive watch gets its own
 * watch, a stage2/ edit changes every package, and a sync drops what the
 * plan no longer wants unless asked to keep it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "alloc.h"
#include "os.h"
#include "recipe.h"
#include "solve.h"
#include "target.h"
#include "tree.h"
#include "watch.h"

static char work[] = "/tmp/test_watch.XXXXXX";

#include "files.h"

static const char recipe[] = "name = %s\nversion = 1\nrelease = 1\ndesc = d\nlicense = MIT\ntoolchain = host\n%s"
                             "install <<END\ntrue\nEND\n";

static void
putrecipe(const char *rel, const char *name, const char *extra)
{
	char *text = xasprintf(recipe, name, extra);

	put(rel, text, 0644);
	free(text);
}

/* lib <- app (a package directory, build-depends on lib), solo; src has an
 * in-tree source; kern is the kernel. Role r: overlays web, root's keys. */
static int
setup(void **state)
{
	char *d;

	assert_non_null(mkdtemp(work));
	for (const char *const *s = (const char *const[]){"tree/recipes/roles", "tree/recipes/app", "tree/stage2",
	                                                  "tree/overlays/web/srv/www", "tree/keys", "tree/src/x/sub",
	                                                  NULL};
	     *s; s++) {
		d = p(*s);
		assert_int_equal(mkdirp(d, 0755), 0);
		free(d);
	}
	putrecipe("tree/recipes/lib.recipe", "lib", "");
	putrecipe("tree/recipes/app/app.recipe", "app", "build-depends = lib\n");
	put("tree/recipes/app/fix.patch", "x\n", 0644);
	putrecipe("tree/recipes/solo.recipe", "solo", "");
	putrecipe("tree/recipes/other.recipe", "other", "");
	putrecipe("tree/recipes/src.recipe", "src", "source {\n\tdir = src/x\n}\n");
	putrecipe("tree/recipes/kern.recipe", "kern", "");
	put("tree/src/x/a.c", "int a;\n", 0644);
	put("tree/keys/root.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIWatchWatchWatchWatchWatchWatchWatchWatch x\n", 0644);
	put("tree/overlays/web/srv/www/index.html", "hi\n", 0644);
	put("tree/stage2/mkwrapper", "#!/bin/sh\n", 0755);
	put("tree/recipes/roles/r.role", "name = r\npackages = app, solo, src\nkernel = kern\noverlays = web\n"
	    "user root {\n\tkeys = keys/root.pub\n}\n", 0644);
	*state = NULL;
	return 0;
}

static int
teardown(void **state)
{
	rmtree(work);
	return 0;
}

struct fixture {
	struct tree t;
	struct role flat;
	struct plan pl;
};

static void
load(struct fixture *f)
{
	char *root = p("tree");

	memset(f, 0, sizeof(*f));
	assert_int_equal(treeload(&f->t, root), 0);
	roleflatten(&f->t, treerole(&f->t, "r"), &f->flat);
	assert_int_equal(solverole(&f->t, &f->flat, targethost(), &f->pl), 0);
	free(root);
}

static void
unload(struct fixture *f)
{
	planfree(&f->pl);
	treefree(&f->t);
}

static long
find(const struct plan *pl, const char *name)
{
	return planfind(pl, name);
}

static void
test_set(void **state)
{
	struct fixture f;
	struct arena a = {0};
	struct watchdir *v;
	size_t n;
	char *want[] = {p("tree/recipes"), p("tree/stage2"), p("tree/overlays/web"), p("tree/keys"), p("tree/src/x")};
	enum watchkind kinds[] = {WATCH_RECIPES, WATCH_STAGE2, WATCH_OVERLAY, WATCH_KEYS, WATCH_SOURCE};

	load(&f);
	watchset(&a, &f.t, &f.flat, &f.pl, &v, &n);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(v[i].path, want[i]);
		assert_int_equal(v[i].kind, kinds[i]);
		assert_int_equal(v[i].recursive, v[i].kind != WATCH_KEYS);
	}
	/* without a plan (a failed cycle): the tree's own only */
	watchset(&a, &f.t, NULL, NULL, &v, &n);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		free(want[i]);
	arenafree(&a);
	unload(&f);
}

/* The packages an event in dir about name marks, dependents included, as
 * a string of names in plan order. */
static char *
marked(const struct plan *pl, const char *dir, const char *name)
{
	unsigned char *m = xcalloc(pl->n + 1, 1);
	char *d = p(dir), out[256] = "";

	watchpkgs(pl, d, name, m);
	watchaffected(pl, m);
	for (size_t i = 0; i < pl->n; i++)
		if (m[i])
			strcat(strcat(out, *out ? " " : ""), pl->pkgs[i].r->name);
	free(m);
	free(d);
	return xstrdup(out);
}

static void
test_pkgs(void **state)
{
	struct fixture f;
	static const char *const cases[][3] = {
		{"tree/recipes", "lib.recipe", "lib app"},       /* a flat recipe: it and its dependents */
		{"tree/recipes", "solo.recipe", "solo"},
		{"tree/recipes", "other.recipe", ""},            /* not in the plan */
		{"tree/recipes", "roles", ""},
		{"tree/recipes/app", "fix.patch", "app"},        /* a package directory's file */
		{"tree/recipes", "app", "app"},                  /* the directory itself */
		{"tree/src/x/sub", "new.c", "src"},              /* below an in-tree source */
		{"tree/src", "y", ""},
		{"tree/recipes/solo.recipe.d", "", ""},          /* a prefix is not a directory */
	};

	load(&f);
	assert_true(find(&f.pl, "lib") < find(&f.pl, "app"));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = marked(&f.pl, cases[i][0], cases[i][1]);

		if (strcmp(got, cases[i][2]))
			fail_msg("%s/%s marks '%s', expected '%s'", cases[i][0], cases[i][1], got, cases[i][2]);
		free(got);
	}
	unload(&f);
}

static void
test_timeout(void **state)
{
	assert_int_equal(watchtimeout(5.0, -1), -1);      /* nothing due: wait for ever */
	assert_int_equal(watchtimeout(5.0, 5.25), 250);
	assert_int_equal(watchtimeout(5.0, 5.0001), 1);   /* rounded up: never a busy 0 early */
	assert_int_equal(watchtimeout(5.2, 5.15), 0);     /* due */
	assert_int_equal(watchtimeout(0, 1e12), 2147483647);
}

static void
test_inotify(void **state)
{
	struct fixture f;
	struct arena a = {0};
	struct watchdir *v;
	size_t n, nw;
	struct watch w;
	struct watchchange c = {0};
	unsigned char *m;
	char *d;

	load(&f);
	m = xcalloc(f.pl.n + 1, 1);
	watchset(&a, &f.t, &f.flat, &f.pl, &v, &n);
	assert_int_equal(watchopen(&w), 0);
	assert_int_equal(watchsync(&w, v, n, 0), 0);
	nw = w.n;
	/* recipes, roles, app, stage2, web, web/srv, web/srv/www, keys, src/x, src/x/sub */
	assert_int_equal(nw, 10);
	assert_int_equal(watchread(&w, &c), 0);
	assert_false(c.any);

	/* an overlay edit: a change, no package */
	put("tree/overlays/web/srv/www/index.html", "edited\n", 0644);
	assert_true(watchread(&w, &c) > 0);
	assert_true(c.any);
	assert_false(watchmark(&c, &f.pl, m));
	watchchangeclear(&c);

	/* a new directory below a recursive watch is watched, and so what is
	 * made in it is seen */
	d = p("tree/src/x/new");
	assert_int_equal(mkdir(d, 0755), 0);
	free(d);
	assert_true(watchread(&w, &c) > 0);
	assert_int_equal(w.n, nw + 1);
	watchchangeclear(&c);
	put("tree/src/x/new/b.c", "int b;\n", 0644);
	assert_true(watchread(&w, &c) > 0);
	assert_true(watchmark(&c, &f.pl, m));
	assert_true(m[find(&f.pl, "src")]);
	assert_false(m[find(&f.pl, "lib")]);
	watchchangeclear(&c);

	/* a recipe edit: the plan may change, the package and its dependents */
	putrecipe("tree/recipes/lib.recipe", "lib", "# edited\n");
	assert_true(watchread(&w, &c) > 0);
	assert_true(c.plan);
	assert_true(watchmark(&c, &f.pl, m));
	assert_true(m[find(&f.pl, "lib")] && m[find(&f.pl, "app")] && !m[find(&f.pl, "solo")]);
	watchchangeclear(&c);

	/* stage2/: every package */
	put("tree/stage2/mkwrapper", "#!/bin/sh\n# edited\n", 0755);
	assert_true(watchread(&w, &c) > 0);
	assert_true(c.all);
	watchmark(&c, &f.pl, m);
	for (size_t i = 0; i < f.pl.n; i++)
		assert_true(m[i]);
	watchchangeclear(&c);

	/* a failed cycle keeps the plan's watches; a good one without the
	 * overlay drops them */
	watchset(&a, &f.t, NULL, NULL, &v, &n);
	assert_int_equal(watchsync(&w, v, n, 1), 0);
	assert_int_equal(w.n, nw + 1);
	assert_int_equal(watchsync(&w, v, n, 0), 0);
	assert_int_equal(w.n, 4);   /* recipes, roles, app, stage2 */
	watchread(&w, &c);          /* the IN_IGNORED of the dropped ones */
	watchchangeclear(&c);
	watchclose(&w);
	free(m);
	arenafree(&a);
	unload(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_pkgs),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_inotify),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
