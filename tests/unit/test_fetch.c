/* fetch: against a real HTTP server on loopback (tests/unit/fetchserver.py)
 * serving good, wrong, truncated, slow and flaky files; mirrors; offline
 * mode; a download killed with SIGKILL; the Debian backend for real (musl,
 * from the Debian archive; set UNDISTRO_TEST_NO_DEBIAN=1 to skip those). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "alloc.h"
#include "diag.h"
#include "fetch.h"
#include "os.h"
#include "recipe.h"
#include "sha256.h"
#include "str.h"
#include "unpack.h"

#define MUSLSHA "7d5b0b6062521e4627e099e4c9dc8248d32a30285e959b7eecaa780cf8cfd4a4"
#define FTSSHA "e9c12ec01903fcff2a015fdf651d0a095ffcd080b227fbf4790236532541343a"

static char work[] = "/tmp/test_fetch.XXXXXX";
static char goodsha[65], bigsha[65], wrongsha[65];
static pid_t server;
static int port, ncache;
static struct fetchcfg cfg;
static struct recipe rec = {.path = "recipes/t.recipe", .name = "t"};

#include "capture.h"

/* Deterministic pseudo-random bytes. */
static void
mkfile(const char *name, size_t n, unsigned seed, char hex[65])
{
	char *p = xasprintf("%s/srv/%s", work, name), *data = xmalloc(n);
	size_t i;

	for (i = 0; i < n; i++)
		data[i] = (char)((seed = seed * 1103515245 + 12345) >> 16);
	assert_int_equal(writeatomic(p, data, n, 0644), 0);
	assert_int_equal(sha256file(p, hex), 0);
	free(p);
	free(data);
}

