/* What every subcommand shares: help, usage errors, common options. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include <sys/utsname.h>
#include "diag.h"
#include "target.h"

void
cmdhelp(const struct cmd *c)
{
	printf("usage: undistro [-C DIR] %s%s%s\n\n%s.\n\n%s", c->name, c->args[0] ? " " : "", c->args,
	       c->summary, c->help);
}

int
cmdusage(const struct cmd *c, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", argv0);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: undistro [-C DIR] %s %s (see undistro %s --help)\n", c->name, c->args, c->name);
	return EXIT_USAGE;
}

int
cmdtarget(const struct cmd *c, const char *name, const struct target **t)
{
	struct utsname u;

	if (name) {
		if (!(*t = targetfind(name)))
			return cmdusage(c, "unknown architecture '%s' for --arch (known: %s)", name, targetnames());
		return 0;
	}
	if (!(*t = targethost()))
		return cmdusage(c, "this machine's architecture (%s) is no target: name one with --arch (known: %s)",
		                uname(&u) == 0 ? u.machine : "unknown", targetnames());
	return 0;
}

int
cmdopts(const struct cmd *c, int argc, char **argv, const char *allowed, int *json, const char **arch, int *first)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || !a[1])
			break;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			cmdhelp(c);
			return 1;
		}
		if (!strcmp(a, "--json") && strstr(allowed, "json") && json) {
			*json = 1;
			continue;
		}
		if (!strncmp(a, "--arch", 6) && (!a[6] || a[6] == '=') && strstr(allowed, "arch") && arch) {
			if (!a[6] && i + 1 == argc) {
				cmdusage(c, "option --arch needs a value (known: %s)", targetnames());
				return -1;
			}
			*arch = a[6] ? a + 7 : argv[++i];
			continue;
		}
		cmdusage(c, "unknown option '%s'", a);
		return -1;
	}
	*first = i;
	return 0;
}
