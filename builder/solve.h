#ifndef UNDISTRO_SOLVE_H
#define UNDISTRO_SOLVE_H
/* Resolution: from a role (or a list of packages) to a build plan, with
 * libsolv choosing the packages.
 *
 * Model. One libsolv pool per call: one solvable per recipe (name, evr =
 * version-release, arch ARCH) that provides itself and its provides, requires
 * its depends plus the depends of each flag whose value is "yes" for the
 * role, and conflicts with its conflicts. Beside it, a pseudo-solvable named
 * "the build of NAME" requires the build-depends (plus those of its "yes"
 * flags); it is never required by anything, so it never leaks into a
 * run-time solve, and libsolv's texts for it read "needed by the build of
 * NAME-1.0-1".
 *
 * Steps.
 * 1. Run-time closure R: install the role's packages and its kernel (when a
 *    recipe of that name exists); libsolv's choice is R.
 * 2. Build closure U: install every member of R (exactly) and "the build of
 *    P" for every P chosen so far; repeat while new packages appear. Every
 *    package in U is built, so one provider is chosen per name for the whole
 *    plan: a virtual name means the same package in every sysroot. A build
 *    dependency that only P itself provides in U (tcc "provides cc" and
 *    build-depends on cc) asks for one of its other providers, if any.
 * 3. Edges: P -> D for each run-time and build dependency of P, resolved to
 *    its providers in U other than P (those in R when any is). A run-time
 *    dependency P provides itself needs no edge; a build dependency only P
 *    provides is a self-edge: P cannot be built before itself.
 * 4. Cycles: Tarjan's strongly connected components over U; each component
 *    of more than one package, or a package needing itself to build, is an
 *    error naming every member and the dependency line that starts it.
 *    Nothing is ever broken silently.
 * 5. Order: waves by longest path (Kahn): a package's wave is one more than
 *    its latest dependency's, so every wave can build in parallel once the
 *    earlier waves are done; within a wave by name. libsolv's
 *    transaction_order is not used: it would break cycles silently unless
 *    asked not to, gives one sequence rather than waves, and is quadratic
 *    (and crashes in 0.7.23) on huge cycles; the waves are a plain function
 *    of the graph, so they are easy to test and explain.
 *
 * Problems are reported through diag, one error per libsolv problem, at the
 * recipe or role line of the failing dependency (or conflict, or request),
 * with libsolv's problem text, the rules involved and its suggested fixes.
 *
 * The plan points into the tree (recipes, choices): it is valid while the
 * tree is. */
#include <stddef.h>
#include "alloc.h"
#include "recipe.h"

struct tree;
struct target;

struct planpkg {
	const struct recipe *r;
	const struct pkgchoice *choice;  /* the role's entry for it, or NULL */
	const char **flags;     /* the value of r->flags[i], for i < r->nflags */
	int runtime;            /* in the role's run-time closure (the image) */
	int wave;               /* 0-based; every dependency is in an earlier wave */
	/* indexes into plan.pkgs, each list ascending (so in build order) */
	size_t *rundeps, nrundeps;      /* direct run-time dependencies */
	size_t *builddeps, nbuilddeps;  /* direct build dependencies */
	size_t *sysroot, nsysroot;      /* the build sysroot: the build
	                                 * dependencies and their run-time closures */
};

struct plan {
	struct planpkg *pkgs;   /* in build order: by wave, then by name */
	size_t n;
	int nwaves;
	size_t nruntime;        /* how many have runtime set */
	const struct target *target;  /* what it is built for (the pool's arch) */
	struct arena arena;     /* owns the arrays above */
};

/* Resolve the flattened role (roleflatten) of a loaded tree into *plan,
 * for the target.
 * Returns 0, or -1 after reporting every problem (the plan is then empty). */
int solverole(struct tree *, const struct role *flat, const struct target *, struct plan *);
/* Resolve the named packages (with their default flags) as if a role
 * installed them; unknown names are reported with the nearest known one. */
int solvepackages(struct tree *, char *const *names, size_t n, const struct target *, struct plan *);
/* The index in plan->pkgs of the package with that name, or -1. */
long planfind(const struct plan *, const char *name);
/* Free the plan's storage. */
void planfree(struct plan *);
#endif
