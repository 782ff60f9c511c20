#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <solv/evr.h>
#include <solv/pool.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "alloc.h"
#include "diag.h"
#include "fetch.h"
#include "os.h"
#include "recipe.h"
#include "sha256.h"
#include "str.h"

enum {
	RETRIES = 3,            /* after the first attempt; delays 1, 2, 4 s */
	CONNECTTIMEOUT = 15,    /* seconds */
	LOWSPEED = 8192,        /* bytes/s, sustained for cfg->lowspeedtime, aborts */
	STALELINK = 60,         /* seconds before a stray symlink in tmp/ is removed */
};

/* The defaults of fetchcfg's bounds (fetch.h). */
#define MAXSIZE (2LL << 30)
#define TIMEOUT 1800L
#define LOWSPEEDTIME 30L

/* One file to get into the cache, known by its hash. */
struct want {
	const char *file;            /* name for logs, mirrors and by-name/ */
	const char *sha256;          /* 64 lower-case hex digits; NULL: not known yet
	                              * (fetchnew): the first file is taken, its
	                              * hash into got */
	const struct loc *loc;       /* where the hash was pinned, for errors */
	const struct strlist *urls;  /* upstream, or NULL */
	const char *debian, *debianversion;
	struct buf why;              /* "  ORIGIN: reason\n" per failed attempt */
	long long max;               /* refuse a file larger than this (bytes) */
	int declared;                /* max is the recipe's size, not the default */
	char got[65];                /* the hash taken, when sha256 was NULL */
};

/* A file being written into CACHE/tmp, hashed as it is written. While open,
 * the writer holds an flock on it, which tells the cleaner it is alive. */
struct sink {
	int fd;
	char *tmp;
	struct sha256 h;
	unsigned long long n;
	int err;    /* errno of a failed write, or 0 */
};

/* One line of progress: "undistro: fetch FILE: ..." unless quiet. */
static void
note(const struct want *w, const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	fflush(stdout);
	fprintf(stderr, "%s: fetch %s: ", argv0, w->file);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Record a failed attempt for the final error, and log it. */
static void
failed(struct want *w, const char *origin, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bufprintf(&w->why, "\n  %s: %s", origin, msg);
	note(w, "%s: %s", origin, msg);
}

static char *
cachepath(const struct fetchcfg *cfg, const char *sub, const char *name)
{
	return xasprintf("%s/%s/%s", cfg->cache, sub, name);
}

static int
ishex64(const char *s)
{
	size_t i;

	for (i = 0; s && i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s && s[64] == '\0';
}

static int
fsyncdirat(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* Lock fd and check that path still names it: a cleaner may have removed
 * the name between its creation and the lock. */
static int
lockfresh(int fd, const char *path)
{
	struct stat a, b;

	return flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Remove what killed runs left in CACHE/tmp: every entry nobody holds a lock
 * on (stray symlinks, which cannot be locked, once a minute old). */
static void
cleantmp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *p;
		int fd;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0) {
			if (flock(fd, LOCK_EX | LOCK_NB) == 0)
				rmtree(p);
			close(fd);
		} else if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode) && st.st_mtime + STALELINK < time(NULL)) {
			unlink(p);
		}
		free(p);
	}
	closedir(d);
}

/* Create the cache's directories and clear out stale temporaries. */
static int
cacheprepare(const struct fetchcfg *cfg)
{
	static const char *const subs[] = {"sha256", "by-name", "tmp"};
	char *p;
	size_t i;
	int r = 0;

	if (!cfg->cache || !*cfg->cache) {
		err("no source cache directory: set UNDISTRO_CACHE");
		return -1;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]) && r == 0; i++) {
		p = cachepath(cfg, subs[i], "");
		r = mkdirp(p, 0755);
		free(p);
	}
	if (r == 0) {
		p = xasprintf("%s/tmp", cfg->cache);
		cleantmp(p);
		free(p);
	}
	return r;
}

/* Point CACHE/by-name/FILE at the hash; only informational, so failures are
 * ignored. Names with a '/' (files from inside Debian packages) get none. */
static void
bylink(const struct fetchcfg *cfg, const char *file, const char *hex)
{
	char *link, *target, *tmp, cur[128];
	ssize_t n;

	if (strchr(file, '/') || !strcmp(file, ".") || !strcmp(file, ".."))
		return;
	link = cachepath(cfg, "by-name", file);
	target = xasprintf("../sha256/%s", hex);
	n = readlink(link, cur, sizeof(cur) - 1);
	if (n < 0 || (cur[n] = '\0', strcmp(cur, target))) {
		tmp = xasprintf("%s/tmp/link.%ld.%ld", cfg->cache, (long)getpid(), (long)random());
		if (symlink(target, tmp) < 0 || rename(tmp, link) < 0)
			unlink(tmp);
		free(tmp);
	}
	free(link);
	free(target);
}

static int
sinkopen(const struct fetchcfg *cfg, const char *file, struct sink *s)
{
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < 10; i++) {
		s->tmp = xasprintf("%s/tmp/%.100s.XXXXXX", cfg->cache, base);
		s->fd = mkostemp(s->tmp, O_CLOEXEC);
		if (s->fd < 0) {
			err("cannot create a temporary file in %s/tmp:", cfg->cache);
			free(s->tmp);
			return -1;
		}
		if (lockfresh(s->fd, s->tmp)) {
			sha256init(&s->h);
			return 0;
		}
		close(s->fd);
		free(s->tmp);
	}
	err("cannot create and lock a temporary file in %s/tmp", cfg->cache);
	return -1;
}

