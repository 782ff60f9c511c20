#include <ctype.h>
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "alloc.h"
#include "build.h"
#include "diag.h"
#include "fetch.h"
#include "hostid.h"
#include "os.h"
#include "recipe.h"
#include "remote.h"
#include "sha256.h"
#include "solve.h"
#include "srcdir.h"
#include "str.h"
#include "target.h"
#include "tree.h"
#include "unpack.h"

/* Paths inside the sandbox are fixed, so outputs never embed where the work
 * directory happens to be: two builds in different places are identical. */
#define SB_SRC "/build/src"
#define SB_OBJ "/build/obj"
#define SB_DEST "/build/dest"
#define SB_SYSROOT "/build/sysroot"
#define SB_BIN "/build/bin"
#define SB_RECIPE "/build/recipe"
#define SB_STAGE2 "/build/stage2"
#define SB_SCRIPTS "/build/scripts"
#define SB_HOME "/build/home"

/* The build machine's programs (hostid.h) for the plan: the list in the
 * tree's stage2/host-tools for the target, and every recipe's tools. */
static int
hostprograms(const struct buildcfg *cfg, const struct plan *pl, struct hostid *h)
{
	char *list = xasprintf("%s/stage2/host-tools", cfg->top), *cache = xasprintf("%s/host-tools", cfg->store->dir);
	const char *admin = getenv("DPKG_ADMINDIR");
	int rc = hostlist(h, list, targetcross(cfg->target));

	for (size_t i = 0; rc == 0 && i < pl->n; i++)
		for (size_t k = 0; k < pl->pkgs[i].r->tools.n; k++)
			hostadd(h, pl->pkgs[i].r->tools.v[k], 0, 0);
	if (rc == 0)
		rc = hostidentify(h, SANDBOX_PATH, admin && *admin ? admin : "/var/lib/dpkg", cache);
	free(list);
	free(cache);
	return rc;
}

/* What every key shares: stage2's scripts and the programs of the list. */
static int
toolchainid(const struct buildcfg *cfg, const struct hostid *h, char hex[65])
{
	static const char *const files[] = {"mkwrapper", "audit"};
	struct sha256 sh;

	sha256init(&sh);
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].common)
			sha256add(&sh, h->v[i].id.p, h->v[i].id.n);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *p = xasprintf("%s/stage2/%s", cfg->top, files[i]), *data;
		size_t n;

		if (readfile(p, &data, &n) < 0) {
			free(p);
			sha256final(&sh, (unsigned char[32]){0});
			return -1;
		}
		sha256add(&sh, data, n);
		free(data);
		free(p);
	}
	sha256finalhex(&sh, hex);
	return 0;
}

static void
addkey(struct sha256 *h, const char *tag, const char *v)
{
	sha256add(h, tag, strlen(tag));
	sha256add(h, "=", 1);
	sha256add(h, v, strlen(v));
	sha256add(h, "\n", 1);
}

/* The build system's name and its stage2/build-system file's sha256, as
 * hex; 0, or -1 after reporting at the recipe's build-system line. */
static int
buildsysid(const struct buildcfg *cfg, const struct recipe *r, char hex[65])
{
	char *p = xasprintf("%s/stage2/build-system/%s", cfg->top, buildsysname(r->buildsys)), *data;
	struct sha256 sh;
	size_t n;

	if (readquiet(p, &data, &n) < 0) {
		errat(&r->buildsysloc, "cannot read %s, the steps of build-system %s: %s", p,
		      buildsysname(r->buildsys), strerror(errno));
		free(p);
		return -1;
	}
	sha256init(&sh);
	addkey(&sh, "name", buildsysname(r->buildsys));
	sha256add(&sh, data, n);
	sha256finalhex(&sh, hex);
	free(data);
	free(p);
	return 0;
}

