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
/* Parse the common subcommand options: --help (prints help, returns 1),
 * and the options named in allowed ("json" for --json, "arch" for --arch
 * NAME). Sets *json when --json is given, *arch to --arch's value. Returns 0
 * to go on, 1 when help was printed, -1 on a usage error (reported). On 0,
 * argv[*first..argc) are the operands. */
int cmdopts(const struct cmd *, int argc, char **argv, const char *allowed, int *json, const char **arch,
            int *first);
struct target;
/* The target called name (--arch's value), or the build machine's when name
 * is NULL, into *t. Returns 0, or EXIT_USAGE after listing the known ones. */
int cmdtarget(const struct cmd *, const char *name, const struct target **t);

struct tree;
struct role;
struct plan;
/* Load the tree of -C, find the role by name (reporting the nearest one when
 * there is none), flatten it into *flat, check it supports the target and
 * resolve it for the target into *pl. Returns an exit code; the caller frees
 * the tree and the plan whatever it returns. */
int cmdplan(const struct opts *, const char *role, const struct target *, struct tree *, struct role *flat,
            struct plan *pl);

extern const struct cmd cmd_check, cmd_ls, cmd_resolve, cmd_graph, cmd_build, cmd_fetch, cmd_run;
#endif
