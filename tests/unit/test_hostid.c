/* hostid.h: the list file (kinds, the target's prefix, one entry per
 * program, errors at file:line:col); identities without dpkg (sha256 of the
 * file that runs, symlinks resolved; "missing"); a compiler's parts as it
 * names them; the cache: used while every stamp holds, redone when a file
 * or a symlink changes. The dpkg side runs against the real database in
 * tests/e2e/36-hostkey.sh. */
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
#include "hostid.h"
#include "os.h"
#include "sha256.h"

static char work[] = "/tmp/test_hostid.XXXXXX";

#include "files.h"

static int
setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(work));
	char *bin = p("bin");
	assert_int_equal(mkdirp(bin, 0755), 0);
	free(bin);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rmtree(work);
	return 0;
}

/* "NAME sha256:HEX\n" of the file at rel. */
static char *
hashline(const char *name, const char *rel)
{
	char *path = p(rel), hex[65];

	assert_int_equal(sha256file(path, hex), 0);
	free(path);
	return xasprintf("%s sha256:%s\n", name, hex);
}

/* Identify the programs names (NULL-terminated) found in work/bin without
 * dpkg, with the cache work/cache; the identity of each, concatenated. */
static char *
ident(const char *const *names, int cc)
{
	struct hostid h = {0};
	char *bin = p("bin"), *cache = p("cache"), *admin = p("no-dpkg");
	struct buf all = {0};

	for (size_t i = 0; names[i]; i++)
		hostadd(&h, names[i], cc, 1);
	assert_int_equal(hostidentify(&h, bin, admin, cache), 0);
	for (size_t i = 0; i < h.n; i++)
		bufaddn(&all, h.v[i].id.p, h.v[i].id.n);
	hostfree(&h);
	free(bin);
	free(cache);
	free(admin);
	return all.p;
}

static void
test_list(void **state)
{
	struct hostid h = {0};
	char *f = p("host-tools");

	(void)state;
	put("host-tools", "# programs\nmake\n\n  target ld   # the linker\ncompiler gcc\ntarget-compiler gcc\nmake\n",
	    0644);
	assert_int_equal(hostlist(&h, f, "aarch64-linux-gnu-"), 0);
	assert_int_equal(h.n, 4);
	assert_string_equal(h.v[0].name, "make");
	assert_string_equal(h.v[1].name, "aarch64-linux-gnu-ld");
	assert_int_equal(h.v[1].cc, 0);
	assert_string_equal(h.v[2].name, "gcc");
	assert_int_equal(h.v[2].cc, 1);
	assert_string_equal(h.v[3].name, "aarch64-linux-gnu-gcc");
	assert_int_equal(h.v[3].cc, 1);
	for (size_t i = 0; i < h.n; i++)
		assert_int_equal(h.v[i].common, 1);
	/* a recipe's tool is not common, unless the list has it too */
	assert_int_equal(hostadd(&h, "bison", 0, 0)->common, 0);
	assert_int_equal(hostadd(&h, "make", 0, 0)->common, 1);
	assert_non_null(hostfind(&h, "bison"));
	assert_null(hostfind(&h, "flex"));
	hostfree(&h);
	/* native: the target's compiler is the build machine's, once */
	assert_int_equal(hostlist(&h, f, ""), 0);
	assert_int_equal(h.n, 3);
	assert_string_equal(h.v[1].name, "ld");
	hostfree(&h);
	free(f);
}

static void
test_listerrors(void **state)
{
	struct hostid h = {0};
	char *f = p("bad-tools");
	int before = nerrors;

	(void)state;
	put("bad-tools", "make\nhost make\nmake more words\ntarget Bad_Name\n/usr/bin/sed\nsed\n", 0644);
	diagsilent = 1;
	assert_int_equal(hostlist(&h, f, ""), -1);
	diagsilent = 0;
	assert_int_equal(nerrors - before, 4);
	hostfree(&h);
	assert_int_equal(hostlist(&h, "/nonexistent/host-tools", ""), -1);
	hostfree(&h);
	free(f);
}

