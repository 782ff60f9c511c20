#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "recipe.h"
#include "rootfs.h"
#include "sha256.h"
#include "store.h"
#include "str.h"
#include "sysfiles.h"
#include "tree.h"

/* zstd level of both archives: the kernel allocates the window of level 19
 * comfortably (22 would need 128 MiB at boot). */
#define ZSTDLEVEL 19
/* How many of the largest files the report lists. */
#define NLARGEST 20
/* Chunk size for copying file contents. */
#define CHUNK 65536

/* Where an entry came from; decides what replacing it means. */
enum { FROM_PKG, FROM_GEN, FROM_OVERLAY, FROM_PARENT };

struct ent {
	char *path;                    /* relative, normalised */
	char type;                     /* 'f' 'd' 'l' 'c' */
	unsigned mode;                 /* permission bits */
	long uid, gid;
	unsigned long long off, size;  /* file contents in the blob */
	unsigned char sha[32];
	char *target;                  /* symlink target */
	unsigned major, minor;         /* devices */
	const char *owner;             /* package name, "overlay:NAME" or "-" */
	int pkg;                       /* index into job->pkgs, or -1 */
	unsigned char from, elf, gone, emptied, needed;
};

struct stat2 {
	unsigned long long count, bytes;
};

struct fs {
	const struct rootfsjob *job;
	struct arena a;
	struct ent *v;                 /* the table; pointers into it die on growth */
	size_t n;
	size_t *slot, nslot;           /* open addressing on path: index + 1, 0 empty */
	int blob;                      /* every file's contents, appended */
	unsigned long long blobsize;
	char *tmp;                     /* scratch directory inside outdir */
	struct sysfiles sys;
	unsigned char keep[NCATEGORIES];   /* categories the role keeps */
	struct stat2 removed[NCATEGORIES]; /* CAT_ELF: stripped files, bytes saved */
	unsigned long long keptbyrecipe;
};

static const struct category {
	const char *name;
	const char *dirs[5];        /* everything below these */
	const char *suffixes[5];    /* and files whose names end so */
} cats[NCATEGORIES] = {
	[CAT_NONE] = {"", {0}, {0}},
	[CAT_MAN] = {"man", {"usr/share/man", "usr/man", "usr/local/share/man", "usr/local/man"}, {0}},
	[CAT_INFO] = {"info", {"usr/share/info", "usr/info", "usr/local/share/info"}, {0}},
	[CAT_DOC] = {"doc", {"usr/share/doc", "usr/doc", "usr/local/share/doc", "usr/share/gtk-doc"}, {0}},
	[CAT_LOCALE] = {"locale", {"usr/share/locale", "usr/lib/locale", "usr/local/share/locale", "usr/share/i18n"},
	                {0}},
	[CAT_HEADERS] = {"headers", {"usr/include", "usr/local/include"}, {".h", ".hh", ".hpp", ".hxx"}},
	/* static and libtool archives, and object files (crt1.o and friends):
	 * only a linker reads them */
	[CAT_STATIC] = {"static", {0}, {".a", ".la", ".o"}},
	[CAT_PKGCONFIG] = {"pkgconfig", {"usr/lib/pkgconfig", "usr/share/pkgconfig", "usr/local/lib/pkgconfig",
	                                 "lib/pkgconfig"}, {".pc"}},
	[CAT_CMAKE] = {"cmake", {"usr/lib/cmake", "usr/share/cmake", "usr/local/lib/cmake", "lib/cmake"},
	               {".cmake"}},
	[CAT_ELF] = {"elf", {0}, {0}},
};

static int
under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

int
rootfscategory(const char *path)
{
	for (int c = CAT_MAN; c < CAT_ELF; c++) {
		for (size_t i = 0; i < 5 && cats[c].dirs[i]; i++)
			if (under(path, cats[c].dirs[i]))
				return c;
		for (size_t i = 0; i < 5 && cats[c].suffixes[i]; i++)
			if (endswith(path, cats[c].suffixes[i]))
				return c;
	}
	return CAT_NONE;
}

const char *
rootfscategoryname(int c)
{
	return c >= 0 && c < NCATEGORIES ? cats[c].name : "";
}

/* The file table. */

