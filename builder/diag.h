#ifndef UNDISTRO_DIAG_H
#define UNDISTRO_DIAG_H
/* Diagnostics: every message the user sees goes through here.
 * Format: "undistro: [file:line:col: ]message"; a format ending in ':'
 * appends ": strerror(errno)". Lower layers report, count and return;
 * only the top layer (main and the cmd_* files) exits. */

/* Exit codes, documented in --help and README. */
enum {
	EXIT_OK = 0,
	EXIT_INPUT = 1,   /* bad recipe, role or request; unsatisfiable */
	EXIT_USAGE = 2,   /* bad command line */
	EXIT_BUILD = 3,   /* a package build or test failed */
	EXIT_SYSTEM = 4,  /* I/O, exec, network or other system failure */
	EXIT_BUDGET = 5,  /* undistro cost: a figure exceeds the role's budget */
};

struct loc {
	const char *file;
	int line, col;
};

extern const char *argv0;
/* Errors reported so far through errat() and err(). */
extern int nerrors;

/* Report an error at a location in an input file. */
void errat(const struct loc *, const char *, ...);
/* Report a warning at a location in an input file. */
void warnat(const struct loc *, const char *, ...);
/* Report an error with no location. */
void err(const char *, ...);
/* Report a warning with no location. */
void warn(const char *, ...);
/* Report an error and exit with the given code; for the top layer and for
 * conditions no caller can handle (out of memory). */
_Noreturn void fatal(int, const char *, ...);
/* Suppress warnings (-q). */
extern int quiet;
/* Count errors without printing anything (fuzzing). */
extern int diagsilent;
#endif
