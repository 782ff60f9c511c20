/* undistro diff: two builds' outputs side by side (diff.h). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "alloc.h"
#include "cost.h"
#include "diag.h"
#include "diff.h"
#include "json.h"
#include "os.h"
#include "sha256.h"
#include "str.h"

/* A package of the SBOM. */
struct pkg {
	const char *name, *version, *key, *kind, *flags;
};

/* A manifest entry (rootfs.h). */
struct file {
	char type;
	const char *mode, *owner, *sha, *path, *target;
	long long size;     /* -1 for devices */
};

/* One output directory, read. */
struct side {
	const char *dir;
	struct arena a;
	struct pkg *pkgs;
	size_t npkgs;
	struct file *files;
	size_t nfiles;
	long long filebytes;
	int hascost;
	double cost[NCOSTFIGS];
};

/* Files and outputs whose sizes are compared. */
static const char *const outputs[] = {
	"disk.raw", "root.erofs", "initramfs.cpio.zst", "rootfs.tar.zst", "disk.qcow2", "disk.vhd", "disk.vmdk", NULL,
};

static int
cmppkg(const void *a, const void *b)
{
	return strcmp(((const struct pkg *)a)->name, ((const struct pkg *)b)->name);
}

/* "release N; store key K; runtime (...); flags F; ..." of sbom.c. */
static void
pkgcomment(struct arena *a, struct pkg *p, const char *c, const char *version)
{
	const char *k = strstr(c, "store key "), *f = strstr(c, "; flags ");
	long release = 0;
	char *evr;

	sscanf(c, "release %ld", &release);
	evr = xasprintf("%s-%ld", version, release);
	p->version = arenastrdup(a, evr);
	free(evr);
	p->key = k ? arenastrndup(a, k + 10, strcspn(k + 10, ";")) : "";
	p->kind = strstr(c, "build-only") ? "build-only" : "runtime";
	p->flags = f ? arenastrndup(a, f + 8, strcspn(f + 8, ";")) : "";
}

static int
readsbom(struct side *s)
{
	char *path = xasprintf("%s/sbom.spdx.json", s->dir);
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e), *pkgs, *p;
	size_t i;
	int rc = 0;

	if (!j) {
		struct loc l = {path, e.line > 0 ? e.line : 1, e.column > 0 ? e.column : 1};

		errat(&l, "%s (diff reads the SBOM that undistro build writes)", e.text);
		free(path);
		return -1;
	}
	if (!json_is_array(pkgs = json_object_get(j, "packages"))) {
		err("%s: no packages array: not an SBOM of undistro build", path);
		rc = -1;
	}
	json_array_foreach(rc == 0 ? pkgs : NULL, i, p) {
		const char *id = json_string_value(json_object_get(p, "SPDXID")),
		           *name = json_string_value(json_object_get(p, "name")),
		           *version = json_string_value(json_object_get(p, "versionInfo")),
		           *comment = json_string_value(json_object_get(p, "comment"));
		struct pkg *k;

		if (!id || strncmp(id, "SPDXRef-Package-", 16))
			continue;    /* the image itself */
		if (!name || !version || !comment) {
			err("%s: package %s lacks name, versionInfo or comment", path, id);
			rc = -1;
			break;
		}
		k = ARENAPUSH(&s->a, s->pkgs, s->npkgs);
		k->name = arenastrdup(&s->a, name);
		pkgcomment(&s->a, k, comment, version);
	}
	if (s->npkgs)
		qsort(s->pkgs, s->npkgs, sizeof(*s->pkgs), cmppkg);
	json_decref(j);
	free(path);
	return rc;
}

/* One manifest line into f (fields point into the line, which is
 * modified); -1 when it is not one. */
static int
fileline(char *line, struct file *f)
{
	char *v[7], *p = line, *arrow;

	for (int i = 0; i < 7; i++) {
		v[i] = p;
		if (i < 6) {
			if (!(p = strchr(p, ' ')))
				return -1;
			*p++ = '\0';
		}
	}
	if (strlen(v[0]) != 1 || !strchr("fdlc", v[0][0]))
		return -1;
	f->type = v[0][0];
	f->mode = v[1];
	f->size = f->type == 'c' ? -1 : strtoll(v[3], NULL, 10);
	f->sha = v[4];
	f->owner = v[5];
	f->target = NULL;
	if ((arrow = strstr(v[6], " -> "))) {
		*arrow = '\0';
		f->target = unesc(arrow + 4);
	}
	f->path = unesc(v[6]);
	return 0;
}

