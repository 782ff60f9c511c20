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
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "sha256.h"
#include "store.h"
#include "str.h"

/* zstd level for package archives: they are intermediate, so favour speed;
 * the role's final archives use 19. */
#define STORE_ZSTD_LEVEL "zstd:compression-level=6"

static int
storelock(struct store *s)
{
	char *p = xasprintf("%s/lock", s->dir);

	s->lock = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
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
	/* whatever is in tmp/ belongs to a run that died: nothing refers to it */
	if (mkdirp(dir, 0755) < 0 || rmtree(tmp) < 0 || mkdirp(tmp, 0755) < 0) {
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

int
storehas(const struct store *s, const char *key)
{
	char *p = xasprintf("%s/pkg/%s/manifest", s->dir, key);
	int r = exists(p);

	free(p);
	return r;
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
packdata(struct archive *a, const char *full, char hex[65])
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
			err("writing %s into the package: %s", full, archive_error_string(a));
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
packone(struct archive *a, struct archive_entry *e, const char *destdir, const char *rel,
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
		err("packing %s: %s", full, archive_error_string(a));
		goto out;
	}
	if (type == 'f' && packdata(a, full, hex) < 0)
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

/* Write destdir as a deterministic tar.zst at path, and the manifest text. */
static int
pack(const char *destdir, const char *path, long long epoch, struct buf *man)
{
	struct walk w = {0};
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	int r = -1;

	if (walkdir(destdir, "", &w) < 0)
		goto out;
	if (w.n)
		qsort(w.paths, w.n, sizeof(*w.paths), cmpstr);
	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_zstd(a);
	if (archive_write_set_options(a, STORE_ZSTD_LEVEL) != ARCHIVE_OK ||
	    archive_write_open_filename(a, path) != ARCHIVE_OK) {
		err("cannot write %s: %s", path, archive_error_string(a));
		goto out;
	}
	for (size_t i = 0; i < w.n; i++)
		if (packone(a, e, destdir, w.paths[i], epoch, man) < 0)
			goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		err("cannot finish %s: %s", path, archive_error_string(a));
		goto out;
	}
	r = 0;
out:
	archive_entry_free(e);
	archive_write_free(a);
	for (size_t i = 0; i < w.n; i++)
		free(w.paths[i]);
	free(w.paths);
	return r;
}

static int
syncfile(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0 || fsync(fd) < 0) {
		err("fsync %s:", path);
		r = -1;
	}
	if (fd >= 0)
		close(fd);
	return r;
}

int
storeadd(const struct store *s, const char *key, const char *destdir, long long epoch, const char *info)
{
	char *tmp = xasprintf("%s/tmp/%s.XXXXXX", s->dir, key), *final = xasprintf("%s/pkg/%s", s->dir, key);
	char *arch = NULL, *man = NULL, *inf = NULL;
	struct buf m = {0};
	int r = -1;

	if (!mkdtemp(tmp)) {
		err("cannot create a directory in %s/tmp:", s->dir);
		goto out;
	}
	arch = xasprintf("%s/pkg.tar.zst", tmp);
	man = xasprintf("%s/manifest", tmp);
	inf = xasprintf("%s/info", tmp);
	if (pack(destdir, arch, epoch, &m) < 0 || syncfile(arch) < 0 ||
	    writeatomic(man, m.p ? m.p : "", m.n, 0644) < 0 || writeatomic(inf, info, strlen(info), 0644) < 0)
		goto out;
	chmod(tmp, 0755);
	/* the rename publishes the entry whole; a concurrent run may have won */
	if (rename(tmp, final) < 0 && errno != EEXIST && errno != ENOTEMPTY) {
		err("cannot move %s to %s:", tmp, final);
		goto out;
	}
	r = 0;
out:
	if (exists(tmp))
		rmtree(tmp);
	free(tmp);
	free(final);
	free(arch);
	free(man);
	free(inf);
	buffree(&m);
	return r;
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
	int r = -1, st;

	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
	                                  ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		err("cannot open %s: %s", path, archive_error_string(a));
		goto out;
	}
	while ((st = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(e);
		char *full;

		if (!p || !safepath(p)) {
			err("%s: unsafe entry '%s': the store is damaged; remove %s/pkg/%s", path, p ? p : "", s->dir, key);
			goto out;
		}
		full = xasprintf("%s/%s", dir, p);
		archive_entry_set_pathname(e, full);
		free(full);
		/* two packages may both own a directory; files must not collide */
		if (archive_write_header(w, e) != ARCHIVE_OK) {
			err("%s: cannot extract '%s': %s", path, p, archive_error_string(w));
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
				err("%s: cannot extract '%s': %s", path, p, archive_error_string(st == ARCHIVE_OK ? w : a));
				goto out;
			}
		}
		if (archive_write_finish_entry(w) != ARCHIVE_OK) {
			err("%s: cannot finish '%s': %s", path, p, archive_error_string(w));
			goto out;
		}
	}
	if (st != ARCHIVE_EOF)
		err("%s: %s", path, archive_error_string(a));
	else
		r = 0;
out:
	archive_read_free(a);
	archive_write_free(w);
	free(path);
	return r;
}