int
buildkeys(const struct buildcfg *cfg, const struct plan *pl, char (*keys)[65])
{
	char tc[65], rh[65];
	struct hostid own = {0}, *h = cfg->host ? cfg->host : &own;
	int rc = -1;

	if (hostprograms(cfg, pl, h) < 0 || toolchainid(cfg, h, tc) < 0)
		goto out;
	for (size_t i = 0; i < pl->n; i++) {
		const struct planpkg *p = &pl->pkgs[i];
		struct sha256 sh;

		if (recipehash((struct recipe *)p->r) < 0)
			goto out;
		sha256init(&sh);
		/* 2: info records the recipe path relative to the tree; 3: the
		 * target's build environment (CROSS_COMPILE, TARGET_EXEC...);
		 * archives carry zstd checksums, info their sha256 (store.h); 4:
		 * the build machine's programs by package and version or sha256
		 * (hostid.h), not the --version lines of gcc and ld: a key names
		 * everything of the host a build runs, so stores can be shared */
		addkey(&sh, "undistro-key", "4");
		sha256hex(p->r->hash, rh);
		addkey(&sh, "recipe", rh);
		/* an archive's sha256 is in the recipe's bytes; an in-tree
		 * directory's contents are not (tree.c hashed them) */
		for (size_t k = 0; k < p->r->nsources; k++) {
			const struct source *s = &p->r->sources[k];

			if (s->dir && !s->dirhash) {
				errat(&s->dirloc, "in-tree source %s was not hashed", s->dir);
				sha256final(&sh, (unsigned char[32]){0});
				goto out;
			}
			if (s->dir)
				addkey(&sh, "source-dir", s->dirhash);
		}
		for (size_t f = 0; f < p->r->nflags; f++)
			addkey(&sh, p->r->flags[f].name, p->flags[f]);
		addkey(&sh, "target", cfg->target->triple);
		addkey(&sh, "toolchain", p->r->toolchain == TOOLCHAIN_HOST ? "host" : "stage2");
		addkey(&sh, "toolchain-id", tc);
		/* the default steps' file, in the keys of its recipes only */
		if (p->r->buildsys != BSYS_NONE) {
			char bs[65];

			if (buildsysid(cfg, p->r, bs) < 0) {
				sha256final(&sh, (unsigned char[32]){0});
				goto out;
			}
			addkey(&sh, "build-system", bs);
		}
		/* the recipe's own programs: in its key only */
		for (size_t k = 0; k < p->r->tools.n; k++)
			addkey(&sh, "tool", hostfind(h, p->r->tools.v[k])->id.p);
		/* dependencies come earlier in the plan, so their keys are ready */
		for (size_t k = 0; k < p->nsysroot; k++)
			addkey(&sh, "sysroot", keys[p->sysroot[k]]);
		for (size_t k = 0; k < p->nrundeps; k++)
			addkey(&sh, "run", keys[p->rundeps[k]]);
		sha256finalhex(&sh, keys[i]);
	}
	rc = 0;
out:
	hostfree(&own);
	return rc;
}

struct pkgdirs {
	char *w, *src, *obj, *dest, *sysroot, *bin, *scripts, *home;
};

static void
mkdirs(struct pkgdirs *d, const char *work, const char *name)
{
	d->w = xasprintf("%s/%s", work, name);
	d->src = xasprintf("%s/src", d->w);
	d->obj = xasprintf("%s/obj", d->w);
	d->dest = xasprintf("%s/dest", d->w);
	d->sysroot = xasprintf("%s/sysroot", d->w);
	d->bin = xasprintf("%s/bin", d->w);
	d->scripts = xasprintf("%s/scripts", d->w);
	d->home = xasprintf("%s/home", d->w);
}

static int
isarchive(const char *f)
{
	static const char *const sfx[] = {".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst"};

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		if (endswith(f, sfx[i]))
			return 1;
	return 0;
}

/* Copy an in-tree source into dir, checking that what was copied is what
 * the store key was computed from (tree.c hashed it when the tree loaded). */
static int
copysrcdir(const struct source *s, const char *dir)
{
	char hex[65];

	printf("==> copy in-tree source %s\n", s->dir);
	fflush(stdout);
	if (mkdirp(dir, 0755) < 0 || srcdirhash(s->dirpath, dir, &s->dirloc, hex) < 0)
		return -1;
	if (strcmp(hex, s->dirhash)) {
		errat(&s->dirloc, "in-tree source %s changed while the package was being built (after its store key "
		      "was computed): build again", s->dir);
		return -1;
	}
	return 0;
}