static int
startserver(void)
{
	char *script = xasprintf("%s/tests/unit/fetchserver.py", getenv("TOP") ? getenv("TOP") : ".");
	char *root = xasprintf("%s/srv", work), *log = xasprintf("%s/requests.log", work), line[32] = "";
	int fd[2];
	FILE *f;

	assert_int_equal(pipe(fd), 0);
	server = fork();
	if (server == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execlp("python3", "python3", script, root, log, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	port = atoi(line);
	free(script), free(root), free(log);
	return port > 0 ? 0 : -1;
}

static int
setup(void **state)
{
	char *p;

	assert_non_null(mkdtemp(work));
	p = xasprintf("%s/srv", work);
	mkdirp(p, 0755);
	free(p);
	mkfile("good.tar.gz", 300000, 1, goodsha);
	mkfile("wrong.tar.gz", 300000, 2, wrongsha);
	mkfile("big.bin", 4 << 20, 3, bigsha);
	quiet = 0;
	return startserver();
}

static int
teardown(void **state)
{
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
	return rmtree(work);
}

/* A fresh cache per test. */
static int
freshcache(void **state)
{
	cfg = (struct fetchcfg){0};
	cfg.cache = xasprintf("%s/cache%d", work, ++ncache);
	return 0;
}

static int
dropcache(void **state)
{
	free((char *)cfg.cache);
	return 0;
}

static char *
url(const char *kind, const char *name)
{
	return xasprintf("http://127.0.0.1:%d/%s/%s", port, kind, name);
}

/* A source as the recipe parser would make it: file, sha256, up to 3 URLs. */
struct testsrc {
	struct source s;
	char *urls[3];
	struct loc locs[3];
};

static struct source *
mksrc(struct testsrc *t, const char *file, const char *sha, char *u0, char *u1)
{
	memset(t, 0, sizeof(*t));
	t->urls[0] = u0, t->urls[1] = u1;
	t->s.urls = (struct strlist){t->urls, t->locs, (size_t)(u0 != NULL) + (u1 != NULL)};
	t->s.file = (char *)file;
	t->s.sha256 = (char *)sha;
	t->s.strip = 1;
	t->s.loc = (struct loc){"recipes/t.recipe", 5, 1};
	t->s.sha256loc = (struct loc){"recipes/t.recipe", 7, 2};
	return &t->s;
}

static void
freesrc(struct testsrc *t)
{
	free(t->urls[0]);
	free(t->urls[1]);
}

static int
nrequests(void)
{
	char *p = xasprintf("%s/requests.log", work), *text;
	size_t n;
	int k = 0;

	if (readfile(p, &text, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			k += text[i] == '\n';
		free(text);
	}
	free(p);
	return k;
}

static int
nentries(const char *sub)
{
	char *p = xasprintf("%s/%s", cfg.cache, sub);
	DIR *d = opendir(p);
	struct dirent *e;
	int k = 0;

	while (d && (e = readdir(d)))
		k += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	free(p);
	return k;
}

static void
assert_cached(const char *path, const char *sha)
{
	char hex[65], *want = xasprintf("%s/sha256/%s", cfg.cache, sha);

	assert_non_null(path);
	assert_string_equal(path, want);
	assert_int_equal(sha256file(path, hex), 0);
	assert_string_equal(hex, sha);
	free(want);
}

/* Upstream URL: stored by hash, by-name link, no temporaries left. */
static void
test_upstream(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "good.tar.gz", goodsha, url("files", "good.tar.gz"), NULL);
	char *path, *link = xasprintf("%s/by-name/good.tar.gz", cfg.cache), hex[65];
	int before = nrequests();

	assert_int_equal(fetchsource(&cfg, &rec, s, &path), 0);
	assert_cached(path, goodsha);
	assert_int_equal(nrequests(), before + 1);
	assert_int_equal(sha256file(link, hex), 0);
	assert_string_equal(hex, goodsha);
	assert_int_equal(nentries("tmp"), 0);
	assert_int_equal(fetchcheck(&cfg, s), 1);
	free(path);
	/* the second fetch is a cache hit: no request at all */
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), 0);
	assert_cached(path, goodsha);
	assert_int_equal(nrequests(), before + 1);
	free(path);
	/* and so is an offline one */
	cfg.offline = 1;
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), 0);
	assert_int_equal(nrequests(), before + 1);
	free(path);
	free(link);
	freesrc(&t);
}

/* Wrong content: deleted; the error names recipe line, both hashes, origin. */
static void
test_wrong(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "good.tar.gz", goodsha, url("files", "wrong.tar.gz"), NULL);
	char *path, *msg;

	capbegin();
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), -1);
	msg = capend();
	assert_null(path);
	assert_non_null(strstr(msg, "recipes/t.recipe:7:2: "));
	assert_non_null(strstr(msg, goodsha));
	assert_non_null(strstr(msg, wrongsha));
	assert_non_null(strstr(msg, t.urls[0]));
	assert_non_null(strstr(msg, "cannot fetch good.tar.gz"));
	assert_int_equal(nentries("sha256"), 0);
	assert_int_equal(nentries("by-name"), 0);
	assert_int_equal(nentries("tmp"), 0);
	free(msg);
	freesrc(&t);
}

/* A connection closed early (Content-Length unmet): retried 3 times, then
 * nothing is left behind, and a later fetch succeeds. */
static void
test_truncated(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "good.tar.gz", goodsha, url("truncated", "good.tar.gz"), NULL);
	char *path, *msg;
	int before = nrequests();

	capbegin();
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), -1);
	msg = capend();
	assert_int_equal(nrequests(), before + 4);
	assert_non_null(strstr(msg, "retry 3 of 3"));
	assert_non_null(strstr(msg, "gave up after retries"));
	assert_int_equal(nentries("sha256"), 0);
	assert_int_equal(nentries("tmp"), 0);
	free(msg);
	freesrc(&t);
	s = mksrc(&t, "good.tar.gz", goodsha, url("files", "good.tar.gz"), NULL);
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), 0);
	assert_cached(path, goodsha);
	free(path);
	freesrc(&t);
}

