#ifndef UNDISTRO_PIPELINE_H
#define UNDISTRO_PIPELINE_H
/* The pipeline driver: recipes -> plan -> store -> rootfs -> images, one way.
 * Each stage only consumes what the previous one produced; this file only
 * connects them and chooses the directories. Used by `undistro build` (and by
 * the commands that need a built role). */
#include <stddef.h>
#include "build.h"
#include "fetch.h"
#include "recipe.h"
#include "solve.h"
#include "store.h"
#include "tree.h"

struct opts;

enum { STOP_NONE, STOP_PACKAGES, STOP_ROOTFS };

struct pipeline {
	/* set by the caller */
	const struct opts *opts;
	const struct target *target;       /* what to build for */
	const char *out, *store, *cache;   /* NULL: from the environment */
	int offline, keep, notest, verbose, stop;
	int force;                         /* redo the role's outputs even when
	                                    * their output key says they are up
	                                    * to date (outkey.h) */
	const char *remote;                /* a remote store's URL (remote.h), or NULL */
	const char *trusted, *signkey;     /* its trusted-keys file; the signing key */
	int push;                          /* push to it after the build stage */
	/* filled in by pipelinerun */
	struct tree tree;
	struct role flat;
	const struct role *role;           /* NULL for package builds */
	struct plan plan;
	char (*keys)[65];
	struct store st;
	struct fetchcfg fc;
	char *outdir, *work, *logs;
	long long epoch;
};

/* Build the role (when names is one role's name) or the named packages, as
 * far as p->stop says. Returns an exit code (diag.h).
 * A role's outputs (rootfs, initramfs, images, SBOM) are keyed by their
 * inputs (outkey.h): when every package is in the store and OUT's key file
 * holds the computed key and every output it names exists, nothing is
 * written and "undistro: OUT is up to date" is printed; otherwise the key
 * file is removed first, the outputs redone, and the key written last. */
int pipelinerun(struct pipeline *p, char **names, size_t n);
/* The largest epoch: 9999-12-31T23:59:59Z (ISO 8601 years have 4 digits). */
#define EPOCHMAX 253402300799LL
/* The role's epoch: SOURCE_DATE_EPOCH, else the tree's last commit time,
 * else BUILD_EPOCH. A SOURCE_DATE_EPOCH that is not a decimal number from 0
 * to EPOCHMAX is reported and gives -1 (a usage error). */
long long pipelineepoch(const char *top);
/* The store directory (malloc'd): store (--store) when not NULL, else
 * $UNDISTRO_STORE, else CACHE/store. */
char *pipelinestore(const char *store, const char *cache);
/* The rootfs and image stages for a built role. Returns an exit code. */
int pipelinerootfs(struct pipeline *p);
#endif