/* Fetch (verified) and unpack, or copy, every source into src. */
static int
prepsources(const struct buildcfg *cfg, const struct recipe *r, const struct pkgdirs *d)
{
	for (size_t i = 0; i < r->nsources; i++) {
		const struct source *s = &r->sources[i];
		char *path, *dir = s->dest ? xasprintf("%s/%s", d->src, s->dest) : xstrdup(d->src);
		struct unpackopts uo = {s->file, s->strip, 0, 0};
		int rc;

		if (s->dir) {
			rc = copysrcdir(s, dir);
			free(dir);
			if (rc < 0)
				return -1;
			continue;
		}
		if (fetchsource(cfg->fetch, r, s, &path) < 0) {
			free(dir);
			return -1;
		}
		if (isarchive(s->file)) {
			rc = unpack(path, dir, &uo);
		} else {
			char *to = xasprintf("%s/%s", dir, s->file);
			char *argv[] = {"cp", path, to, NULL};

			rc = mkdirp(dir, 0755) < 0 || osrun(argv, NULL, NULL, -1) != 0 ? -1 : 0;
			free(to);
		}
		free(path);
		free(dir);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Apply the patches in order, each verified by its sha256 first. */
static int
preppatches(const struct buildcfg *cfg, const struct recipe *r, const struct pkgdirs *d)
{
	for (size_t i = 0; i < r->npatches; i++) {
		const struct patch *p = &r->patches[i];
		char *path = NULL, hex[65], strip[24];
		int rc = -1;

		if (p->debian) {
			if (!r->nsources || !r->sources[0].debian) {
				errat(&p->loc, "a Debian patch needs the first source to name its Debian package (debian = NAME)");
				return -1;
			}
			if (fetchdebianfile(cfg->fetch, &r->sources[0], p, &path) < 0)
				return -1;
		} else {
			/* patch runs in the source directory: a tree given as a
			 * relative path (the default, ".") must not name it */
			char *rel = xasprintf("%s/%s", r->dir, p->file);

			if (!(path = realpath(rel, NULL))) {
				errat(&p->loc, "patch %s: cannot resolve %s:", p->file, rel);
				free(rel);
				return -1;
			}
			free(rel);
		}
		if (sha256file(path, hex) == 0) {
			if (strcmp(hex, p->sha256)) {
				errat(&p->loc, "patch %s has sha256 %s, the recipe pins %s: update the recipe or the file",
				      p->file, hex, p->sha256);
			} else {
				snprintf(strip, sizeof(strip), "-p%ld", p->strip);
				char *argv[] = {"patch", "-s", "-N", strip, "-i", path, NULL};
				printf("==> patch %s\n", p->file);
				fflush(stdout);
				rc = osrun(argv, NULL, d->src, -1) == 0 ? 0 : -1;
				if (rc < 0)
					errat(&p->loc, "patch %s does not apply (see the log above)", p->file);
			}
		}
		free(path);
		if (rc < 0)
			return -1;
	}
	return 0;
}

struct env {
	char **v;
	size_t n, cap;
};

static void
setenvv(struct env *e, const char *k, const char *v)
{
	if (e->n + 2 > e->cap) {
		e->cap = e->cap ? e->cap * 2 : 64;
		e->v = xreallocarray(e->v, e->cap, sizeof(*e->v));
	}
	e->v[e->n++] = xasprintf("%s=%s", k, v);
	e->v[e->n] = NULL;
}

/* k: the list's items, one a line (they hold no newline: recipe.c), so
 * that an item with blanks stays one argument (stage2/build-system). */
static void
joinenv(struct env *e, const char *k, const struct strlist *l)
{
	struct buf b = {0};

	for (size_t i = 0; i < l->n; i++)
		bufprintf(&b, "%s%s", i ? "\n" : "", l->v[i]);
	setenvv(e, k, b.p ? b.p : "");
	buffree(&b);
}

/* The documented build environment (docs/recipes.md), and nothing of the
 * caller's: no CPATH, LIBRARY_PATH, PKG_CONFIG_PATH can leak in. */
static void
buildenv(struct env *e, const struct target *tg, const struct planpkg *p, int jobs)
{
	const struct recipe *r = p->r;
	const char *cross = targetcross(tg);
	char *v;
	int host = r->toolchain == TOOLCHAIN_HOST;
	struct buf conf = {0}, mk = {0};
	char num[32], epoch[32];
	static const char *const tools[][2] = {
		{"CC", "gcc"}, {"AR", "ar"}, {"RANLIB", "ranlib"}, {"STRIP", "strip"}, {"LD", "ld"},
		{"NM", "nm"}, {"OBJCOPY", "objcopy"}, {"READELF", "readelf"}, {"PKG_CONFIG", "pkg-config"},
	};

	setenvv(e, "PATH", SB_BIN ":" SANDBOX_PATH);
	setenvv(e, "HOME", SB_HOME);
	setenvv(e, "TMPDIR", "/tmp");
	setenvv(e, "LC_ALL", "C");
	setenvv(e, "TZ", "UTC");
	setenvv(e, "SRC", SB_SRC);
	setenvv(e, "BUILD", SB_OBJ);
	setenvv(e, "DESTDIR", SB_DEST);
	setenvv(e, "PREFIX", "/usr");
	setenvv(e, "TARGET", tg->triple);
	setenvv(e, "ARCH", tg->name);
	setenvv(e, "KARCH", tg->karch);
	setenvv(e, "CROSS_COMPILE", cross);
	setenvv(e, "BUILD_TRIPLE", targethost() ? targethost()->gnutriple : "");
	setenvv(e, "KERNEL_TARGET", tg->kerneltarget);
	setenvv(e, "KERNEL_IMAGE", tg->kernelimage);
	snprintf(num, sizeof(num), "%04x", tg->pemachine);
	setenvv(e, "PE_MACHINE", num);
	snprintf(num, sizeof(num), "%u", tg->elfmachine);
	setenvv(e, "ELF_MACHINE", num);
	setenvv(e, "TARGET_CMAKE_PROCESSOR", tg->cmakeprocessor);
	setenvv(e, "TARGET_MESON_CPU_FAMILY", tg->mesoncpufamily);
	setenvv(e, "TARGET_MESON_CPU", tg->mesoncpu);
	setenvv(e, "TARGET_ENDIAN", tg->endian);
	setenvv(e, "STAGE2", SB_STAGE2);
	/* target programs in recipe tests: under the user-mode emulator, whose
	 * -L finds the loader and libraries in the sysroot (docs/recipes.md) */
	v = targetnative(tg) ? xstrdup("") : xasprintf("%s -L %s", tg->qemuuser, SB_SYSROOT);
	setenvv(e, "TARGET_EXEC", v);
	free(v);
	setenvv(e, "HOSTCC", "gcc");
	setenvv(e, "CFLAGS", "-O2 -pipe");
	setenvv(e, "LDFLAGS", "");
	setenvv(e, "SYSROOT", SB_SYSROOT);
	setenvv(e, "RECIPE_DIR", SB_RECIPE);
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		/* host: the build machine's tools for the target (pkg-config is
		 * never a cross tool); stage2: the wrapper's, named by the triple */
		if (!host)
			v = xasprintf("%s-%s", tg->triple, tools[i][1]);
		else if (!strcmp(tools[i][1], "pkg-config"))
			v = xstrdup(tools[i][1]);
		else
			v = xasprintf("%s%s", cross, tools[i][1]);
		setenvv(e, tools[i][0], v);
		free(v);
	}
	snprintf(num, sizeof(num), "%d", jobs);
	setenvv(e, "JOBS", num);
	snprintf(epoch, sizeof(epoch), "%lld", BUILD_EPOCH);
	setenvv(e, "SOURCE_DATE_EPOCH", epoch);
	snprintf(epoch, sizeof(epoch), "@%lld", BUILD_EPOCH);
	setenvv(e, "KBUILD_BUILD_TIMESTAMP", epoch);
	setenvv(e, "KBUILD_BUILD_USER", "undistro");
	setenvv(e, "KBUILD_BUILD_HOST", "undistro");
	for (size_t i = 0; i < r->nflags; i++) {
		const struct flag *f = &r->flags[i];
		char *k = xasprintf("FLAG_%s", f->name);

		for (char *c = k; *c; c++)
			*c = *c == '-' || *c == '.' || *c == '+' ? '_' : (char)toupper((unsigned char)*c);
		setenvv(e, k, p->flags[i]);
		free(k);
		if (!strcmp(p->flags[i], "yes")) {
			if (f->configure)
				bufprintf(&conf, "%s%s", conf.n ? " " : "", f->configure);
			if (f->make)
				bufprintf(&mk, "%s%s", mk.n ? " " : "", f->make);
		}
	}
	joinenv(e, "CONFIGURE_ARGS", &r->configureargs);
	joinenv(e, "MAKE_ARGS", &r->makeargs);
	setenvv(e, "CONFIGURE_FLAGS", conf.p ? conf.p : "");
	setenvv(e, "MAKE_FLAGS", mk.p ? mk.p : "");
	buffree(&conf);
	buffree(&mk);
}

static void
envfree(struct env *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
}

/* The driver run inside the sandbox: wrapper, then each script from $SRC. */
static int
writescripts(const struct buildcfg *cfg, const struct recipe *r, const struct pkgdirs *d)
{
	struct buf drv = {0};
	const char *names[] = {"build", "install", "test"};
	const char *bodies[] = {r->build, r->install, cfg->notest ? NULL : r->test};
	int rc = 0;

	/* each phase's header carries the seconds since the sandbox started */
	bufadds(&drv, "set -e\nt0=$(date +%s)\nphase() { echo \"==> $1 (+$(($(date +%s) - t0))s)\"; }\n");
	if (r->toolchain == TOOLCHAIN_STAGE2)
		bufadds(&drv, "sh " SB_STAGE2 "/mkwrapper \"$SYSROOT\" " SB_BIN " \"$TARGET\"\n");
	for (int i = 0; i < 3 && rc == 0; i++) {
		/* a step the recipe does not write: its build system's, which
		 * the file runs when given the step's name */
		if (!bodies[i] && i < 2 && r->buildsys != BSYS_NONE)
			bufprintf(&drv, "phase %s\ncd \"$SRC\"\nsh -e " SB_STAGE2 "/build-system/%s %s\n", names[i],
			          buildsysname(r->buildsys), names[i]);
		if (bodies[i]) {
			char *p = xasprintf("%s/%s.sh", d->scripts, names[i]);

			rc = writeatomic(p, bodies[i], strlen(bodies[i]), 0644);
			bufprintf(&drv, "phase %s\ncd \"$SRC\"\nsh -e " SB_SCRIPTS "/%s.sh\n", names[i], names[i]);
			free(p);
		}
		/* after install, before the test: what was installed must be clean */
		if (i == 1 && r->toolchain == TOOLCHAIN_STAGE2)
			bufadds(&drv, "phase audit\nsh " SB_STAGE2 "/audit \"$SYSROOT\" \"$DESTDIR\" \"$ARCH\"\n");
	}
	bufadds(&drv, "phase end\n");
	if (rc == 0) {
		char *p = xasprintf("%s/run.sh", d->scripts);

		rc = writeatomic(p, drv.p, drv.n, 0644);
		free(p);
	}
	buffree(&drv);
	return rc;
}

/* path below top, relative to it: the info file must not say where the
 * tree was checked out (two checkouts build identical store entries). */
static const char *
relpath(const char *top, const char *path)
{
	size_t n = strlen(top);

	while (n > 1 && top[n - 1] == '/')
		n--;
	if (strncmp(path, top, n) || path[n] != '/')
		return path;
	while (path[n] == '/')
		n++;
	return path + n;
}

/* Each identity line of a program (hostid.h), after tag. */
static void
infohost(struct buf *b, const char *tag, const struct hosttool *t)
{
	for (const char *l = t->id.p; l && *l; l = strchr(l, '\n') + 1)
		bufprintf(b, "%s %.*s\n", tag, (int)strcspn(l, "\n"), l);
}

static char *
infotext(const struct buildcfg *cfg, const struct planpkg *p, const char *key, const struct plan *pl,
         char (*keys)[65])
{
	struct buf b = {0};

	bufprintf(&b, "name %s\nversion %s\nkey %s\nrecipe %s\n", p->r->name, p->r->evr, key,
	          relpath(cfg->top, p->r->path));
	for (size_t i = 0; i < p->r->nflags; i++)
		bufprintf(&b, "flag %s=%s\n", p->r->flags[i].name, p->flags[i]);
	/* for people: what of the build machine went into the key */
	for (size_t i = 0; cfg->host && i < cfg->host->n; i++)
		if (cfg->host->v[i].common)
			infohost(&b, "host", &cfg->host->v[i]);
	for (size_t i = 0; cfg->host && i < p->r->tools.n; i++)
		infohost(&b, "tool", hostfind(cfg->host, p->r->tools.v[i]));
	for (size_t i = 0; i < p->nsysroot; i++)
		bufprintf(&b, "sysroot %s %s\n", pl->pkgs[p->sysroot[i]].r->name, keys[p->sysroot[i]]);
	for (size_t i = 0; i < p->nrundeps; i++)
		bufprintf(&b, "depends %s %s\n", pl->pkgs[p->rundeps[i]].r->name, keys[p->rundeps[i]]);
	return b.p;
}

static double
since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* Everything for one package, in the forked child; returns its exit code. */
static int
buildone(const struct buildcfg *cfg, const struct plan *pl, char (*keys)[65], size_t i, int jobs)
{
	const struct planpkg *p = &pl->pkgs[i];
	struct pkgdirs d;
	struct env e = {0};
	char *stage2 = xasprintf("%s/stage2", cfg->top), *info;
	char *argv[] = {"sh", "-e", SB_SCRIPTS "/run.sh", NULL};
	struct timespec t0;
	int rc;

	/* what a build creates must not depend on the caller's umask */
	umask(022);
	mkdirs(&d, cfg->work, p->r->name);
	if (rmtree(d.w) < 0 || mkdirp(d.src, 0755) < 0 || mkdirp(d.obj, 0755) < 0 || mkdirp(d.dest, 0755) < 0 ||
	    mkdirp(d.sysroot, 0755) < 0 || mkdirp(d.bin, 0755) < 0 || mkdirp(d.scripts, 0755) < 0 ||
	    mkdirp(d.home, 0755) < 0)
		return EXIT_SYSTEM;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* a refused archive (a bomb, a path escape) leaves part of itself:
	 * nothing of it is worth keeping, and a bomb's part is gigabytes */
	if (prepsources(cfg, p->r, &d) < 0) {
		rmtree(d.w);
		return EXIT_BUILD;
	}
	if (preppatches(cfg, p->r, &d) < 0)
		return EXIT_BUILD;
	for (size_t k = 0; k < p->nsysroot; k++)
		if (storeextract(cfg->store, keys[p->sysroot[k]], d.sysroot) < 0)
			return EXIT_SYSTEM;
	printf("==> sources unpacked, sysroot of %zu package%s ready in %.1fs\n", p->nsysroot,
	       p->nsysroot == 1 ? "" : "s", since(&t0));
	if (writescripts(cfg, p->r, &d) < 0)
		return EXIT_SYSTEM;
	buildenv(&e, cfg->target, p, jobs);
	const struct bind binds[] = {
		{d.src, SB_SRC, 1}, {d.obj, SB_OBJ, 1}, {d.dest, SB_DEST, 1}, {d.bin, SB_BIN, 1},
		{d.home, SB_HOME, 1}, {d.sysroot, SB_SYSROOT, 0}, {p->r->dir, SB_RECIPE, 0},
		{stage2, SB_STAGE2, 0}, {d.scripts, SB_SCRIPTS, 0},
	};
	fflush(stdout);
	rc = osrunsandboxed(binds, sizeof(binds) / sizeof(binds[0]), SB_SRC, argv, e.v, -1);
	envfree(&e);
	if (rc != 0) {
		if (rc > 0)
			errat(&p->r->loc, "%s: the recipe's scripts failed (exit status %d)", p->r->name, rc);
		return rc < 0 ? EXIT_SYSTEM : EXIT_BUILD;
	}
	info = infotext(cfg, p, keys[i], pl, keys);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = storeadd(cfg->store, keys[i], d.dest, BUILD_EPOCH, info);
	free(info);
	if (rc < 0)
		return EXIT_SYSTEM;
	printf("==> stored in %.1fs\n", since(&t0));
	if (!cfg->keep)
		rmtree(d.w);
	return EXIT_OK;
}

enum pstate { P_SKIP, P_DONE, P_WAIT, P_RUN, P_FAIL };

struct job {
	size_t pkg;
	pid_t pid;
	int fd, log;
	struct timespec start;
	struct buf line;     /* partial output line, for the -v prefix */
};

struct sched {
	const struct buildcfg *cfg;
	const struct plan *pl;
	char (*keys)[65];
	enum pstate *st;
	struct job *jobs;
	size_t njobs, built, tobuild;
	int tty, failed, sysfail;
	double *secs;
	int sigfd;             /* the self-pipe's read end (ossigcatch), or -1 */
	unsigned char *stop;   /* cfg->w's marks, one byte per package */
	int stale;             /* cfg->w said the plan is stale: start nothing */
};

static void
status(struct sched *s)
{
	struct buf b = {0};

	if (!s->tty || quiet)
		return;
	bufprintf(&b, "\r\033[K[%zu/%zu]", s->built, s->tobuild);
	for (size_t i = 0; i < s->njobs; i++)
		bufprintf(&b, " %s (%.0fs)", s->pl->pkgs[s->jobs[i].pkg].r->name, since(&s->jobs[i].start));
	fputs(b.p, stderr);
	fflush(stderr);
	buffree(&b);
}

static void
say(struct sched *s, const char *fmt, const char *name, double t)
{
	if (quiet)
		return;
	if (s->tty)
		fputs("\r\033[K", stderr);
	fprintf(stderr, fmt, name, t);
	status(s);
}

/* The package may start: every dependency is in the store. */
static int
ready(const struct sched *s, size_t i)
{
	const struct planpkg *p = &s->pl->pkgs[i];

	for (size_t k = 0; k < p->nsysroot; k++)
		if (s->st[p->sysroot[k]] != P_DONE)
			return 0;
	for (size_t k = 0; k < p->nrundeps; k++)
		if (s->st[p->rundeps[k]] != P_DONE)
			return 0;
	return 1;
}

static int
startjob(struct sched *s, size_t i, int share)
{
	const struct recipe *r = s->pl->pkgs[i].r;
	char *logpath = xasprintf("%s/%s.log", s->cfg->logs, r->name);
	struct job *j = &s->jobs[s->njobs];
	int fd[2];

	j->log = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (j->log < 0 || pipe2(fd, O_CLOEXEC) < 0) {
		err("cannot open %s:", logpath);
		free(logpath);
		return -1;
	}
	free(logpath);
	fflush(stdout);
	fflush(stderr);
	j->pid = fork();
	if (j->pid < 0) {
		err("fork:");
		close(fd[0]);
		close(fd[1]);
		close(j->log);
		return -1;
	}
	if (j->pid == 0) {
		/* the child dies with us, and its sandbox with it (bwrap --die-with-parent) */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		dup2(fd[1], 1);
		dup2(fd[1], 2);
		setvbuf(stdout, NULL, _IOLBF, 0);
		fprintf(stdout, "==> %s %s key %s, make -j%d\n", r->name, r->evr, s->keys[i], share);
		int rc = buildone(s->cfg, s->pl, s->keys, i, share);
		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}
	close(fd[1]);
	j->pkg = i;
	j->fd = fd[0];
	j->line = (struct buf){0};
	clock_gettime(CLOCK_MONOTONIC, &j->start);
	s->st[i] = P_RUN;
	s->njobs++;
	say(s, "undistro: building %s\n", r->name, 0);
	return 0;
}

/* The last lines of a failed package's log. */
static void
showtail(const char *path)
{
	char *data;
	size_t n, lines = 0, i;

	if (readfile(path, &data, &n) < 0)
		return;
	for (i = n; i > 0 && lines <= 25; i--)
		if (data[i - 1] == '\n')
			lines++;
	fprintf(stderr, "%s", data + i + (i > 0));
	free(data);
}

static void
finishjob(struct sched *s, size_t k)
{
	struct job *j = &s->jobs[k];
	const struct recipe *r = s->pl->pkgs[j->pkg].r;
	int st = 0;
	double t = since(&j->start);

	while (waitpid(j->pid, &st, 0) < 0 && errno == EINTR)
		;
	close(j->fd);
	close(j->log);
	buffree(&j->line);
	s->secs[j->pkg] = t;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		s->st[j->pkg] = P_DONE;
		s->built++;
		say(s, "undistro: built %s in %.1fs\n", r->name, t);
	} else {
		char *logpath = xasprintf("%s/%s.log", s->cfg->logs, r->name);

		s->st[j->pkg] = P_FAIL;
		s->failed = 1;
		if (WIFEXITED(st) && WEXITSTATUS(st) == EXIT_SYSTEM)
			s->sysfail = 1;
		if (s->tty)
			fputs("\r\033[K", stderr);
		fprintf(stderr, "undistro: %s failed after %.1fs; the end of its log:\n", r->name, t);
		showtail(logpath);
		fprintf(stderr, "undistro: full log: %s\n", logpath);
		free(logpath);
	}
	*j = s->jobs[--s->njobs];
}

