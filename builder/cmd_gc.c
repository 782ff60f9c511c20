/* undistro gc: the store entries no role of the tree needs, listed (dry
 * run) or removed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "build.h"
#include "cmd.h"
#include "diag.h"
#include "fetch.h"
#include "pipeline.h"
#include "solve.h"
#include "store.h"
#include "target.h"
#include "tree.h"

/* The keys every role of the tree needs on every target it supports, in
 * order for bsearch. */
struct needed {
	char **keys;
	size_t n, cap;
	size_t plans;   /* role and target pairs */
};

static int
cmpkey(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
supports(const struct role *flat, const struct target *tg)
{
	if (!flat->archlimited)
		return 1;
	for (size_t i = 0; i < flat->arch.n; i++)
		if (!strcmp(flat->arch.v[i], tg->name))
			return 1;
	return 0;
}

/* The store keys of the whole plan of one role for one target: build-only
 * packages too, so that a later build finds its sysroots. Returns an exit
 * code. */
static int
planneeds(struct tree *t, const struct role *flat, const struct target *tg, const struct store *st,
          const char *top, struct needed *nd)
{
	struct plan pl = {0};
	struct buildcfg bc = {.store = st, .target = tg, .top = top, .jobs = 1};
	char (*keys)[65];
	int rc = EXIT_OK;

	if (solverole(t, flat, tg, &pl) < 0) {
		errat(&flat->loc, "role '%s' does not resolve for %s (see above), so what it needs is unknown: nothing "
		      "removed", flat->name, tg->name);
		return EXIT_INPUT;
	}
	keys = xcalloc(pl.n + 1, sizeof(*keys));
	if (buildkeys(&bc, &pl, keys) < 0) {
		rc = EXIT_SYSTEM;
	} else {
		for (size_t i = 0; i < pl.n; i++) {
			if (nd->n == nd->cap) {
				nd->cap = nd->cap ? nd->cap * 2 : 256;
				nd->keys = xreallocarray(nd->keys, nd->cap, sizeof(*nd->keys));
			}
			nd->keys[nd->n++] = xstrdup(keys[i]);
		}
		nd->plans++;
	}
	free(keys);
	planfree(&pl);
	return rc;
}

static int
needs(struct tree *t, const struct store *st, const char *top, struct needed *nd)
{
	for (size_t r = 0; r < t->nroles; r++) {
		struct role flat;
		const struct target *tg;
		int rc;

		roleflatten(t, t->roles[r], &flat);
		for (size_t k = 0; (tg = targetget(k)); k++)
			if (supports(&flat, tg) && (rc = planneeds(t, &flat, tg, st, top, nd)) != EXIT_OK)
				return rc;
	}
	qsort(nd->keys, nd->n, sizeof(*nd->keys), cmpkey);
	return EXIT_OK;
}

/* bytes for people: "512 B", "1.2 MiB". */
static const char *
human(unsigned long long bytes, char buf[32])
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, 32, "%llu B", bytes);
	else
		snprintf(buf, 32, "%.1f %s", v, units[u]);
	return buf;
}

/* List (and with del, remove) every entry of the store that nd lacks, and
 * what tmp/ holds. Returns an exit code. */
static int
collect(const struct store *st, const struct needed *nd, int del)
{
	struct storeentry *v;
	size_t n, count = 0, kept = 0, failed = 0;
	unsigned long long total = 0;
	char h[32];

	if (storelist(st, &v, &n) < 0)
		return EXIT_SYSTEM;
	for (size_t i = 0; i < n; i++) {
		const char *key = v[i].key;

		if (strncmp(key, "tmp/", 4) && bsearch(&key, nd->keys, nd->n, sizeof(*nd->keys), cmpkey)) {
			kept++;
			continue;
		}
		printf("%s %s %s\n", key, v[i].name, human(v[i].bytes, h));
		count++;
		total += v[i].bytes;
		if (del && storeremove(st, key) < 0)
			failed++;
	}
	printf("total: %zu entr%s, %s (kept: %zu needed by %zu role and target pair%s)\n", count,
	       count == 1 ? "y" : "ies", human(total, h), kept, nd->plans, nd->plans == 1 ? "" : "s");
	fflush(stdout);
	if (!del && count)
		fprintf(stderr, "undistro: dry run: nothing removed; `undistro gc --delete` removes them\n");
	else if (del)
		fprintf(stderr, "undistro: removed %zu entr%s, %s\n", count - failed, count - failed == 1 ? "y" : "ies",
		        human(total, h));
	storelistfree(v, n);
	return failed ? EXIT_SYSTEM : EXIT_OK;
}