static void
test_hash(void **state)
{
	static const char *const names[] = {"tool1", "awk", "nope", NULL};
	char *got, *want, *w1, *w2;

	(void)state;
	put("bin/tool1", "#!/bin/sh\necho one\n", 0755);
	put("mawk", "#!/bin/sh\necho mawk\n", 0755);
	char *link = p("bin/awk"), *target = p("mawk");
	assert_int_equal(symlink(target, link), 0);
	got = ident(names, 0);
	/* the file that runs: a symlink's target */
	w1 = hashline("tool1", "bin/tool1");
	w2 = hashline("awk", "mawk");
	want = xasprintf("%s%snope missing\n", w1, w2);
	assert_string_equal(got, want);
	free(got);
	free(want);
	free(w1);
	free(w2);

	/* the cache holds while the stamps do: a forged identity in it is used */
	char *cache = p("cache"), *text;
	size_t n;
	assert_int_equal(readfile(cache, &text, &n), 0);
	char *at = strstr(text, "id tool1 sha256:");
	assert_non_null(at);
	memcpy(at + 16, "0000", 4);
	assert_int_equal(writeatomic(cache, text, n, 0644), 0);
	got = ident(names, 0);
	assert_non_null(strstr(got, "tool1 sha256:0000"));
	free(got);

	/* a new file (another inode) is identified again; so is an alternative
	 * pointed elsewhere */
	put("bin/tool1", "#!/bin/sh\necho two\n", 0755);
	put("gawk", "#!/bin/sh\necho gawk\n", 0755);
	assert_int_equal(unlink(link), 0);
	free(target);
	target = p("gawk");
	assert_int_equal(symlink(target, link), 0);
	got = ident(names, 0);
	w1 = hashline("tool1", "bin/tool1");
	w2 = hashline("awk", "gawk");
	want = xasprintf("%s%snope missing\n", w1, w2);
	assert_string_equal(got, want);
	free(got);
	free(want);
	free(w1);
	free(w2);

	/* a program that appears is noticed without a cache change */
	put("bin/nope", "#!/bin/sh\n", 0755);
	got = ident(names, 0);
	w1 = hashline("nope", "bin/nope");
	assert_non_null(strstr(got, w1));
	free(got);
	free(w1);
	free(text);
	free(cache);
	free(link);
	free(target);
}

static void
test_compiler(void **state)
{
	static const char *const names[] = {"mycc", NULL};
	char *script, *got, *want, *w[4];

	(void)state;
	/* answers like gcc: a path for what it has, a bare name for a program
	 * it runs from PATH, the name itself for a file it lacks */
	script = xasprintf("#!/bin/sh\ncase $1 in\n"
	                   "-print-prog-name=cc1) echo %s/lib/cc1 ;;\n"
	                   "-print-prog-name=as) echo as ;;\n"
	                   "-print-prog-name=ld) echo ld ;;\n"
	                   "-print-libgcc-file-name) echo %s/lib/libgcc.a ;;\n"
	                   "*) echo \"${1#*=}\" ;;\nesac\n", work, work);
	char *lib = p("lib");
	assert_int_equal(mkdirp(lib, 0755), 0);
	free(lib);
	put("bin/mycc", script, 0755);
	put("lib/cc1", "cc1 v1", 0755);
	put("lib/libgcc.a", "!<arch>\n", 0644);
	put("bin/as", "#!/bin/sh\n", 0755);
	got = ident(names, 1);
	w[0] = hashline("mycc", "bin/mycc");
	w[1] = hashline("mycc/cc1", "lib/cc1");
	w[2] = hashline("mycc/as", "bin/as");
	w[3] = hashline("mycc/libgcc", "lib/libgcc.a");
	want = xasprintf("%s%smycc/cc1plus missing\nmycc/collect2 missing\nmycc/lto-wrapper missing\n%smycc/ld missing\n"
	                 "%smycc/libc.so missing\n", w[0], w[1], w[2], w[3]);
	assert_string_equal(got, want);
	free(got);
	free(want);
	free(w[1]);

	/* a new cc1 under the same driver changes the identity */
	put("lib/cc1", "cc1 v2", 0755);
	got = ident(names, 1);
	w[1] = hashline("mycc/cc1", "lib/cc1");
	assert_non_null(strstr(got, w[1]));
	free(got);
	for (size_t i = 0; i < 4; i++)
		free(w[i]);
	free(script);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_listerrors),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_compiler),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
