/* Drafting a recipe: guesses from a file name and an unpacked tree, and the
 * recipe text (draft.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "alloc.h"
#include "draft.h"
#include "str.h"

/* Archive suffixes, longest first where one ends another. */
static const char *const archext[] = {
	".tar.gz", ".tar.xz", ".tar.bz2", ".tar.zst", ".tar.lz", ".tar.lzma", ".tar.Z", ".tgz", ".txz",
	".tbz2", ".tbz", ".tzst", ".tar", ".zip",
};

/* Words a release's file name adds after the version: not part of it. */
static const char *const tailwords[] = {
	"-src", "-source", "-sources", ".src", "_src", ".orig", "-dist", "-stable", "-release", "-final",
};

/* Words after a '-' in a version that mark a prerelease: '~' sorts them
 * before the release, as Debian's and RPM's rules do. */
static const char *const prewords[] = {"rc", "alpha", "beta", "pre", "a", "b"};

static int
sufcase(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);

	return n > k && !strncasecmp(s + n - k, suf, k);
}

/* name and version from "NAME-VERSION" (or "NAME_VERSION", "NAMEVERSION"). */
static void
split(const char *s, size_t n, char **name, char **version)
{
	size_t i, cut = 0, vstart = 0;

	/* the first '-' or '_' followed by a digit, or by 'v' and a digit */
	for (i = 1; i + 1 < n && !cut; i++) {
		if (s[i] != '-' && s[i] != '_')
			continue;
		if (isdigit((unsigned char)s[i + 1]))
			cut = i, vstart = i + 1;
		else if ((s[i + 1] == 'v' || s[i + 1] == 'V') && i + 2 < n && isdigit((unsigned char)s[i + 2]))
			cut = i, vstart = i + 2;
	}
	/* 1.2.3.tar.gz, v1.2.tar.gz (a forge's tag archive): a version alone */
	if (!cut && n && (isdigit((unsigned char)s[0]) || ((s[0] == 'v' || s[0] == 'V') && n > 1 &&
	                                                   isdigit((unsigned char)s[1])))) {
		*version = xstrndup(s + (isdigit((unsigned char)s[0]) ? 0 : 1), n - !isdigit((unsigned char)s[0]));
		return;
	}
	/* go1.20.5, tzcode2023c: letters, then the version */
	for (i = 0; !cut && i < n && isalpha((unsigned char)s[i]); i++)
		;
	if (!cut && i > 0 && i < n && isdigit((unsigned char)s[i]))
		cut = i, vstart = i;
	if (!cut) {
		*name = n ? xstrndup(s, n) : NULL;
		return;
	}
	*name = xstrndup(s, cut);
	*version = xstrndup(s + vstart, n - vstart);
}

/* A version's '-': '~' before a prerelease word, else '.'. */
static void
fixversion(char *v)
{
	size_t i, k;

	for (; *v; v++) {
		if (*v != '-')
			continue;
		*v = '.';
		for (i = 0; i < sizeof(prewords) / sizeof(prewords[0]); i++) {
			k = strlen(prewords[i]);
			if (!strncasecmp(v + 1, prewords[i], k) && (isdigit((unsigned char)v[1 + k]) || !v[1 + k] ||
			                                            v[1 + k] == '.')) {
				*v = '~';
				break;
			}
		}
	}
}