static int
sinkwrite(struct sink *s, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	sha256add(&s->h, p, n);
	s->n += n;
	while (n) {
		w = write(s->fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			s->err = errno;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Start the file over, for a retry. */
static int
sinkreset(struct sink *s)
{
	sha256final(&s->h, (unsigned char[32]){0});
	sha256init(&s->h);
	s->n = 0;
	s->err = 0;
	if (ftruncate(s->fd, 0) < 0 || lseek(s->fd, 0, SEEK_SET) < 0) {
		s->err = errno;
		return -1;
	}
	return 0;
}

static void
sinkdiscard(struct sink *s)
{
	sha256final(&s->h, (unsigned char[32]){0});
	unlink(s->tmp);
	close(s->fd);
	free(s->tmp);
}

/* Move the verified file at tmp (open as fd) to CACHE/sha256/HEX: fsync,
 * rename while still holding the lock, fsync the directory. */
static int
store(const struct fetchcfg *cfg, const struct want *w, int fd, const char *tmp)
{
	char *dst = cachepath(cfg, "sha256", w->sha256), *dir = cachepath(cfg, "sha256", "");
	int r = -1;

	if (fchmod(fd, 0644) < 0 || fsync(fd) < 0)
		err("cannot write %s:", tmp);
	else if (rename(tmp, dst) < 0)
		err("cannot rename %s to %s:", tmp, dst);
	else if (fsyncdirat(dir) < 0)
		err("fsync %s:", dir);
	else
		r = 0;
	if (r == 0)
		bylink(cfg, w->file, w->sha256);
	free(dst);
	free(dir);
	return r;
}

/* Compare the hash of what was written with the wanted one; keep the file
 * only on a match. Consumes the sink. */
static int
sinkcommit(const struct fetchcfg *cfg, struct want *w, struct sink *s, const char *origin)
{
	char hex[65];
	int r;

	sha256finalhex(&s->h, hex);
	if (!w->sha256) {
		memcpy(w->got, hex, sizeof(w->got));
		w->sha256 = w->got;
	}
	if (strcmp(hex, w->sha256)) {
		warnat(w->loc, "sha256 mismatch for %s from %s: expected %s, got %s (%llu bytes); the file was deleted",
		       w->file, origin, w->sha256, hex, s->n);
		failed(w, origin, "sha256 mismatch: got %s (%llu bytes), deleted", hex, s->n);
		unlink(s->tmp);
		r = -1;
	} else if ((r = store(cfg, w, s->fd, s->tmp)) < 0) {
		failed(w, origin, "cannot store it in the cache (see above)");
		unlink(s->tmp);
	}
	close(s->fd);
	free(s->tmp);
	return r;
}

/* Hash an open file. */
static int
hashfd(int fd, const char *path, char hex[65])
{
	struct sha256 h;
	char chunk[65536];
	ssize_t r;

	sha256init(&h);
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err("read %s:", path);
			sha256final(&h, (unsigned char[32]){0});
			return -1;
		}
		sha256add(&h, chunk, (size_t)r);
	}
	sha256finalhex(&h, hex);
	return 0;
}

/* The cache: 1 on a verified hit, 0 otherwise (a corrupt entry is removed). */
static int
trycache(const struct fetchcfg *cfg, const struct want *w, char **path)
{
	char *p = cachepath(cfg, "sha256", w->sha256), hex[65];
	struct stat st;
	int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), ok = 0;

	if (fd < 0) {
		if (errno != ENOENT)
			warn("cannot open cached %s:", p);
		free(p);
		return 0;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && hashfd(fd, p, hex) == 0) {
		ok = !strcmp(hex, w->sha256);
		if (!ok)
			warn("cached %s (%s) is corrupt: its sha256 is %s; removing it", p, w->file, hex);
	}
	close(fd);
	if (!ok) {
		unlink(p);
		free(p);
		return 0;
	}
	if (cfg->verbose)
		note(w, "found in the cache: %s", p);
	bylink(cfg, w->file, w->sha256);
	*path = p;
	return 1;
}

/* A mirror directory: DIR/FILE, then DIR/sha256/HEX. */
static int
trydir(const struct fetchcfg *cfg, struct want *w, const char *dir)
{
	/* a file whose hash is not known yet is only found by its name */
	char *names[2] = {xasprintf("%s/%s", dir, w->file), w->sha256 ? xasprintf("%s/sha256/%s", dir, w->sha256) : NULL};
	char chunk[65536];
	struct sink s;
	ssize_t n;
	int i, fd, found = 0, r = -1;

	for (i = 0; i < 2 && names[i] && r < 0; i++) {
		struct stat st;

		/* O_NONBLOCK: a FIFO in a mirror must not hang the fetch */
		fd = open(names[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;

			if (e != ENOENT)
				failed(w, names[i], "%s", strerror(e));
			found |= e != ENOENT;
			continue;
		}
		found = 1;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			failed(w, names[i], "not a regular file");
			close(fd);
			continue;
		}
		note(w, "trying mirror %s", names[i]);
		if (st.st_size > w->max) {
			failed(w, names[i], "%lld bytes, larger than %lld bytes (%s); refused", (long long)st.st_size,
			       w->max, w->declared ? "the source's size" : "the default limit, UNDISTRO_FETCH_MAX_SIZE");
			close(fd);
			continue;
		}
		if (sinkopen(cfg, w->file, &s) < 0) {
			close(fd);
			break;
		}
		while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 || sinkwrite(&s, chunk, (size_t)n) < 0)
				break;
		}
		if (n < 0 || s.err) {
			failed(w, names[i], "%s", strerror(n < 0 ? errno : s.err));
			sinkdiscard(&s);
		} else {
			r = sinkcommit(cfg, w, &s, names[i]);
		}
		close(fd);
	}
	if (!found && w->sha256)
		failed(w, dir, "not in this mirror (neither %s nor sha256/%s)", w->file, w->sha256);
	else if (!found)
		failed(w, dir, "not in this mirror (no %s)", w->file);
	free(names[0]);
	free(names[1]);
	return r;
}