static size_t
hashpath(const char *s)
{
	size_t h = 14695981039346656037u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

static long
fsfind(const struct fs *fs, const char *path)
{
	size_t mask = fs->nslot - 1;

	if (!fs->nslot)
		return -1;
	for (size_t h = hashpath(path) & mask;; h = (h + 1) & mask) {
		size_t k = fs->slot[h];

		if (!k)
			return -1;
		if (!strcmp(fs->v[k - 1].path, path))
			return (long)(k - 1);
	}
}

/* The live entry at path, or NULL. */
static struct ent *
fsget(struct fs *fs, const char *path)
{
	long i = fsfind(fs, path);

	return i >= 0 && !fs->v[i].gone ? &fs->v[i] : NULL;
}

static void
slotput(struct fs *fs, size_t i)
{
	size_t mask = fs->nslot - 1, h = hashpath(fs->v[i].path) & mask;

	while (fs->slot[h])
		h = (h + 1) & mask;
	fs->slot[h] = i + 1;
}

/* A new entry for a path not in the table; the table stays at most half full. */
static struct ent *
fsnew(struct fs *fs, const char *path)
{
	struct ent *e;

	if ((fs->n + 1) * 2 > fs->nslot) {
		free(fs->slot);
		fs->nslot = fs->nslot ? fs->nslot * 2 : 1024;
		fs->slot = xcalloc(fs->nslot, sizeof(*fs->slot));
		for (size_t i = 0; i < fs->n; i++)
			slotput(fs, i);
	}
	e = ARENAPUSH(&fs->a, fs->v, fs->n);
	e->path = arenastrdup(&fs->a, path);
	slotput(fs, fs->n - 1);
	return e;
}

/* The nearest ancestor of path that is not a directory, or NULL. */
static const struct ent *
blocker(struct fs *fs, const char *path)
{
	char *p = xstrdup(path);
	const struct ent *l = NULL;

	for (char *s = strchr(p, '/'); s && !l; s = strchr(s + 1, '/')) {
		const struct ent *e;

		*s = '\0';
		e = fsget(fs, p);
		if (e && e->type != 'd')
			l = e;
		*s = '/';
	}
	free(p);
	return l;
}

/* Who an entry came from, for messages: "package NAME", "overlay NAME" or
 * "the generated files". */
static const char *
who(const struct ent *e, char buf[160])
{
	if (e->from == FROM_PKG)
		snprintf(buf, 160, "package %s", e->owner);
	else if (e->from == FROM_OVERLAY)
		snprintf(buf, 160, "overlay %s", e->owner + strlen("overlay:"));
	else
		snprintf(buf, 160, "the generated files");
	return buf;
}

static const char *
typename(char t)
{
	return t == 'd' ? "a directory" : t == 'l' ? "a symlink" : t == 'c' ? "a device" : "a file";
}

static int
sameent(const struct ent *a, const struct ent *b)
{
	if (a->type != b->type || (a->type != 'l' && a->mode != b->mode))
		return 0;
	if (a->type == 'l')
		return !strcmp(a->target, b->target);
	return a->size == b->size && !memcmp(a->sha, b->sha, sizeof(a->sha));
}

/* Copy n into the table entry o, which keeps its path. */
static void
fsset(struct ent *o, const struct ent *n)
{
	char *path = o->path;

	*o = *n;
	o->path = path;
}

/* Put n into the table. Packages must agree with each other; generated
 * files and overlays replace what is there (warning over packaged files);
 * directories merge, generated ones setting mode and owner. */
static int
fsput(struct fs *fs, const struct ent *n)
{
	const struct ent *l = blocker(fs, n->path);
	struct ent *o = fsget(fs, n->path);
	char w1[160], w2[160];

	if (l) {
		err("%s (%s) lies below %s, which is %s from %s%s", n->path, who(n, w1), l->path, typename(l->type),
		    who(l, w2), l->type == 'l' ? ": it would be written through the link" : "");
		return -1;
	}
	if (!o) {
		long i = fsfind(fs, n->path);

		o = i >= 0 ? &fs->v[i] : fsnew(fs, n->path);
	} else if (o->type == 'd' && n->type == 'd') {
		if (n->from == FROM_GEN) {
			o->mode = n->mode;
			o->uid = n->uid;
			o->gid = n->gid;
		}
		return 0;
	} else if (o->type == 'd' || n->type == 'd') {
		err("%s: %s makes it %s, %s made it %s", n->path, who(n, w1), typename(n->type), who(o, w2),
		    typename(o->type));
		return -1;
	} else if (n->from == FROM_PKG) {
		if (sameent(o, n))
			return 0;
		err("%s: packages %s and %s both install it, differently; remove it from one of them",
		    n->path, o->owner, n->owner);
		return -1;
	} else if (o->from == FROM_PKG) {
		warn("%s: %s replaces the file of package %s", n->path, who(n, w1), o->owner);
	}
	fsset(o, n);
	return 0;
}

/* File contents: one scratch file, appended to. */

/* Start e's contents at the blob's end. */
static void
blobstart(struct fs *fs, struct ent *e, struct sha256 *h)
{
	e->off = fs->blobsize;
	e->size = 0;
	sha256init(h);
}

/* Append n bytes of e's contents. */
static int
blobadd(struct fs *fs, struct ent *e, struct sha256 *h, const void *p, size_t n)
{
	const char *c = p;

	if (e->size == 0 && n >= 4 && !memcmp(c, "\177ELF", 4))
		e->elf = 1;
	sha256add(h, p, n);
	while (n) {
		ssize_t w = pwrite(fs->blob, c, n, (off_t)fs->blobsize);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err("cannot write the rootfs scratch file in %s:", fs->tmp);
			return -1;
		}
		c += w;
		n -= (size_t)w;
		fs->blobsize += (unsigned long long)w;
		e->size += (unsigned long long)w;
	}
	return 0;
}

static void
blobend(struct ent *e, struct sha256 *h)
{
	sha256final(h, e->sha);
}

/* Read n bytes of e's contents at offset off into p. */
static int
blobread(const struct fs *fs, const struct ent *e, unsigned long long off, void *p, size_t n)
{
	ssize_t r = pread(fs->blob, p, n, (off_t)(e->off + off));

	if (r != (ssize_t)n) {
		err("cannot read the rootfs scratch file in %s:", fs->tmp);
		return -1;
	}
	return 0;
}

/* Append the contents of file fd to e. */
static int
blobfromfd(struct fs *fs, struct ent *e, int fd, const char *name)
{
	char buf[CHUNK];
	struct sha256 h;
	ssize_t r;

	blobstart(fs, e, &h);
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			err("read %s:", name);
		if (r < 0 || blobadd(fs, e, &h, buf, (size_t)r) < 0) {
			blobend(e, &h);
			return -1;
		}
	}
	blobend(e, &h);
	return 0;
}

static int
blobfrommem(struct fs *fs, struct ent *e, const void *p, size_t n)
{
	struct sha256 h;
	int r;

	blobstart(fs, e, &h);
	r = n ? blobadd(fs, e, &h, p, n) : 0;
	blobend(e, &h);
	return r;
}

/* Package archives. */

/* Normalise an archive path: "./", leading "/" and trailing "/" dropped.
 * Returns 1 for the root itself (nothing to add), -1 for a path with an
 * empty, "." or ".." component, 0 otherwise with *out set. */
static int
normpath(struct arena *a, const char *p, char **out)
{
	size_t n;

	while (p[0] == '.' && p[1] == '/')
		p += 2;
	while (*p == '/')
		p++;
	n = strlen(p);
	while (n && p[n - 1] == '/')
		n--;
	if (n == 0 || (n == 1 && p[0] == '.'))
		return 1;
	*out = arenastrndup(a, p, n);
	for (char *c = *out; c; c = strchr(c, '/')) {
		c += *c == '/';
		if (*c == '/' || *c == '\0' || !strncmp(c, "./", 2) || !strcmp(c, ".") ||
		    !strncmp(c, "../", 3) || !strcmp(c, ".."))
			return -1;
	}
	return 0;
}

