/* draft.c: the guesses of `undistro recipe new` — name and version from
 * real-world archive names, the build system and the license from a tree's
 * top — and the drafted recipe, which the recipe parser must accept for
 * every build system. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "alloc.h"
#include "diag.h"
#include "draft.h"
#include "os.h"
#include "recipe.h"
#include "str.h"

static char work[] = "/tmp/test_draft.XXXXXX";

#include "files.h"

static int
setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(work));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rmtree(work);
	return 0;
}

static void
test_guess(void **state)
{
	/* file, name, version (NULL: none guessed) */
	static const char *const cases[][3] = {
		{"foo-1.2.3.tar.gz", "foo", "1.2.3"},
		{"foo_1.2.3.orig.tar.xz", "foo", "1.2.3"},
		{"foo-v1.2.tar.bz2", "foo", "1.2"},
		{"foo-1.2.3-src.tgz", "foo", "1.2.3"},
		{"https://example.org/dl/foo-1.2.3.tar.gz", "foo", "1.2.3"},
		{"nginx-1.24.0.tar.gz", "nginx", "1.24.0"},
		{"pcre2-10.42.tar.bz2", "pcre2", "10.42"},
		{"zlib-1.2.13.tar.xz", "zlib", "1.2.13"},
		{"redis-7.0.11.tar.gz", "redis", "7.0.11"},
		{"memcached-1.6.21.tar.gz", "memcached", "1.6.21"},
		{"libevent-2.1.12-stable.tar.gz", "libevent", "2.1.12"},
		{"unbound-1.17.1.tar.gz", "unbound", "1.17.1"},
		{"dnsmasq-2.89.tar.xz", "dnsmasq", "2.89"},
		{"libsolv-0.7.23.tar.gz", "libsolv", "0.7.23"},
		{"busybox-1.36.1.tar.bz2", "busybox", "1.36.1"},
		{"dropbear-2022.83.tar.bz2", "dropbear", "2022.83"},
		{"openssh-9.3p1.tar.gz", "openssh", "9.3p1"},
		{"Linux-PAM-1.5.2.tar.xz", "linux-pam", "1.5.2"},
		{"Python-3.11.4.tgz", "python", "3.11.4"},
		{"node-v18.16.0.tar.xz", "node", "18.16.0"},
		{"util-linux-2.39.tar.xz", "util-linux", "2.39"},
		{"boost_1_82_0.tar.bz2", "boost", "1_82_0"},
		{"icu4c-73_2-src.tgz", "icu4c", "73_2"},
		{"go1.20.5.src.tar.gz", "go", "1.20.5"},
		{"tzcode2023c.tar.gz", "tzcode", "2023c"},
		{"libzstd_1.5.4+dfsg2.orig.tar.xz", "libzstd", "1.5.4+dfsg2"},
		{"zlib_1.2.13.dfsg.orig.tar.bz2", "zlib", "1.2.13.dfsg"},
		{"linux_6.1.176.orig.tar.xz", "linux", "6.1.176"},
		{"curl-8.1.2.tar.zst", "curl", "8.1.2"},
		{"bzip2-1.0.8.tar.gz", "bzip2", "1.0.8"},
		{"e2fsprogs-1.47.0.tar.xz", "e2fsprogs", "1.47.0"},
		{"sqlite-autoconf-3420000.tar.gz", "sqlite-autoconf", "3420000"},
		{"foo-1.0-rc2.tar.gz", "foo", "1.0~rc2"},
		{"foo-2.0-beta.tar.gz", "foo", "2.0~beta"},
		{"musl-1.2.4.zip", "musl", "1.2.4"},
		{"v0.7.23.tar.gz", NULL, "0.7.23"},
		{"1.2.3.zip", NULL, "1.2.3"},
		{"project.tar.gz", "project", NULL},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *name, *version;

		draftguess(cases[i][0], &name, &version);
		if ((name == NULL) != (cases[i][1] == NULL) || (name && strcmp(name, cases[i][1])) ||
		    (version == NULL) != (cases[i][2] == NULL) || (version && strcmp(version, cases[i][2])))
			fail_msg("%s: got name %s version %s, want %s %s", cases[i][0], name ? name : "(none)",
			         version ? version : "(none)", cases[i][1] ? cases[i][1] : "(none)",
			         cases[i][2] ? cases[i][2] : "(none)");
		if (name)
			assert_true(namevalid(name));
		if (version)
			assert_true(versionvalid(version));
		free(name);
		free(version);
	}
}

/* A fresh directory work/name holding the files listed. */
static char *
tree(const char *name, const char *const *files)
{
	char *d = p(name);

	assert_int_equal(mkdirp(d, 0755), 0);
	for (; *files; files++) {
		char *rel = xasprintf("%s/%s", name, *files);

		put(rel, "x\n", 0644);
		free(rel);
	}
	return d;
}