/* One transfer: its progress bar, drawn on stderr when it is a terminal,
 * and its size bound. */
struct xfer {
	struct sink *s;
	const char *file;
	double last;
	int drawn;
	long long max;
	int toobig;     /* the body went past max: refused, not retried */
};

static size_t
curlwrite(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;

	/* at once, not when the download ends: a server streaming zeros must
	 * not fill the cache's disk */
	if (x->s->n + size * n > (unsigned long long)x->max) {
		x->toobig = 1;
		return 0;
	}
	return sinkwrite(x->s, p, size * n) < 0 ? 0 : size * n;
}

static int
curlprogress(void *arg, curl_off_t total, curl_off_t got, curl_off_t ut, curl_off_t un)
{
	struct xfer *x = arg;
	char bar[31];
	int fill = total > 0 ? (int)(got * 30 / total) : 0, i;
	double t = osnow();

	if (t - x->last < 0.2 || got == 0)
		return 0;
	x->last = t;
	for (i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : total > 0 ? '.' : ' ';
	bar[30] = '\0';
	if (total > 0)
		fprintf(stderr, "\r  %-32.32s [%s] %3d%% %8.1f MiB", x->file, bar, (int)(got * 100 / total), (double)got / 1048576);
	else
		fprintf(stderr, "\r  %-32.32s %8.1f MiB", x->file, (double)got / 1048576);
	x->drawn = 1;
	return 0;
}

/* Worth retrying: the network or the server may do better in a moment. A
 * timeout is not: a stalled or crawling server has already cost its whole
 * bound, and the next backend may be fine. */
static int
transient(CURLcode c, long http)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT: case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR: case CURLE_SEND_ERROR: case CURLE_GOT_NOTHING:
	case CURLE_SSL_CONNECT_ERROR: case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
		return 1;
	case CURLE_HTTP_RETURNED_ERROR:
		return http == 408 || http == 429 || (http >= 500 && http <= 599);
	default:
		return 0;
	}
}

static CURL *
curlsetup(const struct fetchcfg *cfg, struct xfer *x, const char *url, char *errbuf)
{
	static int ready;
	CURL *h;

	if (!ready && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
		ready = 1;
	if (!ready || !(h = curl_easy_init()))
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)CONNECTTIMEOUT);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)LOWSPEED);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)(cfg->lowspeedtime > 0 ? cfg->lowspeedtime : LOWSPEEDTIME));
	/* a Content-Length above the bound is refused before any byte */
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "undistro");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, curlwrite);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	if (!quiet && isatty(2)) {
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, curlprogress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	}
	return h;
}

/* Why a transfer failed, and what to do about it. */
static void
xferfailed(const struct fetchcfg *cfg, struct want *w, const struct xfer *x, const char *url, CURLcode rc,
           const char *msg, int retried)
{
	long lst = (long)(cfg->lowspeedtime > 0 ? cfg->lowspeedtime : LOWSPEEDTIME);

	if (x->toobig || rc == CURLE_FILESIZE_EXCEEDED)
		failed(w, url, "larger than %lld bytes, %s; refused", w->max,
		       w->declared ? "the source's size: check the URL, or correct size"
		                   : "the default limit: declare the file's size = BYTES in the source block, "
		                     "or raise UNDISTRO_FETCH_MAX_SIZE");
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		failed(w, url, "%s (bounds: below %d bytes/s for %ld s, %ld s in all; UNDISTRO_FETCH_LOW_SPEED_TIME, "
		       "UNDISTRO_FETCH_TIMEOUT); try a mirror (UNDISTRO_MIRRORS) or later", msg, LOWSPEED, lst,
		       (long)(cfg->timeout > 0 ? cfg->timeout : TIMEOUT));
	else
		failed(w, url, "%s%s", msg, retried ? " (gave up after retries)" : "");
}

/* Download url with retries, within the total time bound; the sink
 * receives the last attempt's bytes. */
static int
download(const struct fetchcfg *cfg, struct want *w, struct sink *s, const char *url)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct xfer x = {.s = s, .file = w->file, .max = w->max};
	CURL *h = curlsetup(cfg, &x, url, errbuf);
	double deadline = osnow() + (double)(cfg->timeout > 0 ? cfg->timeout : TIMEOUT);
	CURLcode rc;
	long http = 0;
	int attempt;

	if (!h) {
		failed(w, url, "cannot initialise libcurl");
		return -1;
	}
	for (attempt = 0;; attempt++) {
		errbuf[0] = '\0';
		/* what is left of the bound, rounded up: never 0, which means none */
		curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)(deadline - osnow()) + 1L);
		rc = curl_easy_perform(h);
		if (x.drawn)
			fputs("\r\033[K", stderr), x.drawn = 0;
		if (rc == CURLE_OK)
			break;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
		if (s->err) {
			failed(w, url, "cannot write %s: %s", s->tmp, strerror(s->err));
			break;
		}
		if (attempt == RETRIES || x.toobig || !transient(rc, http) || osnow() + (1 << attempt) >= deadline) {
			xferfailed(cfg, w, &x, url, rc, errbuf[0] ? errbuf : curl_easy_strerror(rc), attempt > 0);
			break;
		}
		note(w, "%s: %s; retry %d of %d in %d s", url, errbuf[0] ? errbuf : curl_easy_strerror(rc),
		     attempt + 1, RETRIES, 1 << attempt);
		sleep(1u << attempt);
		if (sinkreset(s) < 0) {
			failed(w, url, "cannot rewrite %s: %s", s->tmp, strerror(s->err));
			break;
		}
	}
	curl_easy_cleanup(h);
	return rc == CURLE_OK ? 0 : -1;
}

