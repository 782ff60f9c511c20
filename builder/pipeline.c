#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "alloc.h"
#include "build.h"
#include "cmd.h"
#include "diag.h"
#include "hostid.h"
#include "os.h"
#include "image.h"
#include "outkey.h"
#include "pipeline.h"
#include "remote.h"
#include "rootfs.h"
#include "sbom.h"
#include "sha256.h"
#include "str.h"
#include "target.h"

long long
pipelineepoch(const char *top)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	/* a tree outside git is fine: no commit time then; safe.directory, so
	 * that a user building another user's checkout gets the same epoch */
	char *argv[] = {"sh", "-c", "git -c safe.directory='*' -C \"$1\" log -1 --format=%ct 2>/dev/null",
	                "sh", (char *)top, NULL};
	struct buf out = {0};
	long long e = 0;

	if (s && *s) {
		/* the reproducible-builds spec: a malformed value is an error */
		char *end;

		errno = 0;
		e = strtoll(s, &end, 10);
		if (!isdigit((unsigned char)*s) || *end || errno || e > EPOCHMAX) {
			err("SOURCE_DATE_EPOCH must be a number of seconds since 1970 (0 to %lld), not '%s'", EPOCHMAX, s);
			return -1;
		}
		return e;
	}
	if (osruncapture(argv, NULL, NULL, &out) == 0 && out.p)
		e = strtoll(out.p, NULL, 10);
	buffree(&out);
	return e > 0 ? e : BUILD_EPOCH;
}

static char *
envor(const char *var, const char *deflt)
{
	const char *v = getenv(var);

	return xstrdup(v && *v ? v : deflt);
}

char *
pipelinestore(const char *store, const char *cache)
{
	char *d = xasprintf("%s/store", cache), *r = store ? xstrdup(store) : envor("UNDISTRO_STORE", d);

	free(d);
	return r;
}

int
pipelineopen(struct pipeline *p, const char *role)
{
	char *d, *w;

	ospathsbin();

	p->fc.cache = p->cache;
	p->fc.offline = p->offline;
	if (fetchcfgenv(&p->fc) < 0)
		return EXIT_SYSTEM;
	p->st.dir = pipelinestore(p->store, p->fc.cache);
	/* per target: two architectures' builds of one package never share a
	 * work directory, a log or an output directory (README: layout) */
	d = xasprintf("%s/work", p->fc.cache);
	w = envor("UNDISTRO_WORK", d);
	p->work = xasprintf("%s/%s", w, p->target->name);
	free(d);
	free(w);
	if (role) {
		d = xasprintf("out/%s/%s", p->target->name, role);
		p->outdir = p->out ? xstrdup(p->out) : envor("UNDISTRO_OUT", d);
		free(d);
		p->logs = xasprintf("%s/logs", p->outdir);
	} else {
		p->logs = xasprintf("%s/logs/%s", p->fc.cache, p->target->name);
	}
	d = xstrdup(p->st.dir);
	free(p->st.dir);
	p->st.dir = NULL;
	p->st.lock = -1;
	return storeopen(&p->st, d) < 0 ? (free(d), EXIT_SYSTEM) : (free(d), EXIT_OK);
}

void
pipelineclose(struct pipeline *p)
{
	/* fetchcfgenv's: the cache unless --cache gave it, the environment's
	 * mirrors (the pipeline sets none itself) */
	if (p->fc.cache != p->cache)
		free((char *)p->fc.cache);
	for (size_t i = 0; i < p->fc.nmirrors; i++)
		free((char *)p->fc.mirrors[i]);
	free((void *)p->fc.mirrors);
	p->fc = (struct fetchcfg){0};
	storeclose(&p->st);
	free(p->outdir);
	free(p->work);
	free(p->logs);
	p->outdir = p->work = p->logs = NULL;
}