static int
run(int argc, char **argv, const struct opts *o)
{
	static const struct cmdopt opts[] = {
		{"delete", 'd', 0}, {"dry-run", 'n', 0}, {"store", 'S', CMDARG}, {"cache", 'c', CMDARG},
		{NULL, 0, 0},
	};
	struct cmdargs a = {.cmd = &cmd_gc, .opts = opts, .argc = argc, .argv = argv};
	struct fetchcfg fc = {0};
	struct tree t = {0};
	struct store st = {0};
	struct needed nd = {0};
	const char *store = NULL;
	int c, del = 0, dry = 0, rc;
	char *dir;

	while ((c = cmdnext(&a)) > 0) {
		switch (c) {
		case 'd': del = 1; break;
		case 'n': dry = 1; break;
		case 'S': store = a.val; break;
		case 'c': fc.cache = a.val; break;
		}
	}
	if (c < 0)
		return c == CMDHELP ? EXIT_OK : EXIT_USAGE;
	if (a.nops)
		return cmdusage(&cmd_gc, "gc takes no operands: it keeps what every role of the tree needs");
	if (del && dry)
		return cmdusage(&cmd_gc, "--delete and --dry-run exclude each other");
	if (fetchcfgenv(&fc) < 0)
		return EXIT_SYSTEM;
	if (treeload(&t, o->dir) < 0) {
		treefree(&t);
		return EXIT_INPUT;
	}
	dir = pipelinestore(store, fc.cache);
	rc = storeattach(&st, dir);
	if (rc == 1)
		fprintf(stderr, "undistro: no store at %s: nothing to remove\n", dir);
	rc = rc == 1 ? EXIT_OK : rc < 0 ? EXIT_SYSTEM : needs(&t, &st, o->dir, &nd);
	/* under the store's lock from the keys to the last removal: no build
	 * adds an entry the plans would have kept in between */
	if (rc == EXIT_OK && st.lock >= 0)
		rc = collect(&st, &nd, del);
	for (size_t i = 0; i < nd.n; i++)
		free(nd.keys[i]);
	free(nd.keys);
	storeclose(&st);
	treefree(&t);
	free(dir);
	return rc;
}

const struct cmd cmd_gc = {
	"gc", run, "[--delete | --dry-run] [--store DIR] [--cache DIR]",
	"list, or remove, the store entries no role of the tree needs",
	"Computes the store key of every package of every role of the tree, for\n"
	"every target the role supports (the whole plan: build-only packages too,\n"
	"so that a later build still finds its sysroots), and lists each store\n"
	"entry that none of them is, as KEY NAME SIZE, then a total; what tmp/\n"
	"holds (left by a killed run) is listed too. A dry run by default: nothing\n"
	"is removed without --delete. Everything not needed goes: packages built\n"
	"with `build --packages` that no role installs, entries of other recipe\n"
	"versions, flags or build machines, and those of an older store key\n"
	"version, which this undistro never uses (a store shared by several\n"
	"trees keeps only what this one needs). A role that does not resolve\n"
	"makes gc refuse: what it needs is unknown. Holds the store's lock\n"
	"throughout (a build waits); an entry is renamed into tmp/ before it is\n"
	"removed, so no build ever sees part of one. The store's other files stay:\n"
	"the lock, and host-tools (the build machine's programs as keys name them),\n"
	"which even a dry run may refresh.\n"
	"\n"
	"  --delete        remove what is listed\n"
	"  --dry-run       only list (the default)\n"
	"  --store DIR     package store (default $UNDISTRO_STORE, else CACHE/store)\n"
	"  --cache DIR     cache directory (default $UNDISTRO_CACHE, else\n"
	"                  $XDG_CACHE_HOME/undistro)\n"
	"\n"
	"Exit status: 0 done (also with nothing to remove), 1 bad input (a tree\n"
	"error, a role that does not resolve: nothing removed), 2 usage,\n"
	"4 system failure.\n",
};