/* The data of the archive's current entry into e. */
static int
pkgdata(struct fs *fs, struct ent *e, struct archive *ar, const char *apath)
{
	char buf[CHUNK];
	struct sha256 h;
	la_ssize_t r;

	blobstart(fs, e, &h);
	while ((r = archive_read_data(ar, buf, sizeof(buf))) > 0)
		if (blobadd(fs, e, &h, buf, (size_t)r) < 0)
			break;
	blobend(e, &h);
	if (r < 0)
		err("%s: reading %s: %s", apath, e->path, archive_error_string(ar));
	return r == 0 ? 0 : -1;
}

/* One archive entry of package pi. */
static int
pkgentry(struct fs *fs, int pi, struct archive *ar, struct archive_entry *ae, const char *apath)
{
	struct ent e = {0};
	const char *hl = archive_entry_hardlink(ae);
	int r = normpath(&fs->a, archive_entry_pathname(ae), &e.path);

	if (r > 0)
		return 0;
	if (r < 0) {
		err("%s: entry '%s' is not a plain relative path", apath, archive_entry_pathname(ae));
		return -1;
	}
	e.from = FROM_PKG;
	e.pkg = pi;
	e.owner = fs->job->pkgs[pi].r->name;
	e.mode = archive_entry_perm(ae) & 07777;
	if (hl) {
		char *t;
		const struct ent *src = normpath(&fs->a, hl, &t) == 0 ? fsget(fs, t) : NULL;

		if (!src || src->type != 'f') {
			err("%s: hard link %s points at '%s', which is not an earlier file", apath, e.path, hl);
			return -1;
		}
		e.type = 'f';
		e.off = src->off;
		e.size = src->size;
		e.elf = src->elf;
		memcpy(e.sha, src->sha, sizeof(e.sha));
		return fsput(fs, &e);
	}
	switch (archive_entry_filetype(ae)) {
	case AE_IFREG:
		e.type = 'f';
		if (pkgdata(fs, &e, ar, apath) < 0)
			return -1;
		break;
	case AE_IFDIR:
		e.type = 'd';
		break;
	case AE_IFLNK:
		e.type = 'l';
		e.mode = 0777;
		e.target = arenastrdup(&fs->a, archive_entry_symlink(ae));
		break;
	default:
		err("%s: %s is neither a file, a directory nor a symlink: packages may not hold others",
		    apath, e.path);
		return -1;
	}
	return fsput(fs, &e);
}

/* Add every entry of package pi's archive. */
static int
readpkg(struct fs *fs, int pi)
{
	char *apath = storearchive(fs->job->store, fs->job->pkgs[pi].key);
	struct archive *ar = archive_read_new();
	struct archive_entry *ae;
	int r, bad = 0;

	if (storeverify(fs->job->store, fs->job->pkgs[pi].key) < 0) {
		archive_read_free(ar);
		free(apath);
		return -1;
	}
	archive_read_support_filter_all(ar);
	archive_read_support_format_tar(ar);
	/* a read error after storeverify is damage its stamp cannot see (zstd's
	 * checksum): the entry goes, and the next run rebuilds it */
	if (archive_read_open_filename(ar, apath, CHUNK) != ARCHIVE_OK) {
		storedamaged(fs->job->store, fs->job->pkgs[pi].key, archive_error_string(ar));
		bad = 1;
	} else {
		while ((r = archive_read_next_header(ar, &ae)) == ARCHIVE_OK)
			if (pkgentry(fs, pi, ar, ae, apath) < 0)
				bad = 1;
		if (r != ARCHIVE_EOF) {
			storedamaged(fs->job->store, fs->job->pkgs[pi].key, archive_error_string(ar));
			bad = 1;
		}
	}
	archive_read_free(ar);
	free(apath);
	return bad ? -1 : 0;
}

/* The strip policy. */

/* Nonzero when the recipe owning e keeps its path. */
static int
keptbyrecipe(const struct fs *fs, const struct ent *e)
{
	const struct recipe *r;

	if (e->from != FROM_PKG)
		return 0;
	r = fs->job->pkgs[e->pkg].r;
	for (size_t i = 0; i < r->keep.n; i++) {
		const char *g = r->keep.v[i];

		while (*g == '/')
			g++;
		if (!fnmatch(g, e->path, 0))
			return 1;
	}
	return 0;
}

/* An unsigned little- or big-endian field of n bytes. */
static unsigned long long
elfget(const unsigned char *p, size_t n, int big)
{
	unsigned long long v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (unsigned long long)p[big ? n - 1 - i : i] << (8 * i);
	return v;
}

struct elfinfo {
	int big, wide;             /* big-endian; ELF64 */
	unsigned type;             /* e_type: 1 for relocatable objects */
	unsigned long long shoff, shnum, shentsize, shstrndx;
};

/* Read e's ELF header; -1 (not reported) when it is not a sane one. */
static int
elfheader(const struct fs *fs, const struct ent *e, struct elfinfo *ei)
{
	unsigned char h[64];

	if (e->size < sizeof(h) || blobread(fs, e, 0, h, sizeof(h)) < 0 || (h[4] != 1 && h[4] != 2) ||
	    (h[5] != 1 && h[5] != 2))
		return -1;
	ei->wide = h[4] == 2;
	ei->big = h[5] == 2;
	ei->type = (unsigned)elfget(h + 16, 2, ei->big);
	ei->shoff = elfget(h + (ei->wide ? 40 : 32), ei->wide ? 8 : 4, ei->big);
	ei->shentsize = elfget(h + (ei->wide ? 58 : 46), 2, ei->big);
	ei->shnum = elfget(h + (ei->wide ? 60 : 48), 2, ei->big);
	ei->shstrndx = elfget(h + (ei->wide ? 62 : 50), 2, ei->big);
	if (ei->shentsize < (ei->wide ? 64u : 40u) || ei->shstrndx >= ei->shnum ||
	    ei->shoff > e->size || ei->shnum * ei->shentsize > e->size - ei->shoff)
		return -1;
	return 0;
}

