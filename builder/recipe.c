/* Recipe and role schema: turns syntax nodes (syntax.c) into struct recipe and
 * struct role, checking every value. Fields are described by tables, so the
 * same code converts, checks duplicates and suggests the nearest known key. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "cost.h"
#include "diag.h"
#include "recipe.h"
#include "syntax.h"

enum ftype {
	F_STR, F_NAME, F_VERSION, F_INT, F_SHA256, F_URL, F_URLS, F_NAMES, F_LIST,
	F_DEPS, F_SCRIPT, F_BOOL, F_LICENSE, F_ENUM, F_ENUMLIST, F_PATH,
	/* values checked against where they end up (docs/recipes.md, "Values") */
	F_PATHS,     /* relative file paths of the tree (key files) */
	F_GLOBS,     /* relative path globs (keep) */
	F_ABSPATH,   /* absolute normalized path in the image (home, shell) */
	F_HOSTNAME,  /* RFC 1123 host name */
	F_CMDLINE,   /* kernel command line */
	F_USER,      /* POSIX portable user name */
	F_WORD,      /* flag value: lands in $FLAG_*, store keys and resolve output */
	F_WORDS,
	F_ARGS,      /* arguments for configure, cmake, make...: one each, never evaluated */
};

/* List types: comma-separated items, and the key may repeat. */
#define ISLIST(t) ((t) == F_URLS || (t) == F_NAMES || (t) == F_LIST || (t) == F_DEPS || (t) == F_ENUMLIST || \
                   (t) == F_PATHS || (t) == F_GLOBS || (t) == F_WORDS || (t) == F_ARGS)

enum { REQ = 1 };

struct field {
	const char *key;
	enum ftype type;
	size_t off;        /* where the value goes in the struct */
	size_t locoff;     /* where its location goes, or NOLOC */
	unsigned flags;
	const char *choices;   /* F_ENUM, F_ENUMLIST: comma-separated */
};

#define NOLOC ((size_t)-1)
#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* In enum buildsys's order. */
#define BSYSCHOICES "none,autotools,cmake,meson,make,kconfig"

static const struct field recipefields[] = {
	{"name", F_NAME, offsetof(struct recipe, name), offsetof(struct recipe, nameloc), REQ, NULL},
	{"version", F_VERSION, offsetof(struct recipe, version), offsetof(struct recipe, versionloc), REQ, NULL},
	{"release", F_INT, offsetof(struct recipe, release), NOLOC, REQ, NULL},
	{"desc", F_STR, offsetof(struct recipe, desc), NOLOC, REQ, NULL},
	{"homepage", F_URL, offsetof(struct recipe, homepage), NOLOC, 0, NULL},
	{"license", F_LICENSE, offsetof(struct recipe, license), NOLOC, REQ, NULL},
	{"toolchain", F_ENUM, offsetof(struct recipe, toolchain), NOLOC, 0, "stage2,host"},
	{"depends", F_DEPS, offsetof(struct recipe, depends), NOLOC, 0, NULL},
	{"build-depends", F_DEPS, offsetof(struct recipe, builddepends), NOLOC, 0, NULL},
	{"provides", F_DEPS, offsetof(struct recipe, provides), NOLOC, 0, NULL},
	{"conflicts", F_DEPS, offsetof(struct recipe, conflicts), NOLOC, 0, NULL},
	{"keep", F_GLOBS, offsetof(struct recipe, keep), NOLOC, 0, NULL},
	{"tools", F_NAMES, offsetof(struct recipe, tools), NOLOC, 0, NULL},
	{"build-system", F_ENUM, offsetof(struct recipe, buildsys), offsetof(struct recipe, buildsysloc), 0,
	 BSYSCHOICES},
	{"configure-args", F_ARGS, offsetof(struct recipe, configureargs), NOLOC, 0, NULL},
	{"make-args", F_ARGS, offsetof(struct recipe, makeargs), NOLOC, 0, NULL},
	{"build", F_SCRIPT, offsetof(struct recipe, build), offsetof(struct recipe, buildloc), 0, NULL},
	/* required unless a build-system gives it (recipeparse) */
	{"install", F_SCRIPT, offsetof(struct recipe, install), offsetof(struct recipe, installloc), 0, NULL},
	{"test", F_SCRIPT, offsetof(struct recipe, test), offsetof(struct recipe, testloc), 0, NULL},
};

/* url and sha256 are required unless the source is a dir (recipesource) */
static const struct field sourcefields[] = {
	{"dir", F_PATH, offsetof(struct source, dir), offsetof(struct source, dirloc), 0, NULL},
	{"url", F_URLS, offsetof(struct source, urls), NOLOC, REQ, NULL},
	{"sha256", F_SHA256, offsetof(struct source, sha256), offsetof(struct source, sha256loc), REQ, NULL},
	{"file", F_PATH, offsetof(struct source, file), NOLOC, 0, NULL},
	{"debian", F_STR, offsetof(struct source, debian), NOLOC, 0, NULL},
	{"dest", F_PATH, offsetof(struct source, dest), NOLOC, 0, NULL},
	{"strip", F_BOOL, offsetof(struct source, strip), NOLOC, 0, NULL},
	{"size", F_INT, offsetof(struct source, size), NOLOC, 0, NULL},
};

static const struct field patchfields[] = {
	{"file", F_PATH, offsetof(struct patch, file), NOLOC, REQ, NULL},
	{"sha256", F_SHA256, offsetof(struct patch, sha256), NOLOC, REQ, NULL},
	{"debian", F_BOOL, offsetof(struct patch, debian), NOLOC, 0, NULL},
	{"strip", F_INT, offsetof(struct patch, strip), NOLOC, 0, NULL},
};

static const struct field flagfields[] = {
	{"default", F_WORD, offsetof(struct flag, def), NOLOC, REQ, NULL},
	{"desc", F_STR, offsetof(struct flag, desc), NOLOC, REQ, NULL},
	{"values", F_WORDS, offsetof(struct flag, values), NOLOC, 0, NULL},
	{"configure", F_STR, offsetof(struct flag, configure), NOLOC, 0, NULL},
	{"make", F_STR, offsetof(struct flag, make), NOLOC, 0, NULL},
	{"depends", F_DEPS, offsetof(struct flag, depends), NOLOC, 0, NULL},
	{"build-depends", F_DEPS, offsetof(struct flag, builddepends), NOLOC, 0, NULL},
};