static void
jobinput(struct sched *s, size_t k)
{
	struct job *j = &s->jobs[k];
	char buf[16384];
	ssize_t n = read(j->fd, buf, sizeof(buf)), w;

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		finishjob(s, k);
		return;
	}
	/* a short write to a file: the next write says why */
	for (ssize_t off = 0; off < n; off += w) {
		if ((w = write(j->log, buf + off, (size_t)(n - off))) < 0 && errno == EINTR) {
			w = 0;
		} else if (w < 0) {
			warn("cannot write %s/%s.log:", s->cfg->logs, s->pl->pkgs[j->pkg].r->name);
			break;
		}
	}
	if (!s->cfg->verbose)
		return;
	bufaddn(&j->line, buf, (size_t)n);
	char *p = j->line.p, *nl;
	while ((nl = memchr(p, '\n', j->line.n - (size_t)(p - j->line.p)))) {
		printf("%s: %.*s\n", s->pl->pkgs[j->pkg].r->name, (int)(nl - p), p);
		p = nl + 1;
	}
	j->line.n -= (size_t)(p - j->line.p);
	memmove(j->line.p, p, j->line.n);
	fflush(stdout);
}

/* Start what can start: every ready package, at most the job budget at
 * once. Each gets the whole budget as make -jN: a share fixed when it starts
 * would leave the longest package (the kernel) at -j1 after its neighbours
 * finish; briefly running up to budget^2 compilers costs less than that. */
