/* The build machine's programs as store keys name them (hostid.h). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "alloc.h"
#include "diag.h"
#include "hostid.h"
#include "os.h"
#include "recipe.h"
#include "sha256.h"
#include "str.h"

/* The cache file's first line; a change of its format changes it. */
#define CACHEHEAD "undistro-host-tools 1\n"

struct hosttool *
hostadd(struct hostid *h, const char *name, int cc, int common)
{
	struct hosttool *t;

	for (size_t i = 0; i < h->n; i++) {
		if (!strcmp(h->v[i].name, name)) {
			h->v[i].cc |= cc;
			h->v[i].common |= common;
			return &h->v[i];
		}
	}
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
	}
	t = &h->v[h->n++];
	*t = (struct hosttool){.name = xstrdup(name), .cc = cc, .common = common};
	return t;
}

const struct hosttool *
hostfind(const struct hostid *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (!strcmp(h->v[i].name, name))
			return &h->v[i];
	return NULL;
}

int
hostlist(struct hostid *h, const char *file, const char *cross)
{
	static const struct {
		const char *word;
		int target, cc;
	} kinds[] = {{"target", 1, 0}, {"compiler", 0, 1}, {"target-compiler", 1, 1}};
	char *data;
	size_t n;
	int line = 0, ok = 1;

	if (readfile(file, &data, &n) < 0)
		return -1;
	for (char *l = data, *next; l && *l; l = next) {
		char *w[3] = {0}, *s;
		size_t nw = 0;
		int target = 0, cc = 0;

		line++;
		if ((next = strchr(l, '\n')))
			*next++ = '\0';
		if ((s = strchr(l, '#')))
			*s = '\0';
		for (s = strtok(l, " \t"); s && nw < 3; s = strtok(NULL, " \t"))
			w[nw++] = s;
		if (!nw)
			continue;
		struct loc at = {file, line, (int)(w[0] - l) + 1};
		if (nw == 2) {
			size_t k;

			for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]) && strcmp(kinds[k].word, w[0]); k++)
				;
			if (k == sizeof(kinds) / sizeof(kinds[0])) {
				errat(&at, "unknown kind '%s': a line is NAME, target NAME, compiler NAME or "
				      "target-compiler NAME", w[0]);
				ok = 0;
				continue;
			}
			target = kinds[k].target;
			cc = kinds[k].cc;
			w[0] = w[1];
			at.col = (int)(w[1] - l) + 1;
		} else if (nw > 2) {
			errat(&at, "one program per line: NAME, target NAME, compiler NAME or target-compiler NAME");
			ok = 0;
			continue;
		}
		if (!namevalid(w[0])) {
			errat(&at, "bad program name '%s': use lower-case letters, digits and '+._-'", w[0]);
			ok = 0;
			continue;
		}
		char *name = xasprintf("%s%s", target ? cross : "", w[0]);
		hostadd(h, name, cc, 1);
		free(name);
	}
	free(data);
	return ok ? 0 : -1;
}

void
hostfree(struct hostid *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].name);
		free(h->v[i].file);
		buffree(&h->v[i].stamps);
		buffree(&h->v[i].id);
	}
	free(h->v);
	*h = (struct hostid){0};
}

/* One "stamp" line of the cache: path (NULL: a part that is missing) and
 * what stat says of the file it leads to. */
