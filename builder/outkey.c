/* Output keys: see outkey.h. */
#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "outkey.h"
#include "recipe.h"
#include "sha256.h"
#include "solve.h"
#include "str.h"
#include "target.h"
#include "tree.h"

/* Includes nest at most this deep (tree.c refuses cycles; this only bounds
 * the recursion should it not). */
#define INCLUDEDEPTH 64

struct okey {
	struct sha256 h;
	int bad;        /* an input could not be read: no key */
};

/* One field: TAG, the length of the value, the value. Length-prefixed, so no
 * byte of a value (a newline in a file name) can make two inputs serialize
 * alike. */
static void
field(struct okey *k, const char *tag, const void *v, size_t n)
{
	char head[64];
	int m = snprintf(head, sizeof(head), "%s %zu:", tag, n);

	sha256add(&k->h, head, (size_t)m);
	sha256add(&k->h, v, n);
	sha256add(&k->h, "\n", 1);
}

static void
fields(struct okey *k, const char *tag, const char *s)
{
	field(k, tag, s ? s : "", s ? strlen(s) : 0);
}

static void
fieldf(struct okey *k, const char *tag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
fieldf(struct okey *k, const char *tag, const char *fmt, ...)
{
	char v[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	field(k, tag, v, n < 0 ? 0 : (size_t)n >= sizeof(v) ? sizeof(v) - 1 : (size_t)n);
}

/* The contents of the regular file path as a field (their sha256). A FIFO
 * or device is never waited on: opened O_NONBLOCK, and refused after an
 * fstat unless the caller's lstat has just seen a regular file (walked:
 * then a symlink is refused by O_NOFOLLOW, and one stat per overlay file is
 * all a no-op build spends). */
static void
fieldfile(struct okey *k, const char *tag, const char *path, int walked)
{
	struct sha256 h;
	struct stat st;
	char buf[65536], hex[65];
	ssize_t r = -1;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (walked ? O_NOFOLLOW : 0));

	if (fd >= 0 && (walked || (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)))) {
		sha256init(&h);
		while ((r = read(fd, buf, sizeof(buf))) != 0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				break;
			sha256add(&h, buf, (size_t)r);
		}
		sha256finalhex(&h, hex);
	}
	if (fd >= 0)
		close(fd);
	if (r != 0) {
		k->bad = 1;
		return;
	}
	fields(k, tag, hex);
}

/* A tool or data file by identity; a missing one is a field too (the build
 * that follows reports it). */
