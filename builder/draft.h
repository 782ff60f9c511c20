#ifndef UNDISTRO_DRAFT_H
#define UNDISTRO_DRAFT_H
/* Drafting a recipe from a source archive (`undistro recipe new`): what can
 * be guessed from the file's name and from its unpacked tree, and the recipe
 * text written from it. Guesses are only guesses: every value the user must
 * check or fill is written under a `# FILL:` comment line, with a value that
 * `undistro check` accepts. Nothing here fetches, unpacks or writes files. */
#include <stddef.h>
#include "recipe.h"

struct buf;

/* What the tree's top shows (draftbuildsys). */
struct bsguess {
	enum buildsys sys;
	const char *why;     /* the file that decided it, e.g. "meson.build" */
	int autoreconf;      /* autotools from configure.ac alone: autoreconf first */
};

/* A recipe draft: the values to write. Strings are borrowed. */
struct draft {
	const char *name, *version;
	const char *from;            /* what it was made from, for the header comment */
	const char *url;             /* NULL for a Debian package; a local file's
	                              * file:// URL */
	const char *file, *sha256;
	long long size;
	const char *debian;          /* the Debian source package, or NULL */
	const char *debianversion;   /* pinned (debian:PKG=VERSION), or NULL */
	int strip;                   /* 0: the archive has no single top-level directory */
	struct bsguess bs;
	const char *license;         /* an SPDX expression, or NULL: to fill */
	const char *licensewhy;      /* the file it came from */
};

/* Guess a package name and version from an archive's file name
 * (foo-1.2.3.tar.gz, foo_1.2.3.orig.tar.xz, foo-v1.2.tar.bz2,
 * foo-1.2.3-src.tgz...). Each of *name and *version receives a malloc'd
 * string, or NULL when nothing plausible was found; the caller checks them
 * with namevalid and versionvalid. */
void draftguess(const char *file, char **name, char **version);
/* The build system of the unpacked tree at dir, from the files at its top:
 * meson.build, CMakeLists.txt, configure (or configure.ac/.in alone),
 * Kconfig beside a Makefile, a Makefile; BSYS_NONE when none is there. */
struct bsguess draftbuildsys(const char *dir);
/* The SPDX id of the license text in the tree's top LICENSE*, LICENCE* or
 * COPYING* files (MIT, BSD-2/3-Clause, Apache-2.0, GPL-2.0/3.0, LGPL-2.1,
 * ISC, Zlib), several joined by AND; NULL when none is recognised. *why
 * receives the file it came from (static storage until the next call). */
const char *draftlicense(const char *dir, const char **why);
/* The recipe text for d, appended to out. */
void draftrecipe(struct buf *out, const struct draft *d);
#endif