/* 1 when e has debugging sections or, unless it is a relocatable object, a
 * symbol table (or cannot be read as ELF: strip then decides); 0 when there
 * is nothing to strip. */
static int
elfneedsstrip(const struct fs *fs, const struct ent *e, struct elfinfo *ei)
{
	unsigned char *sh, *s;
	unsigned long long stroff, strsize;
	int need = 0;

	if (elfheader(fs, e, ei) < 0)
		return 1;
	if (ei->shnum == 0)
		return 0;
	sh = xcalloc(ei->shnum, ei->shentsize);
	if (blobread(fs, e, ei->shoff, sh, ei->shnum * ei->shentsize) < 0) {
		free(sh);
		return 1;
	}
	s = sh + ei->shstrndx * ei->shentsize;
	stroff = elfget(s + (ei->wide ? 24 : 16), ei->wide ? 8 : 4, ei->big);
	strsize = elfget(s + (ei->wide ? 32 : 20), ei->wide ? 8 : 4, ei->big);
	if (stroff > e->size || strsize > e->size - stroff || strsize > (1u << 24)) {
		free(sh);
		return 1;
	}
	s = xmalloc(strsize + 1);
	s[strsize] = '\0';
	need = blobread(fs, e, stroff, s, strsize) < 0;
	for (unsigned long long i = 0; i < ei->shnum && !need; i++) {
		const unsigned char *h = sh + i * ei->shentsize;
		unsigned long long name = elfget(h, 4, ei->big);
		const char *nm = name < strsize ? (const char *)s + name : "";

		/* relocatable objects (kernel modules) need their symbol table */
		need = (ei->type != 1 && elfget(h + 4, 4, ei->big) == 2 /* SHT_SYMTAB */) ||
		       !strncmp(nm, ".debug", 6) || !strncmp(nm, ".zdebug", 7);
	}
	free(s);
	free(sh);
	return need;
}

/* Copy e's contents into the file path. */
static int
blobtofile(const struct fs *fs, const struct ent *e, const char *path)
{
	char buf[CHUNK];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), r = 0;

	if (fd < 0) {
		err("cannot create %s:", path);
		return -1;
	}
	for (unsigned long long off = 0; off < e->size && r == 0; off += sizeof(buf)) {
		size_t n = e->size - off < sizeof(buf) ? (size_t)(e->size - off) : sizeof(buf);

		r = blobread(fs, e, off, buf, n);
		if (r == 0 && write(fd, buf, n) != (ssize_t)n) {
			err("cannot write %s:", path);
			r = -1;
		}
	}
	close(fd);
	return r;
}

/* Run the target's strip on a copy of e; the result replaces e's contents.
 * A strip that fails on the file leaves it as it was, with a warning. */
static int
stripelf(struct fs *fs, struct ent *e)
{
	struct elfinfo ei = {0};
	const char *prog = fs->job->strip ? fs->job->strip : "strip";
	char *in = xasprintf("%s/strip.in", fs->tmp), *out = xasprintf("%s/strip.out", fs->tmp);
	char *argv[] = {(char *)prog, "--strip-all", "-o", out, in, NULL};
	unsigned long long before = e->size;
	int rc, fd = -1;

	if (!elfneedsstrip(fs, e, &ei)) {
		free(in);
		free(out);
		return 0;
	}
	if (ei.type == 1)   /* a relocatable object keeps its symbols */
		argv[1] = "--strip-debug";
	rc = blobtofile(fs, e, in) < 0 ? -1 : osrun(argv, NULL, NULL, -1);
	if (rc > 0)
		warn("%s (package %s): %s failed on it (exit %d); kept unstripped", e->path, e->owner, prog, rc);
	if (rc == 0 && ((fd = open(out, O_RDONLY | O_CLOEXEC)) < 0 || blobfromfd(fs, e, fd, out) < 0)) {
		if (fd < 0)
			err("cannot open %s:", out);
		rc = -1;
	}
	if (fd >= 0)
		close(fd);
	if (rc == 0) {
		fs->removed[CAT_ELF].count++;
		fs->removed[CAT_ELF].bytes += before > e->size ? before - e->size : 0;
	}
	unlink(in);
	unlink(out);
	free(in);
	free(out);
	return rc < 0 ? -1 : 0;
}

/* Call f on every ancestor entry of path that exists. */
static void
ancestors(struct fs *fs, const char *path, void (*f)(struct ent *))
{
	char *p = xstrdup(path);

	for (char *s = strrchr(p, '/'); s; s = strrchr(p, '/')) {
		struct ent *e;

		*s = '\0';
		if ((e = fsget(fs, p)))
			f(e);
	}
	free(p);
}

static void
markemptied(struct ent *e)
{
	e->emptied = 1;
}

static void
markneeded(struct ent *e)
{
	e->needed = 1;
}

/* Directories the strip policy emptied go as well. */
static void
prunedirs(struct fs *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		if (fs->v[i].gone)
			ancestors(fs, fs->v[i].path, markemptied);
	for (size_t i = 0; i < fs->n; i++)
		if (!fs->v[i].gone && !(fs->v[i].type == 'd' && fs->v[i].emptied))
			ancestors(fs, fs->v[i].path, markneeded);
	for (size_t i = 0; i < fs->n; i++)
		if (fs->v[i].type == 'd' && fs->v[i].emptied && !fs->v[i].needed)
			fs->v[i].gone = 1;
}

static void
rolekeeps(struct fs *fs)
{
	const struct strlist *l = &fs->job->role->strip;

	for (size_t i = 0; i < l->n; i++)
		for (int c = CAT_MAN; c < NCATEGORIES; c++)
			if (!strcmp(l->v[i], cats[c].name))
				fs->keep[c] = 1;
}

