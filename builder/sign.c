/* Ed25519 keys, signatures and trusted keys through libcrypto (sign.h).
 * Secret material lives in fixed buffers that are wiped (OPENSSL_cleanse)
 * before they go out of scope, never in a struct buf that realloc could
 * copy and leave behind. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "sign.h"

enum {
	SEEDLEN = 32,
	PUBLEN = 32,
	SIGLEN = 64,
	/* "NAME:" and the base64 of a signature, the longest thing on a line */
	LINEMAX = SIGNNAMEMAX + 1 + (SIGLEN + 2) / 3 * 4,
	TRUSTMAX = 1 << 20,   /* a trusted-keys file: thousands of keys */
};

struct signkey {
	char name[SIGNNAMEMAX + 1];
	EVP_PKEY *pk;         /* libcrypto keeps (and clears on free) the seed */
};

/* A-Z a-z 0-9 . _ - (no locale: isalnum would follow it). */
static int
namechar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-';
}

static int
b64char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int
signnamevalid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!namechar((unsigned char)s[i]) || i == SIGNNAMEMAX)
			return 0;
	return i > 0;
}

/* Decode exactly len bytes from the n characters at s, accepting only the
 * canonical padded encoding (what EVP_EncodeBlock gives back): EVP_DecodeBlock
 * alone skips blanks and ignores stray bits. 0, or -1 with *bad the offset
 * of the first character at fault. */
static int
decode64(const char *s, size_t n, unsigned char *out, size_t len, size_t *bad)
{
	unsigned char raw[SIGLEN + 3], again[LINEMAX + 1];
	size_t want = (len + 2) / 3 * 4, i;
	int r = -1;

	for (i = 0; i < n && i < want && (b64char((unsigned char)s[i]) || (s[i] == '=' && i + 2 >= want)); i++)
		;
	*bad = i < n ? i : 0;
	if (i == n && n == want && EVP_DecodeBlock(raw, (const unsigned char *)s, (int)n) == (int)(want / 4 * 3)) {
		EVP_EncodeBlock(again, raw, (int)len);
		if (!memcmp(again, s, n)) {
			memcpy(out, raw, len);
			r = 0;
		}
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(again, sizeof(again));
	return r;
}

/* Parse the n bytes at s as "NAME:BASE64" of len bytes. 0, or -1 with *off
 * the offset of the fault and *why what is wrong. */
static int
parsenamed(const char *s, size_t n, char name[SIGNNAMEMAX + 1], unsigned char *out, size_t len, size_t *off,
           const char **why)
{
	size_t i, bad;

	for (i = 0; i < n && s[i] != ':'; i++) {
		if (!namechar((unsigned char)s[i])) {
			*off = i;
			*why = "expected NAME:BASE64, where a key name holds only A-Z a-z 0-9 . _ -";
			return -1;
		}
		if (i == SIGNNAMEMAX) {
			*off = i;
			*why = "a key name is at most 64 characters";
			return -1;
		}
	}
	if (i == 0 || i == n) {
		*off = i;
		*why = i ? "expected ':' and the base64 of the key after the key name" : "expected a key name before ':'";
		return -1;
	}
	memcpy(name, s, i);
	name[i] = '\0';
	if (decode64(s + i + 1, n - i - 1, out, len, &bad) < 0) {
		*off = i + 1 + bad;
		*why = len == SIGLEN ? "expected the canonical base64 of a 64-byte Ed25519 signature after ':'"
		                     : "expected the canonical base64 of a 32-byte Ed25519 key after ':'";
		return -1;
	}
	return 0;
}

/* "NAME:BASE64(b)" into dst (LINEMAX + 1 bytes); returns its length. */
static size_t
fmtnamed(char *dst, const char *name, const unsigned char *b, size_t len)
{
	size_t n = strlen(name);

	memcpy(dst, name, n);
	dst[n++] = ':';
	return n + (size_t)EVP_EncodeBlock((unsigned char *)dst + n, b, (int)len);
}

static EVP_PKEY *
keyfromseed(const unsigned char seed[SEEDLEN])
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, SEEDLEN);

	if (!pk)
		fatal(EXIT_SYSTEM, "libcrypto cannot make an Ed25519 key");
	return pk;
}