static int
startready(struct sched *s)
{
	int budget = s->cfg->jobs;

	if (s->failed || s->stale)
		return 0;
	for (size_t i = 0; i < s->pl->n && s->njobs < (size_t)budget; i++)
		if (s->st[i] == P_WAIT && ready(s, i) && startjob(s, i, budget) < 0)
			return -1;
	return 0;
}

/* Forward a signal to every job's process group, wait for them, re-raise. */
static _Noreturn void
interrupted(struct sched *s, int sig)
{
	for (size_t i = 0; i < s->njobs; i++)
		kill(-s->jobs[i].pid, SIGTERM);
	for (size_t i = 0; i < s->njobs; i++)
		waitpid(s->jobs[i].pid, NULL, 0);
	if (s->tty)
		fputs("\r\033[K", stderr);
	fprintf(stderr, "undistro: interrupted; nothing partial is left in the store\n");
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(128 + sig);
}

/* Stop the job in slot k, whose inputs changed: its process group killed
 * and waited for, its work directory and store temporaries removed. The
 * package is waiting again, for the next run. */
static void
stopjob(struct sched *s, size_t k)
{
	struct job *j = &s->jobs[k];
	const struct recipe *r = s->pl->pkgs[j->pkg].r;
	char *w = xasprintf("%s/%s", s->cfg->work, r->name);

	kill(-j->pid, SIGKILL);
	kill(j->pid, SIGKILL);
	while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
		;
	close(j->fd);
	close(j->log);
	buffree(&j->line);
	if (rmtree(w) < 0 || storetmpclean(s->cfg->store, s->keys[j->pkg]) < 0)
		s->failed = s->sysfail = 1;
	free(w);
	s->st[j->pkg] = P_WAIT;
	say(s, "undistro: stopped %s: its inputs changed\n", r->name, 0);
	*j = s->jobs[--s->njobs];
}