static int
strippolicy(struct fs *fs)
{
	int bad = 0;

	rolekeeps(fs);
	for (size_t i = 0; i < fs->n; i++) {
		struct ent *e = &fs->v[i];
		int c = e->type == 'd' || e->gone ? CAT_NONE : rootfscategory(e->path);

		if (c != CAT_NONE && !fs->keep[c] && keptbyrecipe(fs, e)) {
			fs->keptbyrecipe++;
		} else if (c != CAT_NONE && !fs->keep[c]) {
			e->gone = 1;
			fs->removed[c].count++;
			fs->removed[c].bytes += e->type == 'f' ? e->size : 0;
		} else if (e->type == 'f' && e->elf && !fs->keep[CAT_ELF] && stripelf(fs, e) < 0) {
			bad = 1;
		}
	}
	prunedirs(fs);
	return bad ? -1 : 0;
}

/* Generated files and overlays. */

static int
addsysfile(struct fs *fs, const struct sysfile *f)
{
	struct ent e = {0};

	e.path = (char *)f->path;
	e.type = f->type;
	e.mode = f->mode;
	e.uid = f->uid;
	e.gid = f->gid;
	e.owner = "-";
	e.pkg = -1;
	e.from = FROM_GEN;
	e.major = f->major;
	e.minor = f->minor;
	if (f->type == 'l')
		e.target = (char *)f->data;
	if (f->type == 'f' && blobfrommem(fs, &e, f->data, f->size) < 0)
		return -1;
	return fsput(fs, &e);
}

/* Nonzero when some package installs the command (an applet link, say) in
 * one of the directories the generated PATH names. */
static int
hascommand(struct fs *fs, const char *name, size_t n)
{
	static const char *const dirs[] = {"bin", "sbin", "usr/bin", "usr/sbin"};
	int found = 0;

	for (size_t i = 0; i < 4 && !found; i++) {
		char *p = xasprintf("%s/%.*s", dirs[i], (int)n, name);

		found = fsget(fs, p) != NULL;
		free(p);
	}
	return found;
}

/* Warn about commands the generated scripts run that nothing installs. */
static void
checkneeds(struct fs *fs)
{
	struct buf miss = {0};

	for (size_t i = 0; i < fs->sys.nneeds; i++) {
		const char *s = fs->sys.needs[i];
		int found = 0;

		while (*s && !found) {
			size_t n = strcspn(s, " ");

			found = hascommand(fs, s, n);
			s += n + (s[n] == ' ');
		}
		if (!found)
			bufprintf(&miss, "%s%s", miss.n ? ", " : "", fs->sys.needs[i]);
	}
	if (miss.n)
		warn("role %s: no package installs %s, which the generated init scripts run "
		     "(for busybox: enable the applets and install their links)", fs->job->role->name, miss.p);
	buffree(&miss);
}

/* /init links to sbin/init; without one, busybox's init applet serves. */
static int
checkinit(struct fs *fs)
{
	struct sysfile f = {"sbin/init", 'l', 0777, 0, 0, "../bin/busybox", 0, 0, 0};
	const struct ent *bb = fsget(fs, "bin/busybox");

	if (fsget(fs, "sbin/init"))
		return 0;
	if (bb && bb->type == 'f')
		return addsysfile(fs, &f);
	err("role %s has no init: no package installs sbin/init or bin/busybox", fs->job->role->name);
	return -1;
}

static int
addsys(struct fs *fs)
{
	int bad = 0;

	if (sysfilesgen(&fs->a, fs->job->tree->root, fs->job->role, fs->job->authorized_keys, &fs->sys) < 0)
		return -1;
	for (size_t i = 0; i < fs->sys.n; i++)
		if (addsysfile(fs, &fs->sys.v[i]) < 0)
			bad = 1;
	if (!fsget(fs, "bin/sh")) {
		err("role %s has no /bin/sh, which the generated init scripts need", fs->job->role->name);
		bad = 1;
	}
	if (checkinit(fs) < 0)
		bad = 1;
	for (size_t i = 0; fs->sys.boot[i]; i++) {
		if (!fsget(fs, fs->sys.boot[i])) {
			errat(&fs->job->role->loc, "role %s has no /%s, which its /etc/inittab runs: add the package "
			      "`init` to its packages (recipes/init)", fs->job->role->name, fs->sys.boot[i]);
			bad = 1;
			break;
		}
	}
	checkneeds(fs);
	return bad ? -1 : 0;
}

/* One file system object of an overlay. */
static int
overlayent(struct fs *fs, const char *owner, const char *full, const char *rel, const struct stat *st)
{
	struct ent e = {0};
	char target[4096];
	ssize_t n;
	int fd, r;

	e.path = (char *)rel;
	e.owner = owner;
	e.pkg = -1;
	e.from = FROM_OVERLAY;
	if (S_ISDIR(st->st_mode)) {
		e.type = 'd';
		e.mode = 0755;
	} else if (S_ISLNK(st->st_mode)) {
		if ((n = readlink(full, target, sizeof(target) - 1)) < 0) {
			err("readlink %s:", full);
			return -1;
		}
		target[n] = '\0';
		e.type = 'l';
		e.mode = 0777;
		e.target = arenastrdup(&fs->a, target);
	} else if (S_ISREG(st->st_mode)) {
		e.type = 'f';
		e.mode = st->st_mode & 0111 ? 0755 : 0644;
		if ((fd = open(full, O_RDONLY | O_CLOEXEC)) < 0) {
			err("cannot open %s:", full);
			return -1;
		}
		r = blobfromfd(fs, &e, fd, full);
		close(fd);
		if (r < 0)
			return -1;
	} else {
		err("%s: overlays may hold only files, directories and symlinks", full);
		return -1;
	}
	return fsput(fs, &e);
}