static int
tryurl(const struct fetchcfg *cfg, struct want *w, const char *url)
{
	struct sink s;

	note(w, "trying %s", url);
	if (sinkopen(cfg, w->file, &s) < 0)
		return -1;
	if (download(cfg, w, &s, url) < 0) {
		sinkdiscard(&s);
		return -1;
	}
	return sinkcommit(cfg, w, &s, url);
}

static int
trymirror(const struct fetchcfg *cfg, struct want *w, const char *m)
{
	char *url;
	size_t n = strlen(m);
	int r;

	if (!strstr(m, "://"))
		return trydir(cfg, w, m);
	while (n && m[n - 1] == '/')
		n--;
	url = xasprintf("%.*s/%s", (int)n, m, w->file);
	r = tryurl(cfg, w, url);
	free(url);
	if (r < 0 && w->sha256) {
		url = xasprintf("%.*s/sha256/%s", (int)n, m, w->sha256);
		r = tryurl(cfg, w, url);
		free(url);
	}
	return r;
}

/* One file of a Debian source package, as `apt-cache showsrc` lists it. */
struct srcfile {
	char *version, *name, *sha256;
};

/* Parse the Checksums-Sha256 lists of every stanza of showsrc output. */
static size_t
srcparse(struct arena *a, const char *text, struct srcfile **out)
{
	struct srcfile *v = NULL;
	size_t n = 0, first = 0, i;
	const char *s = text, *nl, *version = NULL;
	size_t vlen = 0;
	int insums = 0;

	for (; *s; s = nl + (*nl != '\0')) {
		nl = strchr(s, '\n');
		if (!nl)
			nl = s + strlen(s);
		if (nl == s) {  /* end of stanza: its files get its version */
			for (i = first; i < n; i++)
				v[i].version = version ? arenastrndup(a, version, vlen) : "?";
			first = n, version = NULL, insums = 0;
		} else if (!strncmp(s, "Version: ", 9)) {
			version = s + 9, vlen = (size_t)(nl - s - 9), insums = 0;
		} else if (!strncmp(s, "Checksums-Sha256:", 17)) {
			insums = 1;
		} else if (*s == ' ' && insums) {
			char hex[65], name[256];

			if (sscanf(s, " %64s %*s %255s", hex, name) == 2 && ishex64(hex)) {
				struct srcfile *f = ARENAPUSH(a, v, n);

				f->sha256 = arenastrdup(a, hex);
				f->name = arenastrdup(a, name);
			}
		} else if (*s != ' ') {
			insums = 0;
		}
	}
	for (i = first; i < n; i++)
		v[i].version = version ? arenastrndup(a, version, vlen) : "?";
	*out = v;
	return n;
}

/* The files of every version of Debian source package pkg offered by the
 * configured deb-src entries (reads apt's lists; no network). */
static int
showsrc(struct arena *a, const char *pkg, struct srcfile **v, size_t *n)
{
	char *argv[] = {"apt-cache", "showsrc", "--only-source", (char *)pkg, NULL};
	struct buf out = {0};
	int st = osruncapture(argv, NULL, NULL, &out);

	*n = st == 0 && out.p ? srcparse(a, out.p, v) : 0;
	buffree(&out);
	return *n ? 0 : -1;
}

/* "a, b, c": the distinct versions offered. */
static void
srcversions(const struct srcfile *v, size_t n, struct buf *b)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i && strcmp(v[j].version, v[i].version); j++)
			;
		if (j == i)
			bufprintf(b, "%s%s", b->n ? ", " : "", v[i].version);
	}
}

/* The version of pkg that carries a file with w's hash (and is the pinned
 * one, when pinned); NULL with the reason in why. */
static const char *
srcpick(const struct want *w, const struct srcfile *v, size_t n, struct buf *why)
{
	struct buf vers = {0};
	const char *pin = w->debianversion, *other = NULL;
	size_t i;
	int offered = 0;

	for (i = 0; i < n; i++) {
		offered |= pin && !strcmp(v[i].version, pin);
		if (!strcmp(v[i].sha256, w->sha256) && (!pin || !strcmp(v[i].version, pin)))
			return v[i].version;
		if (!strcmp(v[i].sha256, w->sha256))
			other = v[i].version;
	}
	srcversions(v, n, &vers);
	if (pin && !offered)
		bufprintf(why, "version %s is not offered; `apt-cache showsrc %s` offers: %s%s%s%s", pin, w->debian,
		          vers.p, other ? "; version " : "", other ? other : "",
		          other ? " has this file: pin that one, or none" : "");
	else if (pin && other)
		bufprintf(why, "version %s has no file with sha256 %s, but version %s has: pin that one, or none",
		          pin, w->sha256, other);
	else if (pin)
		bufprintf(why, "version %s has no file with sha256 %s", pin, w->sha256);
	else
		bufprintf(why, "no version offered (%s) has a file with sha256 %s", vers.p, w->sha256);
	buffree(&vers);
	return NULL;
}