/* A short body that looks complete (no Content-Length): the hash catches it. */
static void
test_short(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "good.tar.gz", goodsha, url("short", "good.tar.gz"), NULL);
	char *path, *msg;

	capbegin();
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), -1);
	msg = capend();
	assert_non_null(strstr(msg, "sha256 mismatch"));
	assert_non_null(strstr(msg, "150000 bytes"));
	assert_int_equal(nentries("sha256"), 0);
	assert_int_equal(nentries("tmp"), 0);
	free(msg);
	freesrc(&t);
}

/* 404 is not retried; the next URL is tried; redirects are followed. */
static void
test_404_then_redirect(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "good.tar.gz", goodsha, url("files", "nothere.tar.gz"),
	                         url("redirect", "good.tar.gz"));
	char *path, *msg;
	int before = nrequests();

	capbegin();
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), 0);
	msg = capend();
	assert_cached(path, goodsha);
	assert_int_equal(nrequests(), before + 3);  /* 404, 302, 200 */
	assert_non_null(strstr(msg, "404"));
	assert_null(strstr(msg, "retry"));
	free(msg);
	free(path);
	freesrc(&t);
}

/* 503 twice, then the file: retries with backoff get it. */
static void
test_flaky(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "good.tar.gz", goodsha, url("flaky/2", "good.tar.gz"), NULL);
	char *path, *msg;

	capbegin();
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), 0);
	msg = capend();
	assert_cached(path, goodsha);
	assert_non_null(strstr(msg, "retry 2 of 3 in 2 s"));
	free(msg);
	free(path);
	freesrc(&t);
}

/* Mirrors: a directory by name, a directory by hash, a URL prefix; a mirror
 * with the wrong file is rejected and the next backend used. */
static void
test_mirrors(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "good.tar.gz", goodsha, url("files", "good.tar.gz"), NULL);
	char *m1 = xasprintf("%s/m1", work), *m2 = xasprintf("%s/m2", work), *p, *path, *msg, *data;
	char *m3 = xasprintf("http://127.0.0.1:%d/files/", port);
	const char *mirrors[3];
	size_t n;
	int before;

	p = xasprintf("%s/srv/good.tar.gz", work);
	assert_int_equal(readfile(p, &data, &n), 0);
	free(p);
	/* m1 holds a wrong file by name; m2 the right one by hash */
	p = xasprintf("%s/good.tar.gz", m1);
	mkdirp(m1, 0755);
	assert_int_equal(writeatomic(p, "bad", 3, 0644), 0);
	free(p);
	p = xasprintf("%s/sha256/%s", m2, goodsha);
	mkdirp(m2, 0755);
	p[strlen(p) - 65] = '\0', mkdirp(p, 0755), p[strlen(p)] = '/';
	assert_int_equal(writeatomic(p, data, n, 0644), 0);
	free(p);
	mirrors[0] = m1, mirrors[1] = m2;
	cfg.mirrors = mirrors, cfg.nmirrors = 2;
	before = nrequests();
	capbegin();
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), 0);
	msg = capend();
	assert_cached(path, goodsha);
	assert_int_equal(nrequests(), before);
	assert_non_null(strstr(msg, "sha256 mismatch for good.tar.gz from "));
	free(msg), free(path);
	/* a URL-prefix mirror, tried before the upstream URL */
	free((char *)cfg.cache);
	freshcache(state);
	mirrors[0] = m3;
	cfg.mirrors = mirrors, cfg.nmirrors = 1;
	before = nrequests();
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), 0);
	assert_cached(path, goodsha);
	assert_int_equal(nrequests(), before + 1);
	free(path);
	free(m1), free(m2), free(m3), free(data);
	freesrc(&t);
}

