/* undistro: build minimal per-role images from one recipe tree.
 * main() only parses global options and dispatches to a subcommand. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmd.h"
#include "diag.h"
#include "target.h"

static const struct cmd *const cmds[] = {
	&cmd_build, &cmd_watch, &cmd_run, &cmd_cost, &cmd_diff, &cmd_fetch, &cmd_resolve, &cmd_graph, &cmd_ls,
	&cmd_check, &cmd_recipe, &cmd_key, &cmd_gc,
};

enum { NCMDS = sizeof(cmds) / sizeof(cmds[0]) };

static void
usage(FILE *f)
{
	fprintf(f, "usage: undistro [-C DIR] [-j N] [-q] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "  %-9s %s\n", cmds[i]->name, cmds[i]->summary);
	fprintf(f, "\noptions:\n"
	        "  -C DIR    use the recipe tree in DIR (DIR/recipes, DIR/overlays); default .\n"
	        "  -j N      run at most N build jobs at once; default: the number of CPUs\n"
	        "  -q        no warnings or progress\n"
	        "  --help    this text; `undistro COMMAND --help` for a command\n"
	        "  --version print the version\n"
	        "\ntargets (--arch of build, run, cost, resolve, graph, fetch): %s\n", targetnames());
	fprintf(f,
	        "\nexit status:\n"
	        "  0  success\n"
	        "  1  bad input: a recipe or role error, or an unsatisfiable request\n"
	        "  2  usage error\n"
	        "  3  a package build or test failed\n"
	        "  4  system failure: I/O, a program that could not run, network\n"
	        "  5  undistro cost: a figure exceeds the role's budget\n");
}

int
main(int argc, char **argv)
{
	struct opts o = {".", 0};
	long n;
	char *end;
	int i;

	/* past a file size limit a write fails with EFBIG, which the writer
	 * reports with the path, instead of killing us without a word
	 * (children get the default back: os.c) */
	signal(SIGXFSZ, SIG_IGN);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(a, "--version")) {
			puts("undistro 0.1");
			return EXIT_OK;
		} else if (!strcmp(a, "-q")) {
			quiet = 1;
		} else if (!strcmp(a, "-C") || !strcmp(a, "-j")) {
			if (i + 1 == argc) {
				fprintf(stderr, "undistro: option %s needs an argument\n", a);
				return EXIT_USAGE;
			}
			if (a[1] == 'C') {
				o.dir = argv[++i];
				continue;
			}
			n = strtol(argv[++i], &end, 10);
			if (*end || n < 1 || n > 1024) {
				fprintf(stderr, "undistro: -j takes a number from 1 to 1024, not '%s'\n", argv[i]);
				return EXIT_USAGE;
			}
			o.jobs = (int)n;
		} else {
			fprintf(stderr, "undistro: unknown option '%s'\n", a);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!o.jobs) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		o.jobs = n > 0 ? (int)n : 1;
	}
	for (size_t k = 0; k < NCMDS; k++)
		if (!strcmp(cmds[k]->name, argv[i]))
			return cmds[k]->run(argc - i, argv + i, &o);
	fprintf(stderr, "undistro: unknown command '%s'; see undistro --help\n", argv[i]);
	return EXIT_USAGE;
}