/* Run argv in cwd with its output in log (an anonymous file under dir);
 * on a terminal, without log, so apt's progress shows. */
static int
runlogged(char *const argv[], const char *cwd, const char *dir, struct buf *log)
{
	char chunk[4096];
	ssize_t r;
	int fd = log ? open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600) : -1, st;

	if (log && fd < 0) {
		err("cannot create a log file in %s:", dir);
		return -1;
	}
	st = osrun(argv, NULL, cwd, fd);
	if (fd >= 0) {
		lseek(fd, 0, SEEK_SET);
		while ((r = read(fd, chunk, sizeof(chunk))) > 0)
			bufaddn(log, chunk, (size_t)r);
		close(fd);
	}
	return st;
}

/* Keep the file in dir whose hash is w's (apt-get source downloads several). */
static int
adoptfrom(const struct fetchcfg *cfg, const struct want *w, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	char hex[65];
	int r = -1;

	while (d && r < 0 && (e = readdir(d))) {
		char *p = xasprintf("%s/%s", dir, e->d_name);
		int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && hashfd(fd, p, hex) == 0 &&
		    !strcmp(hex, w->sha256))
			r = store(cfg, w, fd, p);
		if (fd >= 0)
			close(fd);
		free(p);
	}
	if (d)
		closedir(d);
	return r;
}

/* A locked fresh directory under CACHE/tmp; *lockfd holds the lock. */
static char *
tempdir(const struct fetchcfg *cfg, const char *prefix, int *lockfd)
{
	char *dir;
	int i;

	for (i = 0; i < 10; i++) {
		dir = xasprintf("%s/tmp/%s.XXXXXX", cfg->cache, prefix);
		if (!mkdtemp(dir)) {
			err("cannot create a directory in %s/tmp:", cfg->cache);
			free(dir);
			return NULL;
		}
		*lockfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (*lockfd >= 0 && lockfresh(*lockfd, dir))
			return dir;
		if (*lockfd >= 0)
			close(*lockfd);
		free(dir);
	}
	err("cannot create and lock a directory in %s/tmp", cfg->cache);
	return NULL;
}

/* apt-get source NAME=VERSION into a temporary directory. */
static int
aptsource(const struct fetchcfg *cfg, struct want *w, const char *origin, const char *version)
{
	char *spec = xasprintf("%s=%s", w->debian, version), *dir, *dl, secs[32];
	int tty = !quiet && isatty(2), lockfd, st, r = -1;
	/* apt checks every file against the size and hashes of the archive's
	 * signed index, which bounds the size; the time is bounded here: the
	 * whole download by the per-URL total, each stalled connection by
	 * apt's own timeout */
	/* --foreground: apt-get stays in our process group, so stopping a
	 * build's group (or ^C) stops it too */
	char *argv[] = {"timeout", "--foreground", "-k", "5", secs, "apt-get", "-o", "Acquire::http::Timeout=15", "-o",
	                "Acquire::https::Timeout=15", "source", "--download-only", "--only-source",
	                tty ? "-q=0" : "-qq", spec, NULL};
	struct buf log = {0};
	double t0 = osnow();

	if (!(dir = tempdir(cfg, "debian", &lockfd))) {
		free(spec);
		return -1;
	}
	dl = xasprintf("%s/dl", dir);
	note(w, "trying Debian source package %s (apt-get source)", spec);
	snprintf(secs, sizeof(secs), "%lld", cfg->timeout > 0 ? cfg->timeout : (long long)TIMEOUT);
	if (mkdirp(dl, 0755) == 0) {
		st = runlogged(argv, dl, dir, tty ? NULL : &log);
		while (log.n && log.p[log.n - 1] == '\n')
			log.p[--log.n] = '\0';
		if (st == 124 || st == 128 + 9)
			failed(w, origin, "apt-get source %s took more than %s s (UNDISTRO_FETCH_TIMEOUT); stopped", spec,
			       secs);
		else if (st != 0)
			failed(w, origin, "apt-get source %s failed (status %d)%s%s", spec, st, log.n ? ":\n    " : "",
			       log.n ? log.p : "");
		else if ((r = adoptfrom(cfg, w, dl)) < 0)
			failed(w, origin, "apt-get source %s gave no file with sha256 %s", spec, w->sha256);
		else if (cfg->verbose)
			note(w, "fetched from Debian in %.1f s", osnow() - t0);
	}
	rmtree(dir);
	close(lockfd);
	buffree(&log);
	free(dl);
	free(dir);
	free(spec);
	return r;
}

static int
trydebian(const struct fetchcfg *cfg, struct want *w)
{
	struct arena a = {0};
	struct srcfile *v;
	struct buf why = {0};
	const char *version;
	char *origin = xasprintf("Debian source package %s", w->debian);
	size_t n;
	int r = -1;

	if (showsrc(&a, w->debian, &v, &n) < 0)
		failed(w, origin, "`apt-cache showsrc %s` lists nothing: no such source package, or no deb-src "
		       "entries (ci/install-deps adds them)", w->debian);
	else if ((version = srcpick(w, v, n, &why)))
		r = aptsource(cfg, w, origin, version);
	else
		failed(w, origin, "%s", why.p);
	buffree(&why);
	arenafree(&a);
	free(origin);
	return r;
}

