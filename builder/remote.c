#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "record.h"
#include "remote.h"
#include "sha256.h"
#include "sign.h"
#include "store.h"
#include "str.h"

/* Bounds (remote.h): a dead or stalled server costs one of them per run. */
enum {
	CONNECTMS = 2000,   /* to connect */
	SHORTSECS = 5,      /* a record, HEAD or MKCOL, in all */
	LOWSPEED = 8192,    /* bytes/s below which a file transfer... */
	LOWSPEEDSECS = 10,  /* ...is abandoned after this long */
	RECMAX = 4096,      /* bytes of a record */
};

struct remote {
	char *url;          /* base, no trailing '/'; may hold a user and password */
	char *shown;        /* the same without them, for messages */
	struct trust trust;
	struct signkey *key;
	CURL *h;            /* one handle: its connection is reused */
	struct curl_slist *hdrs;
	int off;            /* a transport failure: no more requests this run */
	int pushing;        /* for the wording of that failure's warning */
	char errbuf[CURL_ERROR_SIZE];
	/* for remotesummary */
	size_t nsub, npushed, nhad, nfailed;
	unsigned long long subbytes, pushbytes;
	double subsecs, pushsecs;
};

/* One request's body: what a GET receives (into fd, or into mem when fd is
 * -1, at most max bytes, hashed), or what a PUT sends (from fd, or mem). */
struct body {
	int fd;
	struct buf mem;
	const char *up;
	size_t upn, upoff;
	unsigned long long max, n;
	struct sha256 h;
	int toobig, werr;
};

/* What a finished request means for its caller. */
enum reply {
	HOK,        /* 2xx */
	HMISS,      /* 404 */
	HCONFLICT,  /* 409: a PUT's collection is missing (lighttpd) */
	HTOOBIG,    /* the body was longer than the caller's bound */
	HLOCAL,     /* our side failed (writing the body; reported) */
	HDOWN,      /* a transport failure: warned, the remote is off */
};

static size_t
onrecv(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;

	n *= size;
	/* at once: a server streaming junk must not fill the store's disk */
	if (b->n + n > b->max) {
		b->toobig = 1;
		return 0;
	}
	b->n += n;
	sha256add(&b->h, p, n);
	if (b->fd < 0) {
		bufaddn(&b->mem, p, n);
		return n;
	}
	for (size_t off = 0; off < n;) {
		ssize_t w = write(b->fd, p + off, n - off);

		if (w < 0 && errno != EINTR) {
			b->werr = errno;
			return 0;
		}
		off += w > 0 ? (size_t)w : 0;
	}
	return n;
}

static size_t
onsend(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	ssize_t r;

	n *= size;
	if (b->fd < 0) {
		n = n < b->upn - b->upoff ? n : b->upn - b->upoff;
		memcpy(p, b->up + b->upoff, n);
		b->upoff += n;
		return n;
	}
	while ((r = read(b->fd, p, n)) < 0 && errno == EINTR)
		;
	if (r < 0) {
		b->werr = errno;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)r;
}

/* Sockets close-on-exec: the package builds forked later must not inherit
 * a connection to the server. */
static curl_socket_t
opensock(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* Turn the remote off for the rest of the run, saying why once. */
static void
down(struct remote *r, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!r->off)
		warn("remote %s unreachable (%s): %s", r->shown, why,
		     r->pushing ? "pushing nothing more" : "building locally");
	r->off = 1;
}

/* Set the handle up for one request of method (GET, HEAD, PUT or MKCOL) to
 * url; b carries the body either way (NULL: none). lng: a file, bounded by
 * speed rather than in all. */
static void
prepare(struct remote *r, const char *method, const char *url, struct body *b, int lng)
{
	CURL *h = r->h;

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "undistro");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, opensock);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECTMS);
	/* no "Expect: 100-continue" pause before each PUT's body */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->hdrs);
	if (lng) {
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)LOWSPEED);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)LOWSPEEDSECS);
	} else {
		curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)SHORTSECS);
	}
	if (!strcmp(method, "GET") || !strcmp(method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
		curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	}
	if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(method, "GET")) {
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, onrecv);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
		/* 0 would mean no bound: the callback keeps an empty file empty */
		if (b->max)
			curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)b->max);
	} else if (!strcmp(method, "PUT")) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, onsend);
		curl_easy_setopt(h, CURLOPT_READDATA, b);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)b->max);
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
}

