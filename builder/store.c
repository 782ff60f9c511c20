#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "sha256.h"
#include "store.h"
#include "str.h"

/* zstd level for package archives: they are intermediate, so favour speed;
 * the role's final archives use 19. */
#define STORE_ZSTD_LEVEL 6

const char *
storearcherr(struct archive *a)
{
	static _Thread_local char buf[512];
	const char *s = archive_error_string(a);
	int e = archive_errno(a);

	s = s ? s : "unknown error";
	if (e > 0 && !strstr(s, strerror(e)))
		snprintf(buf, sizeof(buf), "%s: %s", s, strerror(e));
	else
		snprintf(buf, sizeof(buf), "%s", s);
	return buf;
}

/* Nonzero when dir is a directory holding nothing. */
static int
emptydir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int empty = d != NULL;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = 0;
	if (d)
		closedir(d);
	return empty;
}

static int
storelock(struct store *s)
{
	char *p = xasprintf("%s/lock", s->dir);

	/* flock needs no write access: a store in use opens its lock read-only,
	 * so a run that changes nothing writes nothing (outkey.h) */
	s->lock = open(p, O_RDONLY | O_CLOEXEC);
	if (s->lock < 0 && errno == ENOENT)
		s->lock = open(p, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
	if (s->lock < 0) {
		err("cannot open %s:", p);
		free(p);
		return -1;
	}
	if (flock(s->lock, LOCK_EX | LOCK_NB) < 0) {
		warn("waiting for another undistro that uses the store %s", s->dir);
		if (flock(s->lock, LOCK_EX) < 0) {
			err("cannot lock %s:", p);
			free(p);
			return -1;
		}
	}
	free(p);
	return 0;
}

int
storeopen(struct store *s, const char *dir)
{
	char *tmp;

	s->dir = xstrdup(dir);
	s->lock = -1;
	if (mkdirp(dir, 0755) < 0 || storelock(s) < 0)
		return -1;
	tmp = xasprintf("%s/tmp", dir);
	/* whatever is in tmp/ belongs to a run that died: nothing refers to it;
	 * an empty tmp/ is left alone (a no-op run writes nothing) */
	if (mkdirp(dir, 0755) < 0 || (!emptydir(tmp) && (rmtree(tmp) < 0 || mkdirp(tmp, 0755) < 0))) {
		free(tmp);
		return -1;
	}
	free(tmp);
	tmp = xasprintf("%s/pkg", dir);
	if (mkdirp(tmp, 0755) < 0) {
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

void
storeclose(struct store *s)
{
	free(s->dir);
	s->dir = NULL;
	if (s->lock >= 0)
		close(s->lock);
	s->lock = -1;
}


/* The value of "KEY VALUE" line tag in info text, copied into v (size n);
 * empty when absent. */
static void
infoget(const char *text, const char *tag, char *v, size_t n)
{
	size_t tl = strlen(tag);

	v[0] = '\0';
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (!strncmp(l, tag, tl) && l[tl] == ' ') {
			size_t k = strcspn(l + tl + 1, "\n");

			snprintf(v, n, "%.*s", (int)k, l + tl + 1);
			return;
		}
	}
}

/* The identity of a file as far as the verification cache is concerned:
 * any write changes its ctime, which no program can set back, and moving
 * another file into its place changes its inode. */
static void
stampadd(struct buf *b, const struct stat *st)
{
	bufprintf(b, "%ju %ju %jd %jd.%09ld %jd.%09ld\n", (uintmax_t)st->st_dev, (uintmax_t)st->st_ino,
	          (intmax_t)st->st_size, (intmax_t)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
	          (intmax_t)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
}

/* What an entry's verification depends on (the archive, the manifest and
 * the info that records their hashes); -1 (errno) when a file is missing. The name of the failing file goes to *what. */
static int
stamp(const char *dir, struct buf *b, const char **what)
{
	static const char *const files[] = {"pkg.tar.zst", "manifest", "info"};
	struct stat st;

	for (size_t i = 0; i < 3; i++) {
		char *p = xasprintf("%s/%s", dir, files[i]);
		int r = stat(p, &st);

		free(p);
		*what = files[i];
		if (r < 0)
			return -1;
		stampadd(b, &st);
	}
	return 0;
}

/* Check the entry directory dir of key: 1 when complete and intact, 0 when
 * absent, -1 when damaged, with the reason in why. The archive and the
 * manifest are hashed only when their stamp (see stampadd) differs from the
 * one the last verification wrote to the entry's "verified" file, so a no-op
 * run costs a few stats and small reads per entry, not a read of every
 * archive. *name receives the package's name from info when there is one
 * (malloc'd). */
static int
dircheck(const char *dir, const char *key, struct buf *why, char **name)
{
	char *p = NULL, v[80], want[80], hex[65];
	struct buf info = {0}, cur = {0}, old = {0};
	const char *what = "";
	struct stat st;
	int r = -1;

	*name = NULL;
	if (stat(dir, &st) < 0 && errno == ENOENT) {
		r = 0;
		goto out;
	}
	p = xasprintf("%s/info", dir);
	if (readquiet(p, &info.p, &info.n) < 0) {
		bufprintf(why, "info: %s", strerror(errno));
		goto out;
	}
	infoget(info.p, "name", v, sizeof(v));
	*name = v[0] ? xstrdup(v) : NULL;
	infoget(info.p, "key", v, sizeof(v));
	if (strcmp(v, key)) {
		bufprintf(why, "its info is for key '%s'", v);
		goto out;
	}
	if (stamp(dir, &cur, &what) < 0) {
		bufprintf(why, "%s: %s", what, strerror(errno));
		goto out;
	}
	free(p);
	p = xasprintf("%s/verified", dir);
	if (readquiet(p, &old.p, &old.n) == 0 && !strcmp(old.p, cur.p)) {
		r = 1;
		goto out;
	}
	for (size_t i = 0; i < 2; i++) {
		const char *file = i ? "manifest" : "pkg.tar.zst", *tag = i ? "manifest-sha256" : "archive-sha256";
		char *f = xasprintf("%s/%s", dir, file);
		int h = sha256path(f, hex);

		free(f);
		infoget(info.p, tag, want, sizeof(want));
		if (!want[0]) {
			bufprintf(why, "its info records no %s", tag);
			goto out;
		}
		if (h < 0) {
			bufprintf(why, "%s: %s", file, strerror(errno));
			goto out;
		}
		if (strcmp(hex, want)) {
			bufprintf(why, "%s has sha256 %s, the entry records %s", file, hex, want);
			goto out;
		}
	}
	/* a failed write only costs the next run a hash */
	writeatomic(p, cur.p, cur.n, 0644);
	r = 1;
out:
	free(p);
	buffree(&info);
	buffree(&cur);
	buffree(&old);
	return r;
}

/* dircheck of the entry pkg/KEY. */
static int
entrycheck(const struct store *s, const char *key, struct buf *why, char **name)
{
	char *dir = xasprintf("%s/pkg/%s", s->dir, key);
	int r = dircheck(dir, key, why, name);

	free(dir);
	return r;
}

int
storehas(const struct store *s, const char *key, const char *name)
{
	struct buf why = {0};
	char *n;
	int r = entrycheck(s, key, &why, &n);

	if (r < 0)
		warn("store entry %s (%s) is damaged (%s): rebuilding", key, name, why.p);
	free(n);
	buffree(&why);
	return r > 0;
}

/* Take pkg/KEY out of the store (into tmp/, emptied by the next storeopen):
 * the next run finds it missing and builds it again. */
static void
storedrop(const struct store *s, const char *key)
{
	char *final = xasprintf("%s/pkg/%s", s->dir, key), *old = xasprintf("%s/tmp/%s.damaged.XXXXXX", s->dir, key);

	if (mkdtemp(old) && rename(final, old) < 0)
		rmdir(old);
	free(final);
	free(old);
}

int
storeverify(const struct store *s, const char *key)
{
	struct buf why = {0};
	char *name;
	int r = entrycheck(s, key, &why, &name);

	if (r == 0)
		err("store entry %s is missing from %s/pkg: run the build again to rebuild it", key, s->dir);
	else if (r < 0)
		storedamaged(s, key, why.p);
	free(name);
	buffree(&why);
	return r > 0 ? 0 : -1;
}

void
storedamaged(const struct store *s, const char *key, const char *why)
{
	char *p = xasprintf("%s/pkg/%s/info", s->dir, key), v[80] = "";
	struct buf info = {0};

	if (readquiet(p, &info.p, &info.n) == 0)
		infoget(info.p, "name", v, sizeof(v));
	storedrop(s, key);
	err("store entry %s (%s) is damaged (%s): removed it; run the build again to rebuild it", key,
	    v[0] ? v : "?", why);
	buffree(&info);
	free(p);
}

char *
storearchive(const struct store *s, const char *key)
{
	return xasprintf("%s/pkg/%s/pkg.tar.zst", s->dir, key);
}

char *
storemanifest(const struct store *s, const char *key)
{
	return xasprintf("%s/pkg/%s/manifest", s->dir, key);
}

struct walk {
	char **paths;     /* relative to the root, sorted at the end */
	size_t n, cap;
};

static int
walkdir(const char *root, const char *rel, struct walk *w)
{
	char *dir = rel[0] ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d) {
		err("cannot read %s:", dir);
		free(dir);
		return -1;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *p = rel[0] ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		if (w->n == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 256;
			w->paths = xreallocarray(w->paths, w->cap, sizeof(*w->paths));
		}
		w->paths[w->n++] = p;
		if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) {
			struct stat st;
			char *full = xasprintf("%s/%s", root, p);

			if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode) && walkdir(root, p, w) < 0) {
				free(full);
				closedir(d);
				free(dir);
				return -1;
			}
			free(full);
		}
	}
	closedir(d);
	free(dir);
	return 0;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Write one file's data into the archive, hashing it; 0 or -1. */