static void
fieldstat(struct okey *k, const char *tag, const char *path)
{
	struct stat st;

	if (!path || stat(path, &st) < 0) {
		fields(k, tag, "-");
		return;
	}
	fieldf(k, tag, "%s %ju %jd %jd.%09ld", path, (uintmax_t)st.st_ino, (intmax_t)st.st_size,
	       (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

static void
fieldtool(struct okey *k, const char *name)
{
	char *p = ospathfind(name);

	field(k, "tool", name, strlen(name));
	fieldstat(k, "at", p);
	free(p);
}

/* The role's file, then those of the roles it includes, depth first. */
static void
rolefiles(struct okey *k, const struct tree *t, const struct role *ro, int depth)
{
	if (depth > INCLUDEDEPTH) {
		k->bad = 1;
		return;
	}
	fields(k, "role", ro->name);
	fieldfile(k, "role-file", ro->path, 0);
	for (size_t i = 0; i < ro->include.n && !k->bad; i++) {
		const struct role *inc = treerole(t, ro->include.v[i]);

		if (!inc) {
			k->bad = 1;
			return;
		}
		rolefiles(k, t, inc, depth + 1);
	}
}

/* One overlay entry, as rootfs.c (overlayent) reads it. */
static int
overlayent(void *ctx, const struct walkent *e)
{
	struct okey *k = ctx;
	char target[4096];
	ssize_t n;

	field(k, "path", e->rel, strlen(e->rel));
	if (S_ISDIR(e->st->st_mode)) {
		fields(k, "type", "d");
	} else if (S_ISLNK(e->st->st_mode)) {
		if ((n = readlink(e->path, target, sizeof(target))) < 0 || (size_t)n == sizeof(target)) {
			k->bad = 1;
			return -1;
		}
		fields(k, "type", "l");
		field(k, "target", target, (size_t)n);
	} else if (S_ISREG(e->st->st_mode)) {
		fields(k, "type", e->st->st_mode & 0111 ? "fx" : "f");
		fieldfile(k, "contents", e->path, 1);
	} else {
		k->bad = 1;     /* rootfs.c refuses it and says so */
	}
	return k->bad ? -1 : 0;
}

static void
overlays(struct okey *k, const struct tree *t, const struct role *flat)
{
	for (size_t i = 0; i < flat->overlays.n && !k->bad; i++) {
		char *dir = xasprintf("%s/%s", t->overlays, flat->overlays.v[i]);
		struct stat st;

		fields(k, "overlay", flat->overlays.v[i]);
		/* quiet: oswalk would report an unreadable directory, rootfs.c
		 * reports it again */
		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
			k->bad = 1;
		else if (oswalk(dir, overlayent, k) < 0)
			k->bad = 1;
		free(dir);
	}
}

static void
keyfiles(struct okey *k, const struct outkeyin *in)
{
	for (size_t i = 0; i < in->flat->nusers; i++) {
		const struct user *u = &in->flat->users[i];

		fields(k, "user", u->name);
		for (size_t j = 0; j < u->keys.n; j++) {
			const char *p = u->keys.v[j];
			char *full = p[0] == '/' ? xstrdup(p) : xasprintf("%s/%s", in->tree->root, p);

			fieldfile(k, "keys", full, 0);
			free(full);
		}
	}
	for (size_t i = 0; in->authorized_keys && in->authorized_keys[i]; i++)
		fieldfile(k, "extra-keys", in->authorized_keys[i], 0);
}

/* What writes the outputs, by identity (outkey.h says why not by version). */
static void
tools(struct okey *k, const struct outkeyin *in)
{
	static const char *const image[] = {
		"tar", "mkfs.erofs", "sfdisk", "mkfs.vfat", "mcopy", "mmd", "syslinux", "qemu-img", NULL,
	};
	const struct target *t = in->target;
	char *strip = xasprintf("%sstrip", targetcross(t));

	fieldtool(k, strip);
	free(strip);
	if (!in->images)
		return;
	ospathsbin();
	for (size_t i = 0; image[i]; i++)
		fieldtool(k, image[i]);
	fieldstat(k, "biosmbr", t->biosmbr);
	for (const char *const *d = t->efiloaderdirs; *d; d++) {
		char *p = xasprintf("%s/%s", *d, t->efiloader);

		fieldstat(k, "efiloader", p);
		free(p);
	}
}

int
outkeycompute(const struct outkeyin *in, char hex[65])
{
	struct okey k = {.bad = 0};
	const struct plan *pl = in->plan;

	sha256init(&k.h);
	fieldf(&k, "undistro-outkey", "%d", OUTKEYVERSION);
	fieldfile(&k, "exe", in->exe ? in->exe : "/proc/self/exe", 0);
	fields(&k, "zstd", ZSTD_versionString());
	fields(&k, "libarchive", archive_version_string());
	fields(&k, "target", in->target->name);
	fieldf(&k, "epoch", "%lld", in->epoch);
	fields(&k, "commit", in->commit);
	fieldf(&k, "images", "%d", in->images);
	for (size_t i = 0; i < pl->n; i++) {
		fields(&k, "package", pl->pkgs[i].r->name);
		fieldf(&k, "key", "%s %d", in->keys[i], pl->pkgs[i].runtime);
	}
	rolefiles(&k, in->tree, in->role, 0);
	overlays(&k, in->tree, in->flat);
	keyfiles(&k, in);
	tools(&k, in);
	sha256finalhex(&k.h, hex);
	return k.bad ? -1 : 0;
}

char **
outkeyfiles(const struct role *flat, int images)
{
	static const char *const rootfs[] = {"rootfs.tar.zst", "initramfs.cpio.zst", "manifest", "report"};
	const struct strlist *f = &flat->image.formats;
	size_t n = 0, max = 4 + f->n + 4;
	char **v = xcalloc(max + 1, sizeof(*v));

	for (size_t i = 0; i < 4; i++)
		v[n++] = xstrdup(rootfs[i]);
	if (images) {
		v[n++] = xstrdup("disk.raw");
		for (size_t i = 0; i < f->n; i++)
			if (strcmp(f->v[i], "raw"))
				v[n++] = xasprintf("disk.%s", f->v[i]);
		v[n++] = xstrdup("register-image.json");
		if (flat->image.rootfs == ROOTFS_EROFS)
			v[n++] = xstrdup("root.erofs");
		v[n++] = xstrdup("sbom.spdx.json");
	}
	v[n] = NULL;
	return v;
}

void
outkeyfilesfree(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int
outkeyuptodate(const char *outdir, const char *hex)
{
	char *path = xasprintf("%s/%s", outdir, OUTKEYFILE), *data = NULL, *line, *nl;
	size_t n, hl = strlen("undistro-outkey ");
	struct stat st;
	int ok = 0;

	if (readquiet(path, &data, &n) < 0)
		goto out;
	/* the first line names the key; the output names follow */
	/* a file cut short (no final newline) is not a key */
	if (n < hl + 65 || memcmp(data, "undistro-outkey ", hl) || memcmp(data + hl, hex, 64) ||
	    data[hl + 64] != '\n' || data[n - 1] != '\n')
		goto out;
	ok = 1;
	for (line = data + hl + 65; ok && (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		free(path);
		path = xasprintf("%s/%s", outdir, line);
		ok = lstat(path, &st) == 0 && S_ISREG(st.st_mode);
	}
out:
	free(data);
	free(path);
	return ok;
}

int
outkeyclear(const char *outdir)
{
	char *path = xasprintf("%s/%s", outdir, OUTKEYFILE);
	int r = osremove(path);

	free(path);
	return r;
}

int
outkeywrite(const char *outdir, const char *hex, char *const *files)
{
	char *path = xasprintf("%s/%s", outdir, OUTKEYFILE);
	struct buf b = {0};
	int r;

	bufprintf(&b, "undistro-outkey %s\n", hex);
	for (size_t i = 0; files[i]; i++)
		bufprintf(&b, "%s\n", files[i]);
	r = writeatomic(path, b.p, b.n, 0644);
	buffree(&b);
	free(path);
	return r;
}