static void
test_buildsys(void **state)
{
	static const struct {
		const char *files[4];
		enum buildsys sys;
		int autoreconf;
	} cases[] = {
		{{"meson.build", "README", NULL}, BSYS_MESON, 0},
		{{"CMakeLists.txt", NULL}, BSYS_CMAKE, 0},
		{{"configure", "Makefile.in", NULL}, BSYS_AUTOTOOLS, 0},
		{{"configure.ac", "Makefile.am", NULL}, BSYS_AUTOTOOLS, 1},
		{{"configure.in", NULL}, BSYS_AUTOTOOLS, 1},
		{{"Kconfig", "Makefile", NULL}, BSYS_KCONFIG, 0},
		{{"Config.in", "Makefile", NULL}, BSYS_KCONFIG, 0},
		{{"Kconfig", NULL}, BSYS_NONE, 0},
		{{"Makefile", NULL}, BSYS_MAKE, 0},
		{{"GNUmakefile", NULL}, BSYS_MAKE, 0},
		{{"README", "src.c", NULL}, BSYS_NONE, 0},
		/* both: meson over cmake, cmake over a configure beside it */
		{{"meson.build", "CMakeLists.txt", NULL}, BSYS_MESON, 0},
		{{"CMakeLists.txt", "configure", "Makefile", NULL}, BSYS_CMAKE, 0},
		{{"configure", "configure.ac", NULL}, BSYS_AUTOTOOLS, 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[32], *d;
		struct bsguess g;

		snprintf(name, sizeof(name), "bs%zu", i);
		d = tree(name, cases[i].files);
		g = draftbuildsys(d);
		if (g.sys != cases[i].sys || g.autoreconf != cases[i].autoreconf)
			fail_msg("case %zu (%s...): got %s%s", i, cases[i].files[0], buildsysname(g.sys),
			         g.autoreconf ? " + autoreconf" : "");
		free(d);
	}
}

/* Only regular files count: a Makefile that is a symlink or a directory
 * named CMakeLists.txt decides nothing. */
static void
test_buildsysnotfile(void **state)
{
	static const char *const none[] = {NULL};
	char *d = tree("links", none), *mk = p("links/Makefile"), *cm = p("links/CMakeLists.txt");

	(void)state;
	assert_int_equal(symlink("/etc/passwd", mk), 0);
	assert_int_equal(mkdir(cm, 0755), 0);
	assert_int_equal(draftbuildsys(d).sys, BSYS_NONE);
	free(d);
	free(mk);
	free(cm);
}

static const char mit[] =
	"MIT License\n\nCopyright (c) 2023 Someone\n\nPermission is hereby granted, free of charge, to any person\n"
	"obtaining a copy of this software...\n";
static const char bsd3[] =
	"Copyright (c) 2020, Someone\nAll rights reserved.\n\nRedistribution and use in source and binary forms, with or\n"
	"without modification, are permitted provided that...\n3. Neither the name of the copyright holder nor the\n"
	"names of its contributors may be used to endorse or promote products derived from this software\n";
static const char bsd2[] =
	"Copyright (c) 2020, Someone\n\nRedistribution and use in source and binary forms, with or without\n"
	"modification, are permitted provided that the following conditions are met:\n";
static const char apache[] =
	"\n                                 Apache License\n                           Version 2.0, January 2004\n";
static const char gpl2[] = "\t\t    GNU GENERAL PUBLIC LICENSE\n\t\t       Version 2, June 1991\n\n ...\n"
                           "the GNU Lesser General Public License instead.\n";
static const char gpl3[] = "                    GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n"
                           "... use the GNU Lesser General Public License instead of this License.\n";
static const char lgpl21[] = "\t\t  GNU LESSER GENERAL PUBLIC LICENSE\n\t\t       Version 2.1, February 1999\n";
static const char isc[] =
	"Copyright (c) 2004 Someone\n\nPermission to use, copy, modify, and distribute this software for any\n"
	"purpose with or without fee is hereby granted, provided that...\n";
static const char zlib[] =
	"This software is provided 'as-is', without any express or implied\nwarranty. ...\n"
	"2. Altered source versions must be plainly marked as such, and must not be\nmisrepresented...\n";

static void
test_license(void **state)
{
	static const struct {
		const char *file, *text, *want;
	} cases[] = {
		{"LICENSE", mit, "MIT"},
		{"COPYING", bsd3, "BSD-3-Clause"},
		{"LICENSE.txt", bsd2, "BSD-2-Clause"},
		{"LICENSE-2.0.txt", apache, "Apache-2.0"},
		{"COPYING", gpl2, "GPL-2.0-only"},
		{"COPYING", gpl3, "GPL-3.0-only"},
		{"COPYING.LIB", lgpl21, "LGPL-2.1-only"},
		{"LICENCE", isc, "ISC"},
		{"license.md", zlib, "Zlib"},
		{"README", mit, NULL},
		{"LICENSE", "All rights reserved. Do not copy.\n", NULL},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static const char *const none[] = {NULL};
		char name[32], rel[96], *d;
		const char *got, *why;

		snprintf(name, sizeof(name), "lic%zu", i);
		d = tree(name, none);
		snprintf(rel, sizeof(rel), "%s/%s", name, cases[i].file);
		put(rel, cases[i].text, 0644);
		got = draftlicense(d, &why);
		if ((got == NULL) != (cases[i].want == NULL) || (got && strcmp(got, cases[i].want)))
			fail_msg("%s (%zu): got %s, want %s", cases[i].file, i, got ? got : "none",
			         cases[i].want ? cases[i].want : "none");
		if (got)
			assert_string_equal(why, cases[i].file);
		free(d);
	}
}

/* Two texts: both ids, once each, in file order. */
static void
test_licensetwo(void **state)
{
	static const char *const none[] = {NULL};
	char *d = tree("two", none);
	const char *why;

	(void)state;
	put("two/COPYING", gpl2, 0644);
	put("two/COPYING.LIB", lgpl21, 0644);
	put("two/LICENSE", gpl2, 0644);
	assert_string_equal(draftlicense(d, &why), "GPL-2.0-only AND LGPL-2.1-only");
	assert_string_equal(why, "COPYING, COPYING.LIB");
	free(d);
}

/* Every draft parses as a recipe: each build system, autoreconf, no
 * license, no single top directory, a Debian source with a pin. */
static void
test_recipe(void **state)
{
	static const enum buildsys all[] = {BSYS_NONE, BSYS_AUTOTOOLS, BSYS_CMAKE, BSYS_MESON, BSYS_MAKE, BSYS_KCONFIG};
	(void)state;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		for (int variant = 0; variant < 2; variant++) {
			struct draft d = {
				.name = "hello", .version = "1.2.3", .from = "hello-1.2.3.tar.gz",
				.url = variant ? NULL : "https://example.org/hello-1.2.3.tar.gz",
				.file = variant ? "hello_1.2.3.orig.tar.gz" : "hello-1.2.3.tar.gz",
				.sha256 = "7d5b0b6062521e4627e099e4c9dc8248d32a30285e959b7eecaa780cf8cfd4a4",
				.size = 12345, .debian = variant ? "hello" : NULL, .debianversion = variant ? "1.2.3-1" : NULL,
				.strip = !variant,
				.bs = {.sys = all[i], .why = "x", .autoreconf = variant && all[i] == BSYS_AUTOTOOLS},
				.license = variant ? NULL : "GPL-2.0-only AND MIT", .licensewhy = "COPYING, LICENSE",
			};
			struct buf b = {0};
			struct arena a = {0};
			struct recipe *r;

			draftrecipe(&b, &d);
			r = recipeparse(&a, "recipes/hello.recipe", "recipes", b.p, b.n);
			if (!r)
				fail_msg("%s variant %d does not parse:\n%s", buildsysname(all[i]), variant, b.p);
			assert_int_equal(nerrors, 0);
			assert_string_equal(r->sources[0].sha256, d.sha256);
			assert_int_equal(r->sources[0].strip, !variant);
			assert_non_null(strstr(b.p, "# FILL: "));
			if (all[i] != BSYS_NONE) {
				/* the key, whose default steps build it */
				char *line = xasprintf("\nbuild-system = %s\n", buildsysname(all[i]));

				assert_non_null(strstr(b.p, line));
				assert_int_equal(r->buildsys, all[i]);
				free(line);
			}
			if (d.bs.autoreconf)
				assert_non_null(strstr(b.p, "autoreconf -fi"));
			if (variant)
				assert_non_null(strstr(b.p, "license  = LicenseRef-FILL\n"));
			arenafree(&a);
			buffree(&b);
		}
	}
}