static int
packdata(struct archive *a, const char *path, const char *full, char hex[65])
{
	struct sha256 h;
	char buf[65536];
	ssize_t r;
	int fd = open(full, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		err("cannot open %s:", full);
		return -1;
	}
	sha256init(&h);
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		sha256add(&h, buf, (size_t)r);
		if (archive_write_data(a, buf, (size_t)r) != r) {
			err("cannot write %s (adding %s): %s", path, full, storearcherr(a));
			break;
		}
	}
	if (r < 0)
		err("read %s:", full);
	close(fd);
	sha256finalhex(&h, hex);
	return r == 0 ? 0 : -1;
}

/* Add one path of destdir to the archive and its line to the manifest. */
static int
packone(struct archive *a, const char *path, struct archive_entry *e, const char *destdir, const char *rel,
        long long epoch, struct buf *man)
{
	char *full = xasprintf("%s/%s", destdir, rel), hex[65] = "-", target[4096];
	struct stat st;
	int r = -1;
	char type;

	archive_entry_clear(e);
	if (lstat(full, &st) < 0) {
		err("stat %s:", full);
		goto out;
	}
	archive_entry_set_pathname(e, rel);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_mtime(e, epoch, 0);
	archive_entry_set_perm(e, st.st_mode & 07777);
	if (S_ISREG(st.st_mode)) {
		type = 'f';
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_size(e, st.st_size);
	} else if (S_ISDIR(st.st_mode)) {
		type = 'd';
		archive_entry_set_filetype(e, AE_IFDIR);
	} else if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlink(full, target, sizeof(target) - 1);

		if (n < 0) {
			err("readlink %s:", full);
			goto out;
		}
		target[n] = '\0';
		type = 'l';
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_perm(e, 0777);
		archive_entry_set_symlink(e, target);
	} else {
		err("%s: packages may hold only files, directories and symlinks; "
		    "device nodes and FIFOs come from the rootfs stage", full);
		goto out;
	}
	if (archive_write_header(a, e) != ARCHIVE_OK) {
		err("cannot write %s (adding %s): %s", path, full, storearcherr(a));
		goto out;
	}
	if (type == 'f' && packdata(a, path, full, hex) < 0)
		goto out;
	bufprintf(man, "%c %04o %lld %s ", type, type == 'l' ? 0777 : (unsigned)(st.st_mode & 07777),
	          type == 'f' ? (long long)st.st_size : 0LL, hex);
	bufaddesc(man, rel);
	if (type == 'l') {
		bufadds(man, " -> ");
		bufaddesc(man, target);
	}
	bufaddc(man, '\n');
	r = 0;
