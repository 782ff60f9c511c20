/* storetmp() and storeimport(): the way a downloaded entry (remote.h) enters
 * the store. A directory holding an entry's three files is placed under
 * pkg/KEY only when it checks as storehas would and its info names the
 * package: a directory whose info is for another key or package, whose
 * archive or manifest does not match the hashes info records, or that lacks
 * a file is refused with a reason, nothing reported and nothing placed; a
 * good one is placed, storehas accepts it at once (its verification stamp
 * survives the rename), and it replaces a damaged entry of the same key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "store.h"
#include "str.h"

static char work[] = "/tmp/test_storeimport.XXXXXX";
static const char key[] = "1111111111111111111111111111111111111111111111111111111111111111";
static const char other[] = "2222222222222222222222222222222222222222222222222222222222222222";

/* A store with one good entry, key's, of package "app". */
static void
setup(struct store *s)
{
	char *dest, *dir, *file, *info;

	assert_non_null(mkdtemp(work));
	dest = xasprintf("%s/dest", work);
	dir = xasprintf("%s/dest/usr/share/app", work);
	file = xasprintf("%s/id", dir);
	info = xasprintf("name app\nversion 1-1\nkey %s\n", key);
	assert_int_equal(mkdirp(dir, 0755), 0);
	assert_int_equal(writeatomic(file, "app\n", 4, 0644), 0);
	free(dir);
	dir = xasprintf("%s/store", work);
	assert_int_equal(storeopen(s, dir), 0);
	assert_int_equal(storeadd(s, key, dest, 946684800LL, info), 0);
	assert_true(storehas(s, key, "app"));
	free(dest);
	free(dir);
	free(file);
	free(info);
}

/* A storetmp directory holding copies of key's entry files; edit then
 * replaces file (NULL: none) with text (NULL: removes it). */
static char *
copy(const struct store *s, const char *file, const char *text)
{
	static const char *const files[] = {"pkg.tar.zst", "manifest", "info"};
	char *tmp = storetmp(s, key);

	assert_non_null(tmp);
	for (size_t i = 0; i < 3; i++) {
		char *from = xasprintf("%s/pkg/%s/%s", s->dir, key, files[i]), *to = xasprintf("%s/%s", tmp, files[i]);
		char *data;
		size_t n;

		assert_int_equal(readfile(from, &data, &n), 0);
		assert_int_equal(writeatomic(to, data, n, 0644), 0);
		free(data);
		free(from);
		free(to);
	}
	if (file) {
		char *p = xasprintf("%s/%s", tmp, file);

		if (text)
			assert_int_equal(writeatomic(p, text, strlen(text), 0644), 0);
		else
			assert_int_equal(unlink(p), 0);
		free(p);
	}
	return tmp;
}

/* storeimport of dir as key's entry of package name must refuse it, giving
 * a reason that contains want, reporting nothing; dir stays. */
static void
refused(const struct store *s, const char *k, const char *name, char *dir, const char *want)
{
	struct buf why = {0};
	int before = nerrors;

	assert_int_equal(storeimport(s, k, name, dir, &why), 0);
	assert_non_null(why.p);
	if (!strstr(why.p, want))
		fail_msg("reason '%s' lacks '%s'", why.p, want);
	assert_int_equal(nerrors, before);
	assert_true(exists(dir));
	rmtree(dir);
	free(dir);
	buffree(&why);
}

static void
import(void **state)
{
	struct store s;
	struct buf why = {0};
	char *dir, *entry;

	setup(&s);
	/* an exact copy imported under another key or package name */
	refused(&s, other, "app", copy(&s, NULL, NULL), "its info is for key");
	assert_false(storehas(&s, other, "app"));
	refused(&s, key, "lib", copy(&s, NULL, NULL), "names the package 'app'");
	/* a manifest or archive that is not the one info records */
	refused(&s, key, "app", copy(&s, "manifest", "f 0644 4 - usr/share/app/evil\n"), "manifest has sha256");
	refused(&s, key, "app", copy(&s, "pkg.tar.zst", "junk"), "pkg.tar.zst has sha256");
	/* a file missing */
	refused(&s, key, "app", copy(&s, "manifest", NULL), "manifest");
	refused(&s, key, "app", copy(&s, "info", NULL), "info");

	/* the good copy replaces a damaged entry of its key and is accepted */
	dir = copy(&s, NULL, NULL);
	entry = xasprintf("%s/pkg/%s/manifest", s.dir, key);
	assert_int_equal(writeatomic(entry, "x\n", 2, 0644), 0);
	assert_int_equal(storeimport(&s, key, "app", dir, &why), 1);
	assert_null(why.p);
	assert_false(exists(dir));
	assert_true(storehas(&s, key, "app"));
	assert_int_equal(storeverify(&s, key), 0);
	free(dir);
	free(entry);
	storeclose(&s);
	rmtree(work);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(import),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