/* One of cfg->w's descriptors is readable: ask what to stop, and stop it.
 * A marked package that has yet to start makes the plan stale too. */
static void
watchready(struct sched *s, int fd)
{
	const struct buildwatch *w = s->cfg->w;
	int r;

	memset(s->stop, 0, s->pl->n);
	if ((r = w->ready(w->ctx, fd, s->stop)) < 0)
		s->failed = s->sysfail = 1;
	s->stale |= r > 0;
	for (size_t i = 0; i < s->pl->n; i++)
		s->stale |= s->stop[i] && (s->st[i] == P_WAIT || s->st[i] == P_RUN);
	for (size_t k = s->njobs; k-- > 0;)
		if (s->stop[s->jobs[k].pkg])
			stopjob(s, k);
}

static int
loop(struct sched *s)
{
	size_t nw = s->cfg->w ? s->cfg->w->nfds : 0;
	struct pollfd *pfd = xcalloc((size_t)s->cfg->jobs + 1 + nw, sizeof(*pfd));
	size_t np;

	for (;;) {
		if (startready(s) < 0)
			s->failed = s->sysfail = 1;
		if (!s->njobs)
			break;
		for (size_t i = 0; i < s->njobs; i++)
			pfd[i] = (struct pollfd){s->jobs[i].fd, POLLIN, 0};
		np = s->njobs;
		pfd[np] = (struct pollfd){s->sigfd, POLLIN, 0};
		for (size_t i = 0; i < nw; i++)
			pfd[np + 1 + i] = (struct pollfd){s->cfg->w->fds[i], POLLIN, 0};
		if (poll(pfd, np + 1 + nw, s->tty ? 1000 : -1) < 0 && errno != EINTR) {
			err("poll:");
			free(pfd);
			return -1;
		}
		if (pfd[np].revents & POLLIN) {
			unsigned char sig;

			if (read(s->sigfd, &sig, 1) == 1)
				interrupted(s, sig);
		}
		/* from the end: finishing a job moves the last one into its slot */
		for (size_t i = np; i-- > 0;)
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				jobinput(s, i);
		for (size_t i = 0; i < nw; i++)
			if (pfd[np + 1 + i].revents & (POLLIN | POLLHUP | POLLERR))
				watchready(s, s->cfg->w->fds[i]);
		status(s);
	}
	free(pfd);
	return 0;
}