static int
readmanifest(struct side *s)
{
	char *path = xasprintf("%s/manifest", s->dir), *data, *p;
	size_t n;
	int line = 0, rc = 0;

	if (readfile(path, &data, &n) < 0) {
		free(path);
		return -1;
	}
	for (p = data; *p;) {
		char *nl = strchr(p, '\n'), *copy;
		struct file f;

		if (nl)
			*nl = '\0';
		line++;
		copy = arenastrdup(&s->a, p);
		if (fileline(copy, &f) < 0) {
			struct loc l = {path, line, 1};

			errat(&l, "not a manifest line (TYPE MODE UID:GID SIZE SHA256 OWNER PATH)");
			rc = -1;
			break;
		}
		*ARENAPUSH(&s->a, s->files, s->nfiles) = f;
		if (f.type == 'f')
			s->filebytes += f.size;
		if (!nl)
			break;
		p = nl + 1;
	}
	free(data);
	free(path);
	return rc;
}

/* cost.json, when there is one measured on this disk.raw. */
static void
readcost(struct side *s)
{
	char *path = xasprintf("%s/cost.json", s->dir), *raw = xasprintf("%s/disk.raw", s->dir);
	char want[65], have[65];

	if (exists(path) && costread(path, s->cost, want) == 0) {
		if (sha256path(raw, have) < 0 || strcmp(want, have))
			warn("%s was measured on another disk.raw than %s holds: its figures are left out "
			     "(run undistro cost again)", path, s->dir);
		else
			s->hascost = 1;
	}
	free(path);
	free(raw);
}

static long long
filesize(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	struct stat st;
	long long n = stat(p, &st) == 0 ? (long long)st.st_size : -1;

	free(p);
	return n;
}

/* A row of a file section: its path, sizes and owner. */
struct row {
	const struct file *a, *b;
	long long key;    /* what the section sorts by, descending */
};

enum { ADDED, REMOVED, GROWN, SHRUNK, CHANGED, NSECTIONS };

static const char *const sections[NSECTIONS] = {"added", "removed", "grown", "shrunk", "changed"};

struct rows {
	struct row *v;
	size_t n, cap;
};

static void
addrow(struct rows *r, const struct file *a, const struct file *b, long long key)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->v = xreallocarray(r->v, r->cap, sizeof(*r->v));
	}
	r->v[r->n++] = (struct row){a, b, key};
}

static int
cmprow(const void *x, const void *y)
{
	const struct row *a = x, *b = y;
	const char *pa = a->a ? a->a->path : a->b->path, *pb = b->a ? b->a->path : b->b->path;

	if (a->key != b->key)
		return a->key < b->key ? 1 : -1;
	return strcmp(pa, pb);
}

static int
samefile(const struct file *a, const struct file *b)
{
	return a->type == b->type && a->size == b->size && !strcmp(a->sha, b->sha) && !strcmp(a->mode, b->mode) &&
	       !strcmp(a->owner, b->owner) && !strcmp(a->target ? a->target : "", b->target ? b->target : "");
}

/* Both manifests are sorted by path (rootfs.c): one merge. */
static void
filerows(const struct side *a, const struct side *b, struct rows r[NSECTIONS])
{
	size_t i = 0, j = 0;

	while (i < a->nfiles || j < b->nfiles) {
		int c = i == a->nfiles ? 1 : j == b->nfiles ? -1 : strcmp(a->files[i].path, b->files[j].path);
		const struct file *fa = c <= 0 ? &a->files[i] : NULL, *fb = c >= 0 ? &b->files[j] : NULL;

		if (!fb)
			addrow(&r[REMOVED], fa, NULL, fa->size);
		else if (!fa)
			addrow(&r[ADDED], NULL, fb, fb->size);
		else if (fb->size > fa->size && fa->size >= 0)
			addrow(&r[GROWN], fa, fb, fb->size - fa->size);
		else if (fb->size < fa->size && fb->size >= 0)
			addrow(&r[SHRUNK], fa, fb, fa->size - fb->size);
		else if (!samefile(fa, fb))
			addrow(&r[CHANGED], fa, fb, fb->size);
		i += fa != NULL;
		j += fb != NULL;
	}
	for (int k = 0; k < NSECTIONS; k++)
		if (r[k].n)
			qsort(r[k].v, r[k].n, sizeof(*r[k].v), cmprow);
}

