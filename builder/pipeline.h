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
	int watching;                      /* undistro watch: its status line
	                                    * replaces "OUT is up to date" */
	struct remote *rm;                 /* opened by pipelinerun, or NULL */
	/* filled in by the stages: tree to keys per cycle (pipelineplan,
	 * pipelinebuild; pipelinecycleend frees them: the tree's arena holds
	 * the recipes, roles and flattened role), the rest by pipelineopen */
	struct tree tree;
	struct role flat;
	const struct role *role;           /* NULL for package builds */
	struct plan plan;
	char (*keys)[65];
	struct store st;
	struct fetchcfg fc;
	char *outdir, *work, *logs;
	long long epoch;
	int redone;                        /* pipelineassemble rewrote the outputs */
};

/* Build the role (when names is one role's name) or the named packages, as
 * far as p->stop says. Returns an exit code (diag.h).
 * A role's outputs (rootfs, initramfs, images, SBOM) are keyed by their
 * inputs (outkey.h): when every package is in the store and OUT's key file
 * holds the computed key and every output it names exists, nothing is
 * written and "undistro: OUT is up to date" is printed; otherwise the key
 * file is removed first, the outputs redone, and the key written last. */
int pipelinerun(struct pipeline *p, char **names, size_t n);
/* The stages pipelinerun calls, for a process that builds again and again
 * (undistro watch): pipelineopen once (the directories; the store opened
 * and locked), then per cycle pipelineplan, pipelinebuild,
 * pipelineassemble and pipelinecycleend, whatever the stages returned; and
 * pipelineclose. Each returns an exit code (diag.h). */
/* Load the tree, resolve names (a role, or packages) for the target,
 * check the target's tools, take the role's epoch. */
int pipelineplan(struct pipeline *p, char **names, size_t n);
/* Choose the directories (role: its name, or NULL for package builds) and
 * open the store, waiting for its lock. */
int pipelineopen(struct pipeline *p, const char *role);
/* The plan's store keys, then what the store lacks built (build.h); w as
 * buildcfg's (NULL: a one-shot run). Returns -1 (not an exit code) when w
 * stopped the run. */
struct buildwatch;
int pipelinebuild(struct pipeline *p, const struct buildwatch *w);
/* The role's outputs, unless their key says they are up to date (above);
 * sets p->redone. */
int pipelineassemble(struct pipeline *p);
/* Free what the cycle allocated: tree, plan, keys. */
void pipelinecycleend(struct pipeline *p);
/* Close the store and free the directories. */
void pipelineclose(struct pipeline *p);
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