static const struct field rolefields[] = {
	{"name", F_NAME, offsetof(struct role, name), offsetof(struct role, loc), REQ, NULL},
	{"desc", F_STR, offsetof(struct role, desc), NOLOC, 0, NULL},
	{"include", F_NAMES, offsetof(struct role, include), NOLOC, 0, NULL},
	{"packages", F_NAMES, offsetof(struct role, packages), NOLOC, 0, NULL},
	{"overlays", F_NAMES, offsetof(struct role, overlays), NOLOC, 0, NULL},
	{"hostname", F_HOSTNAME, offsetof(struct role, hostname), NOLOC, 0, NULL},
	{"kernel", F_NAME, offsetof(struct role, kernel), offsetof(struct role, kernelloc), 0, NULL},
	{"cmdline", F_CMDLINE, offsetof(struct role, cmdline), NOLOC, 0, NULL},
	{"arch", F_NAMES, offsetof(struct role, arch), NOLOC, 0, NULL},
	{"login-user", F_USER, offsetof(struct role, loginuser), offsetof(struct role, loginuserloc), 0, NULL},
	{"strip-keep", F_ENUMLIST, offsetof(struct role, strip), NOLOC, 0,
	 "man,doc,info,locale,headers,static,pkgconfig,cmake,elf"},
};

static const struct field servicefields[] = {
	{"command", F_STR, offsetof(struct service, command), NOLOC, REQ, NULL},
	{"user", F_USER, offsetof(struct service, user), offsetof(struct service, userloc), 0, NULL},
	{"after", F_NAMES, offsetof(struct service, after), NOLOC, 0, NULL},
	{"ready", F_BOOL, offsetof(struct service, ready), NOLOC, 0, NULL},
};

static const struct field userfields[] = {
	{"uid", F_INT, offsetof(struct user, uid), NOLOC, 0, NULL},
	{"gid", F_INT, offsetof(struct user, gid), NOLOC, 0, NULL},
	{"home", F_ABSPATH, offsetof(struct user, home), NOLOC, 0, NULL},
	{"shell", F_ABSPATH, offsetof(struct user, shell), NOLOC, 0, NULL},
	{"keys", F_PATHS, offsetof(struct user, keys), NOLOC, 0, NULL},
};

static const struct field imagefields[] = {
	{"rootfs", F_ENUM, offsetof(struct imageopts, rootfs), NOLOC, 0, "initramfs,erofs"},
	{"size", F_INT, offsetof(struct imageopts, sizemb), NOLOC, 0, NULL},
	{"formats", F_ENUMLIST, offsetof(struct imageopts, formats), NOLOC, 0, "raw,qcow2,vhd,vmdk"},
	{"ports", F_LIST, offsetof(struct imageopts, ports), NOLOC, 0, NULL},
};

struct ctx {
	struct arena *a;
	const char *file;
	/* a role's packages by name, so that rolepkg is not quadratic: open
	 * addressing, slot = index in ro->pkgs + 1 (0 free), mask + 1 a power
	 * of two at least twice the most packages the role can name */
	size_t *slot, mask;
};

static struct loc
locat(const struct loc *l, size_t off)
{
	return (struct loc){l->file, l->line, l->col + (int)off};
}

/* Character classes of names and versions, in the C locale; spelled out
 * because they run for every byte of every dependency of every recipe
 * (bench/resolve.sh: strchr per byte was a tenth of resolve). */
static int
isnamech(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '.' || c == '_' || c == '-';
}

static int
isversionch(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '+' ||
	       c == '~' || c == '_';
}

int
namevalid(const char *s)
{
	size_t i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (i = 1; s[i]; i++)
		if (!isnamech((unsigned char)s[i]))
			return 0;
	return i <= 64;
}

int
versionvalid(const char *s)
{
	size_t i;

	if (!(s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 1; s[i]; i++)
		if (!isversionch((unsigned char)s[i]))
			return 0;
	return i <= 64;
}

const char *
depopstr(enum depop op)
{
	static const char *const s[] = {"", "<", "<=", "=", ">=", ">"};

	return s[op];
}

/* The first offending column of a name or version, for pointing at it. */
static size_t
badcol(const char *s, int version)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		int c = (unsigned char)s[i];
		int ok = version ? (i ? isversionch(c) : isdigit(c))
		                 : (i ? isnamech(c) : islower(c) || isdigit(c));
		if (!ok)
			return i;
	}
	return i;
}

int
depparse(struct arena *a, const char *s, size_t n, struct dep *d, const char **msg)
{
	size_t i = 0, j, k;

	while (i < n && isspace((unsigned char)s[i]))
		i++;
	while (n > i && isspace((unsigned char)s[n - 1]))
		n--;
	for (j = i; j < n && !isspace((unsigned char)s[j]) && s[j] != '<' && s[j] != '=' && s[j] != '>'; j++)
		;
	if (j == i) {
		*msg = "expected a package name";
		return -1;
	}
	d->name = arenastrndup(a, s + i, j - i);
	if (!namevalid(d->name)) {
		*msg = "bad package name: use lower-case letters, digits and '+._-'";
		return -1;
	}
	while (j < n && isspace((unsigned char)s[j]))
		j++;
	d->op = DEP_ANY;
	d->version = NULL;
	if (j == n)
		return 0;
	for (k = j; k < n && (s[k] == '<' || s[k] == '=' || s[k] == '>'); k++)
		;
	static const struct { const char *s; enum depop op; } ops[] = {
		{"<", DEP_LT}, {"<=", DEP_LE}, {"=", DEP_EQ}, {"==", DEP_EQ}, {">=", DEP_GE}, {">", DEP_GT},
	};
	for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
		if (strlen(ops[o].s) == k - j && memcmp(ops[o].s, s + j, k - j) == 0)
			d->op = ops[o].op;
	if (d->op == DEP_ANY) {
		*msg = k == j ? "expected an operator (<, <=, =, >=, >) or ',' after the package name"
		              : "unknown operator: use <, <=, =, >= or >";
		return -1;
	}
	while (k < n && isspace((unsigned char)s[k]))
		k++;
	d->version = arenastrndup(a, s + k, n - k);
	if (!d->version[0] || !versionvalid(d->version)) {
		*msg = "bad version: it starts with a digit, then letters, digits or '.+~_'";
		return -1;
	}
	return 0;
}

/* SPDX license expression: ids joined by AND/OR/WITH, with parentheses. */
static int
licensevalid(const char *s, size_t *bad)
{
	int depth = 0, wantid = 1;
	size_t i = 0, j;

	for (;;) {
		while (s[i] == ' ')
			i++;
		*bad = i;
		if (!s[i])
			return depth == 0 && !wantid;
		if (s[i] == '(' && wantid) {
			depth++;
			i++;
			continue;
		}
		if (s[i] == ')' && !wantid && depth > 0) {
			depth--;
			i++;
			continue;
		}
		for (j = i; isalnum((unsigned char)s[j]) || s[j] == '.' || s[j] == '-' || s[j] == '+' || s[j] == ':'; j++)
			;
		if (j == i)
			return 0;
		int op = (j - i == 3 && (!strncmp(s + i, "AND", 3))) || (j - i == 2 && !strncmp(s + i, "OR", 2)) ||
		         (j - i == 4 && !strncmp(s + i, "WITH", 4));
		if (op == wantid)
			return 0;
		wantid = op;
		i = j;
	}
}