out:
	free(full);
	return r;
}

/* The archive's compressed stream: libarchive writes the tar into zout,
 * which compresses it with content checksums (every reader verifies them
 * while decompressing; libarchive 3.6's zstd filter cannot ask for them)
 * and hashes the compressed bytes, the sha256 the entry records. */
struct zout {
	int fd;
	const char *path;
	ZSTD_CCtx *c;
	struct sha256 h;
	char ob[65536];
};

static int
zput(struct zout *z, const void *p, size_t n, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = {p, n, 0};
	size_t rem;

	do {
		ZSTD_outBuffer out = {z->ob, sizeof(z->ob), 0};

		rem = ZSTD_compressStream2(z->c, &out, &in, mode);
		if (ZSTD_isError(rem)) {
			err("%s: zstd: %s", z->path, ZSTD_getErrorName(rem));
			return -1;
		}
		sha256add(&z->h, z->ob, out.pos);
		for (size_t off = 0; off < out.pos;) {
			ssize_t w = write(z->fd, z->ob + off, out.pos - off);

			if (w < 0 && errno != EINTR) {
				err("write %s:", z->path);
				return -1;
			}
			off += w > 0 ? (size_t)w : 0;
		}
	} while (mode == ZSTD_e_end ? rem != 0 : in.pos < in.size);
	return 0;
}