/* The backends in order; on success *path is the cached file. */
static int
fetchwant(const struct fetchcfg *cfg, struct want *w, char **path)
{
	size_t i;

	if (w->max <= 0)
		w->max = cfg->maxsize > 0 ? cfg->maxsize : MAXSIZE;
	if (cacheprepare(cfg) < 0)
		return -1;
	if (trycache(cfg, w, path))
		return 0;
	if (cfg->offline) {
		errat(w->loc, "%s (sha256 %s) is not in the cache %s, and fetching is offline", w->file, w->sha256,
		      cfg->cache);
		return -1;
	}
	for (i = 0; i < cfg->nmirrors; i++)
		if (trymirror(cfg, w, cfg->mirrors[i]) == 0)
			goto done;
	for (i = 0; w->urls && i < w->urls->n; i++)
		if (tryurl(cfg, w, w->urls->v[i]) == 0)
			goto done;
	if (w->debian && trydebian(cfg, w) == 0)
		goto done;
	if (!w->why.n)
		bufadds(&w->why, "\n  no mirror, URL or Debian source package to fetch it from");
	errat(w->loc, "cannot fetch %s (sha256 %s):%s", w->file, w->sha256, w->why.p);
	return -1;
done:
	*path = cachepath(cfg, "sha256", w->sha256);
	return 0;
}

static const struct loc *
hashloc(const struct source *src)
{
	return src->sha256loc.line > 0 ? &src->sha256loc : &src->loc;
}

/* The parser checks these too; a bad file name would escape by-name/. */
static int
sourcevalid(const struct source *src)
{
	if (src->dir) {
		errat(&src->dirloc, "in-tree source %s: nothing to fetch (the build copies it)", src->dir);
		return 0;
	}
	if (!ishex64(src->sha256)) {
		errat(hashloc(src), "sha256 must be 64 lower-case hex digits");
		return 0;
	}
	if (!src->file || !*src->file || strchr(src->file, '/') || !strcmp(src->file, ".") ||
	    !strcmp(src->file, "..")) {
		errat(&src->loc, "source 'file' must be a plain file name");
		return 0;
	}
	return 1;
}

int
fetchsource(const struct fetchcfg *cfg, const struct recipe *r, const struct source *src, char **path)
{
	struct want w = {
		.file = src->file, .sha256 = src->sha256, .loc = hashloc(src), .urls = &src->urls,
		.debian = src->debian, .debianversion = src->debianversion,
		.max = src->size, .declared = src->size > 0,
	};
	int rc;

	*path = NULL;
	if (!sourcevalid(src))
		return -1;
	rc = fetchwant(cfg, &w, path);
	buffree(&w.why);
	return rc;
}

int
fetchcheck(const struct fetchcfg *cfg, const struct source *src)
{
	char *p;
	struct stat st;
	int r;

	if (src->dir)
		return 1;   /* in the tree: nothing to fetch */
	if (!ishex64(src->sha256) || !cfg->cache)
		return 0;
	p = cachepath(cfg, "sha256", src->sha256);
	r = stat(p, &st) == 0 && S_ISREG(st.st_mode);
	free(p);
	return r;
}

/* Nonzero when src's hash was already seen among the first k of the list. */
static int
seen(const struct recipe *const *rs, size_t ri, size_t si)
{
	const char *h = rs[ri]->sources[si].sha256;
	size_t i, j;

	for (i = 0; i <= ri; i++)
		for (j = 0; j < (i == ri ? si : rs[i]->nsources); j++)
			if (rs[i]->sources[j].sha256 && h && !strcmp(rs[i]->sources[j].sha256, h))
				return 1;
	return 0;
}

/* Offline: one error listing every missing file; 0 when none is. */
static int
listmissing(const struct fetchcfg *cfg, const struct recipe *const *rs, size_t n)
{
	struct buf b = {0};
	size_t i, j, nmiss = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < rs[i]->nsources; j++) {
			const struct source *s = &rs[i]->sources[j];
			const struct loc *l = hashloc(s);

			if (seen(rs, i, j) || fetchcheck(cfg, s))
				continue;
			nmiss++;
			bufprintf(&b, "\n  %s:%d: %s (%s, sha256 %s)", l->file ? l->file : rs[i]->path, l->line,
			          s->file, rs[i]->name, s->sha256);
		}
	}
	if (nmiss)
		err("offline, and %zu source file%s not in the cache %s:%s\nrun `undistro fetch` without --offline "
		    "where the network is reachable, or copy the files into a mirror directory", nmiss,
		    nmiss == 1 ? " is" : "s are", cfg->cache, b.p);
	buffree(&b);
	return nmiss ? -1 : 0;
}

int
fetchrecipes(const struct fetchcfg *cfg, const struct recipe *const *rs, size_t n)
{
	size_t i, j;
	char *path;
	int r = 0;

	if (cfg->offline && (cacheprepare(cfg) < 0 || listmissing(cfg, rs, n) < 0))
		return -1;
	for (i = 0; i < n; i++) {
		for (j = 0; j < rs[i]->nsources; j++) {
			/* in-tree sources are in the tree: the build copies them */
			if (rs[i]->sources[j].dir || seen(rs, i, j))
				continue;
			if (fetchsource(cfg, rs[i], &rs[i]->sources[j], &path) < 0)
				r = -1;
			free(path);
		}
	}
	return r;
}

/* Copy member name of the archive at tar into the sink; 1 when found,
 * 0 when not there, -1 on a read error (reported). */
