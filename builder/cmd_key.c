/* undistro key new: make an Ed25519 signing key for a remote store. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "diag.h"
#include "sign.h"

static int
run(int argc, char **argv, const struct opts *o)
{
	struct cmdargs a = {.cmd = &cmd_key, .argc = argc, .argv = argv};
	const char *name, *dir;
	int r;

	(void)o;
	if ((r = cmdnext(&a)) != 0)
		return r == CMDHELP ? EXIT_OK : EXIT_USAGE;
	if (!a.nops)
		return cmdusage(&cmd_key, "name what to do: key new NAME [DIR]");
	if (strcmp(argv[1], "new"))
		return cmdusage(&cmd_key, "unknown key command '%s': the one there is is 'new'", argv[1]);
	if (a.nops < 2 || a.nops > 3)
		return cmdusage(&cmd_key, "key new takes a key name and at most a directory");
	name = argv[2];
	dir = a.nops == 3 ? argv[3] : ".";
	if (signkeynew(dir, name) < 0)
		return errno == EINVAL || errno == EEXIST ? EXIT_INPUT : EXIT_SYSTEM;
	printf("secret key: %s/%s.key (keep it secret: UNDISTRO_SIGNING_KEY=%s/%s.key lets a build push)\n"
	       "public key: %s/%s.pub (add its line to the file UNDISTRO_TRUSTED_KEYS names to trust what it signs)\n",
	       dir, name, dir, name, dir, name);
	return EXIT_OK;
}

const struct cmd cmd_key = {
	"key", run, "new NAME [DIR]",
	"make a key that signs what a build pushes to a remote store",
	"Writes DIR/NAME.key, an Ed25519 secret key (mode 0600; an existing file\n"
	"is never overwritten), and DIR/NAME.pub, its public key; DIR is . unless\n"
	"given. NAME is 1 to 64 of A-Z a-z 0-9 . _ - (say whose key it is, e.g.\n"
	"ci-main-1). Each file is one line NAME:BASE64.\n"
	"\n"
	"A build that pushes (UNDISTRO_PUSH=1) signs each record with the key\n"
	"UNDISTRO_SIGNING_KEY names; a build that reads a remote accepts only\n"
	"records signed by a key listed in the file UNDISTRO_TRUSTED_KEYS names\n"
	"(lines like NAME.pub's; blank lines and lines starting with # ignored).\n"
	"See docs/remote.md: Keys.\n"
	"\n"
	"exit status: 0 written; 1 a bad NAME or DIR/NAME.key exists; 2 usage;\n"
	"4 the files could not be written.\n",
};