static la_ssize_t
zwrite(struct archive *a, void *arg, const void *p, size_t n)
{
	return zput(arg, p, n, ZSTD_e_continue) < 0 ? -1 : (la_ssize_t)n;
}

/* Write destdir as a deterministic tar.zst at path, the manifest text, and
 * the archive's sha256 into hex. */
static int
pack(const char *destdir, const char *path, long long epoch, struct buf *man, char hex[65])
{
	struct walk w = {0};
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	struct zout *z = xcalloc(1, sizeof(*z));
	int r = -1;

	z->path = path;
	sha256init(&z->h);
	z->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	z->c = ZSTD_createCCtx();
	if (z->fd < 0 || !z->c) {
		err("cannot write %s:", path);
		goto out;
	}
	ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel, STORE_ZSTD_LEVEL);
	ZSTD_CCtx_setParameter(z->c, ZSTD_c_checksumFlag, 1);
	if (walkdir(destdir, "", &w) < 0)
		goto out;
	if (w.n)
		qsort(w.paths, w.n, sizeof(*w.paths), cmpstr);
	archive_write_set_format_pax_restricted(a);
	if (archive_write_open(a, z, NULL, zwrite, NULL) != ARCHIVE_OK) {
		err("cannot write %s: %s", path, storearcherr(a));
		goto out;
	}
	for (size_t i = 0; i < w.n; i++)
		if (packone(a, path, e, destdir, w.paths[i], epoch, man) < 0)
			goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		err("cannot finish %s: %s", path, storearcherr(a));
		goto out;
	}
	if (zput(z, "", 0, ZSTD_e_end) < 0)
		goto out;
	if (fsync(z->fd) < 0) {
		err("fsync %s:", path);
		goto out;
	}
	r = 0;
out:
	/* first: freeing an archive that was not closed flushes it through
	 * zwrite, which needs z */
	archive_write_free(a);
	archive_entry_free(e);
	if (r == 0)
		sha256finalhex(&z->h, hex);
	else
		sha256final(&z->h, (unsigned char[32]){0});
	if (z->fd >= 0)
		close(z->fd);
	ZSTD_freeCCtx(z->c);
	free(z);
	for (size_t i = 0; i < w.n; i++)
		free(w.paths[i]);
	free(w.paths);
	return r;
}

/* Write the entry's files into the directory tmp: the archive, the
 * manifest, info with the hashes of both, and the verification stamp. */
static int
entrywrite(const char *tmp, const char *destdir, long long epoch, const char *info)
{
	char *arch = xasprintf("%s/pkg.tar.zst", tmp), *man = xasprintf("%s/manifest", tmp);
	char *inf = xasprintf("%s/info", tmp), *ver = xasprintf("%s/verified", tmp), ahex[65], mhex[65];
	struct buf m = {0}, i = {0}, st = {0};
	const char *what;
	struct sha256 h;
	int r = -1;

	if (pack(destdir, arch, epoch, &m, ahex) < 0 || writeatomic(man, m.p ? m.p : "", m.n, 0644) < 0)
		goto out;
	sha256init(&h);
	sha256add(&h, m.p ? m.p : "", m.n);
	sha256finalhex(&h, mhex);
	bufprintf(&i, "%sarchive-sha256 %s\nmanifest-sha256 %s\n", info, ahex, mhex);
	if (writeatomic(inf, i.p, i.n, 0644) < 0)
		goto out;
	if (stamp(tmp, &st, &what) < 0) {
		err("stat %s/%s:", tmp, what);
		goto out;
	}
	r = writeatomic(ver, st.p, st.n, 0644);
out:
	free(arch);
	free(man);
	free(inf);
	free(ver);
	buffree(&m);
	buffree(&i);
	buffree(&st);
	return r;
}