/* Add the tree below dir (rel: its path in the root, "" at the top). */
static int
overlaydir(struct fs *fs, const char *owner, const char *dir, const char *rel)
{
	struct dirent **ents;
	int k = scandir(dir, &ents, NULL, alphasort), bad = 0;

	if (k < 0) {
		err("cannot read directory %s:", dir);
		return -1;
	}
	for (int i = 0; i < k; i++) {
		const char *nm = ents[i]->d_name;
		char *full = xasprintf("%s/%s", dir, nm), *r = rel[0] ? xasprintf("%s/%s", rel, nm) : xstrdup(nm);
		struct stat st;

		if (strcmp(nm, ".") && strcmp(nm, "..")) {
			if (lstat(full, &st) < 0) {
				err("stat %s:", full);
				bad = 1;
			} else if (overlayent(fs, owner, full, r, &st) < 0 ||
			           (S_ISDIR(st.st_mode) && overlaydir(fs, owner, full, r) < 0)) {
				bad = 1;
			}
		}
		free(full);
		free(r);
		free(ents[i]);
	}
	free(ents);
	return bad ? -1 : 0;
}

static int
addoverlays(struct fs *fs)
{
	const struct strlist *l = &fs->job->role->overlays;
	int bad = 0;

	for (size_t i = 0; i < l->n; i++) {
		char *dir = xasprintf("%s/%s", fs->job->tree->overlays, l->v[i]);
		char *owner = xasprintf("overlay:%s", l->v[i]);
		struct stat st;

		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			errat(&l->loc[i], "overlay '%s' is not a directory under %s", l->v[i], fs->job->tree->overlays);
			bad = 1;
		} else if (overlaydir(fs, arenastrdup(&fs->a, owner), dir, "") < 0) {
			bad = 1;
		}
		free(dir);
		free(owner);
	}
	return bad ? -1 : 0;
}

/* Missing parent directories; owners of what lies in users' homes. */
static void
finish(struct fs *fs)
{
	size_t n = fs->n;

	for (size_t i = 0; i < n; i++) {
		char *p;

		if (fs->v[i].gone)
			continue;
		p = xstrdup(fs->v[i].path);
		for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
			struct ent e = {.path = p, .type = 'd', .mode = 0755, .owner = "-", .pkg = -1, .from = FROM_PARENT};

			*s = '\0';
			if (!fsget(fs, p))
				fsput(fs, &e);
			*s = '/';
		}
		free(p);
	}
	for (size_t i = 0; i < fs->n; i++) {
		struct ent *e = &fs->v[i];
		const struct account *ac = e->from == FROM_GEN ? NULL : sysfileshome(&fs->sys, e->path);

		if (ac) {
			e->uid = ac->uid;
			e->gid = ac->gid;
		}
	}
}

/* Outputs. */

static int
cmpent(const void *a, const void *b)
{
	return strcmp((*(const struct ent *const *)a)->path, (*(const struct ent *const *)b)->path);
}

/* The live entries, sorted by path (parents come before their children). */
static const struct ent **
sorted(const struct fs *fs, size_t *n)
{
	const struct ent **v = xcalloc(fs->n + 1, sizeof(*v));

	*n = 0;
	for (size_t i = 0; i < fs->n; i++)
		if (!fs->v[i].gone)
			v[(*n)++] = &fs->v[i];
	qsort(v, *n, sizeof(*v), cmpent);
	return v;
}

static void
fillentry(const struct fs *fs, const struct ent *e, size_t ino, struct archive_entry *ae)
{
	static const unsigned types[] = {['f'] = AE_IFREG, ['d'] = AE_IFDIR, ['l'] = AE_IFLNK, ['c'] = AE_IFCHR};

	archive_entry_clear(ae);
	archive_entry_set_pathname(ae, e->path);
	archive_entry_set_filetype(ae, types[(unsigned char)e->type]);
	archive_entry_set_perm(ae, e->mode);
	archive_entry_set_uid(ae, e->uid);
	archive_entry_set_gid(ae, e->gid);
	archive_entry_set_mtime(ae, fs->job->epoch, 0);
	archive_entry_set_ino(ae, (la_int64_t)ino);
	archive_entry_set_nlink(ae, e->type == 'd' ? 2 : 1);
	archive_entry_set_size(ae, e->type == 'f' ? (la_int64_t)e->size : 0);
	if (e->type == 'l')
		archive_entry_set_symlink(ae, e->target);
	if (e->type == 'c') {
		archive_entry_set_rdevmajor(ae, e->major);
		archive_entry_set_rdevminor(ae, e->minor);
	}
}

/* Write entry e (inode number ino) to both archives (at raw). */
static int
writeent(const struct fs *fs, const struct ent *e, size_t ino, struct archive *ar[2], char *raw[2],
         struct archive_entry *ae)
{
	char buf[CHUNK];

	fillentry(fs, e, ino, ae);
	for (int k = 0; k < 2; k++) {
		if (archive_write_header(ar[k], ae) != ARCHIVE_OK) {
			err("cannot write %s (adding %s): %s", raw[k], e->path, storearcherr(ar[k]));
			return -1;
		}
	}
	for (unsigned long long off = 0; e->type == 'f' && off < e->size; off += sizeof(buf)) {
		size_t n = e->size - off < sizeof(buf) ? (size_t)(e->size - off) : sizeof(buf);

		if (blobread(fs, e, off, buf, n) < 0)
			return -1;
		for (int k = 0; k < 2; k++) {
			if (archive_write_data(ar[k], buf, n) != (la_ssize_t)n) {
				err("cannot write %s (adding %s): %s", raw[k], e->path, storearcherr(ar[k]));
				return -1;
			}
		}
	}
	return 0;
}