static const char *
nearest(const char *key, const struct field *tab, size_t n, const char *const *extra)
{
	const char *best = NULL;
	size_t d, bestd = 3;

	for (size_t i = 0; i < n; i++)
		if ((d = editdist(key, tab[i].key, 2)) < bestd)
			bestd = d, best = tab[i].key;
	for (; extra && *extra; extra++)
		if ((d = editdist(key, *extra, 2)) < bestd)
			bestd = d, best = *extra;
	return best;
}

/* The choice of the comma-separated list nearest to v (a typo's), or NULL;
 * a static buffer. */
static const char *
nearestchoice(const char *choices, const char *v)
{
	static char best[32];
	size_t d, bestd = 3;

	for (const char *p = choices; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char c[32];

		if (len < sizeof(c)) {
			memcpy(c, p, len);
			c[len] = 0;
			if ((d = editdist(v, c, 2)) < bestd)
				bestd = d, memcpy(best, c, len + 1);
		}
		p += len + (e != NULL);
	}
	return bestd < 3 ? best : NULL;
}

static int
choiceindex(const char *choices, const char *v)
{
	size_t n = strlen(v);
	int i = 0;

	for (const char *p = choices; *p; i++) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == n && memcmp(p, v, n) == 0)
			return i;
		p += len + (e != NULL);
	}
	return -1;
}

static int
urlvalid(const char *s)
{
	static const char *const schemes[] = {"http://", "https://", "ftp://", "file://"};

	for (size_t i = 0; i < 4; i++) {
		if (strncmp(s, schemes[i], strlen(schemes[i])) || !s[strlen(schemes[i])])
			continue;
		/* printable ASCII without blanks: URLs reach curl, the SBOM, logs */
		for (; *s; s++)
			if (*s <= ' ' || *s >= 0x7f)
				return 0;
		return 1;
	}
	return 0;
}

/* The index of the first character of the relative path s that makes it
 * unsafe to join below a directory: an empty, "." or ".." component, a
 * leading '/', or a character outside letters, digits, "._+-~@%,=:/" and,
 * when glob, "*?[]!"; or (size_t)-1 when s is fine. */
static size_t
relpathbad(const char *s, int glob)
{
	size_t i, c0 = 0;

	for (i = 0;; i++) {
		if (s[i] == '/' || !s[i]) {
			size_t n = i - c0;

			if (n == 0 || (n == 1 && s[c0] == '.') || (n == 2 && s[c0] == '.' && s[c0 + 1] == '.'))
				return c0;
			if (!s[i])
				return (size_t)-1;
			c0 = i + 1;
		} else if (!isalnum((unsigned char)s[i]) && !strchr("._+-~@%,=:", s[i]) &&
		           !(glob && strchr("*?[]!", s[i]))) {
			return i;
		}
	}
}

/* Like relpathbad for an absolute path of the image (home, shell): '/',
 * then components of the POSIX portable file name set [A-Za-z0-9._-], none
 * empty, "." or "..", no trailing '/' except for "/" itself. */
static size_t
abspathbad(const char *s)
{
	size_t i;

	if (s[0] != '/')
		return 0;
	if (!s[1])
		return (size_t)-1;
	for (i = 1; s[i]; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-/", s[i]))
			return i;
	i = relpathbad(s + 1, 0);
	return i == (size_t)-1 ? i : i + 1;
}

/* RFC 1123 host name: dot-separated labels of 1 to 63 lower-case letters,
 * digits and '-', not starting or ending with '-'; 253 characters at most.
 * Returns the index of the first bad character, or (size_t)-1. */
static size_t
hostnamebad(const char *s)
{
	size_t i, c0 = 0;

	for (i = 0;; i++) {
		if (s[i] == '.' || !s[i]) {
			if (i == c0 || i - c0 > 63 || s[c0] == '-' || s[i - 1] == '-')
				return i == c0 ? i : s[c0] == '-' ? c0 : i - c0 > 63 ? c0 + 63 : i - 1;
			if (!s[i])
				return i > 253 ? 253 : (size_t)-1;
			c0 = i + 1;
		} else if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-') {
			return i;
		}
	}
}

int
hostnamevalid(const char *s)
{
	return hostnamebad(s) == (size_t)-1;
}

int
usernamevalid(const char *s)
{
	size_t i;

	if (!islower((unsigned char)s[0]) && s[0] != '_')
		return 0;
	for (i = 1; s[i]; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return 0;
	return i <= USERNAMEMAX;
}

/* Flag values: letters, digits and "._+-", not starting with '-'. */
static int
wordvalid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._+-", s[i]))
			return 0;
	return s[0] != '-' && i <= 64;
}