static int
tarmember(const char *tar, const char *name, struct sink *s)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	const char *p;
	char chunk[65536];
	la_ssize_t k;
	int r = 0;

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, tar, 65536) != ARCHIVE_OK) {
		err("%s: %s", tar, archive_error_string(a));
		r = -1;
	}
	while (r == 0 && archive_read_next_header(a, &e) == ARCHIVE_OK) {
		p = archive_entry_pathname(e);
		while (p && p[0] == '.' && p[1] == '/')
			p += 2;
		if (!p || strcmp(p, name) || archive_entry_filetype(e) != AE_IFREG)
			continue;
		while ((k = archive_read_data(a, chunk, sizeof(chunk))) > 0)
			if (sinkwrite(s, chunk, (size_t)k) < 0)
				break;
		if (k < 0)
			err("%s: %s: %s", tar, name, archive_error_string(a));
		else if (s->err)
			err("cannot write %s: %s", s->tmp, strerror(s->err));
		r = k < 0 || s->err ? -1 : 1;
	}
	archive_read_free(a);
	return r;
}

/* The debian.tar.* of the Debian source package src names, as a want. */
static int
debiantar(struct arena *a, const struct source *src, const struct patch *p, struct want *dw)
{
	struct want pick = {.file = src->file, .sha256 = src->sha256, .loc = &p->loc, .debian = src->debian,
	                    .debianversion = src->debianversion};
	struct buf why = {0};
	struct srcfile *v;
	const char *version;
	size_t n, i;

	if (showsrc(a, src->debian, &v, &n) < 0) {
		errat(&p->loc, "`apt-cache showsrc %s` lists nothing: no such source package, or no deb-src entries",
		      src->debian);
		return -1;
	}
	version = srcpick(&pick, v, n, &why);
	for (i = 0; version && i < n; i++) {
		if (!strcmp(v[i].version, version) && strstr(v[i].name, ".debian.tar.")) {
			*dw = (struct want){.file = v[i].name, .sha256 = v[i].sha256, .loc = &p->loc, .debian = src->debian,
			                    .debianversion = version};
			return 0;
		}
	}
	errat(&p->loc, "cannot find the debian/ tree of Debian source package %s: %s", src->debian,
	      why.n ? why.p : "its version has no debian.tar.* (format 1.0 packages are not supported)");
	buffree(&why);
	return -1;
}

int
fetchdebianfile(const struct fetchcfg *cfg, const struct source *src, const struct patch *p, char **path)
{
	struct want pw = {.file = p->file, .sha256 = p->sha256, .loc = &p->loc}, dw;
	struct arena a = {0};
	struct sink s;
	char *tar = NULL, *member = NULL, *origin = NULL;
	int r = -1;

	*path = NULL;
	if (!ishex64(p->sha256)) {
		errat(&p->loc, "sha256 must be 64 lower-case hex digits");
		return -1;
	}
	if (cacheprepare(cfg) < 0)
		return -1;
	if (trycache(cfg, &pw, path))
		return 0;
	if (!src || !src->debian) {
		errat(&p->loc, "patch %s is taken from the Debian source package, but no source names one "
		      "(add `debian = NAME` to the source)", p->file);
		return -1;
	}
	if (debiantar(&a, src, p, &dw) < 0 || fetchwant(cfg, &dw, &tar) < 0)
		goto out;
	member = xasprintf("debian/%s", p->file);
	origin = xasprintf("%s:%s", dw.file, member);
	note(&pw, "extracting %s", origin);
	if (sinkopen(cfg, p->file, &s) < 0)
		goto out;
	if ((r = tarmember(tar, member, &s)) == 1) {
		r = sinkcommit(cfg, &pw, &s, origin);
		if (r < 0)
			errat(&p->loc, "cannot take %s:%s", p->file, pw.why.p);
	} else {
		if (r == 0)
			errat(&p->loc, "%s has no file %s", dw.file, member);
		sinkdiscard(&s);
		r = -1;
	}
	if (r == 0)
		*path = cachepath(cfg, "sha256", p->sha256);
out:
	buffree(&dw.why);
	buffree(&pw.why);
	arenafree(&a);
	free(tar);
	free(member);
	free(origin);
	return r;
}

/* Split s at white space, appending to the list. */
static void
splitwords(const char *s, const char ***v, size_t *n)
{
	size_t k;

	while (*s) {
		s += strspn(s, " \t\n");
		k = strcspn(s, " \t\n");
		if (!k)
			break;
		*v = xreallocarray(*v, *n + 1, sizeof(**v));
		(*v)[(*n)++] = xstrndup(s, k);
		s += k;
	}
}

/* A positive whole number from the environment into *v, unless *v is set
 * already; -1 (reported) for anything else. */
static int
envbound(const char *var, long long *v)
{
	const char *e = getenv(var);
	char *end;
	long long n;

	if (*v > 0 || !e || !*e)
		return 0;
	errno = 0;
	n = strtoll(e, &end, 10);
	if (errno || *end || n <= 0 || e[0] < '0' || e[0] > '9') {
		err("%s must be a positive whole number, not '%s'", var, e);
		return -1;
	}
	*v = n;
	return 0;
}

