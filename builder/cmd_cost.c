/* undistro cost: what a role's built image costs to run (cost.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "alloc.h"
#include "cmd.h"
#include "cost.h"
#include "diag.h"
#include "recipe.h"
#include "run.h"
#include "target.h"
#include "tree.h"

/* Defaults (docs/recipes.md, "Cost"). */
#define RUNS 3
#define IDLE 10
#define READYWAIT 300

/* A decimal number in [lo, hi], or -1. */
static long
number(const char *s, long lo, long hi)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end && v >= lo && v <= hi ? v : -1;
}

/* The flattened role called name, supporting t, into *flat; an exit code. */
static int
findrole(struct tree *tr, const struct opts *o, const char *name, const struct target *t, struct role *flat)
{
	struct role *ro;

	if (treeload(tr, o->dir) < 0)
		return EXIT_INPUT;
	if (!(ro = treerole(tr, name))) {
		const char *near = treenearestrole(tr, name);

		err("no role '%s'%s%s%s", name, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
		return EXIT_INPUT;
	}
	roleflatten(tr, ro, flat);
	return rolesupports(flat, t) ? EXIT_OK : EXIT_INPUT;
}

/* Boot the image c->runs times; an exit code. */
static int
measure(struct cost *c, const struct runopts *ro, int timeout)
{
	for (int i = 0; i < c->runs; i++) {
		if (!quiet)
			fprintf(stderr, "undistro: cost: boot %d of %d (%s, %d s idle)\n", i + 1, c->runs, c->arch, c->idle);
		if (costboot(ro, c->role, timeout, c->idle, &c->run[i]) < 0) {
			err("cost: boot %d of role %s failed: no figures written", i + 1, c->role);
			return EXIT_SYSTEM;
		}
	}
	return EXIT_OK;
}

static int
run(int argc, char **argv, const struct opts *o)
{
	static const struct cmdopt opts[] = {
		{"arch", 'A', CMDARG}, {"runs", 'n', CMDARG}, {"out", 'o', CMDARG | CMDSHORT},
		{"timeout", 't', CMDARG}, {"idle", 'i', CMDARG}, {NULL, 0, 0},
	};
	struct cmdargs a = {.cmd = &cmd_cost, .opts = opts, .argc = argc, .argv = argv};
	struct cost c = {.runs = RUNS, .idle = IDLE};
	struct runopts ro = {.memmb = COSTMEMMB, .cpus = COSTCPUS, .accel = COSTACCEL};
	const char *arch = NULL;
	char *outdir = NULL, *path = NULL, idle[16];
	int ch, rc, timeout = READYWAIT;
	struct tree tr = {0};
	struct role flat;

	while ((ch = cmdnext(&a)) > 0) {
		switch (ch) {
		case 'A': arch = a.val; break;
		case 'o': ro.outdir = a.val; break;
		case 'n':
			if ((c.runs = (int)number(a.val, 1, 99)) < 0)
				return cmdusage(&cmd_cost, "--runs takes a number of boots (1 to 99), not '%s'", a.val);
			break;
		case 't':
			if ((timeout = (int)number(a.val, 1, 86400)) < 0)
				return cmdusage(&cmd_cost, "--timeout takes seconds (1 to 86400), not '%s'", a.val);
			break;
		case 'i':
			if ((c.idle = (int)number(a.val, 10, 3600)) < 0)
				return cmdusage(&cmd_cost, "--idle takes seconds (10 to 3600), not '%s'", a.val);
			break;
		}
	}
	if (ch < 0)
		return ch == CMDHELP ? EXIT_OK : EXIT_USAGE;
	if (a.nops != 1)
		return cmdusage(&cmd_cost, "name one role");
	if ((rc = cmdtarget(&cmd_cost, arch, &ro.target)) != 0)
		return rc;
	c.role = argv[1];
	c.arch = ro.target->name;
	c.machine = ro.target->machine;
	c.firmware = ro.target->biosmbr ? "SeaBIOS" : ro.target->ueficode;
	if ((rc = findrole(&tr, o, c.role, ro.target, &flat)) != EXIT_OK)
		goto out;
	if (!ro.outdir) {
		const char *env = getenv("UNDISTRO_OUT");

		ro.outdir = outdir = env && *env ? xstrdup(env) : xasprintf("out/%s/%s", c.arch, c.role);
	}
	path = xasprintf("%s/disk.raw", ro.outdir);
	if (access(path, R_OK) < 0) {
		err("cost: %s: no built image of role %s for %s: build it first with `undistro build --arch %s%s%s %s`",
		    path, c.role, c.arch, c.arch, outdir ? "" : " -o ", outdir ? "" : ro.outdir, c.role);
		rc = EXIT_INPUT;
		goto out;
	}
	free(path);
	path = xasprintf("%s/cost.json", ro.outdir);
	snprintf(idle, sizeof(idle), "%d", c.idle);
	ro.cost = idle;
	c.run = xcalloc((size_t)c.runs, sizeof(*c.run));
	if (costfiles(ro.outdir, &c) < 0) {
		rc = EXIT_SYSTEM;
		goto out;
	}
	if ((rc = measure(&c, &ro, timeout)) != EXIT_OK)
		goto out;
	costsummarize(&c);
	if (costwrite(path, &c) < 0) {
		rc = EXIT_SYSTEM;
		goto out;
	}
	costtable(stdout, &c, &flat);
	fflush(stdout);
	if (costbudgets(&flat, &c) > 0) {
		err("cost: role %s is over its budget (figures in %s)", c.role, path);
		rc = EXIT_BUDGET;
	}
out:
	free(c.run);
	free(path);
	free(outdir);
	treefree(&tr);
	return rc;
}

const struct cmd cmd_cost = {
	"cost", run, "[--arch ARCH] [--runs N] [-o DIR] [--idle S] [--timeout S] ROLE",
	"measure what a role's built image costs to run, against its budget",
	"Boots out/ARCH/ROLE/disk.raw (see -o; it never builds: build the role\n"
	"first) N times in qemu with fixed settings: the target's machine and\n"
	"firmware (x86_64: pc and SeaBIOS; aarch64: virt, neoverse-n1 and AAVMF),\n"
	"1024 MiB, 1 CPU, TCG, the disk as NVMe in snapshot mode, qemu's user\n"
	"network. In each boot the image's measurer (the init package) waits\n"
	"S seconds after the ready line and prints the idle figures on the serial\n"
	"console. Writes OUT/cost.json (medians, each boot's values, the spread)\n"
	"and prints a table; then checks the role's budget { } (docs/recipes.md).\n"
	"\n"
	"  --arch ARCH    the image's target (default: this machine's)\n"
	"  --runs N       boots (default 3); each figure is their median\n"
	"  -o, --out DIR  the image directory (default $UNDISTRO_OUT, else\n"
	"                 out/ARCH/ROLE); cost.json is written there\n"
	"  --idle S       the idle window after ready (10 to 3600; default 10)\n"
	"  --timeout S    seconds a boot may take to the ready line (default 300)\n"
	"\n"
	"exit status: 0 within the budget, 1 bad input (no such role, no built\n"
	"image), 2 usage, 4 a boot failed (qemu, or no ready or cost line in\n"
	"time: the console's last lines are printed), 5 a budget exceeded\n"
	"(each named at its role file's line).\n",
};
