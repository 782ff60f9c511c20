#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "str.h"
#include "unpack.h"

/* A symlink unpacked, to be checked once the whole tree exists. */
struct link {
	char *entry, *path, *target;
};

struct unpacker {
	struct unpackopts o;
	struct archive *in, *out;
	char *top;                /* the top-level directory being stripped */
	size_t nentries;
	unsigned long long nbytes;
	struct link *links;
	size_t nlinks;
};

/* Report a refused entry: "ARCHIVE: entry 'NAME': why". */
static int
refuse(const struct unpacker *u, const char *entry, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err("%s: entry '%s': %s", u->o.name, entry, msg);
	return -1;
}

/* p without empty and "." components; NULL, with why, when it is absolute
 * or has a ".." component. */
static char *
cleanpath(const char *p, const char **why)
{
	struct buf b = {0};
	size_t k;

	if (*p == '/') {
		*why = "absolute path; entries must stay inside the build directory";
		return NULL;
	}
	for (; *p; p += k, p += *p == '/') {
		k = strcspn(p, "/");
		if (k == 2 && p[0] == '.' && p[1] == '.') {
			*why = "path escapes the build directory";
			buffree(&b);
			return NULL;
		}
		if (k == 0 || (k == 1 && p[0] == '.'))
			continue;
		if (b.n)
			bufaddc(&b, '/');
		bufaddn(&b, p, k);
	}
	if (!b.p)
		bufaddn(&b, "", 0);
	return b.p;
}

/* A cleaned path with the top-level directory removed ("" for the directory
 * itself); the first entry decides what the top-level directory is. NULL when
 * p is not under it. */
static const char *
striptop(struct unpacker *u, const char *p)
{
	size_t k = strcspn(p, "/");

	if (!u->o.strip)
		return p;
	if (!u->top)
		u->top = xstrndup(p, k);
	if (strlen(u->top) != k || strncmp(p, u->top, k))
		return NULL;
	return p[k] ? p + k + 1 : "";
}

/* Nonzero when a symlink at path (cleaned) with this target stays inside,
 * judged on the text alone. */
static int
linkinside(const char *path, const char *target)
{
	long depth = 0;
	const char *p;
	size_t k;

	if (*target == '/')
		return 0;
	for (p = path; *p; p++)
		depth += *p == '/';
	for (p = target; *p; p += k, p += *p == '/') {
		k = strcspn(p, "/");
		if (k == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return 0;
		} else if (k && !(k == 1 && p[0] == '.')) {
			depth++;
		}
	}
	return 1;
}

/* Nonzero when path (relative to the destination) is a regular file reached
 * through directories only: what a hardlink may point at. */
static int
linkablefile(const char *path)
{
	char *p = xstrdup(path), *s;
	struct stat st;
	int ok = 1;

	for (s = strchr(p, '/');; s = strchr(s + 1, '/')) {
		if (s)
			*s = '\0';
		if (lstat(p, &st) < 0 || (s ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))) {
			ok = 0;
			break;
		}
		if (!s)
			break;
		*s = '/';
	}
	free(p);
	return ok;
}

/* The entry's type and mode: only files, directories and symlinks. */
static int
vettype(const struct unpacker *u, struct archive_entry *e, const char *name)
{
	mode_t type = archive_entry_filetype(e), perm = archive_entry_perm(e);

	switch (type) {
	case AE_IFREG: case AE_IFDIR: case AE_IFLNK:
		break;
	case AE_IFCHR: case AE_IFBLK:
		return refuse(u, name, "device node (%s device %lu,%lu); source archives must not create devices",
		              type == AE_IFCHR ? "character" : "block", (unsigned long)archive_entry_rdevmajor(e),
		              (unsigned long)archive_entry_rdevminor(e));
	case AE_IFIFO:
		return refuse(u, name, "FIFO; source archives must not create named pipes");
	case AE_IFSOCK:
		return refuse(u, name, "socket; source archives must not create sockets");
	default:
		if (!archive_entry_hardlink(e))
			return refuse(u, name, "unknown file type %#o", (unsigned)type);
	}
	if (type == AE_IFDIR)
		archive_entry_set_perm(e, perm & 0777);
	else if (perm & (S_ISUID | S_ISGID))
		return refuse(u, name, "%s file (mode %04o); source archives must not carry privileges",
		              perm & S_ISUID ? "setuid" : "setgid", (unsigned)perm);
	return 0;
}

