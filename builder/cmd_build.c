/* undistro build: a role's packages into the store, then its rootfs and
 * images under out/ROLE (or the packages named on the command line only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "build.h"
#include "cmd.h"
#include "diag.h"
#include "fetch.h"
#include "os.h"
#include "solve.h"
#include "store.h"
#include "str.h"
#include "target.h"
#include "tree.h"
#include "pipeline.h"
#include "remote.h"

static const char *
envset(const char *var)
{
	const char *v = getenv(var);

	return v && *v ? v : NULL;
}

/* The remote store's settings (remote.h): --remote and --push, else
 * UNDISTRO_REMOTE and UNDISTRO_PUSH; UNDISTRO_TRUSTED_KEYS and
 * UNDISTRO_SIGNING_KEY; none with --offline. Returns 0, or EXIT_USAGE after
 * saying what to set. */
static int
remoteenv(struct pipeline *pp)
{
	const char *push = envset("UNDISTRO_PUSH"), *from = pp->remote ? "--remote" : "UNDISTRO_REMOTE";

	/* no network: the environment's remote is left alone; --remote or
	 * --push with --offline contradict it */
	if (pp->offline && (pp->remote || pp->push))
		return cmdusage(&cmd_build, "--offline uses no remote store: drop --offline, or --remote and --push");
	if (pp->offline)
		return 0;
	if (!pp->remote)
		pp->remote = envset("UNDISTRO_REMOTE");
	if (push && strcmp(push, "0") && strcmp(push, "1"))
		return cmdusage(&cmd_build, "UNDISTRO_PUSH must be 1 (push) or 0, not '%s'", push);
	pp->push |= push && !strcmp(push, "1");
	pp->trusted = envset("UNDISTRO_TRUSTED_KEYS");
	pp->signkey = envset("UNDISTRO_SIGNING_KEY");
	if (pp->remote && !remoteurlvalid(pp->remote))
		return cmdusage(&cmd_build, "the remote '%s' (%s) is not an http or https URL", pp->remote, from);
	if (pp->push && !pp->remote)
		return cmdusage(&cmd_build, "--push (UNDISTRO_PUSH=1) needs a remote: --remote URL or UNDISTRO_REMOTE");
	if (pp->push && !pp->signkey)
		return cmdusage(&cmd_build, "pushing needs a signing key: set UNDISTRO_SIGNING_KEY to a NAME.key file "
		                "(`undistro key new NAME` writes one)");
	if (pp->remote && !pp->trusted && !pp->signkey)
		return cmdusage(&cmd_build, "a remote needs the public keys its records are checked against: set "
		                "UNDISTRO_TRUSTED_KEYS to a file of NAME.pub lines");
	return 0;
}

static int
run(int argc, char **argv, const struct opts *o)
{
	static const struct cmdopt opts[] = {
		{"out", 'o', CMDARG | CMDSHORT}, {"store", 'S', CMDARG}, {"cache", 'c', CMDARG},
		{"offline", 'O', 0}, {"keep", 'k', CMDSHORT}, {"no-test", 'T', 0}, {"verbose", 'v', CMDSHORT},
		{"packages", 'p', 0}, {"no-image", 'I', 0}, {"arch", 'A', CMDARG}, {"force", 'f', CMDSHORT},
		{"remote", 'R', CMDARG}, {"push", 'P', 0}, {NULL, 0, 0},
	};
	struct cmdargs a = {.cmd = &cmd_build, .opts = opts, .argc = argc, .argv = argv};
	struct pipeline pp = {0};
	const char *arch = NULL;
	int c;

	pp.opts = o;
	while ((c = cmdnext(&a)) > 0) {
		switch (c) {
		case 'o': pp.out = a.val; break;
		case 'S': pp.store = a.val; break;
		case 'c': pp.cache = a.val; break;
		case 'O': pp.offline = 1; break;
		case 'k': pp.keep = 1; break;
		case 'T': pp.notest = 1; break;
		case 'v': pp.verbose = 1; break;
		case 'p': pp.stop = STOP_PACKAGES; break;
		case 'I': pp.stop = pp.stop ? pp.stop : STOP_ROOTFS; break;
		case 'A': arch = a.val; break;
		case 'f': pp.force = 1; break;
		case 'R': pp.remote = a.val; break;
		case 'P': pp.push = 1; break;
		}
	}
	if (c < 0)
		return c == CMDHELP ? EXIT_OK : EXIT_USAGE;
	if (!a.nops)
		return cmdusage(&cmd_build, "name a role, or packages");
	if ((c = cmdtarget(&cmd_build, arch, &pp.target)) != 0 || (c = remoteenv(&pp)) != 0)
		return c;
	return pipelinerun(&pp, argv + 1, (size_t)a.nops);
}