/* Perform one request for path (below the base URL); see prepare. */
static enum reply
perform(struct remote *r, const char *method, const char *path, struct body *b, int lng)
{
	char *url = xasprintf("%s/%s", r->url, path);
	int read = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	CURLcode rc;
	long status = 0;

	prepare(r, method, url, b, lng);
	r->errbuf[0] = '\0';
	rc = curl_easy_perform(r->h);
	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &status);
	free(url);
	if (rc == CURLE_OK)
		return HOK;
	/* the status first: curl checks an error page's length against the
	 * bound before it fails on the status */
	if (status == 404 && read)
		return HMISS;
	if (status == 409 && !strcmp(method, "PUT"))
		return HCONFLICT;
	/* MKCOL of a collection that exists */
	if (status == 405 && !strcmp(method, "MKCOL"))
		return HOK;
	if (status < 400 && b && b->werr) {
		errno = b->werr;
		err("%s %s/%s: the local file:", method, r->shown, path);
		return HLOCAL;
	}
	if (status < 400 && b && (b->toobig || rc == CURLE_FILESIZE_EXCEEDED))
		return HTOOBIG;
	if (status >= 400)
		down(r, "HTTP %ld for %s %s/%s", status, method, r->shown, path);
	else
		down(r, "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
	return HDOWN;
}

/* A display form of url: no user or password, no trailing '/'. NULL when
 * url is not an http or https URL (not reported). */
static char *
shownurl(const char *url)
{
	CURLU *u = curl_url();
	char *s = NULL, *scheme = NULL, *out = NULL;

	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") && strcmp(scheme, "https")))
		goto out;
	curl_url_set(u, CURLUPART_USER, NULL, 0);
	curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
	if (curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK)
		goto out;
	out = xstrdup(s);
	for (size_t n = strlen(out); n > 0 && out[n - 1] == '/'; n--)
		out[n - 1] = '\0';
out:
	curl_free(s);
	curl_free(scheme);
	curl_url_cleanup(u);
	return out;
}

int
remoteurlvalid(const char *url)
{
	char *s = shownurl(url);

	free(s);
	return s != NULL;
}