static void
stampline(struct buf *b, const char *path)
{
	struct stat st;

	bufadds(b, "stamp ");
	if (!path) {
		bufadds(b, "-\n");
		return;
	}
	bufaddesc(b, path);
	if (stat(path, &st) < 0)
		bufadds(b, " -\n");
	else
		bufprintf(b, " %ju %ju %jd %jd.%09ld %jd.%09ld\n", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino,
		          (intmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		          (intmax_t)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

/* A cache entry: "tool NAME CC", its stamp lines, its id lines, "end". */
struct entry {
	char *name;
	int cc;
	struct buf stamps, id;
};

static void
entriesfree(struct entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(e[i].name);
		buffree(&e[i].stamps);
		buffree(&e[i].id);
	}
	free(e);
}

/* The entries of the cache text (after its head line(s)); a malformed
 * cache gives none: it is only ever rewritten whole. */
static struct entry *
cacheparse(char *text, size_t *n)
{
	struct entry *e = NULL, *cur = NULL;
	size_t cap = 0;
	int ok = 1;

	*n = 0;
	for (char *l = text, *next; ok && l && *l; l = next) {
		if ((next = strchr(l, '\n')))
			*next++ = '\0';
		else
			ok = 0;
		if (!strncmp(l, "tool ", 5) && !cur) {
			char *sp = strrchr(l + 5, ' ');

			if (!sp || (strcmp(sp, " 0") && strcmp(sp, " 1"))) {
				ok = 0;
				break;
			}
			if (*n == cap) {
				cap = cap ? cap * 2 : 64;
				e = xreallocarray(e, cap, sizeof(*e));
			}
			cur = &e[(*n)++];
			*cur = (struct entry){.name = xstrndup(l + 5, (size_t)(sp - l - 5)), .cc = sp[1] == '1'};
		} else if (!strncmp(l, "stamp ", 6) && cur) {
			bufprintf(&cur->stamps, "%s\n", l);
		} else if (!strncmp(l, "id ", 3) && cur) {
			bufprintf(&cur->id, "%s\n", l + 3);
		} else if (!strcmp(l, "end") && cur && cur->stamps.n && cur->id.n) {
			cur = NULL;
		} else {
			ok = 0;
		}
	}
	if (!ok || cur) {
		entriesfree(e, *n);
		*n = 0;
		return NULL;
	}
	return e;
}

/* Nonzero when the cached entry still holds for t: the program is found
 * where it was and every file it derives from has the stamp it had. */
static int
entryholds(const struct entry *e, const struct hosttool *t)
{
	struct buf now = {0};
	const char *l = e->stamps.p;
	int same;

	if (e->cc != t->cc)
		return 0;
	stampline(&now, t->file);
	/* the first line is the program itself, looked up again above */
	for (l = strchr(l, '\n') + 1; *l; l = strchr(l, '\n') + 1) {
		char *path = xstrndup(l + 6, strcspn(l + 6, " \n"));

		stampline(&now, strcmp(path, "-") ? unesc(path) : NULL);
		free(path);
	}
	same = !strcmp(now.p, e->stamps.p);
	buffree(&now);
	return same;
}

/* A file an identity derives from: a program or a compiler's part. */
struct part {
	char *name;   /* "make", "gcc/cc1" */
	char *path;   /* as found (PATH, the compiler's answer), or NULL: missing */
	char *real;   /* path with symlinks resolved */
	const char *pkg;  /* dpkg's "PACKAGE" owning real, or NULL */
};

/* The file the compiler cc (found at file) uses as part: NULL when it has
 * none. A bare name in its answer is a program it runs from PATH. */
static char *
ccpart(const char *file, const char *opt, const char *path)
{
	char *env[] = {xasprintf("PATH=%s", path), "LC_ALL=C", NULL};
	char *argv[] = {(char *)file, (char *)opt, NULL}, *r = NULL;
	struct buf out = {0};

	if (osruncapturequiet(argv, env, &out) == 0 && out.p) {
		out.p[strcspn(out.p, "\n")] = '\0';
		if (strchr(out.p, '/'))
			r = access(out.p, F_OK) == 0 ? xstrdup(out.p) : NULL;
		else if (!strncmp(opt, "-print-prog-name=", 17) && out.p[0])
			r = ospathfindin(out.p, path);
	}
	buffree(&out);
	free(env[0]);
	return r;
}

/* The parts of t whose identity is needed (appended to *p), and t's stamp
 * lines; spawns the compiler for its parts. */
static void
toolparts(struct hosttool *t, const char *path, struct part **p, size_t *n, size_t *cap)
{
	static const char *const opts[][2] = {
		{"cc1", "-print-prog-name=cc1"}, {"cc1plus", "-print-prog-name=cc1plus"},
		{"collect2", "-print-prog-name=collect2"}, {"lto-wrapper", "-print-prog-name=lto-wrapper"},
		{"as", "-print-prog-name=as"}, {"ld", "-print-prog-name=ld"},
		{"libgcc", "-print-libgcc-file-name"}, {"libc.so", "-print-file-name=libc.so"},
	};
	size_t nparts = t->cc && t->file ? 1 + sizeof(opts) / sizeof(opts[0]) : 1;

	buffree(&t->stamps);
	stampline(&t->stamps, t->file);
	for (size_t i = 0; i < nparts; i++) {
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*p = xreallocarray(*p, *cap, sizeof(**p));
		}
		struct part *q = &(*p)[(*n)++];
		*q = (struct part){0};
		if (i == 0) {
			q->name = xstrdup(t->name);
			q->path = t->file ? xstrdup(t->file) : NULL;
		} else {
			q->name = xasprintf("%s/%s", t->name, opts[i - 1][0]);
			q->path = ccpart(t->file, opts[i - 1][1], path);
			stampline(&t->stamps, q->path);
		}
		q->real = q->path ? realpath(q->path, NULL) : NULL;
	}
}

/* The names dpkg's database may list real under: itself and, on a system
 * whose /bin, /sbin and /lib* lead into /usr (merged /usr), the other
 * spelling (dash lists /bin/dash, which realpath spells /usr/bin/dash). */
static void
aliases(const char *real, char *alias[2])
{
	static const char *const dirs[] = {"bin/", "sbin/", "lib"};

	alias[0] = xstrdup(real);
	alias[1] = NULL;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (!strncmp(real, "/usr/", 5) && !strncmp(real + 5, dirs[i], strlen(dirs[i])))
			alias[1] = xstrdup(real + 4);
		else if (real[0] == '/' && !strncmp(real + 1, dirs[i], strlen(dirs[i])))
			alias[1] = xasprintf("/usr%s", real);
	}
}