/* Where a path (or hardlink target) of the archive goes in the destination:
 * cleaned, top-level directory stripped; NULL after reporting. */
static char *
destpath(struct unpacker *u, const char *name, const char *p, const char *what)
{
	const char *why = NULL, *rel;
	char *clean = cleanpath(p, &why), *r;

	if (!clean) {
		refuse(u, name, "%s%s%s", what, what[0] ? ": " : "", why);
		return NULL;
	}
	rel = striptop(u, clean);
	if (!rel) {
		refuse(u, name, "%s%soutside the archive's top-level directory '%s/'; set `strip = no` in the "
		       "recipe's source block to keep the whole tree", what, what[0] ? " " : "", u->top);
		free(clean);
		return NULL;
	}
	r = xstrdup(rel);
	free(clean);
	return r;
}

/* Decide about one entry, rewriting its paths for the destination: 1 to
 * write it, 0 to skip it (the top-level directory itself), -1 refused. */
static int
vet(struct unpacker *u, struct archive_entry *e, const char *name)
{
	const char *target = archive_entry_symlink(e), *hard = archive_entry_hardlink(e);
	char *rel, *h;
	int isdir = archive_entry_filetype(e) == AE_IFDIR;

	if (vettype(u, e, name) < 0 || !(rel = destpath(u, name, name, "")))
		return -1;
	if (!*rel) {
		free(rel);
		if (isdir)
			return 0;
		return refuse(u, name, "%s", u->o.strip ? "a file, not a top-level directory to strip; set `strip = no`"
		                                        : "entry without a name");
	}
	archive_entry_set_pathname(e, rel);
	if (archive_entry_filetype(e) == AE_IFLNK && (!target || !linkinside(rel, target))) {
		free(rel);
		return refuse(u, name, "symlink target '%s' points outside the build directory", target ? target : "");
	}
	free(rel);
	if (hard) {
		if (!(h = destpath(u, name, hard, "hardlink target")))
			return -1;
		if (!*h || !linkablefile(h)) {
			refuse(u, name, "hardlink target '%s' is not a regular file unpacked inside the build directory", hard);
			free(h);
			return -1;
		}
		archive_entry_set_hardlink(e, h);
		free(h);
	}
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
	    (unsigned long long)archive_entry_size(e) > u->o.maxbytes - u->nbytes)
		return refuse(u, name, "unpacks to more than %llu bytes in all; refusing a possible archive bomb "
		              "(the limit is unpackopts.maxbytes)", u->o.maxbytes);
	return 1;
}

static int
copydata(struct unpacker *u, const char *name)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;

	for (;;) {
		r = archive_read_data_block(u->in, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return refuse(u, name, "%s", archive_error_string(u->in));
		if (size > u->o.maxbytes - u->nbytes)
			return refuse(u, name, "unpacks to more than %llu bytes in all; refusing a possible archive "
			              "bomb (the limit is unpackopts.maxbytes)", u->o.maxbytes);
		u->nbytes += size;
		if (archive_write_data_block(u->out, buf, size, off) < ARCHIVE_WARN)
			return refuse(u, name, "%s", archive_error_string(u->out));
	}
}

/* Resolve every unpacked symlink in the kernel, confined beneath the
 * destination: a chain of links, each harmless on its own text, can still
 * lead out (a -> b/.., b -> ..). All are judged before any escaping one is
 * removed, as removing one changes where the others lead. The lexical check
 * covers kernels without openat2. */
