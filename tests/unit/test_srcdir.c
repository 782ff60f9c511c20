/* srcdirhash(): the content hash of an in-tree source (srcdir.h). What a
 * build can see changes it (contents, the owner's x bit, names, empty
 * directories); what it cannot does not (creation order, times, other mode
 * bits, .git); links, FIFOs and trees past the bounds are refused, naming
 * the file; the copy holds what was hashed, with fixed modes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "srcdir.h"

static char work[] = "/tmp/test_srcdir.XXXXXX";
static const struct loc at = {"recipes/app.recipe", 9, 2};

static char *
p(const char *rel)
{
	return xasprintf("%s/%s", work, rel);
}

static void
put(const char *rel, const char *text, mode_t mode)
{
	char *path = p(rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	free(path);
}

static void
mkd(const char *rel)
{
	char *path = p(rel);

	assert_int_equal(mkdir(path, 0755), 0);
	free(path);
}

/* Hash work/rel; returns 0 or -1 and the hex (static), with what was
 * reported in *msg (static). */
static int
hashof(const char *rel, const char **hex, const char **msg)
{
	static char h[65], out[4096];
	char *path = p(rel);
	FILE *tmp = tmpfile();
	int saved = dup(2), r;
	size_t n;

	fflush(stderr);
	dup2(fileno(tmp), 2);
	r = srcdirhash(path, NULL, &at, h);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, sizeof(out) - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	fputs(out, stderr);
	free(path);
	if (hex)
		*hex = h;
	if (msg)
		*msg = out;
	return r;
}

static char *
hash(const char *rel)
{
	const char *h;

	assert_int_equal(hashof(rel, &h, NULL), 0);
	return xstrdup(h);
}

/* A small tree: a/ with a file, an executable in a subdirectory, a dot-file. */
static void
tree(const char *top, int reverse)
{
	char *d[] = {xasprintf("%s", top), xasprintf("%s/sub", top)};
	char *f[] = {xasprintf("%s/README", top), xasprintf("%s/sub/run", top), xasprintf("%s/.config", top)};

	mkd(d[0]);
	if (!reverse) {
		put(f[0], "read me\n", 0644);
		mkd(d[1]);
		put(f[1], "#!/bin/sh\n", 0755);
		put(f[2], "x=1\n", 0644);
	} else {
		put(f[2], "x=1\n", 0644);
		mkd(d[1]);
		put(f[1], "#!/bin/sh\n", 0755);
		put(f[0], "read me\n", 0644);
	}
	for (size_t i = 0; i < 2; i++)
		free(d[i]);
	for (size_t i = 0; i < 3; i++)
		free(f[i]);
}

static void
changes(void **state)
{
	char *h0, *h;
	char *a = p("c/README"), *b = p("c/README2"), *run = p("c/sub/run");

	tree("c", 0);
	h0 = hash("c");
	assert_int_equal(strlen(h0), 64);
	/* contents */
	put("c/README", "read me!\n", 0644);
	h = hash("c");
	assert_string_not_equal(h, h0);
	free(h);
	put("c/README", "read me\n", 0644);
	h = hash("c");
	assert_string_equal(h, h0);
	free(h);
	/* the owner's x bit */
	assert_int_equal(chmod(run, 0644), 0);
	h = hash("c");
	assert_string_not_equal(h, h0);
	free(h);
	assert_int_equal(chmod(run, 0755), 0);
	/* a rename */
	assert_int_equal(rename(a, b), 0);
	h = hash("c");
	assert_string_not_equal(h, h0);
	free(h);
	assert_int_equal(rename(b, a), 0);
	/* a new empty directory */
	mkd("c/empty");
	h = hash("c");
	assert_string_not_equal(h, h0);
	free(h);
	assert_int_equal(rmdir(p("c/empty")), 0);
	h = hash("c");
	assert_string_equal(h, h0);
	free(h);
	free(h0);
	free(a);
	free(b);
	free(run);
}

