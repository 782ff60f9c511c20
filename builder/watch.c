/* Watching a plan's inputs with inotify: see watch.h. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "recipe.h"
#include "solve.h"
#include "str.h"
#include "tree.h"
#include "watch.h"

/* Everything that changes a directory's entries or a file's bytes or mode;
 * IN_ONLYDIR: a path that became a file is not watched as a directory. */
#define MASK (IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
              IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

/* x, y and z concatenated, in the arena */
static char *
cat(struct arena *a, const char *x, const char *y, const char *z)
{
	char *t = xconcat(x, y, z), *r = arenastrdup(a, t);

	free(t);
	return r;
}

static void
push(struct arena *a, struct watchdir **v, size_t *n, char *path, enum watchkind kind, int recursive)
{
	*ARENAPUSH(a, *v, *n) = (struct watchdir){.path = path, .kind = kind, .recursive = recursive};
}

void
watchset(struct arena *a, const struct tree *t, const struct role *flat, const struct plan *pl,
         struct watchdir **v, size_t *n)
{
	*v = NULL;
	*n = 0;
	push(a, v, n, cat(a, t->root, "/recipes", ""), WATCH_RECIPES, 1);
	push(a, v, n, cat(a, t->root, "/stage2", ""), WATCH_STAGE2, 1);
	for (size_t i = 0; flat && i < flat->overlays.n; i++)
		push(a, v, n, cat(a, t->overlays, "/", flat->overlays.v[i]), WATCH_OVERLAY, 1);
	for (size_t i = 0; flat && i < flat->nusers; i++)
		for (size_t k = 0; k < flat->users[i].keys.n; k++) {
			const char *p = flat->users[i].keys.v[k];
			char *full = p[0] == '/' ? arenastrdup(a, p) : cat(a, t->root, "/", p), *slash;

			if ((slash = strrchr(full, '/')) && slash != full)
				*slash = 0;
			push(a, v, n, full, WATCH_KEYS, 0);
		}
	for (size_t i = 0; pl && i < pl->n; i++)
		for (size_t k = 0; k < pl->pkgs[i].r->nsources; k++)
			if (pl->pkgs[i].r->sources[k].dirpath)
				push(a, v, n, pl->pkgs[i].r->sources[k].dirpath, WATCH_SOURCE, 1);
}

/* path is dir or below it */
static int
below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

size_t
watchpkgs(const struct plan *pl, const char *dir, const char *name, unsigned char *mark)
{
	char *full = *name ? xconcat(dir, "/", name) : xstrdup(dir);
	size_t marked = 0;

	for (size_t i = 0; i < pl->n; i++) {
		const struct recipe *r = pl->pkgs[i].r;
		int hit = !strcmp(full, r->path) || (r->isdirpkg && below(full, r->dir));

		for (size_t k = 0; !hit && k < r->nsources; k++)
			hit = r->sources[k].dirpath && below(full, r->sources[k].dirpath);
		if (hit && !mark[i])
			mark[i] = 1, marked++;
	}
	free(full);
	return marked;
}

void
watchaffected(const struct plan *pl, unsigned char *mark)
{
	/* dependencies come first in the plan: one pass carries marks forward */
	for (size_t i = 0; i < pl->n; i++) {
		const struct planpkg *p = &pl->pkgs[i];

		for (size_t k = 0; !mark[i] && k < p->nsysroot; k++)
			mark[i] = mark[p->sysroot[k]];
		for (size_t k = 0; !mark[i] && k < p->nrundeps; k++)
			mark[i] = mark[p->rundeps[k]];
	}
}

int
watchtimeout(double now, double deadline)
{
	double ms = (deadline - now) * 1000;
	int r;

	if (deadline < 0)
		return -1;
	if (ms <= 0)
		return 0;
	if (ms >= INT_MAX)
		return INT_MAX;
	r = (int)ms;
	return r < ms ? r + 1 : r;
}

int
watchopen(struct watch *w)
{
	*w = (struct watch){.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)};
	if (w->fd < 0) {
		err("inotify_init1:");
		return -1;
	}
	return 0;
}

static struct watchent *
findwd(struct watch *w, int wd)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].wd == wd)
			return &w->v[i];
	return NULL;
}

