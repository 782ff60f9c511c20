#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "recipe.h"
#include "sha256.h"
#include "srcdir.h"
#include "str.h"
#include "target.h"
#include "tree.h"

/* Byte order, the same in every locale (alphasort uses strcoll). */
static int
cmpdirent(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Sorted names of the directory's entries; NULL (reported) on failure. */
static char **
listdir(const char *dir, size_t *n)
{
	struct dirent **ents;
	char **names;
	int k = scandir(dir, &ents, NULL, cmpdirent);

	if (k < 0) {
		err("cannot read directory %s:", dir);
		return NULL;
	}
	names = xcalloc((size_t)k + 1, sizeof(*names));
	*n = 0;
	for (int i = 0; i < k; i++) {
		if (ents[i]->d_name[0] != '.')
			names[(*n)++] = xstrdup(ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
	return names;
}

static void
freelist(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
isdir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A path for messages: relative to the tree when the tree is ".". */
static char *
pathjoin(struct tree *t, const char *a, const char *b)
{
	if (!strcmp(t->root, "."))
		return b ? xasprintf("%s/%s", a, b) : xstrdup(a);
	return b ? xasprintf("%s/%s/%s", t->root, a, b) : xasprintf("%s/%s", t->root, a);
}

/* The recipe's hash covers its own bytes and, for a package directory, every
 * other regular file in that directory (patches, fragments), by name. */
int
recipehash(struct recipe *r)
{
	struct sha256 h;
	size_t k, n;
	char **names, *text;

	if (r->hashed)
		return 0;
	if (readfile(r->path, &text, &n) < 0)
		return -1;
	sha256init(&h);
	sha256add(&h, text, n);
	free(text);
	if (r->isdirpkg && (names = listdir(r->dir, &k))) {
		for (size_t i = 0; i < k; i++) {
			char *p = xasprintf("%s/%s", r->dir, names[i]), *data;
			size_t len;
			struct stat st;

			if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && !endswith(names[i], ".recipe") &&
			    readfile(p, &data, &len) == 0) {
				sha256add(&h, names[i], strlen(names[i]) + 1);
				sha256add(&h, data, len);
				free(data);
			}
			free(p);
		}
		freelist(names, k);
	}
	sha256final(&h, r->hash);
	r->hashed = 1;
	return 0;
}

static void
loadrecipe(struct tree *t, const char *path, const char *dir, int isdirpkg)
{
	char *text;
	size_t n;
	struct recipe *r;

	if (readregular(path, TREEFILEMAX, NULL, &text, &n) < 0)
		return;
	/* locations point at the path: it must live as long as the tree */
	r = recipeparse(&t->arena, arenastrdup(&t->arena, path), dir, text, n);
	if (r) {
		r->isdirpkg = isdirpkg;
		*ARENAPUSH(&t->arena, t->recipes, t->nrecipes) = r;
	}
	free(text);
}

static void
loadrecipes(struct tree *t)
{
	char *rdir = pathjoin(t, "recipes", NULL), **names;
	size_t n;

	if (!(names = listdir(rdir, &n))) {
		err("%s is not a recipe tree (no recipes/ directory): use -C DIR", t->root);
		free(rdir);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char *p = xconcat(rdir, "/", names[i]);

		if (endswith(names[i], ".recipe")) {
			loadrecipe(t, p, rdir, 0);
		} else if (strcmp(names[i], "roles") && isdir(p)) {
			char *f = xasprintf("%s/%s.recipe", p, names[i]);  /* directories are few */

			if (exists(f))
				loadrecipe(t, f, p, 1);
			else
				warn("%s: directory without %s.recipe, ignored", p, names[i]);
			free(f);
		}
		free(p);
	}
	freelist(names, n);
	free(rdir);
}

static void
loadroles(struct tree *t)
{
	char *dir = pathjoin(t, "recipes/roles", NULL), **names;
	size_t n;

	if (!isdir(dir) || !(names = listdir(dir, &n))) {
		free(dir);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char *p = xasprintf("%s/%s", dir, names[i]), *text;
		size_t len;
		struct role *ro;

		if (endswith(names[i], ".role") && readregular(p, TREEFILEMAX, NULL, &text, &len) == 0) {
			ro = roleparse(&t->arena, arenastrdup(&t->arena, p), text, len);
			if (ro)
				*ARENAPUSH(&t->arena, t->roles, t->nroles) = ro;
			free(text);
		}
		free(p);
	}
	freelist(names, n);
	free(dir);
}

static int
cmprecipe(const void *a, const void *b)
{
	const struct recipe *const *x = a, *const *y = b;
	int c = strcmp((*x)->name, (*y)->name);

	return c ? c : strcmp((*x)->path, (*y)->path);
}

static int
cmprole(const void *a, const void *b)
{
	const struct role *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* A name defined twice: report the later one, keep the first. */
static void
dedupe(struct tree *t)
{
	size_t i, j = 0;

	for (i = 0; i < t->nrecipes; i++) {
		if (j && !strcmp(t->recipes[j - 1]->name, t->recipes[i]->name)) {
			errat(&t->recipes[i]->nameloc, "package '%s' is defined twice: here and in %s; remove one",
			      t->recipes[i]->name, t->recipes[j - 1]->path);
			continue;
		}
		t->recipes[j++] = t->recipes[i];
	}
	t->nrecipes = j;
}

struct recipe *
treerecipe(const struct tree *t, const char *name)
{
	size_t lo = 0, hi = t->nrecipes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, t->recipes[mid]->name);

		if (!c)
			return t->recipes[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

struct role *
treerole(const struct tree *t, const char *name)
{
	for (size_t i = 0; i < t->nroles; i++)
		if (!strcmp(t->roles[i]->name, name))
			return t->roles[i];
	return NULL;
}

/* The name nearest to name among n names got through at(i), or NULL. */
static const char *
nearestname(const char *name, size_t n, const char *(*at)(const struct tree *, size_t), const struct tree *t)
{
	const char *best = NULL;
	size_t d, bestd = 3;

	for (size_t i = 0; i < n; i++)
		if ((d = editdist(name, at(t, i), 2)) < bestd)
			bestd = d, best = at(t, i);
	return best;
}

static const char *
recipename(const struct tree *t, size_t i)
{
	return t->recipes[i]->name;
}

static const char *
rolename(const struct tree *t, size_t i)
{
	return t->roles[i]->name;
}

const char *
treenearestrecipe(const struct tree *t, const char *name)
{
	return nearestname(name, t->nrecipes, recipename, t);
}

const char *
treenearestrole(const struct tree *t, const char *name)
{
	return nearestname(name, t->nroles, rolename, t);
}

static const char *
hint(const char *near, struct buf *b)
{
	b->n = 0;
	if (near)
		bufprintf(b, " (did you mean '%s'?)", near);
	else
		bufadds(b, "");
	return b->p;
}

/* Flags a role chooses must be declared by the recipe, with allowed values. */
static void
checkflags(const struct role *ro, const struct pkgchoice *p, const struct recipe *r)
{
	struct buf b = {0};

	for (size_t i = 0; i < p->nflags; i++) {
		const struct flagchoice *fc = &p->flags[i];
		const struct flag *f = NULL;
		const char *best = NULL;
		size_t d, bestd = 3;

		for (size_t k = 0; k < r->nflags && !f; k++) {
			if (!strcmp(r->flags[k].name, fc->name))
				f = &r->flags[k];
			else if ((d = editdist(fc->name, r->flags[k].name, 2)) < bestd)
				bestd = d, best = r->flags[k].name;
		}
		if (!f) {
			errat(&fc->loc, "role '%s' sets flag '%s', which %s does not declare%s", ro->name, fc->name,
			      r->path, hint(best, &b));
			continue;
		}
		size_t k;
		for (k = 0; k < f->values.n && strcmp(f->values.v[k], fc->value); k++)
			;
		if (k == f->values.n) {
			struct buf vals = {0};

			for (k = 0; k < f->values.n; k++)
				bufprintf(&vals, "%s%s", k ? ", " : "", f->values.v[k]);
			errat(&fc->loc, "flag '%s' of %s takes %s, not '%s'", f->name, r->name, vals.p, fc->value);
			buffree(&vals);
		}
	}
	buffree(&b);
}

/* Includes must exist and not loop; state: 0 new, 1 on the path, 2 done. */
static int
checkinclude(struct tree *t, struct role *ro, unsigned char *state)
{
	size_t me = 0;
	struct buf b = {0};
	int bad = 0;

	while (t->roles[me] != ro)
		me++;
	if (state[me] == 2)
		return 0;
	if (state[me] == 1)
		return -1;
	state[me] = 1;
	for (size_t i = 0; i < ro->include.n; i++) {
		struct role *inc = treerole(t, ro->include.v[i]);

		if (!inc) {
			errat(&ro->include.loc[i], "role '%s' includes '%s', which does not exist%s", ro->name,
			      ro->include.v[i], hint(treenearestrole(t, ro->include.v[i]), &b));
			bad = -1;
		} else if (checkinclude(t, inc, state) < 0) {
			errat(&ro->include.loc[i], "role '%s' includes '%s', which includes it back: remove one include",
			      ro->name, inc->name);
			bad = -1;
		}
	}
	state[me] = 2;
	buffree(&b);
	return bad;
}

/* Nonzero when path, symlinks and ".." followed, lies inside the tree; *real
 * receives where it leads (malloc'd, NULL when it does not exist). */
static int
intree(struct tree *t, const char *path, char **real)
{
	size_t n;

	if (!t->realroot && !(t->realroot = realpath(t->root, NULL)))
		t->realroot = xstrdup(t->root);
	*real = realpath(path, NULL);
	n = strlen(t->realroot);
	return *real && !strncmp(*real, t->realroot, n) && ((*real)[n] == '/' || (*real)[n] == '\0' ||
	                                                    !strcmp(t->realroot, "/"));
}

/* An overlay must be a directory of the tree: the build copies what it holds
 * (symlinks inside it are copied as symlinks, never followed). */
static void
checkoverlay(struct tree *t, const char *name, const struct loc *loc)
{
	char *p = xasprintf("%s/%s", t->overlays, name), *real = NULL;

	if (!isdir(p))
		errat(loc, "overlay directory %s does not exist", p);
	else if (!intree(t, p, &real))
		errat(loc, "overlay directory %s leads out of the tree (to %s): make it a directory of the tree",
		      p, real ? real : "?");
	free(real);
	free(p);
}

/* A key file: a regular file of the tree (read now, so a FIFO or a device
 * is refused here rather than hanging the build). */
static void
checkkeyfile(struct tree *t, const char *file, const struct loc *loc)
{
	char *p = !strcmp(t->root, ".") ? xstrdup(file) : xasprintf("%s/%s", t->root, file), *real = NULL, *data;
	size_t n;

	if (!exists(p))
		errat(loc, "key file %s does not exist", p);
	else if (!intree(t, p, &real))
		errat(loc, "key file %s leads out of the tree (to %s): keep key files in the tree", p,
		      real ? real : "a missing file");
	else if (readregular(p, KEYFILEMAX, loc, &data, &n) == 0)
		free(data);
	free(real);
	free(p);
}

/* An in-tree source: a directory of the tree (symlinks are followed, but
 * must stay in it, as for key files), hashed now so that every command
 * refuses what a build would (srcdir.h: links, FIFOs, the limits) as bad
 * input, and the store key has its hash. */
static void
checksrcdir(struct tree *t, struct source *s)
{
	char *p = pathjoin(t, s->dir, NULL), *real = NULL, hex[65];

	if (!exists(p))
		errat(&s->dirloc, "in-tree source directory %s does not exist: 'dir' is a path from the tree's root "
		      "(the directory holding recipes/); create it or fix the path", p);
	else if (!isdir(p))
		errat(&s->dirloc, "in-tree source %s is not a directory: 'dir' names a directory of the tree", p);
	else if (!intree(t, p, &real))
		errat(&s->dirloc, "in-tree source directory %s leads out of the tree (to %s): keep the sources in the "
		      "tree", p, real ? real : "?");
	else if (srcdirhash(p, NULL, &s->dirloc, hex) == 0) {
		s->dirpath = arenastrdup(&t->arena, p);
		s->dirhash = arenastrdup(&t->arena, hex);
	}
	free(real);
	free(p);
}

static void
checkrole(struct tree *t, struct role *ro)
{
	struct buf b = {0};

	for (size_t i = 0; i < ro->npkgs; i++) {
		const struct pkgchoice *p = &ro->pkgs[i];
		const struct recipe *r = treerecipe(t, p->name);
		int provided = 0;

		for (size_t k = 0; !r && k < t->nrecipes && !provided; k++)
			for (size_t j = 0; j < t->recipes[k]->provides.n; j++)
				provided |= !strcmp(t->recipes[k]->provides.v[j].name, p->name);
		if (!r && !provided)
			errat(&p->loc, "role '%s' installs '%s', but no recipe provides it%s", ro->name, p->name,
			      hint(treenearestrecipe(t, p->name), &b));
		else if (r)
			checkflags(ro, p, r);
		else if (p->nflags)
			errat(&p->loc, "'%s' is a virtual package: set flags on the recipe that provides it", p->name);
	}
	for (size_t i = 0; i < ro->arch.n; i++)
		if (!targetfind(ro->arch.v[i]))
			errat(&ro->arch.loc[i], "unknown architecture '%s' (known: %s)", ro->arch.v[i], targetnames());
	if (ro->kernel && !treerecipe(t, ro->kernel))
		errat(&ro->kernelloc, "kernel package '%s' has no recipe%s", ro->kernel,
		      hint(treenearestrecipe(t, ro->kernel), &b));
	for (size_t i = 0; i < ro->overlays.n; i++)
		checkoverlay(t, ro->overlays.v[i], &ro->overlays.loc[i]);
	if (!ro->overlays.n) {
		char *p = xasprintf("%s/%s", t->overlays, ro->name);

		if (exists(p))
			checkoverlay(t, ro->name, &ro->loc);
		free(p);
	}
	for (size_t u = 0; u < ro->nusers; u++)
		for (size_t i = 0; i < ro->users[u].keys.n; i++)
			checkkeyfile(t, ro->users[u].keys.v[i], &ro->users[u].keys.loc[i]);
	buffree(&b);
}

/* State of one roleflatten: the roles merged so far, and out->pkgs by name
 * (open addressing, index + 1; cap a power of two above twice the entries)
 * so merging a role of m packages costs O(m), not O(m^2). */
struct merge {
	unsigned char *seen;
	size_t *slot, mask;
};

static size_t
namehash(const char *s)
{
	size_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void
mergechoice(struct arena *a, struct role *out, const struct pkgchoice *p, struct merge *m)
{
	struct pkgchoice *q;
	size_t h = namehash(p->name) & m->mask;

	while (m->slot[h] && strcmp(out->pkgs[m->slot[h] - 1].name, p->name))
		h = (h + 1) & m->mask;
	if (m->slot[h]) {
		q = &out->pkgs[m->slot[h] - 1];
	} else {
		q = ARENAPUSH(a, out->pkgs, out->npkgs);
		q->name = p->name;
		q->loc = p->loc;
		m->slot[h] = out->npkgs;
	}
	for (size_t i = 0; i < p->nflags; i++) {
		struct flagchoice *fc = NULL;

		for (size_t k = 0; k < q->nflags && !fc; k++)
			if (!strcmp(q->flags[k].name, p->flags[i].name))
				fc = &q->flags[k];
		if (!fc)
			fc = ARENAPUSH(a, q->flags, q->nflags);
		*fc = p->flags[i];
	}
}

static void
addstr(struct arena *a, struct strlist *l, const char *s, const struct loc *loc)
{
	size_t n = l->n;

	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return;
	*ARENAPUSH(a, l->v, n) = (char *)s;
	*ARENAPUSH(a, l->loc, l->n) = *loc;
}

/* A role supports what each role of its include chain that names targets
 * supports: the flattened list is the intersection, limited once any role
 * names some, and located at the outermost such role's line. */
static void
archmerge(struct arena *a, struct role *out, const struct role *ro)
{
	struct strlist both = {0};

	if (!ro->arch.n)
		return;
	for (size_t i = 0; i < ro->arch.n; i++) {
		size_t k = 0;

		while (k < out->arch.n && strcmp(out->arch.v[k], ro->arch.v[i]))
			k++;
		if (!out->archlimited || k < out->arch.n)
			addstr(a, &both, ro->arch.v[i], &ro->arch.loc[i]);
	}
	out->arch = both;
	out->archlimited = 1;
	out->archloc = ro->arch.loc[0];
}

/* Add ro (after its includes) into out. */
static void
mergerole(struct tree *t, const struct role *ro, struct role *out, struct merge *m)
{
	struct arena *a = &t->arena;
	size_t me = 0;

	while (me < t->nroles && t->roles[me] != ro)
		me++;
	if (me < t->nroles && m->seen[me])
		return;
	if (me < t->nroles)
		m->seen[me] = 1;
	for (size_t i = 0; i < ro->include.n; i++) {
		const struct role *inc = treerole(t, ro->include.v[i]);

		if (inc)
			mergerole(t, inc, out, m);
	}
#define TAKE(f) if (ro->f) out->f = ro->f
	TAKE(desc); TAKE(hostname); TAKE(kernel); TAKE(cmdline);
	TAKE(image.rootfs); TAKE(image.sizemb);
#undef TAKE
	if (ro->kernel)
		out->kernelloc = ro->kernelloc;
	if (ro->loginuser) {
		out->loginuser = ro->loginuser;
		out->loginuserloc = ro->loginuserloc;
	}
	for (size_t i = 0; i < ro->image.formats.n; i++)
		addstr(a, &out->image.formats, ro->image.formats.v[i], &ro->image.formats.loc[i]);
	for (size_t i = 0; i < ro->image.ports.n; i++)
		addstr(a, &out->image.ports, ro->image.ports.v[i], &ro->image.ports.loc[i]);
	for (size_t i = 0; i < ro->strip.n; i++)
		addstr(a, &out->strip, ro->strip.v[i], &ro->strip.loc[i]);
	archmerge(a, out, ro);
	for (size_t i = 0; i < ro->npkgs; i++)
		mergechoice(a, out, &ro->pkgs[i], m);
	if (ro->overlays.n) {
		for (size_t i = 0; i < ro->overlays.n; i++)
			addstr(a, &out->overlays, ro->overlays.v[i], &ro->overlays.loc[i]);
	} else {
		char *p = xasprintf("%s/%s", t->overlays, ro->name);

		if (isdir(p))
			addstr(a, &out->overlays, ro->name, &ro->loc);
		free(p);
	}
	/* a budget line of the including role replaces the included one's */
	for (size_t i = 0; i < ro->nbudgets; i++) {
		size_t k;

		for (k = 0; k < out->nbudgets && out->budgets[k].fig != ro->budgets[i].fig; k++)
			;
		*(k < out->nbudgets ? &out->budgets[k] : ARENAPUSH(a, out->budgets, out->nbudgets)) = ro->budgets[i];
	}
	for (size_t i = 0; i < ro->nservices; i++) {
		size_t k;

		for (k = 0; k < out->nservices && strcmp(out->services[k].name, ro->services[i].name); k++)
			;
		*(k < out->nservices ? &out->services[k] : ARENAPUSH(a, out->services, out->nservices)) = ro->services[i];
	}
	for (size_t i = 0; i < ro->nusers; i++) {
		size_t k;

		for (k = 0; k < out->nusers && strcmp(out->users[k].name, ro->users[i].name); k++)
			;
		*(k < out->nusers ? &out->users[k] : ARENAPUSH(a, out->users, out->nusers)) = ro->users[i];
	}
}

void
roleflatten(struct tree *t, const struct role *ro, struct role *out)
{
	struct merge m;
	size_t n = ro->npkgs, cap = 16;

	for (size_t i = 0; i < t->nroles; i++)
		n += t->roles[i]->npkgs;
	while (cap < 2 * n)
		cap *= 2;
	m.seen = xcalloc(t->nroles + 1, 1);
	m.slot = xcalloc(cap, sizeof(*m.slot));
	m.mask = cap - 1;
	memset(out, 0, sizeof(*out));
	mergerole(t, ro, out, &m);
	free(m.seen);
	free(m.slot);
	out->name = ro->name;
	out->path = ro->path;
	out->loc = ro->loc;
	if (!out->hostname)
		out->hostname = ro->name;
	if (!out->kernel)
		out->kernel = "linux";
	if (!out->image.formats.n) {
		static char *deflt[] = {"raw", "qcow2", "vhd", "vmdk"};
		static struct loc none[4];

		out->image.formats = (struct strlist){deflt, none, 4};
	}
}

int
rolesupports(const struct role *flat, const struct target *tg)
{
	struct buf b = {0};

	if (!flat->archlimited)
		return 1;
	for (size_t i = 0; i < flat->arch.n; i++) {
		if (!strcmp(flat->arch.v[i], tg->name))
			return 1;
		bufprintf(&b, "%s%s", i ? ", " : "", flat->arch.v[i]);
	}
	errat(&flat->archloc, "role '%s' does not support %s (it supports: %s): build it with --arch for one of "
	      "those, or add %s to the role's arch line", flat->name, tg->name, b.p ? b.p : "none", tg->name);
	buffree(&b);
	return 0;
}

const struct pkgchoice *
rolechoice(const struct role *ro, const char *pkg)
{
	for (size_t i = 0; i < ro->npkgs; i++)
		if (!strcmp(ro->pkgs[i].name, pkg))
			return &ro->pkgs[i];
	return NULL;
}

/* A place for messages about another line: "line N" in the same file,
 * else "FILE:N". */
static const char *
lineref(const struct role *ro, const struct loc *l, char *buf, size_t n)
{
	if (l->file && ro->path && strcmp(l->file, ro->path))
		snprintf(buf, n, "%s:%d", l->file, l->line);
	else
		snprintf(buf, n, "line %d", l->line);
	return buf;
}

/* Depth-first search for `after` cycles among the flattened role's services:
 * state 0 new, 1 on the path (path[0..depth)), 2 done. A cycle is reported
 * once, when it holds an `after` of ro's own file (a cycle of an included
 * role is reported there). */
struct svcwalk {
	const struct role *ro, *flat;
	unsigned char *state;
	size_t *path, *edge;     /* services on the path, and the `after` item followed from each */
};

static size_t
svcindex(const struct role *flat, const char *name)
{
	size_t j;

	for (j = 0; j < flat->nservices && strcmp(flat->services[j].name, name); j++)
		;
	return j;
}

static void
svccycle(struct svcwalk *w, size_t from, size_t depth)
{
	const struct loc *at = NULL;
	struct buf b = {0};
	char ref[300];

	for (size_t k = from; k < depth; k++) {
		const struct service *s = &w->flat->services[w->path[k]];
		const struct loc *l = &s->after.loc[w->edge[k]];

		if (l->file && w->ro->path && !strcmp(l->file, w->ro->path) && !at)
			at = l;
		bufprintf(&b, "%s'%s' waits for '%s' (%s)", k > from ? ", " : "", s->name, s->after.v[w->edge[k]],
		          lineref(w->ro, l, ref, sizeof(ref)));
	}
	if (at)
		errat(at, "services wait for each other in a cycle, so role '%s' can never be ready: %s; "
		      "remove one of these 'after' entries", w->ro->name, b.p);
	buffree(&b);
}

static void
svcvisit(struct svcwalk *w, size_t i, size_t depth)
{
	const struct service *s = &w->flat->services[i];

	w->state[i] = 1;
	w->path[depth] = i;
	for (size_t k = 0; k < s->after.n; k++) {
		size_t j = svcindex(w->flat, s->after.v[k]), from;

		if (j == w->flat->nservices)
			continue;
		w->edge[depth] = k;
		if (w->state[j] == 0) {
			svcvisit(w, j, depth + 1);
		} else if (w->state[j] == 1) {
			for (from = 0; w->path[from] != j; from++)
				;
			svccycle(w, from, depth + 1);
		}
	}
	w->state[i] = 2;
}

static int
uidtaken(const long *uid, size_t n, long id)
{
	for (size_t k = 0; k < n; k++)
		if (uid[k] == id)
			return 1;
	return id == 0 || id == 65534;
}


/* `login-user` (reported at the role that sets it) must be root or a user
 * of the flattened role: nobody has no home for keys. */
static void
checkloginuser(const struct role *flat, const struct role *ro)
{
	const char *u = flat->loginuser;
	size_t k;

	if (!u || !strcmp(u, "root") || !flat->loginuserloc.file || strcmp(flat->loginuserloc.file, ro->path))
		return;
	if (!strcmp(u, "nobody")) {
		errat(&flat->loginuserloc, "login-user cannot be nobody, which has no home for keys: declare a user "
		      "('user NAME { }') and name it");
		return;
	}
	for (k = 0; k < flat->nusers && strcmp(flat->users[k].name, u); k++)
		;
	if (k == flat->nusers)
		errat(&flat->loginuserloc, "login-user '%s' is not an account of role '%s': add 'user %s { }' or use root",
		      u, ro->name, u);
}
/* Accounts of the flattened role: services run as a known user; explicit
 * uids are unique and do not take one sysfiles.c gives automatically
 * (1000 up, the first free one, in order). */
static void
checkaccounts(const struct role *ro, const struct role *flat)
{
	long *uid = xcalloc(flat->nusers + 1, sizeof(*uid));
	char ref[300];

	for (size_t i = 0; i < flat->nusers; i++) {
		const struct user *u = &flat->users[i];
		long next = 1000;

		if (!strcmp(u->name, "root") || !strcmp(u->name, "nobody")) {
			uid[i] = u->name[0] == 'r' ? 0 : 65534;
			continue;
		}
		for (size_t k = 0; u->uid >= 0 && k < i; k++) {
			if (uid[k] == u->uid && strcmp(u->loc.file, ro->path) == 0)
				errat(&u->loc, "user '%s': uid %ld is also user '%s''s (%s%s): give another uid", u->name,
				      u->uid, flat->users[k].name, lineref(ro, &flat->users[k].loc, ref, sizeof(ref)),
				      flat->users[k].uid < 0 ? ", chosen automatically" : "");
		}
		while (u->uid < 0 && uidtaken(uid, i, next))
			next++;
		uid[i] = u->uid >= 0 ? u->uid : next;
	}
	for (size_t i = 0; i < flat->nservices; i++) {
		const struct service *s = &flat->services[i];
		size_t k;

		if (!s->user || !strcmp(s->user, "root") || !strcmp(s->user, "nobody"))
			continue;
		for (k = 0; k < flat->nusers && strcmp(flat->users[k].name, s->user); k++)
			;
		if (k == flat->nusers && s->userloc.file && !strcmp(s->userloc.file, ro->path))
			errat(&s->userloc, "service '%s' runs as user '%s', which role '%s' does not declare: add "
			      "'user %s { }'", s->name, s->user, ro->name, s->user);
	}
	checkloginuser(flat, ro);
	free(uid);
}

/* Service dependencies must name services of the flattened role, without
 * cycles; accounts and the default host name must be valid. */
static void
checkservices(struct tree *t, struct role *ro)
{
	struct role flat;
	struct svcwalk w;

	roleflatten(t, ro, &flat);
	for (size_t i = 0; i < ro->nservices; i++) {
		const struct service *s = &ro->services[i];

		for (size_t k = 0; k < s->after.n; k++) {
			if (!strcmp(s->after.v[k], "network"))
				continue;
			if (svcindex(&flat, s->after.v[k]) == flat.nservices)
				errat(&s->after.loc[k], "service '%s' waits for '%s', which role '%s' does not define "
				      "(known: the role's services and 'network')", s->name, s->after.v[k], ro->name);
		}
	}
	w = (struct svcwalk){
		.ro = ro,
		.flat = &flat,
		.state = xcalloc(flat.nservices + 1, 1),
		.path = xcalloc(flat.nservices + 1, sizeof(size_t)),
		.edge = xcalloc(flat.nservices + 1, sizeof(size_t)),
	};
	for (size_t i = 0; i < flat.nservices; i++)
		if (!w.state[i])
			svcvisit(&w, i, 0);
	free(w.state);
	free(w.path);
	free(w.edge);
	checkaccounts(ro, &flat);
	if (!hostnamevalid(flat.hostname))
		errat(&ro->loc, "role '%s' sets no hostname, and its name is not a valid host name (RFC 1123): "
		      "add 'hostname = NAME' (lower-case letters, digits, '-' and '.')", ro->name);
}

int
treeload(struct tree *t, const char *root)
{
	int before = nerrors;
	unsigned char *state;

	memset(t, 0, sizeof(*t));
	t->root = xstrdup(root);
	t->overlays = pathjoin(t, "overlays", NULL);
	loadrecipes(t);
	loadroles(t);
	if (t->nrecipes)
		qsort(t->recipes, t->nrecipes, sizeof(*t->recipes), cmprecipe);
	if (t->nroles)
		qsort(t->roles, t->nroles, sizeof(*t->roles), cmprole);
	dedupe(t);
	state = xcalloc(t->nroles + 1, 1);
	for (size_t i = 0; i < t->nroles; i++)
		checkinclude(t, t->roles[i], state);
	free(state);
	for (size_t i = 0; i < t->nrecipes; i++)
		for (size_t k = 0; k < t->recipes[i]->nsources; k++)
			if (t->recipes[i]->sources[k].dir)
				checksrcdir(t, &t->recipes[i]->sources[k]);
	if (nerrors != before)
		return -1;
	for (size_t i = 0; i < t->nroles; i++) {
		checkrole(t, t->roles[i]);
		checkservices(t, t->roles[i]);
	}
	return nerrors != before ? -1 : 0;
}

void
treefree(struct tree *t)
{
	arenafree(&t->arena);
	free(t->root);
	free(t->realroot);
	free(t->overlays);
	memset(t, 0, sizeof(*t));
}
