/* Signed records of store entries (record.h). The parser is strict: one
 * spelling per record, so that what is signed is what is read, and a
 * refused record can say why. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "recipe.h"
#include "record.h"
#include "sha256.h"
#include "sign.h"
#include "str.h"

const char *const recblobnames[RECBLOBS] = {"pkg.tar.zst", "manifest", "info"};

static int
ishex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Nonzero when s is 64 lowercase hex digits. */
static int
hex64valid(const char *s)
{
	size_t i;

	for (i = 0; i < 64 && ishex((unsigned char)s[i]); i++)
		;
	return i == 64 && !s[i];
}

static void
hashchunk(void *ctx, const void *p, size_t n)
{
	sha256add(ctx, p, n);
}

int
recordfromstore(struct record *r, const char *storedir, const char *key, const char *name)
{
	struct sha256 h;
	long long got;
	char *path;

	if (!hex64valid(key) || !namevalid(name)) {
		err("no record for '%s' of '%s': not a store key and package name", key, name);
		return -1;
	}
	*r = (struct record){0};
	memcpy(r->key, key, 65);
	snprintf(r->name, sizeof(r->name), "%s", name);
	for (int i = 0; i < RECBLOBS; i++) {
		path = xasprintf("%s/pkg/%s/%s", storedir, key, recblobnames[i]);
		sha256init(&h);
		/* one read gives both size and hash: no window between them */
		got = osstreamfile(path, SIZE_MAX, hashchunk, &h, NULL, 0);
		sha256finalhex(&h, r->blob[i].sha256);
		free(path);
		if (got < 0)
			return -1;
		r->blob[i].size = (unsigned long long)got;
	}
	return 0;
}

char *
recordformat(const struct record *r, const struct signkey *k, size_t *n)
{
	struct buf b = {0};
	char *sig;

	bufprintf(&b, "undistro-record 1\nkey %s\nname %s\n", r->key, r->name);
	for (int i = 0; i < RECBLOBS; i++)
		bufprintf(&b, "blob %s %s %llu\n", recblobnames[i], r->blob[i].sha256, r->blob[i].size);
	sig = signmsg(k, b.p, b.n);
	bufprintf(&b, "sig %s\n", sig);
	free(sig);
	*n = b.n;
	return b.p;
}

/* A cursor over the record's text. */
struct cur {
	const char *p, *end;
};

/* Consume the literal s. */
static int
lit(struct cur *c, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n))
		return 0;
	c->p += n;
	return 1;
}

/* Consume 64 lowercase hex digits into out. */
static int
hex64(struct cur *c, char out[65])
{
	for (int i = 0; i < 64; i++)
		if (c->p + i == c->end || !ishex((unsigned char)c->p[i]))
			return 0;
	memcpy(out, c->p, 64);
	out[64] = '\0';
	c->p += 64;
	return 1;
}

/* Consume a decimal size: digits without a leading zero (but "0"), no overflow. */
static int
size(struct cur *c, unsigned long long *v)
{
	const char *s = c->p;

	for (*v = 0; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++) {
		if (*v > (ULLONG_MAX - (unsigned)(*c->p - '0')) / 10)
			return 0;
		*v = *v * 10 + (unsigned)(*c->p - '0');
	}
	return c->p > s && (*s != '0' || c->p == s + 1);
}

/* Consume up to the next '\n' (excluded) into out (at most max bytes and
 * a NUL); 0 when there is no '\n' or the line is longer. */
static int
upto(struct cur *c, char *out, size_t max)
{
	const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));

	if (!nl || (size_t)(nl - c->p) > max)
		return 0;
	memcpy(out, c->p, (size_t)(nl - c->p));
	out[nl - c->p] = '\0';
	c->p = nl;
	return 1;
}

/* The record's lines before "sig ", into r; NULL or why not. */
static const char *
parsebody(struct cur *c, struct record *r)
{
	static const char *const badblob[RECBLOBS] = {
		"malformed: the blob pkg.tar.zst line is missing or wrong",
		"malformed: the blob manifest line is missing or wrong",
		"malformed: the blob info line is missing or wrong",
	};

	if (!lit(c, "undistro-record 1\n"))
		return "malformed: not an undistro-record 1";
	if (!lit(c, "key ") || !hex64(c, r->key) || !lit(c, "\n"))
		return "malformed: the key line is missing or wrong";
	if (!lit(c, "name ") || !upto(c, r->name, sizeof(r->name) - 1) || !namevalid(r->name) || !lit(c, "\n"))
		return "malformed: the name line is missing or wrong";
	for (int i = 0; i < RECBLOBS; i++)
		if (!lit(c, "blob ") || !lit(c, recblobnames[i]) || !lit(c, " ") || !hex64(c, r->blob[i].sha256) ||
		    !lit(c, " ") || !size(c, &r->blob[i].size) || !lit(c, "\n"))
			return badblob[i];
	return NULL;
}

int
recordparse(struct record *r, const char *text, size_t n, const char *wantkey, const struct trust *t,
            const char **why)
{
	/* "NAME:" and 88 base64 characters; one more to notice a longer one */
	char sig[SIGNNAMEMAX + 1 + 88 + 2], *colon;
	struct cur c = {text, text + n};
	struct record got = {0};
	const char *signedend = NULL;
	size_t i;

	if (n > RECORDMAX)
		*why = "larger than 4096 bytes: not a record";
	else if (memchr(text, '\0', n))
		*why = "malformed: holds a NUL byte";
	else if ((*why = parsebody(&c, &got)))
		;
	else if ((signedend = c.p) == c.end)
		*why = "unsigned";
	else if (!lit(&c, "sig ") || !upto(&c, sig, sizeof(sig) - 2) || !lit(&c, "\n"))
		*why = "malformed: the sig line is missing or wrong";
	else if (c.p != c.end)
		*why = "malformed: bytes after the sig line";
	else if (strcmp(got.key, wantkey))
		*why = "for another key";
	else if (!(colon = strchr(sig, ':')))
		*why = "malformed: the sig line is missing or wrong";
	else {
		*colon = '\0';
		for (i = 0; i < t->n && strcmp(t->keys[i].name, sig); i++)
			;
		*colon = ':';
		if (i == t->n)
			*why = "signed by a key not in the trusted keys";
		else if (!trustcheck(t, text, (size_t)(signedend - text), sig))
			*why = "bad signature: not made by the trusted key of that name over this record";
	}
	if (*why)
		return -1;
	*r = got;
	return 0;
}