static int
samepkg(const struct pkg *a, const struct pkg *b)
{
	return !strcmp(a->version, b->version) && !strcmp(a->key, b->key) && !strcmp(a->kind, b->kind) &&
	       !strcmp(a->flags, b->flags);
}

/* What changed between two versions of a package, in words. */
static void
pkgchange(struct buf *o, const struct pkg *a, const struct pkg *b)
{
	if (strcmp(a->version, b->version))
		bufprintf(o, "%s -> %s", a->version, b->version);
	else
		bufprintf(o, "%s", b->version);
	if (strcmp(a->kind, b->kind))
		bufprintf(o, ", %s -> %s", a->kind, b->kind);
	if (strcmp(a->flags, b->flags))
		bufprintf(o, ", flags '%s' -> '%s'", a->flags, b->flags);
	if (strcmp(a->key, b->key) && !strcmp(a->version, b->version))
		bufadds(o, ", rebuilt (another store key)");
}

static void
textpackages(struct buf *o, const struct side *a, const struct side *b)
{
	size_t i = 0, j = 0, n[3] = {0};
	struct buf body = {0};

	while (i < a->npkgs || j < b->npkgs) {
		int c = i == a->npkgs ? 1 : j == b->npkgs ? -1 : strcmp(a->pkgs[i].name, b->pkgs[j].name);

		if (c < 0) {
			bufprintf(&body, "  - %s %s (%s)\n", a->pkgs[i].name, a->pkgs[i].version, a->pkgs[i].kind);
			n[1]++;
		} else if (c > 0) {
			bufprintf(&body, "  + %s %s (%s)\n", b->pkgs[j].name, b->pkgs[j].version, b->pkgs[j].kind);
			n[0]++;
		} else if (!samepkg(&a->pkgs[i], &b->pkgs[j])) {
			bufprintf(&body, "  ~ %s ", b->pkgs[j].name);
			pkgchange(&body, &a->pkgs[i], &b->pkgs[j]);
			bufadds(&body, "\n");
			n[2]++;
		}
		i += c <= 0;
		j += c >= 0;
	}
	bufprintf(o, "packages: %zu added, %zu removed, %zu changed\n%s", n[0], n[1], n[2], body.p ? body.p : "");
	buffree(&body);
}

static void
textfiles(struct buf *o, struct rows r[NSECTIONS])
{
	static const char mark[NSECTIONS] = {'+', '-', '>', '<', '~'};

	bufprintf(o, "files: %zu added, %zu removed, %zu grown, %zu shrunk, %zu changed\n", r[ADDED].n, r[REMOVED].n,
	          r[GROWN].n, r[SHRUNK].n, r[CHANGED].n);
	for (int k = 0; k < NSECTIONS; k++) {
		for (size_t i = 0; i < r[k].n && i < DIFFTEXTROWS; i++) {
			const struct row *w = &r[k].v[i];
			const struct file *f = w->b ? w->b : w->a;

			bufprintf(o, "  %c ", mark[k]);
			if (k == GROWN || k == SHRUNK)
				bufprintf(o, "%c%lld  ", k == GROWN ? '+' : '-', w->key);
			else if (f->type == 'f')
				bufprintf(o, "%lld  ", f->size);
			else
				bufprintf(o, "(%s)  ", f->type == 'd' ? "dir" : f->type == 'l' ? "link" : "device");
			bufaddesc(o, f->path);
			if (f->type == 'l' && f->target) {
				bufadds(o, " -> ");
				bufaddesc(o, f->target);
			}
			if (k == GROWN || k == SHRUNK)
				bufprintf(o, "  (%lld -> %lld)", w->a->size, w->b->size);
			bufprintf(o, "  %s\n", f->owner);
		}
		if (r[k].n > DIFFTEXTROWS)
			bufprintf(o, "  %c ... %zu more %s\n", mark[k], r[k].n - DIFFTEXTROWS, sections[k]);
	}
}