/* The uncompressed tar (raw[0]) and cpio (raw[1]) of the sorted entries. */
static int
writearchives(const struct fs *fs, const struct ent **v, size_t n, char *raw[2])
{
	struct archive *ar[2] = {archive_write_new(), archive_write_new()};
	struct archive_entry *ae = archive_entry_new();
	int r = 0;

	archive_write_set_format_pax_restricted(ar[0]);
	archive_write_set_format_cpio_newc(ar[1]);
	for (int k = 0; k < 2 && r == 0; k++) {
		archive_write_set_bytes_in_last_block(ar[k], 1);
		if (archive_write_open_filename(ar[k], raw[k]) != ARCHIVE_OK) {
			err("cannot write %s: %s", raw[k], storearcherr(ar[k]));
			r = -1;
		}
	}
	for (size_t i = 0; i < n && r == 0; i++)
		r = writeent(fs, v[i], i + 1, ar, raw, ae);
	for (int k = 0; k < 2; k++) {
		if (r == 0 && archive_write_close(ar[k]) != ARCHIVE_OK) {
			err("cannot finish %s: %s", raw[k], storearcherr(ar[k]));
			r = -1;
		}
		archive_write_free(ar[k]);
	}
	archive_entry_free(ae);
	return r;
}

/* Compression runs in threads: no diag calls there, only a message. */
struct zjob {
	const char *in;     /* uncompressed archive */
	int fd;             /* the output's temporary file */
	int rc;             /* 0, or -1 with msg set */
	char msg[256];
};

static int
zwrite(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Feed one chunk (the last when mode is ZSTD_e_end) through the compressor. */
static int
zchunk(struct zjob *z, ZSTD_CCtx *c, const void *p, size_t n, ZSTD_EndDirective mode, void *ob, size_t osz)
{
	ZSTD_inBuffer in = {p, n, 0};
	size_t rem;

	do {
		ZSTD_outBuffer out = {ob, osz, 0};

		rem = ZSTD_compressStream2(c, &out, &in, mode);
		if (ZSTD_isError(rem)) {
			snprintf(z->msg, sizeof(z->msg), "zstd: %s", ZSTD_getErrorName(rem));
			return -1;
		}
		if (zwrite(z->fd, ob, out.pos) < 0) {
			snprintf(z->msg, sizeof(z->msg), "write: %s", strerror(errno));
			return -1;
		}
	} while (mode == ZSTD_e_end ? rem != 0 : in.pos < in.size);
	return 0;
}

static void *
zrun(void *arg)
{
	struct zjob *z = arg;
	size_t isz = ZSTD_CStreamInSize(), osz = ZSTD_CStreamOutSize();
	char *ib = xmalloc(isz), *ob = xmalloc(osz);
	ZSTD_CCtx *c = ZSTD_createCCtx();
	int in = open(z->in, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t r = 1;

	z->rc = -1;
	if (in < 0 || fstat(in, &st) < 0 || !c) {
		snprintf(z->msg, sizeof(z->msg), "%s: %s", z->in, c ? strerror(errno) : "no zstd context");
		r = 0;
	} else {
		ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, ZSTDLEVEL);
		ZSTD_CCtx_setPledgedSrcSize(c, (unsigned long long)st.st_size);
	}
	while (r > 0) {
		r = read(in, ib, isz);
		if (r < 0 && errno == EINTR) {
			r = 1;
		} else if (r < 0) {
			snprintf(z->msg, sizeof(z->msg), "read %s: %s", z->in, strerror(errno));
		} else if (zchunk(z, c, ib, (size_t)r, r ? ZSTD_e_continue : ZSTD_e_end, ob, osz) < 0) {
			r = -1;
		} else if (r == 0) {
			z->rc = 0;
		}
	}
	if (in >= 0)
		close(in);
	ZSTD_freeCCtx(c);
	free(ib);
	free(ob);
	return NULL;
}

static const char *const outnames[2] = {"rootfs.tar.zst", "initramfs.cpio.zst"};

/* Compress raw[k] into outdir/outnames[k], both at once; both outputs are
 * replaced, or neither. */
static int
compress(const struct fs *fs, char *raw[2])
{
	struct zjob z[2] = {{raw[0], -1, -1, ""}, {raw[1], -1, -1, ""}};
	char *final[2], *tmp[2] = {NULL, NULL};
	pthread_t t;
	int threaded = 0, bad = 0;

	for (int k = 0; k < 2; k++) {
		final[k] = xasprintf("%s/%s", fs->job->outdir, outnames[k]);
		if ((z[k].fd = opentemp(final[k], &tmp[k])) < 0)
			bad = 1;
	}
	if (!bad) {
		threaded = pthread_create(&t, NULL, zrun, &z[0]) == 0;
		if (!threaded)
			zrun(&z[0]);
		zrun(&z[1]);
		if (threaded)
			pthread_join(t, NULL);
	}
	for (int k = 0; k < 2; k++) {
		if (!bad && z[k].rc < 0) {
			err("compressing %s: %s", final[k], z[k].msg);
			bad = 1;
		}
	}
	for (int k = 0; k < 2; k++) {
		if (z[k].fd >= 0 && bad) {
			close(z[k].fd);
			unlink(tmp[k]);
			free(tmp[k]);
		} else if (z[k].fd >= 0 && committemp(z[k].fd, tmp[k], final[k], 0644) < 0) {
			bad = 1;
		}
		free(final[k]);
	}
	return bad ? -1 : 0;
}

static void
manifestline(struct buf *b, const struct ent *e)
{
	char hex[65] = "-";

	if (e->type == 'f')
		sha256hex(e->sha, hex);
	bufprintf(b, "%c %04o %ld:%ld ", e->type, e->mode, e->uid, e->gid);
	if (e->type == 'c')
		bufprintf(b, "%u,%u", e->major, e->minor);
	else
		bufprintf(b, "%llu", e->type == 'f' ? e->size : 0ULL);
	bufprintf(b, " %s %s ", hex, e->owner);
	bufaddesc(b, e->path);
	if (e->type == 'l') {
		bufadds(b, " -> ");
		bufaddesc(b, e->target);
	}
	bufaddc(b, '\n');
}

static int
cmpsize(const void *a, const void *b)
{
	const struct ent *x = *(const struct ent *const *)a, *y = *(const struct ent *const *)b;

	if (x->size != y->size)
		return x->size < y->size ? 1 : -1;
	return strcmp(x->path, y->path);
}

/* The report's totals and the largest files. */
static void
reportfiles(struct buf *b, const struct ent **v, size_t n)
{
	const struct ent **f = xcalloc(n + 1, sizeof(*f));
	unsigned long long bytes = 0, count[4] = {0};
	size_t nf = 0;

	for (size_t i = 0; i < n; i++) {
		count[v[i]->type == 'f' ? 0 : v[i]->type == 'd' ? 1 : v[i]->type == 'l' ? 2 : 3]++;
		if (v[i]->type == 'f') {
			bytes += v[i]->size;
			f[nf++] = v[i];
		}
	}
	bufprintf(b, "entries: %zu (%llu files, %llu directories, %llu symlinks, %llu devices)\n"
	          "file bytes: %llu\n", n, count[0], count[1], count[2], count[3], bytes);
	qsort(f, nf, sizeof(*f), cmpsize);
	bufprintf(b, "\nlargest files kept (bytes, path, owner):\n");
	for (size_t i = 0; i < nf && i < NLARGEST; i++) {
		bufprintf(b, "%10llu  ", f[i]->size);
		bufaddesc(b, f[i]->path);
		bufprintf(b, "  %s\n", f[i]->owner);
	}
	free(f);
}

static void
report(const struct fs *fs, const struct ent **v, size_t n, struct buf *b)
{
	bufprintf(b, "undistro rootfs report: role %s\n\n", fs->job->role->name);
	for (int k = 0; k < 2; k++) {
		char *p = xasprintf("%s/%s", fs->job->outdir, outnames[k]);
		struct stat st;

		bufprintf(b, "%s: %lld bytes\n", outnames[k], stat(p, &st) == 0 ? (long long)st.st_size : -1LL);
		free(p);
	}
	reportfiles(b, v, n);
	bufprintf(b, "\nremoved by the strip policy (category, files, bytes):\n");
	for (int c = CAT_MAN; c < CAT_ELF; c++)
		bufprintf(b, "%-10s %6llu %10llu%s\n", cats[c].name, fs->removed[c].count, fs->removed[c].bytes,
		          fs->keep[c] ? "  (kept by the role)" : "");
	bufprintf(b, "%-10s %6llu %10llu  (stripped: files, bytes saved)%s\n", "elf", fs->removed[CAT_ELF].count,
	          fs->removed[CAT_ELF].bytes, fs->keep[CAT_ELF] ? "  (kept by the role)" : "");
	bufprintf(b, "kept by recipes' keep globs: %llu\n", fs->keptbyrecipe);
}

static int
outputs(struct fs *fs)
{
	char *raw[2] = {xasprintf("%s/rootfs.tar", fs->tmp), xasprintf("%s/initramfs.cpio", fs->tmp)};
	char *man = xasprintf("%s/manifest", fs->job->outdir), *rep = xasprintf("%s/report", fs->job->outdir);
	struct buf m = {0}, r = {0};
	size_t n;
	const struct ent **v = sorted(fs, &n);
	int rc = -1;

	if (writearchives(fs, v, n, raw) == 0 && compress(fs, raw) == 0) {
		for (size_t i = 0; i < n; i++)
			manifestline(&m, v[i]);
		report(fs, v, n, &r);
		if (writeatomic(man, m.p, m.n, 0644) == 0 && writeatomic(rep, r.p, r.n, 0644) == 0)
			rc = 0;
	}
	buffree(&m);
	buffree(&r);
	free(v);
	free(raw[0]);
	free(raw[1]);
	free(man);
	free(rep);
	return rc;
}

/* Remove what a killed run left in outdir: its scratch directory and the
 * temporary names of outputs (opentemp: NAME.tmp.XXXXXX). */
static void
cleanstale(const char *outdir)
{
	static const char *const prefixes[] = {
		".rootfs.", "rootfs.tar.zst.tmp.", "initramfs.cpio.zst.tmp.", "manifest.tmp.", "report.tmp.",
	};
	DIR *d = opendir(outdir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
			if (!strncmp(de->d_name, prefixes[i], strlen(prefixes[i]))) {
				char *p = xasprintf("%s/%s", outdir, de->d_name);

				rmtree(p);
				free(p);
				break;
			}
		}
	}
	if (d)
		closedir(d);
}