/* Rename the complete entry directory tmp to pkg/KEY; 0 or -1 (reported). */
static int
place(const struct store *s, const char *key, const char *tmp)
{
	char *final = xasprintf("%s/pkg/%s", s->dir, key), *old = xasprintf("%s/tmp/%s.old.XXXXXX", s->dir, key);
	int r = -1;

	chmod(tmp, 0755);
	if (!mkdtemp(old)) {
		err("cannot create a directory in %s/tmp:", s->dir);
		goto out;
	}
	/* a damaged entry in the way moves aside first (onto the empty old);
	 * the store's lock keeps other runs out, so between the two renames
	 * the key is only missing, never partial */
	if (rename(final, old) < 0 && errno != ENOENT) {
		err("cannot move the damaged %s aside to %s:", final, old);
		goto out;
	}
	if (rename(tmp, final) < 0) {
		err("cannot move %s to %s:", tmp, final);
		goto out;
	}
	r = 0;
out:
	if (exists(old))
		rmtree(old);
	free(final);
	free(old);
	return r;
}

int
storetmpclean(const struct store *s, const char *key)
{
	char *tmp = xasprintf("%s/tmp", s->dir);
	size_t n = strlen(key);
	struct dirent *e;
	DIR *d = opendir(tmp);
	int rc = 0;

	if (!d) {
		free(tmp);
		return 0;
	}
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, key, n) && e->d_name[n] == '.') {
			char *p = xasprintf("%s/%s", tmp, e->d_name);

			rc |= rmtree(p);
			free(p);
		}
	closedir(d);
	free(tmp);
	return rc < 0 ? -1 : 0;
}

char *
storetmp(const struct store *s, const char *key)
{
	char *tmp = xasprintf("%s/tmp/%s.XXXXXX", s->dir, key);

	if (!mkdtemp(tmp)) {
		err("cannot create a directory in %s/tmp:", s->dir);
		free(tmp);
		return NULL;
	}
	return tmp;
}

int
storeadd(const struct store *s, const char *key, const char *destdir, long long epoch, const char *info)
{
	char *tmp = storetmp(s, key);
	int r = -1;

	if (tmp && entrywrite(tmp, destdir, epoch, info) == 0)
		r = place(s, key, tmp);
	if (tmp && exists(tmp))
		rmtree(tmp);
	free(tmp);
	return r;
}

int
storeimport(const struct store *s, const char *key, const char *name, const char *dir, struct buf *why)
{
	char *got;
	int r = dircheck(dir, key, why, &got);

	if (r > 0 && (!got || strcmp(got, name))) {
		bufprintf(why, "its info names the package '%s'", got ? got : "");
		r = -1;
	} else if (r == 0) {
		bufprintf(why, "%s is missing", dir);
		r = -1;
	}
	free(got);
	if (r < 0)
		return 0;
	return place(s, key, dir) < 0 ? -1 : 1;
}

/* Our archives hold only relative paths without "..": anything else means
 * the store was tampered with. */
static int
safepath(const char *p)
{
	return p[0] && p[0] != '/' && strcmp(p, "..") && strncmp(p, "../", 3) && !strstr(p, "/../") &&
	       !endswith(p, "/..");
}

