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

/* What the command line asks for; its operand, the role, is argv[1] once
 * cmdnext has put the operands first. */
struct costargs {
	const char *arch, *out;
	int runs, idle, timeout;
};

/* Parse the options into *ca; 0, or the exit code to return. */
static int
options(int argc, char **argv, struct costargs *ca)
{
	static const struct cmdopt opts[] = {
		{"arch", 'A', CMDARG}, {"runs", 'n', CMDARG}, {"out", 'o', CMDARG | CMDSHORT},
		{"timeout", 't', CMDARG}, {"idle", 'i', CMDARG}, {NULL, 0, 0},
	};
	struct cmdargs a = {.cmd = &cmd_cost, .opts = opts, .argc = argc, .argv = argv};
	int ch;

	while ((ch = cmdnext(&a)) > 0) {
		switch (ch) {
		case 'A': ca->arch = a.val; break;
		case 'o': ca->out = a.val; break;
		case 'n':
			if ((ca->runs = (int)number(a.val, 1, 99)) < 0)
				return cmdusage(&cmd_cost, "--runs takes a number of boots (1 to 99), not '%s'", a.val);
			break;
		case 't':
			if ((ca->timeout = (int)number(a.val, 1, 86400)) < 0)
				return cmdusage(&cmd_cost, "--timeout takes seconds (1 to 86400), not '%s'", a.val);
			break;
		case 'i':
			if ((ca->idle = (int)number(a.val, 10, 3600)) < 0)
				return cmdusage(&cmd_cost, "--idle takes seconds (10 to 3600), not '%s'", a.val);
			break;
		}
	}
	if (ch < 0)
		return ch == CMDHELP ? CMDHELP : EXIT_USAGE;
	return a.nops == 1 ? 0 : cmdusage(&cmd_cost, "name one role");
}

/* Measure, write cost.json and the table, check the budgets: an exit code. */
static int
costof(struct cost *c, const struct runopts *ro, int timeout, const struct role *flat)
{
	char *path = xasprintf("%s/cost.json", ro->outdir);
	int rc = EXIT_OK;

	c->run = xcalloc((size_t)c->runs, sizeof(*c->run));
	if (costfiles(ro->outdir, c) < 0)
		rc = EXIT_SYSTEM;
	else if ((rc = measure(c, ro, timeout)) == EXIT_OK) {
		costsummarize(c);
		if (costwrite(path, c) < 0) {
			rc = EXIT_SYSTEM;
		} else {
			costtable(stdout, c, flat);
			fflush(stdout);
			if (costbudgets(flat, c) > 0) {
				err("cost: role %s is over its budget (figures in %s)", c->role, path);
				rc = EXIT_BUDGET;
			}
		}
	}
	free(c->run);
	free(path);
	return rc;
}

static int
run(int argc, char **argv, const struct opts *o)
{
	struct costargs ca = {.runs = RUNS, .idle = IDLE, .timeout = READYWAIT};
	struct runopts ro = {.memmb = COSTMEMMB, .cpus = COSTCPUS, .accel = COSTACCEL};
	struct cost c = {0};
	char *outdir = NULL, *raw = NULL, idle[16];
	struct tree tr = {0};
	struct role flat;
	int rc;

	if ((rc = options(argc, argv, &ca)) != 0)
		return rc == CMDHELP ? EXIT_OK : rc;
	if ((rc = cmdtarget(&cmd_cost, ca.arch, &ro.target)) != 0)
		return rc;
	c = (struct cost){.role = argv[1], .arch = ro.target->name, .runs = ca.runs, .idle = ca.idle,
	                  .machine = ro.target->machine,
	                  .firmware = ro.target->biosmbr ? "SeaBIOS" : ro.target->ueficode};
	if ((rc = findrole(&tr, o, c.role, ro.target, &flat)) == EXIT_OK) {
		const char *env = getenv("UNDISTRO_OUT");

		ro.outdir = ca.out;
		if (!ro.outdir)
			ro.outdir = outdir = env && *env ? xstrdup(env) : xasprintf("out/%s/%s", c.arch, c.role);
		raw = xasprintf("%s/disk.raw", ro.outdir);
		snprintf(idle, sizeof(idle), "%d", c.idle);
		ro.cost = idle;
		if (access(raw, R_OK) < 0) {
			err("cost: %s: no built image of role %s for %s: build it first with `undistro build --arch %s%s%s %s`",
			    raw, c.role, c.arch, c.arch, ca.out ? " -o " : "", ca.out ? ca.out : "", c.role);
			rc = EXIT_INPUT;
		} else {
			rc = costof(&c, &ro, ca.timeout, &flat);
		}
	}
	free(raw);
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