void
draftguess(const char *file, char **name, char **version)
{
	const char *s = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	size_t n = strlen(s), i, k;
	const char *us;
	int again = 1;

	*name = *version = NULL;
	for (i = 0; i < sizeof(archext) / sizeof(archext[0]); i++) {
		if (sufcase(s, n, archext[i])) {
			n -= strlen(archext[i]);
			break;
		}
	}
	while (again) {
		again = 0;
		for (i = 0; i < sizeof(tailwords) / sizeof(tailwords[0]); i++) {
			k = strlen(tailwords[i]);
			if (sufcase(s, n, tailwords[i])) {
				n -= k;
				again = 1;
			}
		}
	}
	/* Debian's NAME_VERSION.orig: the name may hold '-', never '_' */
	us = memchr(s, '_', n);
	if (us && us > s && us + 1 < s + n && isdigit((unsigned char)us[1]) && !memchr(s, '-', (size_t)(us - s))) {
		*name = xstrndup(s, (size_t)(us - s));
		*version = xstrndup(us + 1, n - (size_t)(us + 1 - s));
	} else {
		split(s, n, name, version);
	}
	for (char *c = *name; c && *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (*version)
		fixversion(*version);
}

/* Nonzero when dir/name is a regular file (not a symlink: the archive's
 * own links stay inside it, but a marker file is a file). */
static int
hasfile(const char *dir, const char *name)
{
	struct stat st;
	char *p = xasprintf("%s/%s", dir, name);
	int r = lstat(p, &st) == 0 && S_ISREG(st.st_mode);

	free(p);
	return r;
}

struct bsguess
draftbuildsys(const char *dir)
{
	/* in order: a project carrying several (a CMakeLists.txt beside a
	 * generated configure) gets the first */
	static const struct {
		const char *file, *also;
		enum buildsys sys;
		int autoreconf;
	} marks[] = {
		{"meson.build", NULL, BSYS_MESON, 0},
		{"CMakeLists.txt", NULL, BSYS_CMAKE, 0},
		{"configure", NULL, BSYS_AUTOTOOLS, 0},
		{"configure.ac", NULL, BSYS_AUTOTOOLS, 1},
		{"configure.in", NULL, BSYS_AUTOTOOLS, 1},
		{"Kconfig", "Makefile", BSYS_KCONFIG, 0},
		{"Config.in", "Makefile", BSYS_KCONFIG, 0},
		{"GNUmakefile", NULL, BSYS_MAKE, 0},
		{"Makefile", NULL, BSYS_MAKE, 0},
		{"makefile", NULL, BSYS_MAKE, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (hasfile(dir, marks[i].file) && (!marks[i].also || hasfile(dir, marks[i].also)))
			return (struct bsguess){.sys = marks[i].sys, .why = marks[i].file, .autoreconf = marks[i].autoreconf};
	return (struct bsguess){.sys = BSYS_NONE, .why = NULL};
}

enum { LICENSEHEAD = 65536 };

/* The first LICENSEHEAD bytes of a regular file, lower case, every run of
 * white space one blank; NULL when unreadable. */
static char *
readnorm(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	char *raw, *out;
	ssize_t n, got = 0;
	size_t i, o = 0;
	struct stat st;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	raw = xmalloc(LICENSEHEAD);
	while (got < LICENSEHEAD && (n = read(fd, raw + got, (size_t)(LICENSEHEAD - got))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += n;
	}
	close(fd);
	out = xmalloc((size_t)got + 1);
	for (i = 0; i < (size_t)got; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (isspace(c)) {
			if (o && out[o - 1] != ' ')
				out[o++] = ' ';
		} else {
			out[o++] = (char)tolower(c);
		}
	}
	out[o] = '\0';
	free(raw);
	return out;
}

/* The SPDX id of one normalised license text, or NULL. GPL texts name the
 * other GPLs in their bodies: only their titles (the head) decide. */
static const char *
licenseof(const char *t)
{
	char head[400];

	snprintf(head, sizeof(head), "%s", t);
	if (strstr(head, "apache license") && strstr(head, "version 2.0"))
		return "Apache-2.0";
	if (strstr(head, "gnu lesser general public license version 2.1"))
		return "LGPL-2.1-only";
	if (strstr(head, "gnu lesser general public license version 3"))
		return "LGPL-3.0-only";
	if (strstr(head, "gnu general public license version 3"))
		return "GPL-3.0-only";
	if (strstr(head, "gnu general public license version 2"))
		return "GPL-2.0-only";
	if (strstr(t, "permission is hereby granted, free of charge"))
		return "MIT";
	if (strstr(t, "redistribution and use in source and binary forms"))
		return strstr(t, "endorse or promote") ? "BSD-3-Clause" : "BSD-2-Clause";
	if (strstr(t, "distribute this software for any purpose with or without fee is hereby granted"))
		return "ISC";
	if (strstr(t, "altered source versions must be plainly marked"))
		return "Zlib";
	return NULL;
}

static int
islicensefile(const char *n)
{
	return !strncasecmp(n, "license", 7) || !strncasecmp(n, "licence", 7) || !strncasecmp(n, "copying", 7);
}

const char *
draftlicense(const char *dir, const char **why)
{
	static char spdx[256], from[512];
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort), i;

	spdx[0] = from[0] = '\0';
	for (i = 0; i < n; i++) {
		char *p, *text;
		const char *id;

		if (islicensefile(ents[i]->d_name)) {
			p = xasprintf("%s/%s", dir, ents[i]->d_name);
			text = readnorm(p);
			id = text ? licenseof(text) : NULL;
			/* each id once; the files that named them, for the comment */
			if (id && !strstr(spdx, id) && strlen(spdx) + strlen(id) + 6 < sizeof(spdx)) {
				snprintf(spdx + strlen(spdx), sizeof(spdx) - strlen(spdx), "%s%s", spdx[0] ? " AND " : "", id);
				snprintf(from + strlen(from), sizeof(from) - strlen(from), "%s%s", from[0] ? ", " : "",
				         ents[i]->d_name);
			}
			free(text);
			free(p);
		}
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
	*why = from;
	return spdx[0] ? spdx : NULL;
}

/* The steps of a build system the helpers do not cover (none found). */
static const char nosteps[] =
	"echo 'FILL: write the build and install steps of this recipe' >&2\n"
	"exit 1\n";

static void
fill(struct buf *b, const char *why)
{
	bufprintf(b, "# FILL: %s\n", why);
}

/* The build-system part: the key, whose default steps (stage2/build-system)
 * build and install it; a tree without one gets steps to write. */
static void
draftsteps(struct buf *b, const struct draft *d)
{
	if (d->bs.sys == BSYS_NONE) {
		fill(b, "no build system found at the top of the source tree (no configure, CMakeLists.txt, "
		     "meson.build or Makefile): write build and install");
		bufprintf(b, "install <<EOF\n%sEOF\n", nosteps);
		return;
	}
	bufprintf(b, "# guessed from %s at the top of the source tree\n", d->bs.why);
	if (d->bs.sys == BSYS_KCONFIG)
		fill(b, "the configuration: configure-args = BASE (defconfig...), then fragments beside the recipe");
	bufprintf(b, "build-system = %s\n", buildsysname(d->bs.sys));
	/* only a tree without configure needs a step of its own first */
	if (d->bs.autoreconf)
		bufadds(b, "tools = autoreconf, autoconf, automake, libtoolize\n\nbuild <<EOF\n"
		           "# the tarball has configure.ac but no configure: make it\n"
		           "(cd \"$SRC\" && autoreconf -fi)\n"
		           ". \"$STAGE2/build-system/autotools\"\n"
		           "autotools_build\nEOF\n");
}

/* s in a comment line: printable ASCII only, so that a hostile file name
 * (the archive's, or one inside it) cannot end the line and add a key. */
static void
commenttext(struct buf *b, const char *s)
{
	for (; *s; s++)
		bufaddc(b, *s >= ' ' && *s <= '~' ? *s : '?');
}

void
draftrecipe(struct buf *b, const struct draft *d)
{
	bufprintf(b, "# %s: drafted by `undistro recipe new` from ", d->name);
	commenttext(b, d->from);
	bufadds(b, ".\n# Check every value under a FILL line, then remove those lines.\n");
	bufprintf(b, "name     = %s\nversion  = %s\nrelease  = 1\n", d->name, d->version);
	fill(b, "what the package is, in one line");
	bufprintf(b, "desc     = %s (FILL: describe it)\n", d->name);
	fill(b, "the project's home page: homepage = https://...");
	if (d->license) {
		bufadds(b, "# FILL: check: guessed from the text of ");
		commenttext(b, d->licensewhy);
		bufprintf(b, "%s\nlicense  = %s\n",
		          strstr(d->license, "GPL") ? "; -or-later when the sources say \"or any later version\"" : "",
		          d->license);
	} else {
		fill(b, "the SPDX license expression (no LICENSE or COPYING text recognised)");
		bufadds(b, "license  = LicenseRef-FILL\n");
	}
	bufadds(b, "depends  = musl\nbuild-depends = musl, linux-headers\n\nsource {\n");
	/* the format wants a URL: a local file's own is a start, a Debian
	 * package's upstream one is not known here */
	if (!d->url || strncmp(d->url, "file://", 7) == 0)
		bufadds(b, "\t# FILL: the upstream URL of this file (the sha256 decides what is accepted)\n");
	if (d->url)
		bufprintf(b, "\turl    = %s\n", d->url);
	else
		bufprintf(b, "\turl    = https://FILL.invalid/%s\n", d->file);
	bufprintf(b, "\tsha256 = %s\n\tfile   = %s\n\tsize   = %lld\n", d->sha256, d->file, d->size);
	if (!d->strip)
		bufadds(b, "\tstrip  = no\n");
	if (d->debian)
		bufprintf(b, "\tdebian = %s%s%s\n", d->debian, d->debianversion ? " " : "",
		          d->debianversion ? d->debianversion : "");
	bufadds(b, "}\n\n");
	draftsteps(b, d);
}