int
storeextract(const struct store *s, const char *key, const char *dir)
{
	char *path = storearchive(s, key);
	struct archive *a = archive_read_new(), *w = archive_write_disk_new();
	struct archive_entry *e;
	int r = -1, st, damaged = 0;

	if (storeverify(s, key) < 0)
		goto out;
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
	                                  ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		damaged = 1;
		goto out;
	}
	while ((st = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(e);
		char *full;

		if (!p || !safepath(p)) {
			archive_set_error(a, EINVAL, "unsafe entry '%s'", p ? p : "");
			damaged = 1;
			goto out;
		}
		full = xasprintf("%s/%s", dir, p);
		archive_entry_set_pathname(e, full);
		free(full);
		/* two packages may both own a directory; files must not collide */
		if (archive_write_header(w, e) != ARCHIVE_OK) {
			err("%s: cannot extract '%s' into %s: %s", path, p, dir, storearcherr(w));
			goto out;
		}
		if (archive_entry_size(e) > 0) {
			const void *buf;
			size_t len;
			la_int64_t off;

			while ((st = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK)
				if (archive_write_data_block(w, buf, len, off) != ARCHIVE_OK)
					break;
			if (st != ARCHIVE_EOF) {
				damaged = st != ARCHIVE_OK;
				if (!damaged)
					err("%s: cannot extract '%s' into %s: %s", path, p, dir, storearcherr(w));
				goto out;
			}
		}
		if (archive_write_finish_entry(w) != ARCHIVE_OK) {
			err("%s: cannot finish '%s' in %s: %s", path, p, dir, storearcherr(w));
			goto out;
		}
	}
	if (st != ARCHIVE_EOF)
		damaged = 1;
	else
		r = 0;
out:
	/* the entry passed storeverify: a read error now is damage below the
	 * file system (zstd's checksum) or a change since */
	if (damaged)
		storedamaged(s, key, archive_error_string(a) ? archive_error_string(a) : "unreadable archive");
	archive_read_free(a);
	archive_write_free(w);
	free(path);
	return r;
}

int
storeattach(struct store *s, const char *dir)
{
	char *pkg = xasprintf("%s/pkg", dir);
	struct stat st;
	int r = stat(pkg, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : 1;

	free(pkg);
	s->dir = xstrdup(dir);
	s->lock = -1;
	return r == 0 && storelock(s) < 0 ? -1 : r;
}

static int
cmpentry(const void *a, const void *b)
{
	return strcmp(((const struct storeentry *)a)->key, ((const struct storeentry *)b)->key);
}

static int
addusage(void *ctx, const struct walkent *e)
{
	*(unsigned long long *)ctx += (unsigned long long)e->st->st_blocks * 512;
	return 0;
}

/* The disk space under the directory path (du), 0 when it cannot be read. */
static unsigned long long
usage(const char *path)
{
	unsigned long long n = 0;
	struct stat st;

	if (lstat(path, &st) < 0)
		return 0;
	n = (unsigned long long)st.st_blocks * 512;
	if (S_ISDIR(st.st_mode))
		oswalk(path, addusage, &n);
	return n;
}

/* The entries of the directory dir/sub, sorted, into *v (appended). */
static int
listdir(const char *dir, const char *sub, int tmp, struct storeentry **v, size_t *n)
{
	char *path = xasprintf("%s/%s", dir, sub);
	DIR *d = opendir(path);
	struct dirent *e;
	size_t first = *n, cap = *n;

	if (!d) {
		err("cannot read %s:", path);
		free(path);
		return -1;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*v = xreallocarray(*v, cap, sizeof(**v));
		}
		char *full = xasprintf("%s/%s", path, e->d_name), *info = xasprintf("%s/info", full), *text;
		size_t len;
		char name[80] = "";

		if (!tmp && readquiet(info, &text, &len) == 0) {
			infoget(text, "name", name, sizeof(name));
			free(text);
		}
		(*v)[(*n)++] = (struct storeentry){
			.key = tmp ? xasprintf("tmp/%s", e->d_name) : xstrdup(e->d_name),
			.name = xstrdup(tmp ? "-" : name[0] ? name : "?"),
			.bytes = usage(full),
		};
		free(info);
		free(full);
	}
	closedir(d);
	free(path);
	qsort(*v + first, *n - first, sizeof(**v), cmpentry);
	return 0;
}

int
storelist(const struct store *s, struct storeentry **v, size_t *n)
{
	char *tmp = xasprintf("%s/tmp", s->dir);
	int r;

	*v = NULL;
	*n = 0;
	r = listdir(s->dir, "pkg", 0, v, n);
	if (r == 0 && exists(tmp))
		r = listdir(s->dir, "tmp", 1, v, n);
	free(tmp);
	return r;
}

void
storelistfree(struct storeentry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].name);
	}
	free(v);
}

int
storeremove(const struct store *s, const char *key)
{
	char *final, *old = NULL;
	int r = -1;

	if (!strncmp(key, "tmp/", 4)) {
		final = xasprintf("%s/%s", s->dir, key);
		r = rmtree(final);
		free(final);
		return r;
	}
	final = xasprintf("%s/tmp", s->dir);
	r = mkdirp(final, 0755);
	free(final);
	if (r < 0)
		return -1;
	r = -1;
	final = xasprintf("%s/pkg/%s", s->dir, key);
	old = xasprintf("%s/tmp/%s.gc.XXXXXX", s->dir, key);
	/* out of pkg/ at once: no run ever sees part of an entry; what the
	 * removal leaves (killed half way) is in tmp/, emptied by storeopen */
	if (!mkdtemp(old)) {
		err("cannot create a directory in %s/tmp:", s->dir);
	} else if (rename(final, old) < 0) {
		err("cannot move %s to %s:", final, old);
		rmdir(old);
	} else {
		r = rmtree(old);
	}
	free(final);
	free(old);
	return r;
}