/* Watch one directory (a missing one, or a file, is skipped). */
static int
add(struct watch *w, const char *path, enum watchkind kind, int recursive)
{
	int wd = inotify_add_watch(w->fd, path, MASK);
	struct watchent *e;

	if (wd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == EACCES)
			return 0;
		err("cannot watch %s (raise fs.inotify.max_user_watches?):", path);
		return -1;
	}
	if (!(e = findwd(w, wd))) {
		if (w->n == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 64;
			w->v = xreallocarray(w->v, w->cap, sizeof(*w->v));
		}
		e = &w->v[w->n++];
		*e = (struct watchent){.wd = wd, .path = xstrdup(path)};
	}
	e->kind = kind;
	e->recursive = recursive;
	e->seen = 1;
	return 0;
}

struct walkctx {
	struct watch *w;
	enum watchkind kind;
};

static int
walkdir(void *ctx, const struct walkent *e)
{
	struct walkctx *c = ctx;

	if (!S_ISDIR(e->st->st_mode))
		return 0;
	return add(c->w, e->path, c->kind, 1);
}

/* Watch path and, when recursive, every directory below it. */
static int
addtree(struct watch *w, const char *path, enum watchkind kind, int recursive)
{
	struct walkctx c = {w, kind};
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (add(w, path, kind, recursive) < 0)
		return -1;
	return recursive ? oswalk(path, walkdir, &c) : 0;
}

static void
drop(struct watch *w, size_t i)
{
	free(w->v[i].path);
	w->v[i] = w->v[--w->n];
}

int
watchsync(struct watch *w, const struct watchdir *v, size_t n, int keep)
{
	for (size_t i = 0; i < w->n; i++)
		w->v[i].seen = 0;
	for (size_t i = 0; i < n; i++)
		if (addtree(w, v[i].path, v[i].kind, v[i].recursive) < 0)
			return -1;
	for (size_t i = w->n; !keep && i-- > 0;)
		if (!w->v[i].seen) {
			inotify_rm_watch(w->fd, w->v[i].wd);
			drop(w, i);
		}
	return 0;
}

static void
note(struct watchchange *c, const char *dir, const char *name)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->dirs = xreallocarray(c->dirs, c->cap, sizeof(*c->dirs));
		c->names = xreallocarray(c->names, c->cap, sizeof(*c->names));
	}
	c->dirs[c->n] = xstrdup(dir);
	c->names[c->n++] = xstrdup(name);
}

/* One event of the watched directory w->v[i]. */
static int
event(struct watch *w, struct watchchange *c, size_t i, const struct inotify_event *ev)
{
	const char *name = ev->len ? ev->name : "";
	enum watchkind kind = w->v[i].kind;
	int rc = 0;

	c->any = 1;
	c->all |= kind == WATCH_STAGE2;
	if (kind == WATCH_RECIPES || kind == WATCH_SOURCE) {
		/* a recipe or role file, or a new package directory */
		c->plan |= kind == WATCH_RECIPES;
		note(c, w->v[i].path, name);
	}
	if (ev->mask & IN_IGNORED) {
		/* the directory is gone (or was unwatched): its wd is free again */
		drop(w, i);
	} else if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && (ev->mask & IN_ISDIR) && w->v[i].recursive) {
		char *p = xconcat(w->v[i].path, "/", name);

		rc = addtree(w, p, kind, 1);
		free(p);
	}
	return rc;
}

int
watchread(struct watch *w, struct watchchange *c)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	int count = 0;

	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return count;
		if (n <= 0) {
			err("reading inotify events:");
			return -1;
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			struct watchent *e = findwd(w, ev->wd);

			p += sizeof(*ev) + ev->len;
			count++;
			if (ev->mask & IN_Q_OVERFLOW) {
				/* events were lost: anything may have changed */
				c->any = c->all = c->plan = 1;
				continue;
			}
			if (e && event(w, c, (size_t)(e - w->v), ev) < 0)
				return -1;
		}
	}
}

int
watchmark(const struct watchchange *c, const struct plan *pl, unsigned char *mark)
{
	size_t any = 0;

	for (size_t i = 0; i < pl->n; i++)
		any += mark[i] = (unsigned char)(c->all != 0);
	for (size_t i = 0; i < c->n; i++)
		any += watchpkgs(pl, c->dirs[i], c->names[i], mark);
	watchaffected(pl, mark);
	return any != 0;
}

void
watchchangeclear(struct watchchange *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->dirs[i]);
		free(c->names[i]);
	}
	free(c->dirs);
	free(c->names);
	*c = (struct watchchange){0};
}

void
watchclose(struct watch *w)
{
	while (w->n)
		drop(w, w->n - 1);
	free(w->v);
	if (w->fd >= 0)
		close(w->fd);
	*w = (struct watch){.fd = -1};
}