static int
checklinks(struct unpacker *u)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
	int root = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC), fd, r = 0;
	char *out = xcalloc(u->nlinks + 1, 1);
	size_t i;

	for (i = 0; i < u->nlinks && root >= 0; i++) {
		fd = (int)syscall(SYS_openat2, root, u->links[i].path, &how, sizeof(how));
		if (fd >= 0)
			close(fd);
		else if (errno == ENOSYS || errno == EPERM)
			break;
		else
			out[i] = errno == EXDEV;
	}
	for (i = 0; i < u->nlinks; i++) {
		if (!out[i])
			continue;
		unlink(u->links[i].path);
		r = refuse(u, u->links[i].entry, "symlink target '%s' leads outside the build directory through "
		           "other symlinks", u->links[i].target);
	}
	if (root >= 0)
		close(root);
	free(out);
	return r;
}

/* Write one entry whose header passed vet(). */
static int
writeentry(struct unpacker *u, struct archive_entry *e, const char *name)
{
	int r = archive_write_header(u->out, e);

	if (r < ARCHIVE_WARN)
		return refuse(u, name, "%s", archive_error_string(u->out));
	if (r == ARCHIVE_WARN)
		warn("%s: entry '%s': %s", u->o.name, name, archive_error_string(u->out));
	if (archive_entry_size(e) > 0 && copydata(u, name) < 0)
		return -1;
	if (archive_write_finish_entry(u->out) < ARCHIVE_WARN)
		return refuse(u, name, "%s", archive_error_string(u->out));
	if (archive_entry_filetype(e) == AE_IFLNK) {
		u->links = xreallocarray(u->links, u->nlinks + 1, sizeof(*u->links));
		u->links[u->nlinks++] = (struct link){xstrdup(name), xstrdup(archive_entry_pathname(e)),
		                                      xstrdup(archive_entry_symlink(e))};
	}
	return 0;
}

/* The child's work, in the destination directory. */
static int
extract(struct unpacker *u, int fd)
{
	struct archive_entry *e;
	char *name;
	int r, rc = 0;

	u->in = archive_read_new();
	archive_read_support_filter_all(u->in);
	archive_read_support_format_tar(u->in);
	u->out = archive_write_disk_new();
	archive_write_disk_set_options(u->out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
	                               ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
	if (archive_read_open_fd(u->in, fd, 65536) != ARCHIVE_OK) {
		err("%s: %s", u->o.name, archive_error_string(u->in));
		return -1;
	}
	while (rc == 0 && (r = archive_read_next_header(u->in, &e)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN) {
			err("%s: %s", u->o.name, archive_error_string(u->in));
			rc = -1;
		} else if (++u->nentries > u->o.maxentries) {
			err("%s: more than %zu entries; refusing a possible archive bomb (the limit is "
			    "unpackopts.maxentries)", u->o.name, u->o.maxentries);
			rc = -1;
		} else {
			name = xstrdup(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
			r = vet(u, e, name);
			rc = r < 0 ? -1 : r > 0 ? writeentry(u, e, name) : 0;
			free(name);
		}
	}
	if (rc == 0)
		rc = checklinks(u);
	if (archive_write_close(u->out) < ARCHIVE_WARN && rc == 0) {
		err("%s: %s", u->o.name, archive_error_string(u->out));
		rc = -1;
	}
	return rc;
}

int
unpack(const char *archive, const char *destdir, const struct unpackopts *opts)
{
	struct unpacker u = {0};
	int fd, st;
	pid_t pid;

	u.o = opts ? *opts : (struct unpackopts){0};
	if (!u.o.name)
		u.o.name = archive;
	if (!u.o.maxentries)
		u.o.maxentries = UNPACK_MAXENTRIES;
	if (!u.o.maxbytes)
		u.o.maxbytes = UNPACK_MAXBYTES;
	if ((fd = open(archive, O_RDONLY | O_CLOEXEC)) < 0) {
		err("cannot open %s:", archive);
		return -1;
	}
	if (mkdirp(destdir, 0755) < 0) {
		close(fd);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		err("fork:");
		close(fd);
		return -1;
	}
	if (pid == 0) {
		umask(022);
		if (chdir(destdir) < 0) {
			err("cannot enter %s:", destdir);
			_exit(1);
		}
		_exit(extract(&u, fd) < 0 ? 1 : 0);
	}
	close(fd);
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			err("waitpid:");
			return -1;
		}
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		nerrors++;  /* the child reported it */
	else
		err("%s: unpacking died of signal %d", u.o.name, WTERMSIG(st));
	return -1;
}
