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

static const struct cmdopt *
findlong(const struct cmdopt *o, const char *name, size_t n)
{
	for (; o && o->name; o++)
		if (strlen(o->name) == n && !memcmp(o->name, name, n))
			return o;
	return NULL;
}

static const struct cmdopt *
findshort(const struct cmdopt *o, char c)
{
	for (; o && o->name; o++)
		if ((o->flags & CMDSHORT) && o->key == c)
			return o;
	return NULL;
}

/* -abc: the option at a->cluster[0]; its value is the rest of the cluster
 * or the next argument. */
static int
shortopt(struct cmdargs *a)
{
	char c = *a->cluster++;
	const struct cmdopt *o = findshort(a->opts, c);

	if (c == 'h') {
		cmdhelp(a->cmd);
		return CMDHELP;
	}
	if (!o) {
		cmdusage(a->cmd, "unknown option '-%c'", c);
		return -1;
	}
	a->val = NULL;
	if (o->flags & CMDARG) {
		if (*a->cluster) {
			a->val = a->cluster;
		} else if (a->i < a->argc) {
			a->val = a->argv[a->i++];
		} else {
			cmdusage(a->cmd, "option '-%c' needs a value", c);
			return -1;
		}
		a->cluster = "";
	}
	return o->key;
}

int
cmdnext(struct cmdargs *a)
{
	const struct cmdopt *o;
	const char *s, *eq;

	if (!a->i)
		a->i = 1;
	if (a->cluster && *a->cluster)
		return shortopt(a);
	while (a->i < a->argc) {
		s = a->argv[a->i++];
		if (a->done || s[0] != '-' || !s[1]) {
			/* an operand moves down over the options already read */
			a->argv[1 + a->nops++] = (char *)s;
			continue;
		}
		if (!strcmp(s, "--")) {
			a->done = 1;
			continue;
		}
		if (s[1] != '-') {
			a->cluster = s + 1;
			return shortopt(a);
		}
		s += 2;
		eq = strchr(s, '=');
		if (!strcmp(s, "help")) {
			cmdhelp(a->cmd);
			return CMDHELP;
		}
		if (!(o = findlong(a->opts, s, eq ? (size_t)(eq - s) : strlen(s)))) {
			cmdusage(a->cmd, "unknown option '--%.*s'", eq ? (int)(eq - s) : (int)strlen(s), s);
			return -1;
		}
		a->val = NULL;
		if (!(o->flags & CMDARG) && eq) {
			cmdusage(a->cmd, "option '--%s' takes no value", o->name);
			return -1;
		}
		if (o->flags & CMDARG) {
			if (eq) {
				a->val = eq + 1;
			} else if (a->i < a->argc) {
				a->val = a->argv[a->i++];
			} else {
				cmdusage(a->cmd, "option '--%s' needs a value", o->name);
				return -1;
			}
		}
		return o->key;
	}
	return 0;
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