static int
resolve(struct pipeline *p, char **names, size_t n)
{
	const struct role *ro = n == 1 ? treerole(&p->tree, names[0]) : NULL;

	if (ro) {
		p->role = ro;
		roleflatten(&p->tree, ro, &p->flat);
		if (!rolesupports(&p->flat, p->target))
			return -1;
		return solverole(&p->tree, &p->flat, p->target, &p->plan);
	}
	return solvepackages(&p->tree, names, n, p->target, &p->plan);
}

/* The role's outputs, redone only when their output key (outkey.h) differs
 * from the one OUT holds or an output is missing: the key file goes first,
 * so an interrupted rebuild leaves none, and comes back last. Without a key
 * (an input could not be read) the outputs are redone and no key is
 * written; the rebuild reports what was wrong. */
int
pipelineassemble(struct pipeline *p)
{
	int images = p->stop != STOP_ROOTFS;
	char *commit = sbomcommit(p->opts->dir), **files = outkeyfiles(&p->flat, images), hex[65];
	struct outkeyin in = {
		.tree = &p->tree,
		.role = p->role,
		.flat = &p->flat,
		.target = p->target,
		.plan = &p->plan,
		.keys = p->keys,
		.epoch = p->epoch,
		.commit = commit,
		.images = images,
		.exe = NULL,
		.authorized_keys = NULL,
	};
	int keyed = outkeycompute(&in, hex) == 0, rc;

	free(commit);
	p->redone = 0;
	if (keyed && !p->force && outkeyuptodate(p->outdir, hex)) {
		if (!p->watching)
			fprintf(stderr, "undistro: %s is up to date\n", p->outdir);
		rc = EXIT_OK;
	} else if (outkeyclear(p->outdir) < 0) {
		rc = EXIT_SYSTEM;
	} else {
		p->redone = 1;
		rc = pipelinerootfs(p);
		if (rc == EXIT_OK && keyed && outkeywrite(p->outdir, hex, files) < 0)
			rc = EXIT_SYSTEM;
	}
	outkeyfilesfree(files);
	return rc;
}

/* Push what the run needed (have) to the remote: failures are warned and do
 * not change the exit status (the build itself succeeded or failed alone). */
static void
push(struct pipeline *p, struct remote *rm, const unsigned char *have)
{
	for (size_t i = 0; i < p->plan.n; i++)
		if (have[i])
			remotepush(rm, &p->st, p->keys[i], p->plan.pkgs[i].r->name);
	remotesummary(rm, 1);
}

/* The build stage: the run-time closure (what the image holds, or the named
 * packages') into the store, substituted or built, then the push. */
static int
packages(struct pipeline *p, struct buildcfg *bc, const struct buildwatch *w)
{
	unsigned char *want = xcalloc(p->plan.n + 1, 1), *have = xcalloc(p->plan.n + 1, 1);
	int rc;

	for (size_t i = 0; i < p->plan.n; i++)
		want[i] = (unsigned char)p->plan.pkgs[i].runtime;
	bc->w = w;
	rc = buildplan(bc, &p->plan, p->keys, want, have);
	if (p->push && rc >= 0 && rc != 2)
		push(p, bc->remote, have);
	free(want);
	free(have);
	return rc;
}

int
pipelineplan(struct pipeline *p, char **names, size_t n)
{
	if (treeload(&p->tree, p->opts->dir) < 0 || resolve(p, names, n) < 0)
		return EXIT_INPUT;
	if (targetchecktools(p->target) < 0)
		return EXIT_SYSTEM;
	/* before the builds: a bad SOURCE_DATE_EPOCH must not waste them */
	if (p->role && p->stop != STOP_PACKAGES && (p->epoch = pipelineepoch(p->opts->dir)) < 0)
		return EXIT_USAGE;
	return EXIT_OK;
}