static void
rawpub(EVP_PKEY *pk, unsigned char pub[PUBLEN])
{
	size_t len = PUBLEN;

	if (EVP_PKEY_get_raw_public_key(pk, pub, &len) != 1 || len != PUBLEN)
		fatal(EXIT_SYSTEM, "libcrypto gives no Ed25519 public key");
}

/* Create path with exactly mode 0600 (never replacing a file: O_EXCL) and
 * write the n bytes at data, fsynced. Nothing is left on failure. The
 * directory entry becomes durable with the next writeatomic in the same
 * directory (its rename fsyncs the directory). */
static int
writeexcl(const char *path, const char *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600), e;
	ssize_t w;

	if (fd < 0) {
		e = errno;
		if (e == EEXIST)
			err("%s exists: a key file is never overwritten; choose another name, or remove it first", path);
		else
			err("cannot create %s:", path);
		errno = e;
		return -1;
	}
	/* the umask may have taken bits from 0600, never added any */
	if (fchmod(fd, 0600) < 0)
		goto fail;
	for (; n; data += w, n -= (size_t)w)
		if ((w = write(fd, data, n)) < 0 && errno != EINTR)
			goto fail;
		else if (w < 0)
			w = 0;
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	e = errno;
	err("write %s:", path);
	if (fd >= 0)
		close(fd);
	unlink(path);
	errno = e;
	return -1;
}

int
signkeynew(const char *dir, const char *name)
{
	unsigned char seed[SEEDLEN], pub[PUBLEN];
	char line[LINEMAX + 2];
	char *keypath, *pubpath;
	EVP_PKEY *pk;
	size_t n;
	int r, e;

	if (!signnamevalid(name)) {
		err("'%s' is not a key name: use 1 to %d of A-Z a-z 0-9 . _ -", name, SIGNNAMEMAX);
		errno = EINVAL;
		return -1;
	}
	if (RAND_priv_bytes(seed, SEEDLEN) != 1)
		fatal(EXIT_SYSTEM, "libcrypto has no random bytes for a key");
	pk = keyfromseed(seed);
	rawpub(pk, pub);
	EVP_PKEY_free(pk);
	keypath = xasprintf("%s/%s.key", dir, name);
	pubpath = xasprintf("%s/%s.pub", dir, name);
	n = fmtnamed(line, name, seed, SEEDLEN);
	line[n++] = '\n';
	OPENSSL_cleanse(seed, sizeof(seed));
	r = writeexcl(keypath, line, n);
	OPENSSL_cleanse(line, sizeof(line));
	if (r == 0) {
		n = fmtnamed(line, name, pub, PUBLEN);
		line[n++] = '\n';
		/* without its .pub a new key is no use: take it back */
		if ((r = writeatomic(pubpath, line, n, 0644)) < 0) {
			e = errno;
			unlink(keypath);
			errno = e;
		}
	}
	free(keypath);
	free(pubpath);
	return r;
}

/* Read the secret key file path into buf (size bytes, NUL-terminated) after
 * checking that it is a regular file only its owner may read; returns its
 * length, or -1 reported. */