static int
setup(struct fs *fs)
{
	char *blob;

	if (mkdirp(fs->job->outdir, 0755) < 0)
		return -1;
	cleanstale(fs->job->outdir);
	fs->tmp = xasprintf("%s/.rootfs.XXXXXX", fs->job->outdir);
	if (!mkdtemp(fs->tmp)) {
		err("cannot create a directory in %s:", fs->job->outdir);
		free(fs->tmp);
		fs->tmp = NULL;
		return -1;
	}
	blob = xasprintf("%s/blob", fs->tmp);
	fs->blob = open(blob, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fs->blob < 0)
		err("cannot create %s:", blob);
	free(blob);
	return fs->blob < 0 ? -1 : 0;
}

static int
readpkgs(struct fs *fs)
{
	int bad = 0;

	for (size_t i = 0; i < fs->job->npkgs; i++)
		if (readpkg(fs, (int)i) < 0)
			bad = 1;
	return bad ? -1 : 0;
}

int
rootfsbuild(const struct rootfsjob *job)
{
	struct fs fs = {0};
	int r = -1;

	fs.job = job;
	fs.blob = -1;
	if (setup(&fs) == 0 && readpkgs(&fs) == 0 && strippolicy(&fs) == 0 && addsys(&fs) == 0 &&
	    addoverlays(&fs) == 0) {
		finish(&fs);
		r = outputs(&fs);
	}
	if (fs.blob >= 0)
		close(fs.blob);
	if (fs.tmp)
		rmtree(fs.tmp);
	free(fs.tmp);
	free(fs.slot);
	arenafree(&fs.a);
	return r;
}
