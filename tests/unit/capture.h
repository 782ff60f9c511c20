/* stderr into work/stderr while code under test runs, to check its
 * messages (each test is its own program, so these are static). The test
 * defines `static char work[]`, its scratch directory, before including
 * this header. */
#ifndef UNDISTRO_TEST_CAPTURE_H
#define UNDISTRO_TEST_CAPTURE_H

static int savedfd = -1;

/* Send stderr to work/stderr until capend. */
static void
capbegin(void)
{
	char *p = xasprintf("%s/stderr", work);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	fflush(stderr);
	savedfd = dup(2);
	dup2(fd, 2);
	close(fd);
	free(p);
}

/* stderr back; what was written since capbegin (malloc'd), also copied to
 * stderr to keep it in the test's log. */
static char *
capend(void)
{
	char *p = xasprintf("%s/stderr", work), *text;
	size_t n;

	fflush(stderr);
	dup2(savedfd, 2);
	close(savedfd);
	assert_int_equal(readfile(p, &text, &n), 0);
	fputs(text, stderr);
	unlink(p);
	free(p);
	return text;
}
#endif