/* file:// URLs work; redirects to them would not (protocols limited). */
static void
test_file_url(void **state)
{
	struct testsrc t;
	char *u = xasprintf("file://%s/srv/good.tar.gz", work), *path;
	struct source *s = mksrc(&t, "good.tar.gz", goodsha, u, NULL);

	assert_int_equal(fetchsource(&cfg, &rec, s, &path), 0);
	assert_cached(path, goodsha);
	free(path);
	freesrc(&t);
}

/* Offline: the cache only; one error lists every missing file. */
static void
test_offline(void **state)
{
	struct testsrc t1, t2, t3;
	struct recipe r1 = rec, r2 = {.path = "recipes/u.recipe", .name = "u"};
	const struct recipe *rs[2] = {&r1, &r2};
	char *path, *msg;
	int before = nrequests();

	mksrc(&t1, "good.tar.gz", goodsha, url("files", "good.tar.gz"), NULL);
	mksrc(&t2, "big.bin", bigsha, url("files", "big.bin"), NULL);
	mksrc(&t3, "wrong.tar.gz", wrongsha, url("files", "wrong.tar.gz"), NULL);
	t3.s.sha256loc.file = "recipes/u.recipe";
	r1.sources = &t1.s, r1.nsources = 1;
	r2.sources = xcalloc(2, sizeof(struct source));
	r2.sources[0] = t2.s, r2.sources[1] = t3.s, r2.nsources = 2;
	/* one file cached, two not */
	assert_int_equal(fetchsource(&cfg, &rec, &t1.s, &path), 0);
	free(path);
	before = nrequests();
	cfg.offline = 1;
	capbegin();
	assert_int_equal(fetchrecipes(&cfg, rs, 2), -1);
	msg = capend();
	assert_int_equal(nrequests(), before);
	assert_non_null(strstr(msg, "offline, and 2 source files are not in the cache"));
	assert_non_null(strstr(msg, "recipes/t.recipe:7: big.bin (u, sha256 "));
	assert_non_null(strstr(msg, "recipes/u.recipe:7: wrong.tar.gz (u, sha256 "));
	assert_null(strstr(msg, "good.tar.gz"));
	free(msg);
	capbegin();
	assert_int_equal(fetchsource(&cfg, &rec, &t2.s, &path), -1);
	msg = capend();
	assert_non_null(strstr(msg, "recipes/t.recipe:7:2: big.bin (sha256 "));
	assert_non_null(strstr(msg, "is not in the cache"));
	free(msg);
	/* online, fetchrecipes gets both (and the cached one is only checked) */
	cfg.offline = 0;
	assert_int_equal(fetchrecipes(&cfg, rs, 2), 0);
	assert_int_equal(nrequests(), before + 2);
	cfg.offline = 1;
	assert_int_equal(fetchrecipes(&cfg, rs, 2), 0);
	assert_int_equal(nrequests(), before + 2);
	free(r2.sources);
	freesrc(&t1), freesrc(&t2), freesrc(&t3);
}

/* A file corrupted in the cache is caught, removed and fetched again. */
static void
test_corrupt_cache(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "good.tar.gz", goodsha, url("files", "good.tar.gz"), NULL);
	char *path, *msg;
	int fd;

	assert_int_equal(fetchsource(&cfg, &rec, s, &path), 0);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 1000), 1);
	close(fd);
	free(path);
	cfg.offline = 1;
	capbegin();
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), -1);
	msg = capend();
	assert_non_null(strstr(msg, "is corrupt"));
	assert_int_equal(nentries("sha256"), 0);
	free(msg);
	cfg.offline = 0;
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), 0);
	assert_cached(path, goodsha);
	free(path);
	freesrc(&t);
}

/* SIGKILL in the middle of a download: the cache holds no partial file
 * under any name that counts, and the next fetch cleans up and succeeds. */
