#ifndef UNDISTRO_CMD_H
#define UNDISTRO_CMD_H
/* Subcommands: one file each (cmd_NAME.c), registered in main.c's table.
 * A command returns an exit code from diag.h; it is the top layer, so it may
 * decide the code, but it never calls exit() itself. */

struct opts {
	const char *dir;     /* -C: the recipe tree (default ".") */
	int jobs;            /* -j: job budget (default: online CPUs) */
};

struct cmd {
	const char *name;
	int (*run)(int argc, char **argv, const struct opts *);
	const char *args;     /* synopsis after the command name */
	const char *summary;  /* one line for `undistro --help` */
	const char *help;     /* the rest of `undistro CMD --help` */
};

/* Print cmd's help to stdout. */
void cmdhelp(const struct cmd *);
/* Report a usage error for cmd and return EXIT_USAGE. */
int cmdusage(const struct cmd *, const char *fmt, ...);
/* One option of a subcommand: --NAME, and -K too when flags has CMDSHORT.
 * Tables end with an entry whose name is NULL. */
struct cmdopt {
	const char *name;   /* long name, without "--" */
	int key;            /* what cmdnext() returns for it (a letter, or any int > 0) */
	unsigned flags;     /* CMDARG, CMDSHORT */
};

enum {
	CMDARG = 1,         /* takes a value: --name V, --name=V, -k V, -kV */
	CMDSHORT = 2,       /* key is also its short option letter */
	CMDHELP = -2,       /* cmdnext(): --help or -h was given, help printed */
};

/* The state of one command line's parse. Start it with
 * struct cmdargs a = {.cmd = &cmd_x, .opts = opts, .argc = argc, .argv = argv};
 * opts may be NULL (no options but --help). */
struct cmdargs {
	const struct cmd *cmd;
	const struct cmdopt *opts;
	int argc;
	char **argv;        /* argv[0] is the command name */
	const char *val;    /* the value of the option cmdnext() just returned */
	int nops;           /* operands so far: argv[1..1+nops), in order */
	int i, done;        /* next argument; "--" seen */
	const char *cluster;  /* rest of a "-abc" cluster */
};

/* The next option of the command line (GNU style: options may follow
 * operands, "--" ends them, "-" is an operand). Returns its key, with its
 * value in a->val; 0 when the command line is done (the operands are then
 * a->argv[1..1+a->nops)); CMDHELP after printing help; -1 after reporting
 * a usage error: an unknown option, a missing value, a value given to an
 * option that takes none. */
int cmdnext(struct cmdargs *a);
struct tree;
struct role;
struct plan;
struct target;
/* The target called name (--arch's value), or the build machine's when name
 * is NULL, into *t. Returns 0, or EXIT_USAGE after listing the known ones. */
int cmdtarget(const struct cmd *, const char *name, const struct target **t);
/* Load the tree of -C, find the role by name (reporting the nearest one when
 * there is none), flatten it into *flat, check it supports the target and
 * resolve it for the target into *pl. Returns an exit code; the caller frees
 * the tree and the plan whatever it returns. */
int cmdplan(const struct opts *, const char *role, const struct target *, struct tree *, struct role *flat,
            struct plan *pl);

extern const struct cmd cmd_check, cmd_ls, cmd_resolve, cmd_graph, cmd_build, cmd_fetch, cmd_run, cmd_key,
       cmd_gc, cmd_cost, cmd_diff, cmd_recipe, cmd_watch;
#endif
