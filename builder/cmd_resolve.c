/* undistro resolve: a role's build plan, as a table or JSON. */
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "diag.h"
#include "json.h"
#include "solve.h"
#include "str.h"
#include "target.h"
#include "tree.h"

int
cmdplan(const struct opts *o, const char *name, const struct target *tg, struct tree *t, struct role *flat,
        struct plan *pl)
{
	const struct role *ro;
	const char *near;
	struct buf known = {0};

	memset(pl, 0, sizeof(*pl));
	if (treeload(t, o->dir) < 0)
		return EXIT_INPUT;
	if (!(ro = treerole(t, name))) {
		for (size_t i = 0; i < t->nroles; i++)
			bufprintf(&known, "%s%s", i ? ", " : "", t->roles[i]->name);
		if ((near = treenearestrole(t, name)))
			err("unknown role '%s' (did you mean '%s'?)", name, near);
		else if (t->nroles)
			err("unknown role '%s' (roles: %s)", name, known.p);
		else
			err("unknown role '%s': there are no roles in recipes/roles/", name);
		buffree(&known);
		return EXIT_INPUT;
	}
	roleflatten(t, ro, flat);
	if (!rolesupports(flat, tg))
		return EXIT_INPUT;
	return solverole(t, flat, tg, pl) < 0 ? EXIT_INPUT : EXIT_OK;
}

/* Print s as a JSON string. */
static void
jsonout(const char *s)
{
	struct buf b = {0};

	jsonstr(&b, s);
	fputs(b.p, stdout);
	buffree(&b);
}

static void
jsonnames(const char *key, const struct plan *pl, const size_t *v, size_t n)
{
	printf(", ");
	jsonout(key);
	printf(": [");
	for (size_t i = 0; i < n; i++) {
		printf(i ? ", " : "");
		jsonout(pl->pkgs[v[i]].r->name);
	}
	printf("]");
}

static void
printjson(const struct role *ro, const struct plan *pl)
{
	printf("{\"role\": ");
	jsonout(ro->name);
	printf(", \"waves\": %d, \"packages\": [", pl->nwaves);
	for (size_t i = 0; i < pl->n; i++) {
		const struct planpkg *p = &pl->pkgs[i];

		printf("%s\n  {\"name\": ", i ? "," : "");
		jsonout(p->r->name);
		printf(", \"version\": ");
		jsonout(p->r->version);
		printf(", \"release\": %ld, \"wave\": %d, \"runtime\": %s, \"flags\": {", p->r->release,
		       p->wave + 1, p->runtime ? "true" : "false");
		for (size_t f = 0; f < p->r->nflags; f++) {
			printf(f ? ", " : "");
			jsonout(p->r->flags[f].name);
			printf(": ");
			jsonout(p->flags[f]);
		}
		printf("}");
		jsonnames("depends", pl, p->rundeps, p->nrundeps);
		jsonnames("build_depends", pl, p->builddeps, p->nbuilddeps);
		jsonnames("sysroot", pl, p->sysroot, p->nsysroot);
		printf("}");
	}
	printf("%s]}\n", pl->n ? "\n" : "");
}

static void
printtable(const struct role *ro, const struct plan *pl)
{
	int wname = 7, wver = 7;
	struct buf flags = {0};

	for (size_t i = 0; i < pl->n; i++) {
		int n = (int)strlen(pl->pkgs[i].r->name), v = (int)strlen(pl->pkgs[i].r->evr);

		wname = n > wname ? n : wname;
		wver = v > wver ? v : wver;
	}
	printf("%-4s  %-*s  %-*s  %-10s  %s\n", "wave", wname, "package", wver, "version", "kind", "flags");
	for (size_t i = 0; i < pl->n; i++) {
		const struct planpkg *p = &pl->pkgs[i];

		flags.n = 0;
		bufadds(&flags, "");
		for (size_t f = 0; f < p->r->nflags; f++)
			bufprintf(&flags, "%s%s=%s", f ? " " : "", p->r->flags[f].name, p->flags[f]);
		printf("%-4d  %-*s  %-*s  %-*s%s%s\n", p->wave + 1, wname, p->r->name, wver, p->r->evr,
		       flags.n ? 10 : 0, p->runtime ? "runtime" : "build-only", flags.n ? "  " : "", flags.p);
	}
	printf("role %s: %zu packages in %d wave%s, %zu runtime, %zu build-only\n", ro->name, pl->n, pl->nwaves,
	       pl->nwaves == 1 ? "" : "s", pl->nruntime, pl->n - pl->nruntime);
	buffree(&flags);
}

static int
run(int argc, char **argv, const struct opts *o)
{
	static const struct cmdopt opts[] = {
		{"json", 'J', 0}, {"arch", 'A', CMDARG},
		{NULL, 0, 0},
	};
	struct cmdargs a = {.cmd = &cmd_resolve, .opts = opts, .argc = argc, .argv = argv};
	struct tree t;
	struct role flat;
	struct plan pl;
	const struct target *tg;
	const char *arch = NULL;
	int json = 0, r;

	while ((r = cmdnext(&a)) > 0) {
		if (r == 'J')
			json = 1;
		else if (r == 'A')
			arch = a.val;
	}
	if (r < 0)
		return r == CMDHELP ? EXIT_OK : EXIT_USAGE;
	if (a.nops != 1)
		return cmdusage(&cmd_resolve, "resolve takes one role");
	if ((r = cmdtarget(&cmd_resolve, arch, &tg)) != 0)
		return r;
	if ((r = cmdplan(o, argv[1], tg, &t, &flat, &pl)) == EXIT_OK) {
		if (json)
			printjson(&flat, &pl);
		else
			printtable(&flat, &pl);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			err("cannot write the plan:");
			r = EXIT_SYSTEM;
		}
	}
	planfree(&pl);
	treefree(&t);
	return r;
}

const struct cmd cmd_resolve = {
	"resolve", run, "[--json] [--arch ARCH] ROLE",
	"show the packages a role needs, in build order",
	"Resolves the role's packages and its kernel with libsolv, then everything\n"
	"needed to build them, and prints one line per package in build order:\n"
	"  wave     packages of one wave can build in parallel once the earlier\n"
	"           waves are done (wave 1 first)\n"
	"  package, version (version-release)\n"
	"  kind     runtime (installed in the role's image) or build-only (only in\n"
	"           build sysroots)\n"
	"  flags    every flag's value for this role (NAME=VALUE)\n"
	"\n"
	"  --arch ARCH  resolve for this target (default: this machine's)\n"
	"  --json   print {role, waves, packages: [{name, version, release, wave,\n"
	"           runtime, flags, depends, build_depends, sysroot}]} instead\n"
	"\n"
	"An unsatisfiable dependency, a conflict or a dependency cycle is reported\n"
	"at the recipe line that causes it, with libsolv's explanation and fixes.\n"
	"Exit status: 0 resolved, 1 bad tree or unsatisfiable, 2 usage, 4 system.\n",
};
