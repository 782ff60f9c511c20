/* firstboot: messages, paths, buffers and atomic files (see fb.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fb.h"

const char *fbroot = "";
int sigfd = -1;

void
msg(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	size_t n = strlen(fmt);

	fputs("undistro: firstboot: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (n && fmt[n - 1] == ':')
		printf(" %s", strerror(e));
	putchar('\n');
	fflush(stdout);
	errno = e;
}

int64_t
nowms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
rpath(char out[PATHMAX], const char *fmt, ...)
{
	va_list ap;
	size_t r = strlen(fbroot);
	int n;

	memcpy(out, fbroot, r);
	va_start(ap, fmt);
	n = vsnprintf(out + r, PATHMAX - r, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= PATHMAX - r) {
		out[r] = 0;
		msg("%s...: path too long", out);
		return -1;
	}
	return 0;
}

void *
xalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		msg("out of memory");
		exit(2);
	}
	return p;
}

void
bufset(struct buf *b, const void *p, size_t n)
{
	buffree(b);
	bufadd(b, p, n);
}

void
bufadd(struct buf *b, const void *p, size_t n)
{
	char *q;

	/* every caller's total is bounded (MAXFILE, MAXUNZIP), so no overflow */
	q = xalloc(b->len + n + 1);
	if (b->len)
		memcpy(q, b->p, b->len);
	if (n)
		memcpy(q + b->len, p, n);
	free(b->p);
	b->p = q;
	b->len += n;
	b->p[b->len] = 0;
}

void
buffree(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
}

int
readbounded(const char *path, size_t max, struct buf *b)
{
	char *p = xalloc(max + 1);
	size_t n = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		goto fail;
	/* read one byte beyond max to tell "exactly max" from "more" */
	while (n <= max) {
		r = read(fd, p + n, max + 1 - n);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		n += (size_t)r;
	}
	close(fd);
	if (n > max) {
		free(p);
		errno = EFBIG;
		return -1;
	}
	buffree(b);
	p[n] = 0;
	b->p = p;
	b->len = n;
	return 0;
fail:
	if (fd >= 0) {
		int e = errno;
		close(fd);
		errno = e;
	}
	free(p);
	return -1;
}

static int
writeall(int fd, const char *p, size_t n)
{
	ssize_t r;

	while (n) {
		r = write(fd, p, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int
writeatomic(const char *path, const void *p, size_t n, mode_t mode, uid_t uid, gid_t gid)
{
	char tmp[PATHMAX + 8];
	int fd, e;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fchmod(fd, mode) < 0 || (uid != (uid_t)-1 && fchown(fd, uid, gid) < 0) ||
	    writeall(fd, p, n) < 0 || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}

int
mkdirs(const char *path, mode_t mode)
{
	char p[PATHMAX];
	size_t i, n = strlen(path);

	if (n >= sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(p, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != 0)
			continue;
		p[i] = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -1;
		p[i] = i < n ? '/' : 0;
	}
	return 0;
}

int
istext(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f)
			return 0;
	}
	return 1;
}

size_t
trimspace(const char *p, size_t n)
{
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	return n;
}