/* Check one scalar value of type t; report at l; returns 0 or -1. */
static int
checkvalue(const struct field *f, const char *v, const struct loc *l)
{
	size_t i;
	struct loc bl;

	if (!v[0]) {
		errat(l, "'%s' needs a value", f->key);
		return -1;
	}
	/* every value lands on one line of some file, script or command line */
	for (i = 0; v[i]; i++) {
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
			bl = locat(l, i);
			errat(&bl, "'%s' holds a control character (0x%02x): a value is one line of printable text; "
			      "remove it (a quoted \\n or \\t too)", f->key, (unsigned char)v[i]);
			return -1;
		}
	}
	switch (f->type) {
	case F_NAME: case F_NAMES:
		if (namevalid(v))
			return 0;
		i = badcol(v, 0);
		bl = locat(l, i < 64 ? i : 64);
		errat(&bl, "bad name '%s': use at most 64 lower-case letters, digits and '+._-', starting with a letter or digit", v);
		return -1;
	case F_VERSION:
		if (versionvalid(v))
			return 0;
		i = badcol(v, 1);
		bl = locat(l, i);
		errat(&bl, "bad version '%s': start with a digit, then letters, digits or '.+~_' ('-' separates the release)", v);
		return -1;
	case F_SHA256:
		for (i = 0; v[i] && isxdigit((unsigned char)v[i]); i++)
			;
		if (v[i]) {
			bl = locat(l, i);
			errat(&bl, "sha256 has a non-hex character '%c': it must be 64 hex digits", isprint((unsigned char)v[i]) ? v[i] : '?');
			return -1;
		}
		if (i != 64) {
			errat(l, "sha256 must be 64 hex digits, got %zu: copy the whole output of sha256sum", i);
			return -1;
		}
		return 0;
	case F_URL: case F_URLS:
		if (urlvalid(v))
			return 0;
		errat(l, "bad URL '%s': use http://, https://, ftp:// or file://, with no blanks", v);
		return -1;
	case F_LICENSE:
		if (licensevalid(v, &i))
			return 0;
		bl = locat(l, i);
		errat(&bl, "bad license expression '%s': use SPDX ids joined by AND, OR, WITH (e.g. 'MIT', 'GPL-2.0-only OR BSD-3-Clause')", v);
		return -1;
	case F_BOOL:
		if (!strcmp(v, "yes") || !strcmp(v, "no"))
			return 0;
		errat(l, "'%s' is yes or no, not '%s'", f->key, v);
		return -1;
	case F_ENUM: case F_ENUMLIST: {
		const char *near;

		if (choiceindex(f->choices, v) >= 0)
			return 0;
		if ((near = nearestchoice(f->choices, v)))
			errat(l, "'%s' is one of %s, not '%s' (did you mean '%s'?)", f->key, f->choices, v, near);
		else
			errat(l, "'%s' is one of %s, not '%s'", f->key, f->choices, v);
		return -1;
	}
	case F_ARGS:
		/* each item reaches the program as one argument, as written (the
		 * default steps split the list at newlines, never evaluate it):
		 * a quote or '$' would arrive literally */
		if ((i = strcspn(v, "'\"\\$`")) == strlen(v))
			return 0;
		bl = locat(l, i);
		errat(&bl, "'%s' items are passed as they are, one argument each, without a shell: no quotes, "
		      "'\\', '$' or '`' (blanks are fine: 'make-args = CFLAGS=-O2 -g, V=1')", f->key);
		return -1;
	case F_PATH: case F_PATHS: case F_GLOBS:
		/* keep globs match paths relative to the root: a leading '/' is dropped */
		for (i = 0; f->type == F_GLOBS && v[i] == '/'; i++)
			;
		if ((i = relpathbad(v + i, f->type == F_GLOBS)) == (size_t)-1)
			return 0;
		bl = locat(l, i + (f->type == F_GLOBS ? strspn(v, "/") : 0));
		errat(&bl, "'%s' must be a relative path: components of letters, digits and '._+-~@%%,=:'%s, "
		      "none empty, '.' or '..'; not '%s'", f->key, f->type == F_GLOBS ? " or glob characters" : "", v);
		return -1;
	case F_ABSPATH:
		if ((i = abspathbad(v)) == (size_t)-1 && (strcmp(f->key, "shell") || strcmp(v, "/")))
			return 0;
		bl = locat(l, i == (size_t)-1 ? 0 : i);
		errat(&bl, "'%s' must be an absolute path such as %s: '/' then names of letters, digits and "
		      "'._-', no '.' or '..', no '//' or trailing '/'; not '%s'", f->key,
		      strcmp(f->key, "shell") ? "/home/NAME" : "/bin/sh", v);
		return -1;
	case F_HOSTNAME:
		if ((i = hostnamebad(v)) == (size_t)-1)
			return 0;
		bl = locat(l, i);
		errat(&bl, "bad host name '%s' (RFC 1123): dot-separated labels of at most 63 lower-case letters, "
		      "digits and '-', not starting or ending with '-'; 253 characters at most", v);
		return -1;
	case F_CMDLINE: {
		size_t quotes = 0;

		for (i = 0; v[i] && (unsigned char)v[i] < 0x7f; i++)
			quotes += v[i] == '"';
		bl = locat(l, i);
		if (v[i]) {
			errat(&bl, "the kernel command line holds a non-ASCII byte: use printable ASCII");
			return -1;
		}
		if (i > CMDLINEROLEMAX) {
			errat(l, "the kernel command line is %zu bytes; a role's part may have at most %d "
			      "(the kernel's limit, with what the image adds, is about 2 KiB)", i, CMDLINEROLEMAX);
			return -1;
		}
		if (quotes % 2) {
			errat(l, "unbalanced '\"' in the kernel command line: the kernel would take the rest as one value");
			return -1;
		}
		return 0;
	}
	case F_USER:
		if (usernamevalid(v))
			return 0;
		errat(l, "bad user name '%s': use at most %d lower-case letters, digits and '_.-', starting with a "
		      "letter or '_' (POSIX portable names; passwd splits at ':')", v, USERNAMEMAX);
		return -1;
	case F_WORD: case F_WORDS:
		if (wordvalid(v))
			return 0;
		errat(l, "bad flag value '%s': use at most 64 letters, digits and '._+-', not starting with '-' "
		      "(values land in $FLAG_* and in store keys)", v);
		return -1;
	case F_INT: {
		char *end;
		long n;

		errno = 0;
		n = strtol(v, &end, 10);
		if (!*end && !errno && n >= 0 && n <= INT_MAX && isdigit((unsigned char)v[0]))
			return 0;
		errat(l, "'%s' takes a whole number from 0 to %d, not '%s'", f->key, INT_MAX, v);
		return -1;
	}
	default:
		return 0;
	}
}

/* Split a comma-separated list value and append its items. */
static int
addlist(struct ctx *c, const struct field *f, const struct node *nd, void *dst)
{
	const char *v = nd->value, *p = v;
	int bad = 0;

	if (!v[0]) {
		errat(&nd->vloc, "'%s' needs at least one item", f->key);
		return -1;
	}
	for (;;) {
		const char *e = strchr(p, ','), *s = p, *end = e ? e : p + strlen(p);

		while (s < end && isspace((unsigned char)*s))
			s++;
		while (end > s && isspace((unsigned char)end[-1]))
			end--;
		struct loc l = locat(&nd->vloc, (size_t)(s - v));
		if (s == end) {
			errat(&l, "empty item in the list of '%s' (two commas, or a trailing comma?)", f->key);
			return -1;
		}
		if (f->type == F_DEPS) {
			struct deplist *dl = dst;
			struct dep *d = ARENAPUSH(c->a, dl->v, dl->n);
			const char *msg;

			d->loc = l;
			if (depparse(c->a, s, (size_t)(end - s), d, &msg) < 0) {
				errat(&l, "%s in '%.*s'", msg, (int)(end - s), s);
				bad = 1;
			}
		} else {
			struct strlist *sl = dst;
			char *item = arenastrndup(c->a, s, (size_t)(end - s));
			size_t n = sl->n;

			if (checkvalue(f, item, &l) < 0)
				bad = 1;
			*ARENAPUSH(c->a, sl->v, n) = item;
			*ARENAPUSH(c->a, sl->loc, sl->n) = l;
		}
		if (!e)
			break;
		p = e + 1;
	}
	return bad ? -1 : 0;
}

