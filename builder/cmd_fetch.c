/* undistro fetch: bring every source a role or packages need into the cache. */
#include <getopt.h>
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
	static const struct option lo[] = {
		{"help", no_argument, NULL, 'h'}, {"cache", required_argument, NULL, 'c'},
		{"mirror", required_argument, NULL, 'm'}, {"offline", no_argument, NULL, 'O'},
		{"verbose", no_argument, NULL, 'v'}, {"arch", required_argument, NULL, 'a'}, {0, 0, 0, 0},
	};
	struct fetchcfg fc = {0};
	const char **mirrors = xcalloc((size_t)argc + 1, sizeof(*mirrors));
	struct tree t;
	const struct target *tg;
	const char *arch = NULL;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hv", lo, NULL)) != -1) {
		switch (c) {
		case 'h': cmdhelp(&cmd_fetch); free(mirrors); return EXIT_OK;
		case 'c': fc.cache = optarg; break;
		case 'm': mirrors[fc.nmirrors++] = optarg; break;
		case 'O': fc.offline = 1; break;
		case 'v': fc.verbose = 1; break;
		case 'a': arch = optarg; break;
		default:
			free(mirrors);
			return cmdusage(&cmd_fetch, "unknown option '%s'", argv[optind - 1]);
		}
	}
	fc.mirrors = mirrors;
	if (optind == argc) {
		free(mirrors);
		return cmdusage(&cmd_fetch, "name a role, or packages");
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
		rc = fetchplan(&fc, &t, tg, argv + optind, (size_t)(argc - optind));
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
	"mirrors, the recipe's upstream URLs, Debian's source archive.\n"
	"\n"
	"  --arch ARCH   the target whose plan is fetched (default: this machine's)\n"
	"  --cache DIR   the cache (default $UNDISTRO_CACHE, else\n"
	"                $XDG_CACHE_HOME/undistro, else ~/.cache/undistro)\n"
	"  --mirror M    a directory or http(s) URL prefix holding source files,\n"
	"                repeatable (default: $UNDISTRO_MIRRORS, space-separated)\n"
	"  --offline     use the cache only; list every missing file\n"
	"  -v            also log cache hits\n",
};
