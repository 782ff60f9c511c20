#ifndef UNDISTRO_BUILD_H
#define UNDISTRO_BUILD_H
/* Building a plan's packages into the store.
 *
 * Store key. A package's key is the sha256 of everything that can change its
 * output: the recipe's bytes and the other files of its directory (patches,
 * fragments; tree.c's recipe hash), its sources' and patches' hashes (inside
 * the recipe), the content hash of each in-tree source (srcdir.h), its flag values, the target, the toolchain (stage2/mkwrapper's
 * and stage2/audit's bytes, and the build machine's programs of
 * stage2/host-tools: compilers with their parts, binutils, make, the shell...
 * by Debian package and version or sha256, hostid.h), the identities of
 * the recipe's own `tools`, and the keys of its build and run-time
 * dependencies. A key found in the store is not
 * rebuilt; changing a recipe changes its key and so every dependent's.
 *
 * Store archives use a fixed epoch (BUILD_EPOCH), not the tree's commit time,
 * so a commit that does not touch a recipe rebuilds nothing; the rootfs stage
 * stamps the role's own epoch on the final archives.
 *
 * A build runs as a child process (fork, no exec) per package: prepare the
 * work directory (fetch and unpack, or copy in-tree sources checking their
 * hash against the key's; patch; sysroot from the store), run the
 * recipe's build, install and test scripts in the sandbox (os.h), check the
 * ELF files, pack DESTDIR into the store. The parent runs up to -j of them
 * at once, logging each one's output to its own file. */
#include "store.h"

struct plan;
struct fetchcfg;
struct target;
struct remote;
struct hostid;

/* mtime of every store entry, and SOURCE_DATE_EPOCH of builds: 2000-01-01. */
#define BUILD_EPOCH 946684800LL

/* For a process that builds again and again (undistro watch): more file
 * descriptors for the scheduler's poll, and a way to stop builds whose
 * inputs changed while they ran. */
struct buildwatch {
	const int *fds;         /* polled with the builds' output pipes */
	size_t nfds;
	/* Called when fd (one of fds) is readable. Marks in stop (one byte per
	 * plan package, zeroed) the packages whose inputs changed, their
	 * dependents included (watch.h, watchaffected). Returns 1 when the
	 * plan is stale (nothing more may start), 0 to go on, -1 on a failure
	 * (reported). */
	int (*ready)(void *ctx, int fd, unsigned char *stop);
	void *ctx;
	unsigned char *built;   /* NULL, or one byte per plan package: set
	                         * for each package this run built */
};

struct buildcfg {
	const struct store *store;
	const struct fetchcfg *fetch;
	const struct target *target;  /* what the packages are built for */
	const char *top;        /* the recipe tree (stage2/ lives there) */
	const char *work;       /* per-package work directories */
	const char *logs;       /* per-package logs */
	int jobs;               /* job budget: packages at once x make -j */
	int keep;               /* keep work directories of successful builds */
	int verbose;            /* echo build output, prefixed by package */
	int notest;             /* skip the recipes' test scripts */
	struct remote *remote;  /* where to look for what the store lacks
	                         * (remote.h), or NULL */
	/* the build machine's programs in the keys (hostid.h): filled by
	 * buildkeys, freed by the caller (hostfree); NULL: not kept */
	struct hostid *host;
	/* NULL: a one-shot run, which catches SIGINT, SIGTERM and SIGHUP
	 * itself (the builds are stopped and the signal raised again). Else
	 * the caller catches them (its fds hold its self-pipe) and w says
	 * what to stop. */
	const struct buildwatch *w;
};

/* Compute the store key of every plan package (in plan order) into keys. */
int buildkeys(const struct buildcfg *, const struct plan *, char (*keys)[65]);
/* Bring into the store every package of the plan that is wanted (want[i]
 * nonzero; want NULL: all) and their run-time dependencies: each one the
 * store lacks is substituted from cfg->remote when it has it, else built,
 * with its sysroot (its build dependencies and their run-time closures)
 * brought in the same way first. The sysroot of a package already in the
 * store is not needed and not brought. have (NULL, or one byte per plan
 * package) receives which packages the run needed and the store holds when
 * it returns (what a push uploads). Returns 0 when all are in the store,
 * 1 when a build failed (reported with the tail of its log), -1 on a system
 * failure, 2 when cfg->w stopped the run: the marked builds that were
 * running were killed (their process groups), their work directories and
 * store temporaries removed, the others let finish, nothing new started. */
int buildplan(const struct buildcfg *, const struct plan *, char (*keys)[65], const unsigned char *want,
              unsigned char *have);
#endif