/* File names go into comment lines: a newline in one cannot add a key. */
static void
test_recipehostilenames(void **state)
{
	struct draft d = {
		.name = "x", .version = "1", .from = "x-1.tar.gz\nname = evil", .url = "https://example.org/x-1.tar.gz",
		.file = "x-1.tar.gz", .sha256 = "7d5b0b6062521e4627e099e4c9dc8248d32a30285e959b7eecaa780cf8cfd4a4",
		.size = 1, .strip = 1, .bs = {.sys = BSYS_MAKE, .why = "Makefile"},
		.license = "MIT", .licensewhy = "COPYING\ndepends = evil",
	};
	struct buf b = {0};
	struct arena a = {0};

	(void)state;
	draftrecipe(&b, &d);
	assert_non_null(recipeparse(&a, "recipes/x.recipe", "recipes", b.p, b.n));
	assert_null(strstr(b.p, "\nname = evil"));
	assert_null(strstr(b.p, "\ndepends = evil"));
	assert_non_null(strstr(b.p, "COPYING?depends = evil"));
	arenafree(&a);
	buffree(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guess),
		cmocka_unit_test(test_buildsys),
		cmocka_unit_test(test_buildsysnotfile),
		cmocka_unit_test(test_license),
		cmocka_unit_test(test_licensetwo),
		cmocka_unit_test(test_recipe),
		cmocka_unit_test(test_recipehostilenames),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