/* Store a node's value into base according to f. */
static int
setfield(struct ctx *c, const struct field *f, const struct node *nd, void *base)
{
	void *dst = (char *)base + f->off;

	if (f->locoff != NOLOC)
		*(struct loc *)((char *)base + f->locoff) = nd->kloc;
	if (f->type == F_SCRIPT) {
		if (nd->kind != NODE_SCRIPT) {
			errat(&nd->kloc, "'%s' takes a script: write '%s <<EOF', the lines, then 'EOF'", f->key, f->key);
			return -1;
		}
		*(char **)dst = nd->value;
		return 0;
	}
	if (nd->kind != NODE_VALUE) {
		errat(&nd->kloc, "'%s' takes a value: write '%s = ...'", f->key, f->key);
		return -1;
	}
	if (ISLIST(f->type))
		return addlist(c, f, nd, dst);
	if (checkvalue(f, nd->value, &nd->vloc) < 0)
		return -1;
	switch (f->type) {
	case F_INT:
		*(long *)dst = strtol(nd->value, NULL, 10);
		break;
	case F_BOOL:
		*(int *)dst = !strcmp(nd->value, "yes");
		break;
	case F_ENUM:
		*(int *)dst = choiceindex(f->choices, nd->value);
		break;
	case F_SHA256:
		for (char *p = nd->value; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		/* fall through */
	default:
		*(char **)dst = nd->value;
	}
	return 0;
}

/* Apply the value nodes of a block (or file) to base. Block nodes are left to
 * the caller: blockok says whether blocks are allowed here (top level). */
static int
applyfields(struct ctx *c, const struct field *tab, size_t ntab, const char *const *blocks,
            const struct node *nodes, size_t n, void *base, const char *what)
{
	int seen[24] = {0}, bad = 0;

	for (size_t i = 0; i < n; i++) {
		const struct node *nd = &nodes[i];
		size_t k;

		if (nd->kind == NODE_BLOCK)
			continue;
		/* the first byte settles most comparisons without a call */
		for (k = 0; k < ntab && (tab[k].key[0] != nd->key[0] || strcmp(tab[k].key, nd->key)); k++)
			;
		if (k == ntab) {
			const char *near = nearest(nd->key, tab, ntab, blocks);

			if (near)
				errat(&nd->kloc, "unknown key '%s' in %s (did you mean '%s'?)", nd->key, what, near);
			else
				errat(&nd->kloc, "unknown key '%s' in %s; see docs/recipes.md", nd->key, what);
			bad = 1;
			continue;
		}
		if (seen[k] && !ISLIST(tab[k].type)) {
			errat(&nd->kloc, "'%s' given twice (first at line %d): remove one", nd->key, seen[k]);
			bad = 1;
			continue;
		}
		seen[k] = nd->kloc.line;
		if (setfield(c, &tab[k], nd, base) < 0)
			bad = 1;
	}
	return bad ? -1 : 0;
}

/* Report required fields of tab missing from the node list, at l. */
static int
checkrequired(const struct field *tab, size_t ntab, const struct node *nodes, size_t n,
              const struct loc *l, const char *what)
{
	int bad = 0;

	for (size_t k = 0; k < ntab; k++) {
		size_t i;

		if (!(tab[k].flags & REQ))
			continue;
		for (i = 0; i < n && (nodes[i].key[0] != tab[k].key[0] || strcmp(nodes[i].key, tab[k].key)); i++)
			;
		if (i == n) {
			if (tab[k].type == F_SCRIPT)
				errat(l, "%s has no '%s' script: add '%s <<EOF' ... 'EOF'", what, tab[k].key, tab[k].key);
			else
				errat(l, "%s has no '%s': add '%s = ...'", what, tab[k].key, tab[k].key);
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

/* Check a block's label: required (a name) or forbidden. */
static int
checklabel(const struct node *nd, int required)
{
	if (required && !nd->label) {
		errat(&nd->kloc, "'%s' needs a name: write '%s NAME {'", nd->key, nd->key);
		return -1;
	}
	if (!required && nd->label) {
		errat(&nd->lloc, "'%s' takes no name: write '%s {'", nd->key, nd->key);
		return -1;
	}
	if (required && !namevalid(nd->label)) {
		errat(&nd->lloc, "bad name '%s': use lower-case letters, digits and '+._-'", nd->label);
		return -1;
	}
	return 0;
}

static const char *const recipeblocks[] = {"source", "patch", "flag", NULL};

static int
hasdir(const struct node *nd)
{
	for (size_t i = 0; i < nd->nkids; i++)
		if (!strcmp(nd->kids[i].key, "dir"))
			return 1;
	return 0;
}

/* An in-tree source is the directory itself: nothing to download, verify
 * by a pinned hash (its contents are hashed instead: srcdir.h), rename or
 * strip. Each key that says otherwise is reported at the dir line. */
static int
dirsource(const struct node *nd, const struct source *s)
{
	static const char *const excluded[] = {"url", "sha256", "file", "debian", "size", "strip"};
	int bad = 0;

	for (size_t i = 0; i < nd->nkids; i++) {
		for (size_t k = 0; k < sizeof(excluded) / sizeof(excluded[0]); k++) {
			if (strcmp(nd->kids[i].key, excluded[k]))
				continue;
			errat(&s->dirloc, "an in-tree source ('dir') takes no '%s' (line %d): the directory is the "
			      "source, hashed into the store key; remove '%s', or 'dir' for an archive",
			      excluded[k], nd->kids[i].kloc.line, excluded[k]);
			bad = -1;
		}
	}
	return bad;
}

static int
recipesource(struct ctx *c, struct recipe *r, const struct node *nd)
{
	struct source *s = ARENAPUSH(c->a, r->sources, r->nsources);
	int bad = 0;

	s->strip = 1;
	s->loc = nd->kloc;
	bad |= checklabel(nd, 0);
	bad |= applyfields(c, sourcefields, NFIELDS(sourcefields), NULL, nd->kids, nd->nkids, s, "a source block");
	if (hasdir(nd))
		bad |= dirsource(nd, s);
	else
		bad |= checkrequired(sourcefields, NFIELDS(sourcefields), nd->kids, nd->nkids, &nd->kloc, "this source");
	if (!s->file && s->urls.n) {
		const char *u = s->urls.v[0], *q = strpbrk(u, "?#"), *e = q ? q : u + strlen(u), *b = e;

		while (b > u && b[-1] != '/')
			b--;
		if (b == e) {
			errat(&s->urls.loc[0], "cannot tell the file name from this URL: add 'file = NAME'");
			bad = -1;
		} else {
			s->file = arenastrndup(c->a, b, (size_t)(e - b));
		}
	}
	if (s->file && strchr(s->file, '/')) {
		errat(&nd->kloc, "source 'file' must be a plain file name, not '%s'", s->file);
		bad = -1;
	}
	if (s->debian) {
		char *sp = strchr(s->debian, ' ');

		if (sp) {
			*sp = '\0';
			s->debianversion = sp + 1;
			while (*s->debianversion == ' ')
				s->debianversion++;
		}
		if (!namevalid(s->debian)) {
			errat(&nd->kloc, "bad Debian source package name '%s': write 'debian = NAME [VERSION]'", s->debian);
			bad = -1;
		} else if (s->debianversion && (!isdigit((unsigned char)s->debianversion[0]) ||
		                                s->debianversion[strspn(s->debianversion,
		                                "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+~:-")])) {
			errat(&nd->kloc, "bad Debian version '%s': it starts with a digit, then letters, digits and '.+~:-'",
			      s->debianversion);
			bad = -1;
		}
	}
	return bad ? -1 : 0;
}

static int
recipepatch(struct ctx *c, struct recipe *r, const struct node *nd)
{
	struct patch *p = ARENAPUSH(c->a, r->patches, r->npatches);
	int bad = 0;

	p->strip = 1;
	p->loc = nd->kloc;
	bad |= checklabel(nd, 0);
	bad |= applyfields(c, patchfields, NFIELDS(patchfields), NULL, nd->kids, nd->nkids, p, "a patch block");
	bad |= checkrequired(patchfields, NFIELDS(patchfields), nd->kids, nd->nkids, &nd->kloc, "this patch");
	return bad ? -1 : 0;
}

/* The name of a flag's variable, after FLAG_ (build.c): upper case, with
 * '-', '.' and '+' as '_'. */
static const char *
flagvar(struct arena *a, const char *name)
{
	char *v = arenastrdup(a, name);

	for (char *p = v; *p; p++)
		*p = strchr("-.+", *p) ? '_' : (char)toupper((unsigned char)*p);
	return v;
}

static int
flagvarsame(const char *x, const char *y)
{
	for (; *x && *y; x++, y++)
		if (*x != *y && !(strchr("-.+_", *x) && strchr("-.+_", *y)))
			return 0;
	return *x == *y;
}

static int
recipeflag(struct ctx *c, struct recipe *r, const struct node *nd)
{
	struct flag *f;
	int bad = 0;

	if (checklabel(nd, 1) < 0)
		return -1;
	for (size_t i = 0; i < r->nflags; i++) {
		if (!strcmp(r->flags[i].name, nd->label)) {
			errat(&nd->lloc, "flag '%s' declared twice (first at line %d)", nd->label, r->flags[i].loc.line);
			return -1;
		}
		if (flagvarsame(r->flags[i].name, nd->label)) {
			errat(&nd->lloc, "flags '%s' and '%s' (line %d) are both $FLAG_%s in the scripts: rename one",
			      nd->label, r->flags[i].name, r->flags[i].loc.line, flagvar(c->a, nd->label));
			return -1;
		}
	}
	f = ARENAPUSH(c->a, r->flags, r->nflags);
	f->name = nd->label;
	f->loc = nd->kloc;
	bad |= applyfields(c, flagfields, NFIELDS(flagfields), NULL, nd->kids, nd->nkids, f, "a flag block");
	bad |= checkrequired(flagfields, NFIELDS(flagfields), nd->kids, nd->nkids, &nd->kloc, "this flag");
	if (!f->values.n) {
		static char *yesno[] = {"yes", "no"};
		static struct loc none[2];

		f->values = (struct strlist){yesno, none, 2};
	}
	if (f->def) {
		size_t i;

		for (i = 0; i < f->values.n && strcmp(f->values.v[i], f->def); i++)
			;
		if (i == f->values.n) {
			errat(&nd->kloc, "flag '%s': default '%s' is not one of its values", f->name, f->def);
			bad = -1;
		}
	}
	return bad ? -1 : 0;
}

const char *
buildsysname(enum buildsys b)
{
	static const char *const names[] = {"none", "autotools", "cmake", "meson", "make", "kconfig"};

	return (size_t)b < sizeof(names) / sizeof(names[0]) ? names[b] : "none";
}

/* The build machine's programs a build system's default steps run, beyond
 * stage2/host-tools (make, sh...): they count as the recipe's `tools`, so
 * they are looked up before the build and go into its store key. Added at
 * the build-system line unless the recipe lists them already. */
static void
buildsystools(struct ctx *c, struct recipe *r)
{
	static const char *const cmake[] = {"cmake", "ninja", NULL}, *const meson[] = {"meson", "ninja", NULL};
	const char *const *need = r->buildsys == BSYS_CMAKE ? cmake : r->buildsys == BSYS_MESON ? meson : NULL;

	for (; need && *need; need++) {
		size_t k, n = r->tools.n;

		for (k = 0; k < r->tools.n && strcmp(r->tools.v[k], *need); k++)
			;
		if (k < r->tools.n)
			continue;
		*ARENAPUSH(c->a, r->tools.v, n) = arenastrdup(c->a, *need);
		*ARENAPUSH(c->a, r->tools.loc, r->tools.n) = r->buildsysloc;
	}
}

/* The file's base name without dir and suffix, for the name check. */
static const char *
stem(struct arena *a, const char *path, const char *suffix)
{
	const char *b = strrchr(path, '/');
	size_t n;

	b = b ? b + 1 : path;
	n = strlen(b);
	if (endswith(b, suffix))
		n -= strlen(suffix);
	return arenastrndup(a, b, n);
}

struct recipe *
recipeparse(struct arena *a, const char *path, const char *dir, const char *buf, size_t n)
{
	struct ctx c = {.a = a, .file = path};
	struct nodelist nl;
	struct recipe *r = arenaalloc(a, 1, sizeof(*r));
	struct loc top = {path, 1, 1};
	int before = nerrors;

	r->path = arenastrdup(a, path);
	r->dir = arenastrdup(a, dir);
	r->loc = top;
	if (syntaxparse(a, path, buf, n, &nl))
		return NULL;
	applyfields(&c, recipefields, NFIELDS(recipefields), recipeblocks, nl.v, nl.n, r, "a recipe");
	for (size_t i = 0; i < nl.n; i++) {
		const struct node *nd = &nl.v[i];

		if (nd->kind != NODE_BLOCK)
			continue;
		if (!strcmp(nd->key, "source"))
			recipesource(&c, r, nd);
		else if (!strcmp(nd->key, "patch"))
			recipepatch(&c, r, nd);
		else if (!strcmp(nd->key, "flag"))
			recipeflag(&c, r, nd);
		else {
			const char *near = nearest(nd->key, NULL, 0, recipeblocks);

			errat(&nd->kloc, "unknown block '%s' in a recipe (%s%s%s)", nd->key,
			      near ? "did you mean '" : "blocks are source, patch and flag", near ? near : "", near ? "'?" : "");
		}
	}
	checkrequired(recipefields, NFIELDS(recipefields), nl.v, nl.n, &top, "recipe");
	if (!r->install && r->buildsys == BSYS_NONE)
		errat(&top, "recipe has no 'install' script: add 'install <<EOF' ... 'EOF', or a 'build-system' "
		      "(%s) whose install step fits", BSYSCHOICES);
	buildsystools(&c, r);
	if (r->release == 0 && r->name && nerrors == before)
		errat(&top, "release must be 1 or more");
	if (r->name && strcmp(r->name, stem(a, path, ".recipe")))
		errat(&r->nameloc, "name '%s' does not match the file name '%s': rename one of them", r->name, path);
	if (nerrors != before)
		return NULL;
	r->evr = arenaalloc(a, strlen(r->version) + 24, 1);
	sprintf(r->evr, "%s-%ld", r->version, r->release);
	return r;
}

static const char *const roleblocks[] = {"package", "service", "user", "image", "budget", NULL};

static struct pkgchoice *
rolepkg(struct ctx *c, struct role *ro, const char *name, const struct loc *l)
{
	size_t h = 2166136261u;

	for (const char *q = name; *q; q++)
		h = (h ^ (unsigned char)*q) * 16777619u;
	for (h &= c->mask; c->slot[h]; h = (h + 1) & c->mask)
		if (!strcmp(ro->pkgs[c->slot[h] - 1].name, name))
			return &ro->pkgs[c->slot[h] - 1];
	struct pkgchoice *p = ARENAPUSH(c->a, ro->pkgs, ro->npkgs);
	c->slot[h] = ro->npkgs;
	p->name = (char *)name;
	p->loc = *l;
	return p;
}

int
imageport(const char *spec, int *port, int *udp)
{
	char *end;
	long p = strtol(spec, &end, 10);

	if (!isdigit((unsigned char)*spec) || p < 1 || p > 65535)
		return -1;
	if (!*end || !strcmp(end, "/tcp"))
		*udp = 0;
	else if (!strcmp(end, "/udp"))
		*udp = 1;
	else
		return -1;
	*port = (int)p;
	return 0;
}

/* package NAME { FLAG = VALUE ... }: flag names are checked against the
 * recipe later (tree.c), when every recipe is known. */
static int
rolepackage(struct ctx *c, struct role *ro, const struct node *nd)
{
	struct pkgchoice *p;
	int bad = 0;

	if (checklabel(nd, 1) < 0)
		return -1;
	p = rolepkg(c, ro, nd->label, &nd->lloc);
	if (p->nflags) {
		errat(&nd->lloc, "package '%s' has two blocks (first at line %d): merge them", nd->label, p->loc.line);
		return -1;
	}
	p->loc = nd->lloc;
	for (size_t i = 0; i < nd->nkids; i++) {
		const struct node *k = &nd->kids[i];

		if (k->kind != NODE_VALUE || !k->value[0]) {
			errat(&k->kloc, "write each flag of '%s' as 'FLAG = VALUE'", nd->label);
			bad = 1;
			continue;
		}
		for (size_t j = 0; j < p->nflags; j++) {
			if (!strcmp(p->flags[j].name, k->key)) {
				errat(&k->kloc, "flag '%s' set twice (first at line %d)", k->key, p->flags[j].loc.line);
				bad = 1;
			}
		}
		struct flagchoice *fc = ARENAPUSH(c->a, p->flags, p->nflags);
		fc->name = k->key;
		fc->value = k->value;
		fc->loc = k->kloc;
	}
	return bad ? -1 : 0;
}

static int
roleservice(struct ctx *c, struct role *ro, const struct node *nd)
{
	struct service *s;
	int bad = 0;

	if (checklabel(nd, 1) < 0)
		return -1;
	for (size_t i = 0; i < ro->nservices; i++) {
		if (!strcmp(ro->services[i].name, nd->label)) {
			errat(&nd->lloc, "service '%s' declared twice (first at line %d)", nd->label, ro->services[i].loc.line);
			return -1;
		}
	}
	if (!strcmp(nd->label, "network")) {
		errat(&nd->lloc, "'network' is the built-in DHCP service: give this service another name");
		return -1;
	}
	s = ARENAPUSH(c->a, ro->services, ro->nservices);
	s->name = nd->label;
	s->loc = nd->kloc;
	s->ready = 1;
	bad |= applyfields(c, servicefields, NFIELDS(servicefields), NULL, nd->kids, nd->nkids, s, "a service block");
	bad |= checkrequired(servicefields, NFIELDS(servicefields), nd->kids, nd->nkids, &nd->kloc, "this service");
	return bad ? -1 : 0;
}

static int
roleuser(struct ctx *c, struct role *ro, const struct node *nd)
{
	struct user *u;
	int bad = 0;

	if (checklabel(nd, 1) < 0)
		return -1;
	if (!usernamevalid(nd->label)) {
		errat(&nd->lloc, "bad user name '%s': use at most %d lower-case letters, digits and '_.-', starting "
		      "with a letter or '_' (POSIX portable names)", nd->label, USERNAMEMAX);
		return -1;
	}
	for (size_t i = 0; i < ro->nusers; i++) {
		if (!strcmp(ro->users[i].name, nd->label)) {
			errat(&nd->lloc, "user '%s' declared twice (first at line %d)", nd->label, ro->users[i].loc.line);
			return -1;
		}
	}
	u = ARENAPUSH(c->a, ro->users, ro->nusers);
	u->name = nd->label;
	u->loc = nd->kloc;
	u->uid = u->gid = -1;
	bad |= applyfields(c, userfields, NFIELDS(userfields), NULL, nd->kids, nd->nkids, u, "a user block");
	if (u->uid > 65534 || u->gid > 65534) {
		errat(&nd->kloc, "user '%s': uid and gid must be at most 65534", u->name);
		bad = 1;
	}
	/* a second uid 0 is a second root; the fixed accounts keep their ids */
	if (u->uid == 0 && strcmp(u->name, "root")) {
		errat(&nd->kloc, "user '%s': uid 0 is root's; give another uid, or leave it out (one from 1000 up is chosen)",
		      u->name);
		bad = 1;
	} else if ((!strcmp(u->name, "root") && u->uid > 0) || (!strcmp(u->name, "nobody") && u->uid >= 0 && u->uid != 65534)) {
		errat(&nd->kloc, "user '%s' must keep uid %d: remove 'uid'", u->name, u->name[0] == 'r' ? 0 : 65534);
		bad = 1;
	} else if (u->uid == 65534 && strcmp(u->name, "nobody")) {
		errat(&nd->kloc, "user '%s': uid 65534 is nobody's; give another uid", u->name);
		bad = 1;
	}
	return bad ? -1 : 0;
}

static int
roleimage(struct ctx *c, struct role *ro, const struct node *nd)
{
	struct imageopts *im = &ro->image;
	int bad = 0;

	if (im->loc.line) {
		errat(&nd->kloc, "second image block (first at line %d): merge them", im->loc.line);
		return -1;
	}
	im->loc = nd->kloc;
	bad |= checklabel(nd, 0);
	bad |= applyfields(c, imagefields, NFIELDS(imagefields), NULL, nd->kids, nd->nkids, im, "an image block");
	for (size_t i = 0; i < im->ports.n; i++) {
		int p, udp;

		if (imageport(im->ports.v[i], &p, &udp) < 0) {
			errat(&im->ports.loc[i], "port '%s' is not a port number (1-65535), optionally followed by "
			      "/tcp or /udp", im->ports.v[i]);
			bad = 1;
		}
	}
	if (im->sizemb && (im->sizemb < 8 || im->sizemb > 1 << 20)) {
		errat(&nd->kloc, "image size is in MiB, from 8 to 1048576");
		bad = 1;
	}
	return bad ? -1 : 0;
}

/* budget { FIGURE = LIMIT ... }: a maximum for any cost figure (cost.h),
 * checked by `undistro cost`. */
static int
rolebudget(struct ctx *c, struct role *ro, const struct node *nd)
{
	int bad = 0;

	if (ro->budgetloc.line) {
		errat(&nd->kloc, "second budget block (first at line %d): merge them", ro->budgetloc.line);
		return -1;
	}
	ro->budgetloc = nd->kloc;
	if (checklabel(nd, 0) < 0)
		return -1;
	for (size_t i = 0; i < nd->nkids; i++) {
		const struct node *k = &nd->kids[i];
		int fig = costfind(k->key);
		const char *msg, *near;
		double limit;

		if (fig < 0) {
			if ((near = nearest(k->key, NULL, 0, costnames)))
				errat(&k->kloc, "unknown cost figure '%s' in a budget (did you mean '%s'?)", k->key, near);
			else
				errat(&k->kloc, "unknown cost figure '%s' in a budget; the figures are image_bytes, "
				      "image_zstd_bytes, rootfs_bytes, boot_to_ready_s, idle_memory_kib, idle_processes, "
				      "idle_userspace_processes, idle_context_switches_per_s, boot_read_bytes", k->key);
			bad = 1;
			continue;
		}
		if (k->kind != NODE_VALUE) {
			errat(&k->kloc, "'%s' takes a value: write '%s = LIMIT'", k->key, k->key);
			bad = 1;
			continue;
		}
		for (size_t j = 0; j < ro->nbudgets; j++) {
			if (ro->budgets[j].fig == fig) {
				errat(&k->kloc, "budget '%s' given twice (first at line %d): remove one", k->key,
				      ro->budgets[j].loc.line);
				bad = 1;
				fig = -1;
				break;
			}
		}
		if (fig < 0)
			continue;
		if (!k->value[0]) {
			costlimit(fig, "", &limit, &msg);
			errat(&k->kloc, "budget '%s' needs a value: %s", k->key, msg);
			bad = 1;
			continue;
		}
		if (costlimit(fig, k->value, &limit, &msg) < 0) {
			errat(&k->vloc, "budget '%s' takes %s; not '%s'", k->key, msg, k->value);
			bad = 1;
			continue;
		}
		*ARENAPUSH(c->a, ro->budgets, ro->nbudgets) = (struct budget){fig, limit, k->value, k->kloc};
	}
	return bad ? -1 : 0;
}

struct role *
roleparse(struct arena *a, const char *path, const char *buf, size_t n)
{
	struct ctx c = {.a = a, .file = path};
	struct nodelist nl;
	struct role *ro = arenaalloc(a, 1, sizeof(*ro));
	struct loc top = {path, 1, 1};
	int before = nerrors;

	ro->path = arenastrdup(a, path);
	ro->loc = top;
	if (syntaxparse(a, path, buf, n, &nl))
		return NULL;
	applyfields(&c, rolefields, NFIELDS(rolefields), roleblocks, nl.v, nl.n, ro, "a role");
	ro->loc = top;
	c.mask = ro->packages.n + 1;
	for (size_t i = 0; i < nl.n; i++)
		c.mask += nl.v[i].kind == NODE_BLOCK;
	for (c.mask *= 2; c.mask & (c.mask - 1); c.mask &= c.mask - 1)
		;
	c.slot = arenaalloc(a, c.mask * 2, sizeof(*c.slot));
	c.mask = c.mask * 2 - 1;
	for (size_t i = 0; i < ro->packages.n; i++)
		rolepkg(&c, ro, ro->packages.v[i], &ro->packages.loc[i]);
	for (size_t i = 0; i < nl.n; i++) {
		const struct node *nd = &nl.v[i];

		if (nd->kind != NODE_BLOCK)
			continue;
		if (!strcmp(nd->key, "package"))
			rolepackage(&c, ro, nd);
		else if (!strcmp(nd->key, "service"))
			roleservice(&c, ro, nd);
		else if (!strcmp(nd->key, "user"))
			roleuser(&c, ro, nd);
		else if (!strcmp(nd->key, "image"))
			roleimage(&c, ro, nd);
		else if (!strcmp(nd->key, "budget"))
			rolebudget(&c, ro, nd);
		else {
			const char *near = nearest(nd->key, NULL, 0, roleblocks);

			errat(&nd->kloc, "unknown block '%s' in a role (%s%s%s)", nd->key,
			      near ? "did you mean '" : "blocks are package, service, user, image and budget", near ? near : "", near ? "'?" : "");
		}
	}
	checkrequired(rolefields, NFIELDS(rolefields), nl.v, nl.n, &top, "role");
	if (ro->name && strcmp(ro->name, stem(a, path, ".role"))) {
		struct loc nl1 = top;

		for (size_t i = 0; i < nl.n; i++)
			if (!strcmp(nl.v[i].key, "name"))
				nl1 = nl.v[i].kloc;
		errat(&nl1, "name '%s' does not match the file name '%s': rename one of them", ro->name, path);
	}
	return nerrors != before ? NULL : ro;
}

const char *
flagvalue(const struct flag *f, const struct pkgchoice *pkg)
{
	for (size_t i = 0; pkg && i < pkg->nflags; i++)
		if (!strcmp(pkg->flags[i].name, f->name))
			return pkg->flags[i].value;
	return f->def;
}