static void
test_kill9(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "big.bin", bigsha, url("slow", "big.bin"), NULL);
	char *tmp = xasprintf("%s/tmp", cfg.cache), *path;
	struct timespec ms50 = {0, 50000000};
	pid_t pid;
	int st, i, grown = 0;

	fflush(stdout), fflush(stderr);
	pid = fork();
	if (pid == 0) {
		quiet = 1;
		_exit(fetchsource(&cfg, &rec, s, &path) == 0 ? 0 : 1);
	}
	/* wait until the temporary file has data */
	for (i = 0; i < 200 && !grown; i++) {
		DIR *d = opendir(tmp);
		struct dirent *e;
		struct stat sb;

		nanosleep(&ms50, NULL);
		while (d && (e = readdir(d))) {
			char *p = xasprintf("%s/%s", tmp, e->d_name);

			grown |= e->d_name[0] != '.' && stat(p, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 65536;
			free(p);
		}
		if (d)
			closedir(d);
	}
	assert_true(grown);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_int_equal(nentries("sha256"), 0);
	assert_int_equal(nentries("by-name"), 0);
	assert_int_equal(nentries("tmp"), 1);  /* the partial download, unlocked now */
	assert_int_equal(fetchcheck(&cfg, s), 0);
	freesrc(&t);
	s = mksrc(&t, "big.bin", bigsha, url("files", "big.bin"), NULL);
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), 0);
	assert_cached(path, bigsha);
	assert_int_equal(nentries("tmp"), 0);
	free(path);
	free(tmp);
	freesrc(&t);
}

/* Cleaning removes unlocked leftovers only: a download in progress (its
 * file locked by another process) survives. */
static void
test_clean_keeps_locked(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "good.tar.gz", goodsha, url("files", "good.tar.gz"), NULL);
	char *live = xasprintf("%s/tmp/live.XXXXXX", cfg.cache), *dead = xasprintf("%s/tmp/dead", cfg.cache);
	char *tmp = xasprintf("%s/tmp", cfg.cache), *path;
	int fd, p[2], c;
	pid_t pid;

	mkdirp(tmp, 0755);
	assert_int_equal(writeatomic(dead, "x", 1, 0644), 0);
	fd = mkstemp(live);
	assert_true(fd >= 0);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	if (pid == 0) {  /* another process holding the lock */
		flock(fd, LOCK_EX);
		close(p[0]);
		if (write(p[1], "", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	close(fd);
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), 0);
	assert_true(exists(live));
	assert_false(exists(dead));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	free(path);
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), 0);
	assert_false(exists(live));
	free(path), free(live), free(dead), free(tmp);
	freesrc(&t);
}

/* Nothing to fetch from at all: said so. */
static void
test_no_backend(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "good.tar.gz", goodsha, NULL, NULL);
	char *path, *msg;

	capbegin();
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), -1);
	msg = capend();
	assert_non_null(strstr(msg, "no mirror, URL or Debian source package"));
	free(msg);
}

static double
secs(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* fetchsource of s, which must fail within limit seconds after one
 * request, naming the recipe line, url and want; nothing left in tmp/. */
static void
mustfail(struct source *s, const char *u, double limit, const char *want)
{
	char *path, *msg;
	int before = nrequests();
	double t0 = secs();

	capbegin();
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), -1);
	msg = capend();
	assert_true(secs() - t0 < limit);
	assert_null(path);
	assert_int_equal(nrequests(), before + 1);
	assert_non_null(strstr(msg, "recipes/t.recipe:7:2: cannot fetch"));
	assert_non_null(strstr(msg, u));
	assert_non_null(strstr(msg, want));
	assert_int_equal(nentries("sha256"), 0);
	assert_int_equal(nentries("tmp"), 0);
	free(msg);
}

/* A server streaming zeros forever: refused at the size bound, at once. */
static void
test_endless(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "good.tar.gz", goodsha, url("endless/0", "good.tar.gz"), NULL);

	cfg.maxsize = 1 << 20;
	mustfail(s, t.urls[0], 5, "larger than 1048576 bytes, the default limit: declare the file's size");
	freesrc(&t);
}

