#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "build.h"
#include "cmd.h"
#include "diag.h"
#include "os.h"
#include "pipeline.h"
#include "str.h"

long long
pipelineepoch(const char *top)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *argv[] = {"git", "-C", (char *)top, "log", "-1", "--format=%ct", NULL};
	struct buf out = {0};
	long long e = 0;

	if (s && *s)
		return strtoll(s, NULL, 10);
	if (osruncapture(argv, NULL, NULL, &out) == 0 && out.p)
		e = strtoll(out.p, NULL, 10);
	buffree(&out);
	return e > 0 ? e : BUILD_EPOCH;
}

static char *
envor(const char *var, const char *deflt)
{
	const char *v = getenv(var);

	return xstrdup(v && *v ? v : deflt);
}

/* Choose the cache, store, work, log and output directories. */
static int
dirs(struct pipeline *p)
{
	char *d;

	p->fc.cache = p->cache;
	p->fc.offline = p->offline;
	if (fetchcfgenv(&p->fc) < 0)
		return -1;
	d = xasprintf("%s/store", p->fc.cache);
	p->st.dir = p->store ? xstrdup(p->store) : envor("UNDISTRO_STORE", d);
	free(d);
	d = xasprintf("%s/work", p->fc.cache);
	p->work = envor("UNDISTRO_WORK", d);
	free(d);
	if (p->role) {
		d = xasprintf("out/%s", p->role->name);
		p->outdir = p->out ? xstrdup(p->out) : envor("UNDISTRO_OUT", d);
		free(d);
		p->logs = xasprintf("%s/logs", p->outdir);
	} else {
		p->logs = xasprintf("%s/logs", p->fc.cache);
	}
	d = xstrdup(p->st.dir);
	free(p->st.dir);
	return storeopen(&p->st, d) < 0 ? (free(d), -1) : (free(d), 0);
}

static int
resolve(struct pipeline *p, char **names, size_t n)
{
	const struct role *ro = n == 1 ? treerole(&p->tree, names[0]) : NULL;

	if (ro) {
		p->role = ro;
		roleflatten(&p->tree, ro, &p->flat);
		return solverole(&p->tree, &p->flat, &p->plan);
	}
	return solvepackages(&p->tree, names, n, &p->plan);
}

int
pipelinerun(struct pipeline *p, char **names, size_t n)
{
	struct buildcfg bc = {0};
	int rc;

	if (treeload(&p->tree, p->opts->dir) < 0 || resolve(p, names, n) < 0)
		return EXIT_INPUT;
	if (dirs(p) < 0)
		return EXIT_SYSTEM;
	p->keys = xcalloc(p->plan.n + 1, sizeof(*p->keys));
	bc = (struct buildcfg){&p->st, &p->fc, p->opts->dir, p->work, p->logs, p->opts->jobs,
	                       p->keep, p->verbose, p->notest};
	if (buildkeys(&bc, &p->plan, p->keys) < 0)
		return EXIT_SYSTEM;
	rc = buildplan(&bc, &p->plan, p->keys, NULL);
	if (rc)
		return rc > 0 ? EXIT_BUILD : EXIT_SYSTEM;
	if (!p->role || p->stop == STOP_PACKAGES)
		return EXIT_OK;
	p->epoch = pipelineepoch(p->opts->dir);
	return pipelinerootfs(p);
}

int
pipelinerootfs(struct pipeline *p)
{
	err("the rootfs stage is not wired yet");
	return EXIT_SYSTEM;
}
