/* undistro diff: two builds' outputs side by side (diff.h). */
#include <stdio.h>
#include <sys/stat.h>
#include "cmd.h"
#include "diag.h"
#include "diff.h"
#include "str.h"

static int
isdirectory(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
run(int argc, char **argv, const struct opts *o)
{
	static const struct cmdopt opts[] = {{"json", 'j', 0}, {NULL, 0, 0}};
	struct cmdargs a = {.cmd = &cmd_diff, .opts = opts, .argc = argc, .argv = argv};
	struct buf out = {0};
	int c, asjson = 0, rc;

	(void)o;
	while ((c = cmdnext(&a)) > 0)
		asjson = 1;
	if (c < 0)
		return c == CMDHELP ? EXIT_OK : EXIT_USAGE;
	if (a.nops != 2)
		return cmdusage(&cmd_diff, "name two output directories (out/ARCH/ROLE)");
	for (int i = 1; i <= 2; i++) {
		if (!isdirectory(argv[i])) {
			err("diff: %s is not a directory: name two output directories of undistro build "
			    "(out/ARCH/ROLE, or what -o named)", argv[i]);
			return EXIT_INPUT;
		}
	}
	rc = diffoutputs(argv[1], argv[2], asjson, &out);
	if (rc == 0)
		fwrite(out.p, 1, out.n, stdout);
	buffree(&out);
	if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
		err("diff: writing the output:");
		return EXIT_SYSTEM;
	}
	return rc == 0 ? EXIT_OK : EXIT_INPUT;
}

const struct cmd cmd_diff = {
	"diff", run, "[--json] A B",
	"compare two builds' outputs: packages, files, bytes, cost",
	"A and B are output directories of undistro build (out/ARCH/ROLE, or what\n"
	"-o named). Prints the packages added, removed and changed (version,\n"
	"store key, flags; from the SBOMs), the files added, removed (largest\n"
	"first), grown, shrunk (largest change first) and changed (from the\n"
	"manifests), the bytes of the root file system and of each image file,\n"
	"and the cost figures with their deltas when both directories hold a\n"
	"cost.json of their disk.raw (undistro cost).\n"
	"\n"
	"  --json   one JSON document instead of text (every row; the text\n"
	"           shows at most 40 per section)\n"
	"\n"
	"exit status: 0 compared (whether or not they differ), 1 a directory,\n"
	"manifest or SBOM missing or unreadable, 2 usage.\n",
};