static void
summary(const struct sched *s)
{
	if (quiet || !s->built)
		return;
	fprintf(stderr, "undistro: built %zu package%s:", s->built, s->built == 1 ? "" : "s");
	for (size_t i = 0; i < s->pl->n; i++)
		if (s->st[i] == P_DONE && s->secs[i] > 0)
			fprintf(stderr, " %s %.1fs", s->pl->pkgs[i].r->name, s->secs[i]);
	fputc('\n', stderr);
}

/* The build-machine tools (recipe `tools`) of every package about to be
 * built must be on PATH: the sandbox sees the host's /usr, nothing more.
 * Reports each missing one at its recipe line; returns 0 or -1. */
static int
checktools(const struct plan *pl, const enum pstate *st)
{
	int ok = 1;

	for (size_t i = 0; i < pl->n; i++) {
		const struct strlist *t = &pl->pkgs[i].r->tools;

		for (size_t k = 0; st[i] == P_WAIT && k < t->n; k++) {
			char *p = ospathfindin(t->v[k], SANDBOX_PATH);

			if (!p) {
				errat(&t->loc[k], "%s needs the build machine's '%s', which is not in %s (the sandbox's "
				      "PATH): install it (ci/install-deps installs the tools of the tree's recipes)",
				      pl->pkgs[i].r->name, t->v[k], SANDBOX_PATH);
				ok = 0;
			}
			free(p);
		}
	}
	return ok ? 0 : -1;
}