/* "A -> B (+D)" of two sizes, either of which may be missing (-1). */
static void
textdelta(struct buf *o, const char *what, long long a, long long b)
{
	if (a < 0 && b < 0)
		return;
	bufprintf(o, "  %-20s ", what);
	if (a < 0)
		bufprintf(o, "- -> %lld\n", b);
	else if (b < 0)
		bufprintf(o, "%lld -> -\n", a);
	else
		bufprintf(o, "%lld -> %lld (%+lld)\n", a, b, b - a);
}

static void
textcost(struct buf *o, const struct side *a, const struct side *b)
{
	if (!a->hascost || !b->hascost) {
		bufprintf(o, "cost: %s\n", !a->hascost && !b->hascost ? "neither measured (undistro cost)"
		                           : !a->hascost ? "only B measured (undistro cost on A)"
		                                         : "only A measured (undistro cost on B)");
		return;
	}
	bufadds(o, "cost:\n");
	for (int f = 0; f < NCOSTFIGS; f++) {
		double x = a->cost[f], y = b->cost[f];
		struct buf v = {0}, w = {0}, d = {0};

		costfmt(&v, f, x);
		costfmt(&w, f, y);
		costfmt(&d, f, y - x);
		bufprintf(o, "  %-28s %12s -> %12s  (%s%s", costfigs[f].name, v.p, w.p, y - x >= 0 ? "+" : "", d.p);
		if (x > 0 && isfinite(y))
			bufprintf(o, ", %+.1f%%", (y - x) / x * 100);
		bufadds(o, ")\n");
		buffree(&v);
		buffree(&w);
		buffree(&d);
	}
}

static void
text(struct buf *o, const struct side *a, const struct side *b, struct rows r[NSECTIONS])
{
	bufprintf(o, "A: %s\nB: %s\n", a->dir, b->dir);
	textpackages(o, a, b);
	textfiles(o, r);
	bufadds(o, "bytes:\n");
	textdelta(o, "rootfs files", a->filebytes, b->filebytes);
	for (size_t i = 0; outputs[i]; i++)
		textdelta(o, outputs[i], filesize(a->dir, outputs[i]), filesize(b->dir, outputs[i]));
	textcost(o, a, b);
}

static void
jsonpkg(struct buf *o, const struct pkg *p)
{
	bufadds(o, "{\"name\": ");
	jsonstr(o, p->name);
	bufadds(o, ", \"version\": ");
	jsonstr(o, p->version);
	bufadds(o, ", \"kind\": ");
	jsonstr(o, p->kind);
	bufadds(o, ", \"flags\": ");
	jsonstr(o, p->flags);
	bufadds(o, ", \"store_key\": ");
	jsonstr(o, p->key);
	bufadds(o, "}");
}

static void
jsonpackages(struct buf *o, const struct side *a, const struct side *b)
{
	struct buf s[3] = {{0}};
	size_t i = 0, j = 0;

	while (i < a->npkgs || j < b->npkgs) {
		int c = i == a->npkgs ? 1 : j == b->npkgs ? -1 : strcmp(a->pkgs[i].name, b->pkgs[j].name);

		if (c != 0) {
			struct buf *t = &s[c < 0];

			bufadds(t, t->n ? ",\n      " : "\n      ");
			jsonpkg(t, c < 0 ? &a->pkgs[i] : &b->pkgs[j]);
		} else if (!samepkg(&a->pkgs[i], &b->pkgs[j])) {
			bufadds(&s[2], s[2].n ? ",\n      {\"a\": " : "\n      {\"a\": ");
			jsonpkg(&s[2], &a->pkgs[i]);
			bufadds(&s[2], ", \"b\": ");
			jsonpkg(&s[2], &b->pkgs[j]);
			bufadds(&s[2], "}");
		}
		i += c <= 0;
		j += c >= 0;
	}
	bufadds(o, "  \"packages\": {\n");
	for (int k = 0; k < 3; k++) {
		bufprintf(o, "    \"%s\": [%s%s]%s\n", k == 0 ? "added" : k == 1 ? "removed" : "changed", s[k].p ? s[k].p : "",
		          s[k].n ? "\n    " : "", k < 2 ? "," : "");
		buffree(&s[k]);
	}
	bufadds(o, "  },\n");
}