/* A file larger than the source's size: refused on its Content-Length;
 * the exact size passes. */
static void
test_declared_size(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "big.bin", bigsha, url("files", "big.bin"), NULL);
	char *path;

	s->size = 1000;
	mustfail(s, t.urls[0], 5, "larger than 1000 bytes, the source's size");
	s->size = 4 << 20;
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), 0);
	assert_cached(path, bigsha);
	free(path);
	freesrc(&t);
}

/* 2 KB/s forever: below the low-speed bound, aborted after its time, and
 * not retried. */
static void
test_trickle(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "good.tar.gz", goodsha, url("endless/2048", "good.tar.gz"), NULL);

	cfg.lowspeedtime = 2;
	mustfail(s, t.urls[0], 6, "UNDISTRO_FETCH_LOW_SPEED_TIME");
	freesrc(&t);
}

/* Fast enough, but endless: the total time bound ends it. */
static void
test_total_timeout(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "good.tar.gz", goodsha, url("endless/65536", "good.tar.gz"), NULL);

	cfg.timeout = 2;
	mustfail(s, t.urls[0], 6, "UNDISTRO_FETCH_TIMEOUT");
	freesrc(&t);
}

/* A server that stalls after the first KiB costs its low-speed time once;
 * then the next URL is tried. */
static void
test_stall_next(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "good.tar.gz", goodsha, url("stall", "good.tar.gz"), url("files", "good.tar.gz"));
	char *path, *msg;
	double t0 = secs();

	cfg.lowspeedtime = 2;
	capbegin();
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), 0);
	msg = capend();
	assert_true(secs() - t0 < 6);
	assert_cached(path, goodsha);
	assert_non_null(strstr(msg, t.urls[0]));
	assert_null(strstr(msg, "retry"));
	assert_int_equal(nentries("tmp"), 0);
	free(msg);
	free(path);
	freesrc(&t);
}

static void
freecfg(struct fetchcfg *c)
{
	size_t i;

	for (i = 0; i < c->nmirrors; i++)
		free((char *)c->mirrors[i]);
	free((void *)c->mirrors);
	free((char *)c->cache);
	*c = (struct fetchcfg){0};
}

