#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diag.h"

const char *argv0 = "undistro";
int nerrors;
int quiet;
int diagsilent;

static void
vreport(const struct loc *l, const char *kind, const char *fmt, va_list ap)
{
	int saved = errno;
	size_t n = strlen(fmt);

	if (diagsilent)
		return;

	fflush(stdout);
	fprintf(stderr, "%s: ", argv0);
	if (l && l->file) {
		if (l->line > 0 && l->col > 0)
			fprintf(stderr, "%s:%d:%d: ", l->file, l->line, l->col);
		else if (l->line > 0)
			fprintf(stderr, "%s:%d: ", l->file, l->line);
		else
			fprintf(stderr, "%s: ", l->file);
	}
	if (kind)
		fputs(kind, stderr);
	vfprintf(stderr, fmt, ap);
	if (n && fmt[n - 1] == ':')
		fprintf(stderr, " %s", strerror(saved));
	fputc('\n', stderr);
	errno = saved;
}

void
errat(const struct loc *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(l, NULL, fmt, ap);
	va_end(ap);
	nerrors++;
}

void
warnat(const struct loc *l, const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vreport(l, "warning: ", fmt, ap);
	va_end(ap);
}

void
err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(NULL, NULL, fmt, ap);
	va_end(ap);
	nerrors++;
}

void
warn(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vreport(NULL, "warning: ", fmt, ap);
	va_end(ap);
}

void
fatal(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(NULL, NULL, fmt, ap);
	va_end(ap);
	exit(code);
}
