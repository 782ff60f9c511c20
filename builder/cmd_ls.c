/* undistro ls: list recipes and roles. */
#include <stdio.h>
#include "cmd.h"
#include "diag.h"
#include "tree.h"

static int
run(int argc, char **argv, const struct opts *o)
{
	struct cmdargs a = {.cmd = &cmd_ls, .argc = argc, .argv = argv};
	struct tree t;
	int r;

	if ((r = cmdnext(&a)) != 0)
		return r == CMDHELP ? EXIT_OK : EXIT_USAGE;
	if (a.nops)
		return cmdusage(&cmd_ls, "ls takes no operands");
	if (treeload(&t, o->dir) < 0) {
		treefree(&t);
		return EXIT_INPUT;
	}
	for (size_t i = 0; i < t.nrecipes; i++) {
		const struct recipe *rc = t.recipes[i];

		printf("%-16s %-14s %-16s %s\n", rc->name, rc->evr, rc->license, rc->desc);
	}
	for (size_t i = 0; i < t.nroles; i++)
		printf("role %-11s %s\n", t.roles[i]->name, t.roles[i]->desc ? t.roles[i]->desc : "");
	treefree(&t);
	return EXIT_OK;
}

const struct cmd cmd_ls = {
	"ls", run, "",
	"list the packages and roles of the tree",
	"Prints one line per recipe (name, version-release, license, description),\n"
	"then one line per role.\n",
};