static long
readsecret(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	size_t n = 0;
	ssize_t r = 1;

	buf[0] = '\0';
	if (fd < 0 || fstat(fd, &st) < 0) {
		err("cannot open the secret key %s:", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		err("%s is not a regular file: give a secret key file of `undistro key new`", path);
		r = -1;
	} else if (st.st_mode & 077) {
		err("%s: others may read this secret key (mode %04o): chmod 600 %s, or better make a new key", path,
		    (unsigned)(st.st_mode & 07777), path);
		r = -1;
	}
	while (r > 0 && n < size - 1 && (r = read(fd, buf + n, size - 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			r = 1;
		else if (r < 0)
			err("read %s:", path);
		else
			n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return r < 0 ? -1 : (long)n;
}

struct signkey *
signkeyload(const char *path)
{
	char buf[LINEMAX + 3], name[SIGNNAMEMAX + 1];
	unsigned char seed[SEEDLEN];
	struct signkey *k = NULL;
	struct loc at = {path, 1, 1};
	const char *why, *nl;
	long got = readsecret(path, buf, sizeof(buf));
	size_t n, off;

	if (got < 0)
		return NULL;
	n = (size_t)got;
	if (n && buf[n - 1] == '\n')
		n--;
	if ((nl = memchr(buf, '\n', n)) || n > LINEMAX) {
		at = nl ? (struct loc){path, 2, 1} : (struct loc){path, 1, LINEMAX + 1};
		errat(&at, "%s", nl ? "a secret key file holds one line: NAME:BASE64" : "line too long for a key");
	} else if (parsenamed(buf, n, name, seed, SEEDLEN, &off, &why) < 0) {
		at.col = (int)off + 1;
		errat(&at, "%s", why);
	} else {
		k = xcalloc(1, sizeof(*k));
		memcpy(k->name, name, sizeof(name));
		k->pk = keyfromseed(seed);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(seed, sizeof(seed));
	return k;
}

void
signkeyfree(struct signkey *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pk);
	free(k);
}

const char *
signkeyname(const struct signkey *k)
{
	return k->name;
}

char *
signkeypub(const struct signkey *k)
{
	unsigned char pub[PUBLEN];
	char line[LINEMAX + 1];

	rawpub(k->pk, pub);
	fmtnamed(line, k->name, pub, PUBLEN);
	return xstrdup(line);
}

char *
signmsg(const struct signkey *k, const void *msg, size_t n)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[SIGLEN];
	size_t len = SIGLEN;
	char line[LINEMAX + 1];

	/* Ed25519 hashes the message itself: no digest, one shot */
	if (!ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pk) != 1 ||
	    EVP_DigestSign(ctx, sig, &len, msg, n) != 1 || len != SIGLEN)
		fatal(EXIT_SYSTEM, "libcrypto cannot sign with the Ed25519 key %s", k->name);
	EVP_MD_CTX_free(ctx);
	fmtnamed(line, k->name, sig, SIGLEN);
	return xstrdup(line);
}

static void
trustpush(struct trust *t, const char *name, const unsigned char pub[PUBLEN])
{
	struct trustkey *tk;

	t->keys = xreallocarray(t->keys, t->n + 1, sizeof(*t->keys));
	tk = &t->keys[t->n++];
	snprintf(tk->name, sizeof(tk->name), "%s", name);
	memcpy(tk->pub, pub, PUBLEN);
}

int
trustload(struct trust *t, const char *path)
{
	char name[SIGNNAMEMAX + 1], *data;
	unsigned char pub[PUBLEN];
	const char *s, *end, *nl, *why;
	struct loc at = {path, 0, 0};
	size_t n, off;
	int r = 0;

	if (readregular(path, TRUSTMAX, NULL, &data, &n) < 0)
		return -1;
	for (s = data, end = data + n; s < end; s = nl + 1) {
		if (!(nl = memchr(s, '\n', (size_t)(end - s))))
			nl = end;
		at.line++;
		if (nl == s || *s == '#')
			continue;
		if (parsenamed(s, (size_t)(nl - s), name, pub, PUBLEN, &off, &why) < 0) {
			at.col = (int)off + 1;
			errat(&at, "%s", why);
			r = -1;
		} else {
			trustpush(t, name, pub);
		}
	}
	free(data);
	return r;
}

int
trustadd(struct trust *t, const char *line)
{
	char name[SIGNNAMEMAX + 1];
	unsigned char pub[PUBLEN];
	const char *why;
	size_t off;

	if (parsenamed(line, strlen(line), name, pub, PUBLEN, &off, &why) < 0) {
		err("public key '%s', at character %zu: %s", line, off + 1, why);
		return -1;
	}
	trustpush(t, name, pub);
	return 0;
}

/* 1 when sig is pub's signature of msg. */
static int
verify(const unsigned char pub[PUBLEN], const void *msg, size_t n, const unsigned char sig[SIGLEN])
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, PUBLEN);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = pk && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
	         EVP_DigestVerify(ctx, sig, SIGLEN, msg, n) == 1;

	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return ok;
}

int
trustcheck(const struct trust *t, const void *msg, size_t n, const char *sig)
{
	char name[SIGNNAMEMAX + 1];
	unsigned char raw[SIGLEN];
	const char *why;
	size_t off;

	if (parsenamed(sig, strlen(sig), name, raw, SIGLEN, &off, &why) < 0)
		return 0;
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->keys[i].name, name) && verify(t->keys[i].pub, msg, n, raw))
			return 1;
	return 0;
}

void
trustfree(struct trust *t)
{
	free(t->keys);
	*t = (struct trust){0};
}