int
fetchcfgenv(struct fetchcfg *cfg)
{
	const char *e, **v = NULL;
	char cwd[4096], *own = NULL;
	size_t n = 0;

	if (!cfg->cache) {
		if ((e = getenv("UNDISTRO_CACHE")) && *e)
			own = xstrdup(e);
		else if ((e = getenv("XDG_CACHE_HOME")) && *e == '/')
			own = xasprintf("%s/undistro", e);
		else if ((e = getenv("HOME")) && *e)
			own = xasprintf("%s/.cache/undistro", e);
		else {
			err("no source cache directory: set UNDISTRO_CACHE (or HOME)");
			return -1;
		}
		cfg->cache = own;
	}
	/* absolute, so child processes and later chdirs see the same cache */
	if (cfg->cache[0] != '/' && getcwd(cwd, sizeof(cwd))) {
		cfg->cache = xasprintf("%s/%s", cwd, cfg->cache);
		free(own);
	}
	if (!cfg->nmirrors && (e = getenv("UNDISTRO_MIRRORS"))) {
		splitwords(e, &v, &n);
		cfg->mirrors = v;
		cfg->nmirrors = n;
	}
	if (envbound("UNDISTRO_FETCH_MAX_SIZE", &cfg->maxsize) < 0 ||
	    envbound("UNDISTRO_FETCH_TIMEOUT", &cfg->timeout) < 0 ||
	    envbound("UNDISTRO_FETCH_LOW_SPEED_TIME", &cfg->lowspeedtime) < 0)
		return -1;
	return 0;
}

/* The size of the cached file at path, into *size. */
static int
cachedsize(const char *path, long long *size)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		err("cannot stat %s:", path);
		return -1;
	}
	*size = (long long)st.st_size;
	return 0;
}

int
fetchnew(const struct fetchcfg *cfg, const char *from, const char *file, char hex[65], long long *size,
         char **path)
{
	struct loc at = {from, 0, 0};
	struct want w = {.file = file, .loc = &at};
	const char *slash = strrchr(from, '/');
	char *dir = NULL;
	struct stat st;
	size_t i;
	int r = -1;

	*path = NULL;
	w.max = cfg->maxsize > 0 ? cfg->maxsize : MAXSIZE;
	if (!file || !*file || strchr(file, '/') || !strcmp(file, ".") || !strcmp(file, "..")) {
		err("%s: no file name to keep it under: name one", from);
		return -1;
	}
	if (cacheprepare(cfg) < 0)
		return -1;
	if (!strstr(from, "://")) {
		/* a local file: read as a mirror directory's would be */
		if (stat(from, &st) < 0) {
			err("cannot read %s:", from);
			return -1;
		}
		dir = slash ? xstrndup(from, (size_t)(slash - from) + (slash == from)) : xstrdup(".");
		r = trydir(cfg, &w, dir);
	} else if (cfg->offline) {
		err("%s: fetching is offline", from);
	} else {
		for (i = 0; i < cfg->nmirrors && r < 0; i++)
			r = trymirror(cfg, &w, cfg->mirrors[i]);
		if (r < 0)
			r = tryurl(cfg, &w, from);
	}
	if (r < 0) {
		err("cannot fetch %s:%s", from, w.why.n ? w.why.p : "");
	} else {
		memcpy(hex, w.got, 65);
		*path = cachepath(cfg, "sha256", hex);
		r = cachedsize(*path, size);
	}
	buffree(&w.why);
	free(dir);
	return r;
}

/* Nonzero when name is the upstream tarball of a Debian source package:
 * NAME_VERSION.orig.tar.EXT (not a signature, not an orig-COMPONENT), or a
 * native package's NAME_VERSION.tar.EXT. */
static int
origtarball(const char *name)
{
	const char *t = strstr(name, ".tar.");

	if (!t || strstr(t, ".asc") || strstr(name, ".debian.tar."))
		return 0;
	return (size_t)(t - name) > 5 && !strncmp(t - 5, ".orig", 5) ? 1 : !strstr(name, ".orig");
}

int
fetchdebiansrc(const struct fetchcfg *cfg, const char *pkg, const char *version, struct fetchdeb *out)
{
	struct loc at = {pkg, 0, 0};
	struct arena a = {0};
	struct srcfile *v;
	struct want w = {.loc = &at, .debian = pkg};
	Pool *pool;
	size_t n, i;
	const struct srcfile *best = NULL;
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (showsrc(&a, pkg, &v, &n) < 0) {
		err("`apt-cache showsrc %s` lists nothing: no such Debian source package, or no deb-src entries "
		    "(ci/install-deps adds them)", pkg);
		arenafree(&a);
		return -1;
	}
	/* the newest offered version by Debian's rules (libsolv's), or the pinned one */
	pool = pool_create();
	pool_setdisttype(pool, DISTTYPE_DEB);
	for (i = 0; i < n; i++) {
		if (!origtarball(v[i].name) || (version && strcmp(v[i].version, version)))
			continue;
		if (!best || pool_evrcmp_str(pool, v[i].version, best->version, EVRCMP_COMPARE) > 0)
			best = &v[i];
	}
	pool_free(pool);
	if (!best) {
		struct buf vers = {0};

		srcversions(v, n, &vers);
		if (version)
			err("Debian source package %s has no version %s with an upstream tarball; offered: %s", pkg,
			    version, vers.p);
		else
			err("Debian source package %s offers no upstream tarball (versions: %s)", pkg, vers.p);
		buffree(&vers);
		arenafree(&a);
		return -1;
	}
	w.file = best->name;
	w.sha256 = best->sha256;
	/* unpinned, the backend picks among the versions carrying this file
	 * as a build of the drafted recipe would (a security update's files
	 * may be missing from a mirror that has the release's) */
	w.debianversion = version;
	w.max = cfg->maxsize > 0 ? cfg->maxsize : MAXSIZE;
	if (fetchwant(cfg, &w, &out->path) == 0 && cachedsize(out->path, &out->size) == 0) {
		out->file = xstrdup(best->name);
		out->version = xstrdup(best->version);
		memcpy(out->sha256, best->sha256, 65);
		r = 0;
	}
	buffree(&w.why);
	arenafree(&a);
	return r;
}