static void
invariants(void **state)
{
	char *h0, *h;
	char *run = p("i/sub/run"), *readme = p("i/README"), *git = p("i/.git");
	struct timespec old[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};

	tree("i", 0);
	tree("j", 1);
	h0 = hash("i");
	/* creation order */
	h = hash("j");
	assert_string_equal(h, h0);
	free(h);
	/* times */
	assert_int_equal(utimensat(AT_FDCWD, readme, old, 0), 0);
	h = hash("i");
	assert_string_equal(h, h0);
	free(h);
	/* mode bits other than the owner's x */
	assert_int_equal(chmod(run, 0700), 0);
	assert_int_equal(chmod(readme, 0664), 0);
	h = hash("i");
	assert_string_equal(h, h0);
	free(h);
	/* .git: version-control state, not source */
	mkd("i/.git");
	put("i/.git/HEAD", "ref: refs/heads/main\n", 0644);
	put("i/sub/.git", "gitdir: ../.git/modules/sub\n", 0644);
	h = hash("i");
	assert_string_equal(h, h0);
	free(h);
	/* a dot-file other than .git counts */
	put("i/.other", "", 0644);
	h = hash("i");
	assert_string_not_equal(h, h0);
	free(h);
	free(h0);
	free(run);
	free(readme);
	free(git);
}

static void
refused(void **state)
{
	char *link = p("r/sub/link"), *fifo = p("r/fifo");
	const char *msg;
	int r;

	tree("r", 0);
	assert_int_equal(symlink("/etc/passwd", link), 0);
	r = hashof("r", NULL, &msg);
	assert_int_equal(r, -1);
	assert_non_null(strstr(msg, "recipes/app.recipe:9:2: "));
	assert_non_null(strstr(msg, "/r/sub/link is a symbolic link: in-tree sources hold regular files and "
	                            "directories only"));
	assert_int_equal(unlink(link), 0);
	/* a FIFO is refused, never opened (nothing writes to it: a read would hang) */
	assert_int_equal(mkfifo(fifo, 0644), 0);
	r = hashof("r", NULL, &msg);
	assert_int_equal(r, -1);
	assert_non_null(strstr(msg, "/r/fifo is a FIFO: in-tree sources hold"));
	assert_int_equal(unlink(fifo), 0);
	assert_int_equal(hashof("r", NULL, NULL), 0);
	free(link);
	free(fifo);
}

static void
bounds(void **state)
{
	const char *msg;
	char *big = p("big/f");
	int fd;

	mkd("many");
	for (int i = 0; i < SRCDIRMAXENTRIES; i++) {
		char name[32];

		snprintf(name, sizeof(name), "many/%05d", i);
		put(name, "", 0644);
	}
	assert_int_equal(hashof("many", NULL, NULL), 0);
	put("many/one-more", "", 0644);
	assert_int_equal(hashof("many", NULL, &msg), -1);
	assert_non_null(strstr(msg, "more than 10000 files and directories under the in-tree source (the limit)"));
	/* sizes are counted before anything is read: a sparse file suffices */
	mkd("big");
	fd = open(big, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, SRCDIRMAXBYTES + 1), 0);
	close(fd);
	assert_int_equal(hashof("big", NULL, &msg), -1);
	assert_non_null(strstr(msg, "/big/f: the in-tree source's files hold more than 64 MiB in all (the limit)"));
	free(big);
}

static void
copy(void **state)
{
	char *from = p("cp"), *to = p("cp-to"), h[65], *h0, *f, *data;
	struct stat st;
	size_t n;

	tree("cp", 0);
	assert_int_equal(chmod(p("cp/README"), 0600), 0);
	h0 = hash("cp");
	mkd("cp-to");
	assert_int_equal(srcdirhash(from, to, &at, h), 0);
	assert_string_equal(h, h0);
	/* the copy hashes the same, with fixed modes */
	assert_int_equal(srcdirhash(to, NULL, &at, h), 0);
	assert_string_equal(h, h0);
	f = p("cp-to/README");
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(readfile(f, &data, &n), 0);
	assert_string_equal(data, "read me\n");
	free(data);
	free(f);
	f = p("cp-to/sub/run");
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	free(f);
	/* nothing already there is overwritten */
	diagsilent = 1;
	assert_int_equal(srcdirhash(from, to, &at, h), -1);
	diagsilent = 0;
	free(from);
	free(to);
	free(h0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(changes),
		cmocka_unit_test(invariants),
		cmocka_unit_test(refused),
		cmocka_unit_test(bounds),
		cmocka_unit_test(copy),
	};
	int r;

	umask(022);
	assert_non_null(mkdtemp(work));
	r = cmocka_run_group_tests(tests, NULL, NULL);
	rmtree(work);
	return r;
}
