/* undistro fetch: bring every source a role or packages need into the cache. */
#include <stdio.h>
#include <stdlib.h>
#include "alloc.h"
#include "cmd.h"
#include "diag.h"
#include "fetch.h"
#include "solve.h"
#include "target.h"
#include "tree.h"

static int
fetchplan(struct fetchcfg *fc, struct tree *t, const struct target *tg, char **names, size_t n)
{
	const struct role *ro = n == 1 ? treerole(t, names[0]) : NULL;
	const struct recipe **rs;
	struct role flat;
	struct plan pl;
	int r;

	if (ro) {
		roleflatten(t, ro, &flat);
		r = rolesupports(&flat, tg) ? solverole(t, &flat, tg, &pl) : -1;
	} else {
		r = solvepackages(t, names, n, tg, &pl);
	}
	if (r < 0)
		return EXIT_INPUT;
	rs = xcalloc(pl.n + 1, sizeof(*rs));
	for (size_t i = 0; i < pl.n; i++)
		rs[i] = pl.pkgs[i].r;
	r = fetchrecipes(fc, (const struct recipe *const *)rs, pl.n);
	free(rs);
	arenafree(&pl.arena);
	return r < 0 ? EXIT_SYSTEM : EXIT_OK;
}

static int
run(int argc, char **argv, const struct opts *o)
{
	static const struct cmdopt opts[] = {
		{"cache", 'c', CMDARG}, {"mirror", 'm', CMDARG}, {"offline", 'O', 0}, {"verbose", 'v', CMDSHORT},
		{"arch", 'A', CMDARG},
		{NULL, 0, 0},
	};
	struct cmdargs a = {.cmd = &cmd_fetch, .opts = opts, .argc = argc, .argv = argv};
	struct fetchcfg fc = {0};
	const char **mirrors = xcalloc((size_t)argc + 1, sizeof(*mirrors));
	struct tree t;
	const struct target *tg;
	const char *arch = NULL;
	int c, rc;

	while ((c = cmdnext(&a)) > 0) {
		switch (c) {
		case 'c': fc.cache = a.val; break;
		case 'm': mirrors[fc.nmirrors++] = a.val; break;
		case 'O': fc.offline = 1; break;
		case 'v': fc.verbose = 1; break;
		case 'A': arch = a.val; break;
		}
	}
	fc.mirrors = mirrors;
	if (c < 0 || !a.nops) {
		free(mirrors);
		return c == CMDHELP ? EXIT_OK : c < 0 ? EXIT_USAGE : cmdusage(&cmd_fetch, "name a role, or packages");
	}
	if ((rc = cmdtarget(&cmd_fetch, arch, &tg)) != 0) {
		free(mirrors);
		return rc;
	}
	if (treeload(&t, o->dir) < 0) {
		rc = EXIT_INPUT;
	} else if (fetchcfgenv(&fc) < 0) {
		rc = EXIT_SYSTEM;
	} else {
		rc = fetchplan(&fc, &t, tg, argv + 1, (size_t)a.nops);
	}
	treefree(&t);
	free(mirrors);
	return rc;
}

const struct cmd cmd_fetch = {
	"fetch", run, "[--arch ARCH] [--offline] [--cache DIR] [--mirror M]... ROLE | PACKAGE...",
	"fetch and verify every source a role or packages need",
	"Brings the sources of the role's packages (or the named packages), with\n"
	"everything needed to build them, into the source cache, each verified\n"
	"against the sha256 its recipe pins. Backends, in order: the cache, the\n"
	"mirrors, the recipe's upstream URLs, Debian's source archive. In-tree\n"
	"sources (`dir`) are in the tree: nothing to fetch.\n"
	"\n"
	"  --arch ARCH   the target whose plan is fetched (default: this machine's)\n"
	"  --cache DIR   the cache (default $UNDISTRO_CACHE, else\n"
	"                $XDG_CACHE_HOME/undistro, else ~/.cache/undistro)\n"
	"  --mirror M    a directory or http(s) URL prefix holding source files,\n"
	"                repeatable (default: $UNDISTRO_MIRRORS, space-separated)\n"
	"  --offline     use the cache only; list every missing file\n"
	"  -v            also log cache hits\n",
};