/* Mark what the run needs: what is wanted and, walking back (dependencies
 * come first in the plan), the run-time dependencies of everything needed
 * and the sysroots of what must be built. A package in the store, or
 * substituted from the remote now, is P_DONE and needs no sysroot: only its
 * build would read one. So a warm remote brings a role's run-time closure
 * and kernel, not their build tools. 0, or -1 on a system failure. */
static int
needed(struct sched *s, const unsigned char *want)
{
	const struct buildcfg *cfg = s->cfg;
	const struct plan *pl = s->pl;

	for (size_t i = pl->n; i-- > 0;) {
		const struct planpkg *p = &pl->pkgs[i];
		int have;

		/* P_WAIT before the decision: a dependency of something needed */
		if (want && !want[i] && s->st[i] != P_WAIT)
			continue;
		have = storehas(cfg->store, s->keys[i], p->r->name);
		if (!have && cfg->remote && (have = remotesubst(cfg->remote, cfg->store, s->keys[i], p->r->name)) < 0)
			return -1;
		s->st[i] = have ? P_DONE : P_WAIT;
		s->tobuild += !have;
		for (size_t k = 0; !have && k < p->nsysroot; k++)
			s->st[p->sysroot[k]] = s->st[p->sysroot[k]] == P_SKIP ? P_WAIT : s->st[p->sysroot[k]];
		for (size_t k = 0; k < p->nrundeps; k++)
			s->st[p->rundeps[k]] = s->st[p->rundeps[k]] == P_SKIP ? P_WAIT : s->st[p->rundeps[k]];
	}
	if (cfg->remote)
		remotesummary(cfg->remote, 0);
	return 0;
}

int
buildplan(const struct buildcfg *cfg, const struct plan *pl, char (*keys)[65], const unsigned char *want,
          unsigned char *have)
{
	struct sched s = {.cfg = cfg, .pl = pl, .keys = keys, .tty = isatty(2), .sigfd = -1};
	int rc, worklock = -1, loglock = -1;

	if (mkdirp(cfg->work, 0755) < 0 || mkdirp(cfg->logs, 0755) < 0)
		return -1;
	s.st = xcalloc(pl->n + 1, sizeof(*s.st));
	s.secs = xcalloc(pl->n + 1, sizeof(*s.secs));
	s.jobs = xcalloc((size_t)cfg->jobs + 1, sizeof(*s.jobs));
	s.stop = xcalloc(pl->n + 1, 1);
	if (needed(&s, want) < 0 || checktools(pl, s.st) < 0) {
		rc = -1;
		goto out;
	}
	/* two runs with different stores share the work and log directories:
	 * one builds in them at a time. Locks are taken in one order (store,
	 * work, logs) and have distinct names, as the directories may be one. */
	if (s.tobuild && ((worklock = oslock(cfg->work, ".work.lock", "work directory")) < 0 ||
	                  (loglock = oslock(cfg->logs, ".logs.lock", "log directory")) < 0)) {
		rc = -1;
		goto out;
	}
	if (!cfg->w && (s.sigfd = ossigcatch()) < 0) {
		rc = -1;
		goto out;
	}
	rc = loop(&s);
	if (!cfg->w)
		ossigrelease();
	summary(&s);
	if (rc == 0 && s.failed)
		rc = s.sysfail ? -1 : 1;
	if (rc >= 0 && s.stale)
		rc = 2;
out:
	for (size_t i = 0; cfg->w && cfg->w->built && i < pl->n; i++)
		cfg->w->built[i] = s.st[i] == P_DONE && s.secs[i] > 0;
	for (size_t i = 0; have && i < pl->n; i++)
		have[i] = s.st[i] == P_DONE;
	if (worklock >= 0)
		close(worklock);
	if (loglock >= 0)
		close(loglock);
	free(s.st);
	free(s.secs);
	free(s.jobs);
	free(s.stop);
	return rc;
}