/* The environment: UNDISTRO_CACHE, XDG_CACHE_HOME, UNDISTRO_MIRRORS. */
static void
test_cfgenv(void **state)
{
	struct fetchcfg c = {0};
	char cwd[4096], *want;

	setenv("UNDISTRO_CACHE", "/x/cache", 1);
	setenv("UNDISTRO_MIRRORS", "  /srv/mirror\thttp://127.0.0.1:1/m  ", 1);
	assert_int_equal(fetchcfgenv(&c), 0);
	assert_string_equal(c.cache, "/x/cache");
	assert_int_equal(c.nmirrors, 2);
	assert_string_equal(c.mirrors[0], "/srv/mirror");
	assert_string_equal(c.mirrors[1], "http://127.0.0.1:1/m");
	freecfg(&c);
	unsetenv("UNDISTRO_CACHE");
	unsetenv("UNDISTRO_MIRRORS");
	setenv("XDG_CACHE_HOME", "/y", 1);
	assert_int_equal(fetchcfgenv(&c), 0);
	assert_string_equal(c.cache, "/y/undistro");
	assert_int_equal(c.nmirrors, 0);
	freecfg(&c);
	unsetenv("XDG_CACHE_HOME");
	setenv("HOME", "/home/z", 1);
	assert_int_equal(fetchcfgenv(&c), 0);
	assert_string_equal(c.cache, "/home/z/.cache/undistro");
	freecfg(&c);
	/* a relative cache is made absolute */
	setenv("UNDISTRO_CACHE", "rel/cache", 1);
	assert_int_equal(fetchcfgenv(&c), 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	want = xasprintf("%s/rel/cache", cwd);
	assert_string_equal(c.cache, want);
	free(want);
	freecfg(&c);
	unsetenv("UNDISTRO_CACHE");
	/* the download bounds */
	setenv("UNDISTRO_CACHE", "/x/cache", 1);
	setenv("UNDISTRO_FETCH_MAX_SIZE", "1000", 1);
	setenv("UNDISTRO_FETCH_TIMEOUT", "20", 1);
	setenv("UNDISTRO_FETCH_LOW_SPEED_TIME", "3", 1);
	assert_int_equal(fetchcfgenv(&c), 0);
	assert_int_equal(c.maxsize, 1000);
	assert_int_equal(c.timeout, 20);
	assert_int_equal(c.lowspeedtime, 3);
	freecfg(&c);
	setenv("UNDISTRO_FETCH_TIMEOUT", "-5", 1);
	assert_int_equal(fetchcfgenv(&c), -1);
	freecfg(&c);
	setenv("UNDISTRO_FETCH_TIMEOUT", "10s", 1);
	assert_int_equal(fetchcfgenv(&c), -1);
	freecfg(&c);
	unsetenv("UNDISTRO_FETCH_MAX_SIZE");
	unsetenv("UNDISTRO_FETCH_TIMEOUT");
	unsetenv("UNDISTRO_FETCH_LOW_SPEED_TIME");
	unsetenv("UNDISTRO_CACHE");
}

static int
nodebian(void)
{
	const char *e = getenv("UNDISTRO_TEST_NO_DEBIAN");

	return e && *e && strcmp(e, "0");
}

/* musl from the Debian source archive, for real; then unpacked. */
static void
test_debian_musl(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "musl_1.2.3.orig.tar.gz", MUSLSHA, NULL, NULL);
	char *path, *dest = xasprintf("%s/musl", work), *v;
	struct unpackopts o = {"musl_1.2.3.orig.tar.gz", 1, 0, 0};
	struct timespec t0, t1;
	size_t n;

	if (nodebian())
		skip();
	s->debian = "musl";
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("Debian fetch of musl: %.2f s\n", (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	assert_cached(path, MUSLSHA);
	assert_int_equal(nentries("tmp"), 0);
	assert_int_equal(unpack(path, dest, &o), 0);
	v = xasprintf("%s/VERSION", dest);
	free(path);
	assert_int_equal(readfile(v, &path, &n), 0);
	assert_string_equal(path, "1.2.3\n");
	free(path), free(v);
	/* pinned to the version that has it: a cache hit now */
	s->debianversion = "1.2.3-1";
	cfg.offline = 1;
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), 0);
	free(path);
	rmtree(dest);
	free(dest);
}

/* A version Debian does not offer: the error lists what it offers. */
static void
test_debian_missing_version(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "musl_1.2.3.orig.tar.gz", MUSLSHA, NULL, NULL);
	char *path, *msg;

	if (nodebian())
		skip();
	s->debian = "musl";
	s->debianversion = "1.1.0-9";
	capbegin();
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), -1);
	msg = capend();
	assert_non_null(strstr(msg, "recipes/t.recipe:7:2: cannot fetch musl_1.2.3.orig.tar.gz"));
	assert_non_null(strstr(msg, "Debian source package musl: version 1.1.0-9 is not offered; "
	                            "`apt-cache showsrc musl` offers: 1.2.3-1"));
	free(msg);
	/* no version carries this hash */
	s->debianversion = NULL;
	s->sha256 = goodsha;
	capbegin();
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), -1);
	msg = capend();
	assert_non_null(strstr(msg, "no version offered (1.2.3-1) has a file with sha256"));
	free(msg);
	/* no such package */
	s->debian = "no-such-source-package-x";
	capbegin();
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), -1);
	msg = capend();
	assert_non_null(strstr(msg, "`apt-cache showsrc no-such-source-package-x` lists nothing"));
	free(msg);
	assert_int_equal(nentries("tmp"), 0);
}