static void
jsonfile(struct buf *o, const struct file *f)
{
	bufadds(o, "{\"path\": ");
	jsonstr(o, f->path);
	bufprintf(o, ", \"type\": \"%c\", \"size\": ", f->type);
	if (f->size >= 0)
		bufprintf(o, "%lld", f->size);
	else
		bufadds(o, "null");
	bufadds(o, ", \"owner\": ");
	jsonstr(o, f->owner);
	bufadds(o, "}");
}

static void
jsonfiles(struct buf *o, struct rows r[NSECTIONS])
{
	bufadds(o, "  \"files\": {\n");
	for (int k = 0; k < NSECTIONS; k++) {
		bufprintf(o, "    \"%s\": [", sections[k]);
		for (size_t i = 0; i < r[k].n; i++) {
			const struct row *w = &r[k].v[i];

			bufadds(o, i ? ",\n      " : "\n      ");
			if (!w->a || !w->b) {
				jsonfile(o, w->a ? w->a : w->b);
				continue;
			}
			bufadds(o, "{\"a\": ");
			jsonfile(o, w->a);
			bufadds(o, ", \"b\": ");
			jsonfile(o, w->b);
			bufadds(o, "}");
		}
		bufprintf(o, "%s]%s\n", r[k].n ? "\n    " : "", k < NSECTIONS - 1 ? "," : "");
	}
	bufadds(o, "  },\n");
}

static void
jsonpair(struct buf *o, const char *name, double a, double b, int last)
{
	bufprintf(o, "    \"%s\": {\"a\": ", name);
	if (isfinite(a))
		bufprintf(o, "%.15g", a);
	else
		bufadds(o, "null");
	bufadds(o, ", \"b\": ");
	if (isfinite(b))
		bufprintf(o, "%.15g, \"delta\": ", b);
	else
		bufadds(o, "null, \"delta\": ");
	if (isfinite(a) && isfinite(b))
		bufprintf(o, "%.15g", b - a);
	else
		bufadds(o, "null");
	bufprintf(o, "}%s\n", last ? "" : ",");
}

static void
json(struct buf *o, const struct side *a, const struct side *b, struct rows r[NSECTIONS])
{
	bufadds(o, "{\n  \"a\": ");
	jsonstr(o, a->dir);
	bufadds(o, ",\n  \"b\": ");
	jsonstr(o, b->dir);
	bufadds(o, ",\n");
	jsonpackages(o, a, b);
	jsonfiles(o, r);
	bufadds(o, "  \"bytes\": {\n");
	jsonpair(o, "rootfs_files", (double)a->filebytes, (double)b->filebytes, 0);
	for (size_t i = 0; outputs[i]; i++) {
		long long x = filesize(a->dir, outputs[i]), y = filesize(b->dir, outputs[i]);

		jsonpair(o, outputs[i], x < 0 ? NAN : (double)x, y < 0 ? NAN : (double)y, !outputs[i + 1]);
	}
	bufadds(o, "  },\n  \"cost\": ");
	if (!a->hascost || !b->hascost) {
		bufadds(o, "null\n}\n");
		return;
	}
	bufadds(o, "{\n");
	for (int f = 0; f < NCOSTFIGS; f++)
		jsonpair(o, costfigs[f].name, a->cost[f], b->cost[f], f == NCOSTFIGS - 1);
	bufadds(o, "  }\n}\n");
}

static int
readside(struct side *s)
{
	if (readsbom(s) < 0 || readmanifest(s) < 0)
		return -1;
	readcost(s);
	return 0;
}

int
diffoutputs(const char *a, const char *b, int asjson, struct buf *out)
{
	struct side sa = {.dir = a}, sb = {.dir = b};
	struct rows r[NSECTIONS] = {{0}};
	int rc = -1;

	if (readside(&sa) == 0 && readside(&sb) == 0) {
		filerows(&sa, &sb, r);
		if (asjson)
			json(out, &sa, &sb, r);
		else
			text(out, &sa, &sb, r);
		rc = 0;
	}
	for (int k = 0; k < NSECTIONS; k++)
		free(r[k].v);
	arenafree(&sa.a);
	arenafree(&sb.a);
	return rc;
}