/* "PACKAGES: PATH" lines of dpkg-query -S into path -> first package. */
static void
owners(struct part *p, size_t n, char *out)
{
	for (char *l = out, *next; l && *l; l = next) {
		char *sep;

		if ((next = strchr(l, '\n')))
			*next++ = '\0';
		if (!strncmp(l, "diversion by ", 13) || !(sep = strstr(l, ": ")))
			continue;
		*sep = '\0';
		l[strcspn(l, ",")] = '\0';
		for (size_t i = 0; i < n; i++) {
			char *alias[2];

			if (!p[i].real || p[i].pkg)
				continue;
			aliases(p[i].real, alias);
			if (!strcmp(sep + 2, alias[0]) || (alias[1] && !strcmp(sep + 2, alias[1])))
				p[i].pkg = l;
			free(alias[0]);
			free(alias[1]);
		}
	}
}

/* Run dpkg-query with the admin directory and args; its output into out. */
static void
dpkgquery(const char *dpkg, const char *admindir, char **args, size_t nargs, struct buf *out)
{
	char **argv = xcalloc(nargs + 3, sizeof(*argv));
	char *env[] = {"LC_ALL=C", NULL};

	argv[0] = (char *)dpkg;
	argv[1] = xasprintf("--admindir=%s", admindir);
	memcpy(argv + 2, args, nargs * sizeof(*argv));
	/* exit 1 when a file has no package: the others are still answered */
	osruncapturequiet(argv, env, out);
	free(argv[1]);
	free(argv);
}

/* Identify every part: through dpkg when dpkg is set, else (and for a
 * file no package owns) by its sha256. Returns 0 or -1 (reported). */