const struct cmd cmd_build = {
	"build", run, "[--arch ARCH] [-o DIR] [--packages] [--no-image] [--force] [--offline] [--remote URL] [--push] [-v] "
	"ROLE | PACKAGE...",
	"build a role's packages, rootfs and bootable images",
	"With a role: resolves it, builds every package it needs that is not in the\n"
	"store yet (sources fetched and verified, built in a sandbox from the stage2\n"
	"toolchain), assembles its rootfs and writes out/ARCH/ROLE/: rootfs.tar.zst,\n"
	"initramfs.cpio.zst, manifest, report, disk.raw and the derived images.\n"
	"Everything is built for one target: --arch, default this machine's.\n"
	"The outputs are redone only when something that goes into them changed\n"
	"(packages, the role and its includes, overlays, key files, the epoch, the\n"
	"commit, undistro itself, the image tools): otherwise it prints that OUT\n"
	"is up to date and writes nothing.\n"
	"With package names: builds those packages (and what they need) into the store.\n"
	"\n"
	"  --arch ARCH     the target architecture (default: this machine's;\n"
	"                  `undistro --help` lists them)\n"
	"  -o, --out DIR   output directory (default $UNDISTRO_OUT, else out/ARCH/ROLE)\n"
	"  --store DIR     package store (default $UNDISTRO_STORE, else CACHE/store)\n"
	"  --cache DIR     source cache (default $UNDISTRO_CACHE, else\n"
	"                  $XDG_CACHE_HOME/undistro)\n"
	"  --offline       use only the source cache, and no remote store\n"
	"  --packages      stop once the packages are in the store\n"
	"  --no-image      stop after the rootfs\n"
	"  -f, --force     redo the role's outputs even when they are up to date\n"
	"  --no-test       skip the recipes' test scripts\n"
	"  -k, --keep      keep the work directories of successful builds\n"
	"  -v, --verbose   show the build output, each line prefixed by its package\n"
	"  --remote URL    a remote package store (default $UNDISTRO_REMOTE): what the\n"
	"                  store lacks is taken from it when a record signed by a key\n"
	"                  of $UNDISTRO_TRUSTED_KEYS says so, else built\n"
	"  --push          (or UNDISTRO_PUSH=1) after the packages, upload to the\n"
	"                  remote what the run needed and it lacks, signed with\n"
	"                  $UNDISTRO_SIGNING_KEY\n"
	"\n"
	"A remote that cannot be reached, or that serves anything that does not\n"
	"check, costs a warning and a local build, never a failure; so does a push\n"
	"that fails (docs/remote.md).\n"
	"Logs: OUT/logs/PACKAGE.log (CACHE/logs/ARCH for package builds).\n"
	"Exit status: 0 built, 1 bad input (also a key file that cannot be used),\n"
	"2 usage (also a malformed SOURCE_DATE_EPOCH, a remote that is not an http(s)\n"
	"URL or has no UNDISTRO_TRUSTED_KEYS, --push without UNDISTRO_SIGNING_KEY),\n"
	"3 a build or test failed, 4 system failure.\n",
};