int
pipelinebuild(struct pipeline *p, const struct buildwatch *w)
{
	struct hostid host = {0};
	struct buildcfg bc = {
		.store = &p->st,
		.fetch = &p->fc,
		.target = p->target,
		.top = p->opts->dir,
		.work = p->work,
		.logs = p->logs,
		.jobs = p->opts->jobs,
		.keep = p->keep,
		.verbose = p->verbose,
		.notest = p->notest,
		.remote = p->rm,
		.host = &host,
	};
	int rc;

	free(p->keys);
	p->keys = xcalloc(p->plan.n + 1, sizeof(*p->keys));
	rc = buildkeys(&bc, &p->plan, p->keys) < 0 ? -1 : packages(p, &bc, w);
	hostfree(&host);
	if (rc == 2)
		return -1;
	return rc ? (rc > 0 ? EXIT_BUILD : EXIT_SYSTEM) : EXIT_OK;
}

void
pipelinecycleend(struct pipeline *p)
{
	free(p->keys);
	planfree(&p->plan);
	treefree(&p->tree);
	p->keys = NULL;
	p->plan = (struct plan){0};
	p->tree = (struct tree){0};
	p->flat = (struct role){0};
	p->role = NULL;
}

int
pipelinerun(struct pipeline *p, char **names, size_t n)
{
	int rc;

	if ((rc = pipelineplan(p, names, n)) != EXIT_OK)
		return rc;
	if (p->remote && !(p->rm = remoteopen(p->remote, p->trusted, p->signkey)))
		return EXIT_INPUT;
	if ((rc = pipelineopen(p, p->role ? p->role->name : NULL)) != EXIT_OK) {
		remoteclose(p->rm);
		return rc;
	}
	rc = pipelinebuild(p, NULL);
	remoteclose(p->rm);
	p->rm = NULL;
	if (rc != EXIT_OK || !p->role || p->stop == STOP_PACKAGES)
		return rc;
	return pipelineassemble(p);
}

/* The kernel package's boot/vmlinuz, extracted from the store into a temporary
 * directory under outdir; *tmpdir receives that directory. */
static char *
kernel(struct pipeline *p, char **tmpdir)
{
	long k = planfind(&p->plan, p->flat.kernel);
	char *img;

	*tmpdir = xasprintf("%s/.kernel.XXXXXX", p->outdir);
	if (k < 0 || !mkdtemp(*tmpdir)) {
		if (k < 0)
			errat(&p->flat.kernelloc, "role '%s' has no kernel package '%s' in its plan", p->role->name,
			      p->flat.kernel);
		else
			err("cannot create a directory in %s:", p->outdir);
		free(*tmpdir);
		*tmpdir = NULL;
		return NULL;
	}
	if (storeextract(&p->st, p->keys[k], *tmpdir) < 0)
		return NULL;
	img = xasprintf("%s/boot/vmlinuz", *tmpdir);
	if (!exists(img)) {
		err("package %s installs no boot/vmlinuz: the kernel recipe must", p->flat.kernel);
		free(img);
		return NULL;
	}
	return img;
}

/* rootfs = erofs: the role's rootfs.tar.zst as a read-only erofs image
 * (outdir/root.erofs), for its own partition. Device nodes are left out: an
 * unprivileged user cannot make them, and the kernel mounts devtmpfs on the
 * real root's /dev (CONFIG_DEVTMPFS_MOUNT). Owners become 0:0
 * (--all-root), times and the file system UUID are fixed, so equal inputs
 * give an equal image. Returns the image's path (malloc'd) or NULL. */
static char *
erofsimage(struct pipeline *p, const char *seed)
{
	char *dir = xasprintf("%s/.erofs.tmp", p->outdir), *root = xasprintf("%s/root", dir);
	char *tar = xasprintf("%s/rootfs.tar.zst", p->outdir), *img = xasprintf("%s/root.erofs", p->outdir);
	char *tmp = xasprintf("%s.tmp", img), ts[32], uuid[37];
	char *untar[] = {"tar", "--zstd", "-x", "-p", "-f", tar, "-C", root, "--exclude=dev/*", "--exclude=./dev/*", NULL};
	char *mkfs[] = {"mkfs.erofs", "--all-root", ts, "-U", uuid, "-zlz4hc", tmp, root, NULL};
	struct buf out = {0};
	int ok;

	snprintf(ts, sizeof(ts), "-T%lld", p->epoch);
	imageuuid(seed, 16, uuid);
	ok = rmtree(dir) == 0 && mkdirp(root, 0755) == 0;
	if (ok && osruncapture(untar, NULL, NULL, &out) != 0) {
		err("cannot unpack %s for the erofs root: %s", tar, out.p ? out.p : "tar failed");
		ok = 0;
	}
	out.n = 0;
	if (ok && osruncapture(mkfs, NULL, NULL, &out) != 0) {
		err("mkfs.erofs failed (is erofs-utils installed? ci/install-deps installs it): %s",
		    out.p ? out.p : "");
		ok = 0;
	}
	if (ok && rename(tmp, img) < 0) {
		err("cannot rename %s:", tmp);
		ok = 0;
	}
	if (!ok)
		unlink(tmp);
	rmtree(dir);
	buffree(&out);
	free(dir);
	free(root);
	free(tar);
	free(tmp);
	if (!ok) {
		free(img);
		return NULL;
	}
	return img;
}