static int
identify(struct part *p, size_t n, const char *dpkg, const char *admindir, struct buf *ids)
{
	struct buf owned = {0}, vers = {0};
	char **args = xcalloc(2 * n + 2, sizeof(*args));
	size_t na = 0;
	int rc = 0;

	if (dpkg) {
		args[na++] = "-S";
		for (size_t i = 0; i < n; i++) {
			if (!p[i].real)
				continue;
			aliases(p[i].real, args + na);
			na += args[na + 1] ? 2 : 1;
		}
		if (na > 1)
			dpkgquery(dpkg, admindir, args, na, &owned);
		for (size_t i = 1; i < na; i++)
			free(args[i]);
		owners(p, n, owned.p);
		na = 0;
		args[na++] = "--showformat=${binary:Package} ${Package}:${Architecture} ${Version}\n";
		args[na++] = "-W";
		for (size_t i = 0; i < n; i++)
			if (p[i].pkg)
				args[na++] = (char *)p[i].pkg;
		if (na > 2)
			dpkgquery(dpkg, admindir, args, na, &vers);
	}
	for (size_t i = 0; i < n; i++) {
		const char *v = NULL;
		char hex[65];
		size_t k = p[i].pkg ? strlen(p[i].pkg) : 0;

		/* the line of -W's output for the owner: "PACKAGE NAME:ARCH VERSION" */
		for (const char *l = vers.p; k && l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
			if (!strncmp(l, p[i].pkg, k) && l[k] == ' ')
				v = l + k + 1;
		if (v) {
			bufprintf(&ids[i], "%s %.*s\n", p[i].name, (int)strcspn(v, "\n"), v);
		} else if (!p[i].real) {
			bufprintf(&ids[i], "%s missing\n", p[i].name);
		} else if (sha256path(p[i].real, hex) == 0) {
			bufprintf(&ids[i], "%s sha256:%s\n", p[i].name, hex);
		} else {
			err("cannot read %s (the build machine's %s) to identify it in store keys:", p[i].real, p[i].name);
			rc = -1;
		}
	}
	buffree(&owned);
	buffree(&vers);
	free(args);
	return rc;
}

/* Identify the tools not found in the cache (todo[i] set), together. */
static int
identifymissed(struct hostid *h, const unsigned char *todo, const char *path, const char *dpkg,
               const char *admindir)
{
	struct part *p = NULL;
	size_t n = 0, cap = 0, *first = xcalloc(h->n + 1, sizeof(*first));
	struct buf *ids;
	int rc;

	for (size_t i = 0; i < h->n; i++) {
		first[i] = n;
		if (todo[i])
			toolparts(&h->v[i], path, &p, &n, &cap);
	}
	first[h->n] = n;
	ids = xcalloc(n + 1, sizeof(*ids));
	rc = identify(p, n, dpkg, admindir, ids);
	for (size_t i = 0; i < h->n; i++) {
		for (size_t k = first[i]; k < first[i + 1]; k++)
			bufaddn(&h->v[i].id, ids[k].p ? ids[k].p : "", ids[k].n);
	}
	for (size_t k = 0; k < n; k++) {
		free(p[k].name);
		free(p[k].path);
		free(p[k].real);
		buffree(&ids[k]);
	}
	free(ids);
	free(p);
	free(first);
	return rc;
}

/* Rewrite the cache: this run's entries, then the old ones for programs
 * this run did not ask about (another target's, other recipes' tools). A
 * failed write only costs the next run the work again. */
static void
cachewrite(const char *cache, const struct buf *head, const struct hostid *h, const struct entry *old,
           size_t nold)
{
	struct buf b = {0};

	bufaddn(&b, head->p, head->n);
	for (size_t i = 0; i < h->n; i++) {
		bufprintf(&b, "tool %s %d\n%s", h->v[i].name, h->v[i].cc, h->v[i].stamps.p);
		for (const char *l = h->v[i].id.p; l && *l; l = strchr(l, '\n') + 1)
			bufprintf(&b, "id %.*s\n", (int)strcspn(l, "\n"), l);
		bufadds(&b, "end\n");
	}
	for (size_t i = 0; i < nold; i++) {
		if (hostfind(h, old[i].name))
			continue;
		bufprintf(&b, "tool %s %d\n%s", old[i].name, old[i].cc, old[i].stamps.p);
		for (const char *l = old[i].id.p; *l; l = strchr(l, '\n') + 1)
			bufprintf(&b, "id %.*s\n", (int)strcspn(l, "\n"), l);
		bufadds(&b, "end\n");
	}
	writeatomic(cache, b.p, b.n, 0644);
	buffree(&b);
}

int
hostidentify(struct hostid *h, const char *path, const char *admindir, const char *cache)
{
	char *status = xasprintf("%s/status", admindir), *dpkg = ospathfindin("dpkg-query", path), *data = NULL;
	struct buf head = {0};
	struct entry *old = NULL;
	unsigned char *todo = xcalloc(h->n + 1, 1);
	size_t nold = 0, n, ntodo = 0;
	struct stat st;
	int rc = 0;

	/* any install or removal rewrites dpkg's status file */
	bufadds(&head, CACHEHEAD);
	if (dpkg && stat(status, &st) == 0) {
		bufadds(&head, "dpkg ");
		bufaddesc(&head, admindir);
		bufaddc(&head, '\n');
		stampline(&head, status);
	} else {
		free(dpkg);
		dpkg = NULL;
		bufadds(&head, "no-dpkg\n");
	}
	if (cache && exists(cache) && readquiet(cache, &data, &n) == 0 && n >= head.n &&
	    !memcmp(data, head.p, head.n))
		old = cacheparse(data + head.n, &nold);
	for (size_t i = 0; i < h->n; i++) {
		struct hosttool *t = &h->v[i];
		size_t k;

		free(t->file);
		t->file = ospathfindin(t->name, path);
		buffree(&t->id);
		for (k = 0; k < nold && strcmp(old[k].name, t->name); k++)
			;
		if (k < nold && entryholds(&old[k], t)) {
			buffree(&t->stamps);
			bufaddn(&t->stamps, old[k].stamps.p, old[k].stamps.n);
			bufaddn(&t->id, old[k].id.p, old[k].id.n);
		} else {
			todo[i] = 1;
			ntodo++;
		}
	}
	if (ntodo) {
		rc = identifymissed(h, todo, path, dpkg, admindir);
		if (rc == 0 && cache)
			cachewrite(cache, &head, h, old, nold);
	}
	entriesfree(old, nold);
	buffree(&head);
	free(todo);
	free(data);
	free(status);
	free(dpkg);
	return rc;
}
