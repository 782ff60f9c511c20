/* undistro check: validate the whole tree. */
#include <stdio.h>
#include "cmd.h"
#include "diag.h"
#include "tree.h"

static int
run(int argc, char **argv, const struct opts *o)
{
	struct cmdargs a = {.cmd = &cmd_check, .argc = argc, .argv = argv};
	struct tree t;
	int r;

	if ((r = cmdnext(&a)) != 0)
		return r == CMDHELP ? EXIT_OK : EXIT_USAGE;
	if (a.nops)
		return cmdusage(&cmd_check, "check takes no operands");
	r = treeload(&t, o->dir);
	if (r == 0)
		printf("%zu recipes and %zu roles checked, no errors\n", t.nrecipes, t.nroles);
	else
		fprintf(stderr, "undistro: %d error%s\n", nerrors, nerrors == 1 ? "" : "s");
	treefree(&t);
	return r == 0 ? EXIT_OK : EXIT_INPUT;
}

const struct cmd cmd_check = {
	"check", run, "",
	"validate every recipe and role of the tree",
	"Parses every recipe under recipes/ and role under recipes/roles/, checks\n"
	"values, names, flags, includes, overlays, services and in-tree sources (read\n"
	"and hashed as a build would), and reports every error as FILE:LINE:COL:\n"
	"message. Exit 0 when the tree is clean, 1 otherwise.\n",
};