struct remote *
remoteopen(const char *url, const char *trustfile, const char *keyfile)
{
	static int ready;
	struct remote *r = xcalloc(1, sizeof(*r));
	char *pub;

	if (!ready && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
		ready = 1;
	r->url = xstrdup(url);
	for (size_t n = strlen(r->url); n > 0 && r->url[n - 1] == '/'; n--)
		r->url[n - 1] = '\0';
	if (!(r->shown = shownurl(url))) {
		err("the remote '%s' is not an http or https URL", url);
		goto fail;
	}
	if (!ready || !(r->h = curl_easy_init()) || !(r->hdrs = curl_slist_append(NULL, "Expect:"))) {
		err("cannot initialise libcurl");
		goto fail;
	}
	if (trustfile && trustload(&r->trust, trustfile) < 0)
		goto fail;
	if (keyfile) {
		if (!(r->key = signkeyload(keyfile)))
			goto fail;
		pub = signkeypub(r->key);
		if (trustadd(&r->trust, pub) < 0) {
			free(pub);
			goto fail;
		}
		free(pub);
	}
	if (!r->trust.n) {
		err("%s holds no public key: no record of the remote could be trusted (add the line of a "
		    "NAME.pub that `undistro key new` wrote)", trustfile ? trustfile : "UNDISTRO_TRUSTED_KEYS");
		goto fail;
	}
	return r;
fail:
	remoteclose(r);
	return NULL;
}

const char *
remoteshown(const struct remote *r)
{
	return r->shown;
}

void
remoteclose(struct remote *r)
{
	if (!r)
		return;
	if (r->h)
		curl_easy_cleanup(r->h);
	curl_slist_free_all(r->hdrs);
	trustfree(&r->trust);
	signkeyfree(r->key);
	free(r->url);
	free(r->shown);
	free(r);
}

/* GET file i of rec into dir, checking its size and sha256 on the way:
 * 1 got; 0 not (the reason appended to why, or the remote went off with
 * why left empty); -1 on a local failure (reported). */
static int
getblob(struct remote *r, const char *dir, const struct record *rec, size_t i, struct buf *why)
{
	char *file = xasprintf("%s/%s", dir, recblobnames[i]), *path = xasprintf("cas/%s", rec->blob[i].sha256);
	struct body b = {.max = rec->blob[i].size};
	enum reply x = HLOCAL;
	char hex[65];
	int res = 0;

	sha256init(&b.h);
	if ((b.fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
		err("cannot create %s:", file);
	else
		x = perform(r, "GET", path, &b, 1);
	sha256finalhex(&b.h, hex);
	if (x == HOK && b.n != rec->blob[i].size)
		bufprintf(why, "%s/%s (%s) has %llu bytes, the record says %llu", r->shown, path, recblobnames[i],
		          b.n, rec->blob[i].size);
	else if (x == HOK && strcmp(hex, rec->blob[i].sha256))
		bufprintf(why, "%s/%s (%s) has sha256 %s", r->shown, path, recblobnames[i], hex);
	else if (x == HOK)
		res = 1;
	else if (x == HMISS)
		bufprintf(why, "%s/%s (%s) is missing", r->shown, path, recblobnames[i]);
	else if (x == HTOOBIG)
		bufprintf(why, "%s/%s (%s) is longer than the record's %llu bytes", r->shown, path, recblobnames[i],
		          rec->blob[i].size);
	else if (x == HLOCAL)
		res = -1;
	if (res == 1 && (fsync(b.fd) < 0 || close(b.fd) < 0)) {
		err("cannot write %s:", file);
		res = -1;
	} else if (b.fd >= 0 && res != 1) {
		close(b.fd);
	}
	r->subbytes += res == 1 ? b.n : 0;
	free(file);
	free(path);
	return res;
}

/* The record of key from the remote into rec: 1 got; 0 a miss, a refusal
 * (the reason appended to why) or the remote went off. */
static int
getrecord(struct remote *r, const char *key, struct record *rec, struct buf *why)
{
	char *path = xasprintf("ac/%s", key);
	struct body b = {.fd = -1, .max = RECMAX};
	const char *bad = NULL;
	int res = 0;

	sha256init(&b.h);
	switch (perform(r, "GET", path, &b, 0)) {
	case HOK:
		if (recordparse(rec, b.mem.p ? b.mem.p : "", b.mem.n, key, &r->trust, &bad) == 0)
			res = 1;
		else
			bufprintf(why, "%s/%s: %s", r->shown, path, bad ? bad : "refused");
		break;
	case HTOOBIG:
		bufprintf(why, "%s/%s: longer than %d bytes", r->shown, path, RECMAX);
		break;
	default:
		break;
	}
	sha256final(&b.h, (unsigned char[32]){0});
	buffree(&b.mem);
	free(path);
	return res;
}

int
remotesubst(struct remote *r, const struct store *st, const char *key, const char *name)
{
	struct record rec;
	struct buf why = {0};
	char *dir = NULL;
	double t0 = osnow();
	int res = 0;

	if (r->off || getrecord(r, key, &rec, &why) <= 0)
		goto out;
	if (strcmp(rec.name, name)) {
		bufprintf(&why, "%s/ac/%s: the record is for the package '%s'", r->shown, key, rec.name);
		goto out;
	}
	if (!(dir = storetmp(st, key))) {
		res = -1;
		goto out;
	}
	for (size_t i = 0; i < RECBLOBS; i++)
		if ((res = getblob(r, dir, &rec, i, &why)) <= 0)
			goto out;
	res = storeimport(st, key, name, dir, &why);
	if (res == 0) {
		/* what storeimport refused was all the server's */
		struct buf w = {0};

		bufprintf(&w, "%s/ac/%s: the entry it names %s", r->shown, key, why.p);
		buffree(&why);
		why = w;
	}
out:
	if (why.n)
		warn("refused %s from the remote: %s: building it", name, why.p);
	if (res == 1) {
		r->nsub++;
		if (!quiet)
			fprintf(stderr, "undistro: substituted %s from %s\n", name, r->shown);
	}
	if (dir && res != 1)
		rmtree(dir);
	r->subsecs += osnow() - t0;
	buffree(&why);
	free(dir);
	return res;
}

/* PUT a file (fd) or text (mem) of n bytes at path; once more after making
 * the collections when the server says one is missing (409). 0 or -1 (the
 * remote is off then, or a local read failed, reported). */
static int
put(struct remote *r, const char *path, int fd, const char *mem, unsigned long long n)
{
	static const char *const cols[] = {"cas/", "ac/"};

	for (int tries = 0;; tries++) {
		struct body b = {.fd = fd, .up = mem, .upn = mem ? (size_t)n : 0, .max = n};
		enum reply x;

		if (fd >= 0 && lseek(fd, 0, SEEK_SET) < 0) {
			err("cannot push %s/%s: seek:", r->shown, path);
			return -1;
		}
		x = perform(r, "PUT", path, &b, fd >= 0);
		if (x == HOK)
			return 0;
		if (x != HCONFLICT)
			return -1;
		if (tries > 0) {
			down(r, "HTTP 409 for PUT %s/%s, after MKCOL of cas/ and ac/", r->shown, path);
			return -1;
		}
		for (size_t i = 0; i < 2; i++)
			if (perform(r, "MKCOL", cols[i], NULL, 0) != HOK)
				return -1;
	}
}

/* PUT each file of rec's entry that the remote lacks (HEAD), adding to
 * *bytes and *nput; 0 or -1 (warned, or reported). */
static int
pushfiles(struct remote *r, const struct store *st, const struct record *rec, unsigned long long *bytes,
          size_t *nput)
{
	for (size_t i = 0; i < RECBLOBS; i++) {
		char *cas = xasprintf("cas/%s", rec->blob[i].sha256), *file;
		enum reply x = perform(r, "HEAD", cas, NULL, 0);
		int fd, ok;

		if (x != HMISS) {
			free(cas);
			if (x == HOK)
				continue;
			return -1;
		}
		file = xasprintf("%s/pkg/%s/%s", st->dir, rec->key, recblobnames[i]);
		if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
			err("cannot push %s:", file);
		ok = fd >= 0 && put(r, cas, fd, NULL, rec->blob[i].size) == 0;
		if (fd >= 0)
			close(fd);
		free(file);
		free(cas);
		if (!ok)
			return -1;
		*bytes += rec->blob[i].size;
		(*nput)++;
	}
	return 0;
}

int
remotepush(struct remote *r, const struct store *st, const char *key, const char *name)
{
	struct record rec;
	char *path = xasprintf("ac/%s", key), *text = NULL;
	unsigned long long bytes = 0;
	double t0 = osnow();
	size_t n, nput = 0;
	int res = -1;

	r->pushing = 1;
	if (r->off || !r->key)
		goto out;
	switch (perform(r, "HEAD", path, NULL, 0)) {
	case HOK:
		r->nhad++;
		res = 0;
		goto out;
	case HMISS:
		break;
	default:
		goto out;
	}
	/* files first, the record last: a reader never finds a record whose
	 * files are not all there yet */
	if (recordfromstore(&rec, st->dir, key, name) < 0 || pushfiles(r, st, &rec, &bytes, &nput) < 0)
		goto out;
	text = recordformat(&rec, r->key, &n);
	if (put(r, path, -1, text, n) < 0)
		goto out;
	res = 1;
	r->npushed++;
	r->pushbytes += bytes;
	if (!quiet)
		fprintf(stderr, "undistro: pushed %s to %s (%zu new file%s, %.1f MiB)\n", name, r->shown, nput,
		        nput == 1 ? "" : "s", (double)bytes / 1048576);
out:
	r->nfailed += res < 0;
	r->pushsecs += osnow() - t0;
	free(text);
	free(path);
	return res;
}

void
remotesummary(const struct remote *r, int pushed)
{
	if (quiet)
		return;
	if (!pushed && r->nsub)
		fprintf(stderr, "undistro: substituted %zu package%s (%.1f MiB) from %s in %.1fs\n", r->nsub,
		        r->nsub == 1 ? "" : "s", (double)r->subbytes / 1048576, r->shown, r->subsecs);
	if (pushed)
		fprintf(stderr, "undistro: pushed %zu package%s (%.1f MiB) to %s in %.1fs; %zu already there%s\n",
		        r->npushed, r->npushed == 1 ? "" : "s", (double)r->pushbytes / 1048576, r->shown, r->pushsecs,
		        r->nhad, r->nfailed ? "; some not pushed (see the warnings above)" : "");
}