/* A Debian source download that stalls (an apt-get that never ends, first
 * on PATH): stopped after the per-URL time bound, named, nothing left in
 * the cache's tmp. */
static void
test_debian_stall(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "musl_1.2.3.orig.tar.gz", MUSLSHA, NULL, NULL);
	char *bin = xasprintf("%s/fakebin", work), *apt = xasprintf("%s/apt-get", bin);
	char *oldpath = xstrdup(getenv("PATH")), *newpath = xasprintf("%s:%s", bin, oldpath);
	const char *stall = "#!/bin/sh\nexec sleep 600\n";
	struct timespec t0, t1;
	char *path, *msg;

	if (nodebian())
		skip();
	assert_int_equal(mkdirp(bin, 0755), 0);
	assert_int_equal(writeatomic(apt, stall, strlen(stall), 0755), 0);
	s->debian = "musl";
	cfg.timeout = 2;
	setenv("PATH", newpath, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	capbegin();
	assert_int_equal(fetchsource(&cfg, &rec, s, &path), -1);
	msg = capend();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	setenv("PATH", oldpath, 1);
	cfg.timeout = 0;
	assert_non_null(strstr(msg, "took more than 2 s (UNDISTRO_FETCH_TIMEOUT); stopped"));
	assert_true(t1.tv_sec - t0.tv_sec < 30);
	assert_int_equal(nentries("tmp"), 0);
	free(msg), free(bin), free(apt), free(oldpath), free(newpath);
}

/* A file of the Debian packaging (patch { debian = yes }). */
static void
test_debian_file(void **state)
{
	struct testsrc t;
	struct source *s = mksrc(&t, "musl_1.2.3.orig.tar.gz", MUSLSHA, NULL, NULL);
	struct patch p = {.file = "musl-fts/fts.h", .debian = 1, .sha256 = FTSSHA, .strip = 1,
	                  .loc = {"recipes/t.recipe", 12, 1}};
	char *path, *msg;

	if (nodebian())
		skip();
	s->debian = "musl";
	assert_int_equal(fetchdebianfile(&cfg, s, &p, &path), 0);
	assert_cached(path, FTSSHA);
	free(path);
	/* now in the cache, offline too */
	cfg.offline = 1;
	assert_int_equal(fetchdebianfile(&cfg, s, &p, &path), 0);
	free(path);
	/* the wrong hash, or a missing file: errors at the patch line */
	p.sha256 = goodsha;
	capbegin();
	assert_int_equal(fetchdebianfile(&cfg, s, &p, &path), -1);
	msg = capend();
	assert_non_null(strstr(msg, "recipes/t.recipe:12:1: "));
	assert_non_null(strstr(msg, "sha256 mismatch"));
	assert_non_null(strstr(msg, FTSSHA));
	free(msg);
	p.file = "no/such/file";
	capbegin();
	assert_int_equal(fetchdebianfile(&cfg, s, &p, &path), -1);
	msg = capend();
	assert_non_null(strstr(msg, "musl_1.2.3-1.debian.tar.xz has no file debian/no/such/file"));
	free(msg);
	assert_int_equal(nentries("tmp"), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, freshcache, dropcache)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_upstream),
		T(test_wrong),
		T(test_truncated),
		T(test_short),
		T(test_404_then_redirect),
		T(test_flaky),
		T(test_mirrors),
		T(test_file_url),
		T(test_offline),
		T(test_corrupt_cache),
		T(test_kill9),
		T(test_clean_keeps_locked),
		T(test_no_backend),
		T(test_endless),
		T(test_declared_size),
		T(test_trickle),
		T(test_total_timeout),
		T(test_stall_next),
		T(test_cfgenv),
		T(test_debian_musl),
		T(test_debian_missing_version),
		T(test_debian_stall),
		T(test_debian_file),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