static int
images(struct pipeline *p)
{
	const char **formats = xcalloc(p->flat.image.formats.n + 1, sizeof(*formats));
	char *tmp = NULL, *vmlinuz = kernel(p, &tmp);
	char *initrd = xasprintf("%s/initramfs.cpio.zst", p->outdir), ihex[65];
	char *seed = NULL;
	size_t nf = 0;
	int rc = -1;

	for (size_t i = 0; i < p->flat.image.formats.n; i++)
		if (strcmp(p->flat.image.formats.v[i], "raw"))
			formats[nf++] = p->flat.image.formats.v[i];
	if (vmlinuz && sha256file(initrd, ihex) == 0) {
		/* disk and partition ids follow the contents, so equal inputs give
		 * an equal disk and different roles or contents different ids */
		seed = xasprintf("%s %s %s", p->role->name, p->keys[planfind(&p->plan, p->flat.kernel)], ihex);
		struct imagejob job = {
			.target = p->target,
			.kernel = vmlinuz,
			.initramfs = initrd,
			.cmdline = p->flat.cmdline,
			.outdir = p->outdir,
			.role = p->role->name,
			.sizemb = p->flat.image.sizemb,
			.epoch = p->epoch,
			.formats = formats,
			.erofs = NULL,
			.uuidseed = seed,
		};
		char *erofs = NULL;
		int want = p->flat.image.rootfs == ROOTFS_EROFS;

		if (want) {
			job.initramfs = NULL;
			job.erofs = erofs = erofsimage(p, seed);
		}
		if ((!want || erofs) && imagebuild(&job) == 0)
			rc = sbomrole(p->outdir, p->opts->dir, &p->flat, &p->plan, p->keys, p->epoch);
		free(erofs);
	}
	if (tmp)
		rmtree(tmp);
	free(tmp);
	free(vmlinuz);
	free(initrd);
	free(seed);
	free(formats);
	return rc;
}

int
pipelinerootfs(struct pipeline *p)
{
	struct rootfspkg *pkgs = xcalloc(p->plan.n + 1, sizeof(*pkgs));
	size_t n = 0;
	int rc;

	/* the kernel boots the image; it is not a file inside it */
	for (size_t i = 0; i < p->plan.n; i++)
		if (p->plan.pkgs[i].runtime && strcmp(p->plan.pkgs[i].r->name, p->flat.kernel))
			pkgs[n++] = (struct rootfspkg){p->plan.pkgs[i].r, p->keys[i]};
	char *strip = xasprintf("%sstrip", targetcross(p->target));
	struct rootfsjob job = {
		.tree = &p->tree,
		.role = &p->flat,
		.store = &p->st,
		.pkgs = pkgs,
		.npkgs = n,
		.outdir = p->outdir,
		.epoch = p->epoch,
		.strip = strip,
	};

	rc = rootfsbuild(&job);
	free(strip);
	free(pkgs);
	if (rc < 0)
		return EXIT_BUILD;
	if (p->stop == STOP_ROOTFS)
		return EXIT_OK;
	return images(p) < 0 ? EXIT_BUILD : EXIT_OK;
}
