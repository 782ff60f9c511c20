/* Files under a unit test's scratch directory, shared by the tests that
 * write fixtures (each test is its own program, so these are static). The
 * test defines `static char work[]` (a mkdtemp template it fills in its
 * setup) before including this header. */
#ifndef UNDISTRO_TEST_FILES_H
#define UNDISTRO_TEST_FILES_H

/* work/rel (malloc'd). */
static char *
p(const char *rel)
{
	return xasprintf("%s/%s", work, rel);
}

/* Write text to work/rel with mode, atomically (the test fails otherwise). */
static void
put(const char *rel, const char *text, mode_t mode)
{
	char *path = p(rel);

	assert_int_equal(writeatomic(path, text, strlen(text), mode), 0);
	free(path);
}
#endif
