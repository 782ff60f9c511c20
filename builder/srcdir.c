/* In-tree sources: the content hash of a directory of the tree, and its
 * copy into a build's $SRC (srcdir.h). One walk does both, so the hash a
 * build checks is the hash of what it copied. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "sha256.h"
#include "srcdir.h"

struct hashwalk {
	struct sha256 h;
	const char *to;           /* copy below this directory, or NULL */
	const struct loc *at;
	size_t entries;
	long long bytes;
};

static const char *
kindname(mode_t m)
{
	return S_ISLNK(m) ? "a symbolic link" : S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" :
	       S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device" : "not a regular file";
}

static void
hashchunk(void *ctx, const void *p, size_t n)
{
	sha256add(ctx, p, n);
}

static int
hashentry(void *ctx, const struct walkent *e)
{
	struct hashwalk *w = ctx;
	mode_t m = e->st->st_mode;
	const char *name = strrchr(e->rel, '/');
	char *to = NULL, size[32];
	long long got;
	int r = 0;

	if (!strcmp(name ? name + 1 : e->rel, ".git"))
		return 1;
	if (!S_ISDIR(m) && !S_ISREG(m)) {
		errat(w->at, "%s is %s: in-tree sources hold regular files and directories only; put the file "
		      "itself there, or remove it", e->path, kindname(m));
		return -1;
	}
	if (++w->entries > SRCDIRMAXENTRIES) {
		errat(w->at, "%s: more than %d files and directories under the in-tree source (the limit): make it "
		      "a source archive", e->path, SRCDIRMAXENTRIES);
		return -1;
	}
	if (S_ISREG(m) && (w->bytes += e->st->st_size) > SRCDIRMAXBYTES) {
		errat(w->at, "%s: the in-tree source's files hold more than %lld MiB in all (the limit): make it a "
		      "source archive", e->path, SRCDIRMAXBYTES >> 20);
		return -1;
	}
	sha256add(&w->h, S_ISDIR(m) ? "d" : (m & S_IXUSR) ? "x" : "f", 1);
	sha256add(&w->h, e->rel, strlen(e->rel) + 1);
	if (w->to)
		to = xasprintf("%s/%s", w->to, e->rel);
	if (S_ISDIR(m)) {
		r = to ? mkdirp(to, 0755) : 0;
	} else {
		snprintf(size, sizeof(size), "%lld\n", (long long)e->st->st_size);
		sha256add(&w->h, size, strlen(size));
		got = osstreamfile(e->path, (size_t)e->st->st_size, hashchunk, &w->h, to, (m & S_IXUSR) ? 0755 : 0644);
		if (got >= 0 && got != (long long)e->st->st_size)
			errat(w->at, "%s changed while it was read: build again once it is written", e->path);
		r = got == (long long)e->st->st_size ? 0 : -1;
	}
	free(to);
	return r;
}

int
srcdirhash(const char *path, const char *to, const struct loc *at, char hex[65])
{
	struct hashwalk w = {.to = to, .at = at};
	unsigned char none[32];

	sha256init(&w.h);
	sha256add(&w.h, "undistro-srcdir 1\n", 18);
	if (oswalk(path, hashentry, &w) < 0) {
		sha256final(&w.h, none);
		return -1;
	}
	sha256finalhex(&w.h, hex);
	return 0;
}
