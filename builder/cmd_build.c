/* undistro build: a role's packages into the store, then its rootfs and
 * images under out/ROLE (or the packages named on the command line only). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "build.h"
#include "cmd.h"
#include "diag.h"
#include "target.h"
#include "fetch.h"
#include "os.h"
#include "solve.h"
#include "store.h"
#include "str.h"
#include "tree.h"
#include "pipeline.h"

static int
run(int argc, char **argv, const struct opts *o)
{
	static const struct option lo[] = {
		{"help", no_argument, NULL, 'h'}, {"out", required_argument, NULL, 'o'},
		{"store", required_argument, NULL, 'S'}, {"cache", required_argument, NULL, 'c'},
		{"offline", no_argument, NULL, 'O'}, {"keep", no_argument, NULL, 'k'},
		{"no-test", no_argument, NULL, 'T'}, {"verbose", no_argument, NULL, 'v'},
		{"packages", no_argument, NULL, 'p'}, {"no-image", no_argument, NULL, 'I'},
		{"arch", required_argument, NULL, 'a'},
		{0, 0, 0, 0},
	};
	struct pipeline pp = {0};
	const char *arch = NULL;
	int c;

	pp.opts = o;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "ho:vk", lo, NULL)) != -1) {
		switch (c) {
		case 'h': cmdhelp(&cmd_build); return EXIT_OK;
		case 'o': pp.out = optarg; break;
		case 'S': pp.store = optarg; break;
		case 'c': pp.cache = optarg; break;
		case 'O': pp.offline = 1; break;
		case 'k': pp.keep = 1; break;
		case 'T': pp.notest = 1; break;
		case 'v': pp.verbose = 1; break;
		case 'p': pp.stop = STOP_PACKAGES; break;
		case 'I': pp.stop = pp.stop ? pp.stop : STOP_ROOTFS; break;
		case 'a': arch = optarg; break;
		default:
			return cmdusage(&cmd_build, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc)
		return cmdusage(&cmd_build, "name a role, or packages");
	if ((c = cmdtarget(&cmd_build, arch, &pp.target)) != 0)
		return c;
	return pipelinerun(&pp, argv + optind, (size_t)(argc - optind));
}

const struct cmd cmd_build = {
	"build", run, "[--arch ARCH] [-o DIR] [--packages] [--no-image] [--offline] [-v] ROLE | PACKAGE...",
	"build a role's packages, rootfs and bootable images",
	"With a role: resolves it, builds every package it needs that is not in the\n"
	"store yet (sources fetched and verified, built in a sandbox from the stage2\n"
	"toolchain), assembles its rootfs and writes out/ROLE/: rootfs.tar.zst,\n"
	"initramfs.cpio.zst, manifest, report, disk.raw and the derived images.\n"
	"Everything is built for one target: --arch, default this machine's.\n"
	"With package names: builds those packages (and what they need) into the store.\n"
	"\n"
	"  --arch ARCH     the target architecture (default: this machine's;\n"
	"                  `undistro --help` lists them)\n"
	"  -o, --out DIR   output directory (default $UNDISTRO_OUT, else out/ARCH/ROLE)\n"
	"  --store DIR     package store (default $UNDISTRO_STORE, else CACHE/store)\n"
	"  --cache DIR     source cache (default $UNDISTRO_CACHE, else\n"
	"                  $XDG_CACHE_HOME/undistro)\n"
	"  --offline       use only the source cache\n"
	"  --packages      stop once the packages are in the store\n"
	"  --no-image      stop after the rootfs\n"
	"  --no-test       skip the recipes' test scripts\n"
	"  -k, --keep      keep the work directories of successful builds\n"
	"  -v, --verbose   show the build output, each line prefixed by its package\n"
	"\n"
	"Logs: OUT/logs/PACKAGE.log (CACHE/logs/ARCH for package builds).\n"
	"Exit status: 0 built, 1 bad input, 3 a build or test failed, 4 system failure.\n",
};
