/* Resolution with libsolv: the model and the steps are described in solve.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/problems.h>
#include <solv/repo.h>
#include <solv/rules.h>
#include <solv/solver.h>
#include "alloc.h"
#include "diag.h"
#include "solve.h"
#include "str.h"
#include "target.h"
#include "tree.h"

/* A dependency of a recipe with its pool id, so a problem's dep id leads back
 * to the line that wrote it. */
struct dref {
	Id id;
	const struct dep *d;
};

struct drefs {
	struct dref *v;
	size_t n;
};

/* One recipe in the pool, in tree order. */
struct pkg {
	const struct recipe *r;
	const struct pkgchoice *choice;
	const char **flags;
	struct drefs run, build, conf;   /* flags with value "yes" included */
	Id real, pseudo;                 /* the recipe's solvable, "the build of" */
	int inr, inu;                    /* in the run-time closure; in the build closure */
	size_t node;                     /* its node in the graph when inu */
};

/* An edge of the dependency graph: from a node to what it needs first. */
struct edge {
	size_t to;
	const struct dep *d;   /* the line that asks for it */
};

struct node {
	struct pkg *p;
	struct edge *e;        /* run-time edges, then build edges */
	size_t ne, nrun;
	int wave;
	size_t planidx;
};

struct solve {
	struct tree *t;
	const struct role *ro;
	const char *who;       /* "role 'web'": who made the requests */
	struct plan *plan;
	struct arena a;        /* scratch, freed at the end */
	Pool *pool;
	Id first;              /* solvable ids: first + 2i real, + 1 pseudo */
	struct pkg *pkgs;      /* parallel to t->recipes */
	size_t npkgs;
	Queue job;
	struct loc *jobloc;    /* per job (index/2): where it was asked for */
	size_t njobs;
	struct node *nodes;    /* the packages in U, in name order */
	size_t nnodes;
};

static Id
depid(Pool *pool, const struct dep *d)
{
	static const int rel[] = {0, REL_LT, REL_LT | REL_EQ, REL_EQ, REL_GT | REL_EQ, REL_GT};
	Id name = pool_str2id(pool, d->name, 1);

	if (d->op == DEP_ANY)
		return name;
	return pool_rel2id(pool, name, pool_str2id(pool, d->version, 1), rel[d->op], 1);
}

/* Append dl to l, which has room (allocated by addrecipe). */
static void
adddeps(struct solve *s, struct drefs *l, const struct deplist *dl)
{
	for (size_t i = 0; i < dl->n; i++)
		l->v[l->n++] = (struct dref){depid(s->pool, &dl->v[i]), &dl->v[i]};
}

static Offset
addids(Repo *repo, Offset o, const struct drefs *l)
{
	for (size_t i = 0; i < l->n; i++)
		o = repo_addid_dep(repo, o, l->v[i].id, 0);
	return o;
}

/* The package of solvable id p, or NULL; *pseudo tells which of its two. */
static struct pkg *
pkgof(const struct solve *s, Id p, int *pseudo)
{
	size_t k;

	if (p < s->first || (size_t)(p - s->first) >= 2 * s->npkgs)
		return NULL;
	k = (size_t)(p - s->first);
	if (pseudo)
		*pseudo = (int)(k & 1);
	return &s->pkgs[k / 2];
}

/* Fill package i: its flag values for the role, its dependencies, and its
 * two solvables (already allocated as a block). */
static void
addrecipe(struct solve *s, Repo *repo, size_t i, struct buf *b)
{
	Pool *pool = s->pool;
	struct pkg *p = &s->pkgs[i];
	const struct recipe *r = s->t->recipes[i];
	Id evr = pool_str2id(pool, r->evr, 1), arch = pool_str2id(pool, s->plan->target->name, 1);
	Solvable *sv;
	size_t nrun = r->depends.n, nbuild = r->builddepends.n;

	p->r = r;
	p->flags = arenaalloc(&s->plan->arena, r->nflags, sizeof(*p->flags));
	for (size_t k = 0; k < r->nflags; k++) {
		p->flags[k] = flagvalue(&r->flags[k], p->choice);
		if (!strcmp(p->flags[k], "yes"))
			nrun += r->flags[k].depends.n, nbuild += r->flags[k].builddepends.n;
	}
	p->run.v = arenaalloc(&s->a, nrun, sizeof(*p->run.v));
	p->build.v = arenaalloc(&s->a, nbuild, sizeof(*p->build.v));
	p->conf.v = arenaalloc(&s->a, r->conflicts.n, sizeof(*p->conf.v));
	adddeps(s, &p->run, &r->depends);
	adddeps(s, &p->build, &r->builddepends);
	adddeps(s, &p->conf, &r->conflicts);
	for (size_t k = 0; k < r->nflags; k++) {
		if (!strcmp(p->flags[k], "yes")) {
			adddeps(s, &p->run, &r->flags[k].depends);
			adddeps(s, &p->build, &r->flags[k].builddepends);
		}
	}
	p->real = s->first + 2 * (Id)i;
	p->pseudo = p->real + 1;
	sv = pool_id2solvable(pool, p->real);
	sv->name = pool_str2id(pool, r->name, 1);
	sv->evr = evr;
	sv->arch = arch;
	/* the C API adds no self-provide, and jobs by name need one */
	sv->provides = repo_addid_dep(repo, 0, pool_rel2id(pool, sv->name, evr, REL_EQ, 1), 0);
	for (size_t k = 0; k < r->provides.n; k++)
		sv->provides = repo_addid_dep(repo, sv->provides, depid(pool, &r->provides.v[k]), 0);
	sv->requires = addids(repo, 0, &p->run);
	sv->conflicts = addids(repo, 0, &p->conf);
	b->n = 0;
	bufadds(b, "the build of ");  /* not bufprintf: once per recipe */
	bufadds(b, r->name);
	sv = pool_id2solvable(pool, p->pseudo);
	sv->name = pool_str2id(pool, b->p, 1);
	sv->evr = evr;
	sv->arch = arch;
	sv->requires = addids(repo, 0, &p->build);
}

/* The index of r in t->recipes (which is sorted by name). */
static size_t
recipeindex(const struct tree *t, const struct recipe *r)
{
	size_t lo = 0, hi = t->nrecipes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->recipes[mid] == r)
			return mid;
		if (strcmp(t->recipes[mid]->name, r->name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
poolfill(struct solve *s)
{
	Repo *repo;
	struct buf b = {0};

	s->pool = pool_create();
	/* Debian's libsolv defaults to Debian arch rules: ask for rpm's */
	pool_setdisttype(s->pool, DISTTYPE_RPM);
	pool_setarch(s->pool, s->plan->target->name);
	repo = repo_create(s->pool, "recipes");
	s->npkgs = s->t->nrecipes;
	s->pkgs = arenaalloc(&s->a, s->npkgs, sizeof(*s->pkgs));
	s->first = s->npkgs ? repo_add_solvable_block(repo, 2 * (int)s->npkgs) : 0;
	/* the role's choices, by binary search rather than a scan per recipe */
	for (size_t i = 0; i < s->ro->npkgs; i++) {
		const struct recipe *r = treerecipe(s->t, s->ro->pkgs[i].name);

		if (r)
			s->pkgs[recipeindex(s->t, r)].choice = &s->ro->pkgs[i];
	}
	for (size_t i = 0; i < s->npkgs; i++)
		addrecipe(s, repo, i, &b);
	buffree(&b);
	repo_internalize(repo);
	pool_createwhatprovides(s->pool);
}

static void
addjob(struct solve *s, Id how, Id what, const struct loc *origin)
{
	queue_push2(&s->job, how, what);
	*ARENAPUSH(&s->a, s->jobloc, s->njobs) = origin ? *origin : (struct loc){0};
}

/* libsolv's text with the architecture dropped from package names, which
 * is the same for every package ("musl-1.2.3-1.x86_64" -> "musl-1.2.3-1"),
 * and "package the build of x" said as "the build of x". */
static void
addtext(struct buf *b, const char *arch, const char *text)
{
	static const char pseudo[] = "package the build of ";
	char suffix[64];
	size_t ns = (size_t)snprintf(suffix, sizeof(suffix), ".%s", arch);
	const char *p;

	if (!strncmp(text, pseudo, sizeof(pseudo) - 1))
		text += strlen("package ");
	while ((p = strstr(text, suffix))) {
		const char *end = p + ns;

		bufaddn(b, text, (size_t)(p - text));
		if (*end && !strchr(" ,;:)", *end))
			bufaddn(b, p, ns);
		text = end;
	}
	bufadds(b, text);
}

static const struct dep *
finddep(const struct drefs *l, Id id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].id == id)
			return l->v[i].d;
	return NULL;
}

/* The file position a rule is about: the dependency or conflict line of the
 * package it names, or the role line of a request; file NULL when none. */
static struct loc
ruleloc(struct solve *s, Solver *solv, Id rid, SolverRuleinfo type, Id src, Id dep)
{
	int pseudo = 0;
	struct pkg *p = pkgof(s, src, &pseudo);
	const struct dep *d = NULL;

	if ((type & SOLVER_RULE_TYPEMASK) == SOLVER_RULE_JOB) {
		int j = solver_rule2jobidx(solv, rid) / 2;   /* see ruletext */

		return j >= 0 && (size_t)j < s->njobs ? s->jobloc[j] : (struct loc){0};
	}
	if (!p)
		return (struct loc){0};
	if (type == SOLVER_RULE_PKG_NOTHING_PROVIDES_DEP || type == SOLVER_RULE_PKG_REQUIRES)
		d = finddep(pseudo ? &p->build : &p->run, dep);
	else if (type == SOLVER_RULE_PKG_CONFLICTS || type == SOLVER_RULE_PKG_SELF_CONFLICT)
		d = finddep(&p->conf, dep);
	return d ? d->loc : p->r->nameloc;
}

static void
addloc(struct buf *b, const struct loc *l)
{
	if (l->file && l->line > 0)
		bufprintf(b, " (%s:%d:%d)", l->file, l->line, l->col);
}

/* How telling a rule is as the headline of its problem: a missing provider
 * or a conflict names the line to change; libsolv's own pick is next. */
static int
rulerank(SolverRuleinfo type)
{
	switch (type) {
	case SOLVER_RULE_PKG_NOTHING_PROVIDES_DEP:
	case SOLVER_RULE_JOB_NOTHING_PROVIDES_DEP:
	case SOLVER_RULE_JOB_UNKNOWN_PACKAGE:
		return 3;
	case SOLVER_RULE_PKG_CONFLICTS:
	case SOLVER_RULE_PKG_SELF_CONFLICT:
		return 2;
	default:
		return 0;
	}
}

/* One rule as text: libsolv's, but a request names what asked for it, and
 * the requests undistro makes itself (the build closure) are left out. */
static int
ruletext(struct solve *s, Solver *solv, Id rid, struct buf *b)
{
	Id src, tgt, dep;
	SolverRuleinfo type = solver_ruleinfo(solv, rid, &src, &tgt, &dep);
	struct loc l = ruleloc(s, solv, rid, type, src, dep);

	if (type == SOLVER_RULE_JOB) {
		/* libsolv gives the offset of the job's "what" element */
		int j = solver_rule2jobidx(solv, rid) / 2 * 2;

		if (!l.file)
			return 0;
		if (s->job.elements[j] == (SOLVER_INSTALL | SOLVER_SOLVABLE_ONE_OF))
			bufadds(b, "the build needs to ");
		else
			bufprintf(b, "%s asks to ", s->who);
		addtext(b, s->plan->target->name, pool_job2str(s->pool, s->job.elements[j], s->job.elements[j + 1], 0));
	} else {
		addtext(b, s->plan->target->name, solver_problemruleinfo2str(solv, type, src, tgt, dep));
	}
	addloc(b, &l);
	return 1;
}

/* libsolv's suggested fixes, one line each, with the role line of a request
 * it suggests dropping; fixes that drop undistro's own requests are left
 * out. */
static void
addsolutions(struct solve *s, Solver *solv, Id problem, struct buf *b)
{
	Id sol = 0;

	while ((sol = solver_next_solution(solv, problem, sol)) != 0) {
		Id el = 0, p, rp;
		const char *sep = "\n  fix: ";
		size_t start = b->n;

		while ((el = solver_next_solutionelement(solv, problem, sol, el, &p, &rp)) != 0) {
			const struct loc *l = p == SOLVER_SOLUTION_JOB && (size_t)(rp / 2) < s->njobs
			                      ? &s->jobloc[rp / 2] : NULL;

			if (l && !l->file) {
				b->n = start;
				b->p[b->n] = '\0';
				break;
			}
			bufadds(b, sep);
			addtext(b, s->plan->target->name, solver_solutionelement2str(solv, p, rp));
			if (l)
				addloc(b, l);
			sep = "; ";
		}
	}
}

/* Report each problem as one error at its most relevant line: the headline
 * rule, then the other rules involved, then the fixes. */
static void
explain(struct solve *s, Solver *solv, int nproblems)
{
	struct buf b = {0};
	Queue rules;

	queue_init(&rules);
	for (Id pr = 1; pr <= nproblems; pr++) {
		Id head = solver_findproblemrule(solv, pr), src, tgt, dep;
		int best = -1;
		struct loc l;

		solver_findallproblemrules(solv, pr, &rules);
		for (int i = 0; i < rules.count; i++) {
			int rank = rulerank(solver_ruleinfo(solv, rules.elements[i], &src, &tgt, &dep));

			if (rank > best && rank > 0)
				best = rank, head = rules.elements[i];
		}
		SolverRuleinfo type = solver_ruleinfo(solv, head, &src, &tgt, &dep);
		l = ruleloc(s, solv, head, type, src, dep);
		b.n = 0;
		addtext(&b, s->plan->target->name, solver_problemruleinfo2str(solv, type, src, tgt, dep));
		for (int i = 0; i < rules.count; i++) {
			size_t n = b.n;

			if (rules.elements[i] == head)
				continue;
			bufadds(&b, "\n  - ");
			if (!ruletext(s, solv, rules.elements[i], &b))
				b.p[b.n = n] = '\0';
		}
		addsolutions(s, solv, pr, &b);
		errat(l.file ? &l : &s->ro->loc, "%s", b.p);
	}
	queue_free(&rules);
	buffree(&b);
}

/* Solve the current jobs; mark the real packages chosen as in U (and in R
 * when runtime). Returns how many were new, or -1 after explaining. */
static long
runsolve(struct solve *s, int runtime)
{
	Solver *solv = solver_create(s->pool);
	Queue dq;
	long added = 0;
	int n;

	if ((n = solver_solve(solv, &s->job)) != 0) {
		explain(s, solv, n);
		solver_free(solv);
		return -1;
	}
	queue_init(&dq);
	solver_get_decisionqueue(solv, &dq);
	for (int i = 0; i < dq.count; i++) {
		int pseudo;
		struct pkg *p = dq.elements[i] > 0 ? pkgof(s, dq.elements[i], &pseudo) : NULL;

		if (!p || pseudo)
			continue;
		if (runtime)
			p->inr = 1;
		added += !p->inu;
		p->inu = 1;
	}
	queue_free(&dq);
	solver_free(solv);
	return added;
}

/* Step 1: the run-time closure R of the role and its kernel. */
static int
solveruntime(struct solve *s)
{
	const struct role *ro = s->ro;
	Pool *pool = s->pool;

	for (size_t i = 0; i < ro->npkgs; i++) {
		Id how = SOLVER_INSTALL | (treerecipe(s->t, ro->pkgs[i].name) ? SOLVER_SOLVABLE_NAME
		                                                              : SOLVER_SOLVABLE_PROVIDES);

		addjob(s, how, pool_str2id(pool, ro->pkgs[i].name, 1), &ro->pkgs[i].loc);
	}
	if (ro->kernel && treerecipe(s->t, ro->kernel) && !rolechoice(ro, ro->kernel))
		addjob(s, SOLVER_INSTALL | SOLVER_SOLVABLE_NAME, pool_str2id(pool, ro->kernel, 1),
		       ro->kernelloc.file ? &ro->kernelloc : &ro->loc);
	return runsolve(s, 1) < 0 ? -1 : 0;
}

/* Nonzero when package p needs dependency id to build and, among the
 * packages in U, only p itself provides it; others gets the providers
 * outside U that could. */
static int
onlyself(struct solve *s, const struct pkg *p, Id id, Queue *others)
{
	Pool *pool = s->pool;
	Id x, xx;
	int self = 0;

	queue_empty(others);
	FOR_PROVIDES(x, xx, id) {
		int pseudo;
		struct pkg *q = pkgof(s, x, &pseudo);

		if (!q || pseudo)
			continue;
		if (q == p)
			self = 1;
		else if (q->inu)
			return 0;
		else
			queue_push(others, x);
	}
	return self;
}

/* Nonzero when a package in U provides id (builds do not provide). */
static int
provided(struct solve *s, Id id)
{
	Pool *pool = s->pool;
	Id x, xx;

	FOR_PROVIDES(x, xx, id) {
		int pseudo;
		struct pkg *q = pkgof(s, x, &pseudo);

		if (q && !pseudo && q->inu)
			return 1;
	}
	return 0;
}

/* A package cannot build itself: for a build dependency that only the
 * package provides in U, ask for one of its other providers (a compiler
 * that "provides cc" and builds with any other cc). Returns how many such
 * requests were added, and in *unmet how many build dependencies of the
 * packages looked at no package in U provides; checked marks the packages
 * already looked at. */
static long
notself(struct solve *s, unsigned char *checked, long *unmet)
{
	Queue others;
	long n = 0;

	queue_init(&others);
	*unmet = 0;
	for (size_t i = 0; i < s->npkgs; i++) {
		struct pkg *p = &s->pkgs[i];

		if (!p->inu || checked[i])
			continue;
		checked[i] = 1;
		for (size_t k = 0; k < p->build.n; k++) {
			*unmet += !provided(s, p->build.v[k].id);
			if (!onlyself(s, p, p->build.v[k].id, &others) || !others.count)
				continue;
			addjob(s, SOLVER_INSTALL | SOLVER_SOLVABLE_ONE_OF, pool_queuetowhatprovides(s->pool, &others),
			       &p->build.v[k].d->loc);
			n++;
		}
	}
	queue_free(&others);
	return n;
}

/* Step 2: the build closure U. Each round installs, exactly, what earlier
 * rounds chose (so choices never change) and the build of every package
 * chosen so far. It ends when another round would add nothing: no new
 * request from notself, and every build dependency of the packages the
 * round added is provided in U already. (A round's solution satisfies the
 * run-time needs of all it chose, and the next round's jobs are exactly
 * that solution plus those builds, so with nothing unmet the solver would
 * decide nothing new; skipping that confirming solve halves the cost of
 * this step on large trees: bench/resolve.sh.) */
static int
solvebuild(struct solve *s)
{
	unsigned char *jobbed = arenaalloc(&s->a, s->npkgs, 1), *checked = arenaalloc(&s->a, s->npkgs, 1);
	long added, unmet;

	queue_empty(&s->job);
	s->njobs = 0;
	do {
		for (size_t i = 0; i < s->npkgs; i++) {
			if (!s->pkgs[i].inu || jobbed[i])
				continue;
			jobbed[i] = 1;
			addjob(s, SOLVER_INSTALL | SOLVER_SOLVABLE, s->pkgs[i].real, NULL);
			addjob(s, SOLVER_INSTALL | SOLVER_SOLVABLE, s->pkgs[i].pseudo, NULL);
		}
		if (runsolve(s, 0) < 0)
			return -1;
		added = notself(s, checked, &unmet);
	} while (added > 0 || unmet > 0);
	return 0;
}

/* The providers in U of dependency id other than node self (only those in
 * R when any is), as node indexes into out; *byself tells whether self
 * provides it too. */
static void
providers(struct solve *s, Id id, size_t self, Queue *out, int *byself)
{
	Pool *pool = s->pool;
	Id p, pp;
	int anyr = 0;

	queue_empty(out);
	*byself = 0;
	FOR_PROVIDES(p, pp, id) {
		int pseudo;
		struct pkg *q = pkgof(s, p, &pseudo);

		if (!q || pseudo || !q->inu || (anyr && !q->inr))
			continue;
		if (q->node == self) {
			*byself = 1;
			continue;
		}
		if (q->inr && !anyr) {
			anyr = 1;
			queue_empty(out);
		}
		queue_push(out, (Id)q->node);
	}
}

/* Edges of node v for one list of dependencies. A run-time dependency only
 * the package itself provides needs no edge; such a build dependency is a
 * self-edge (a cycle, reported later): it cannot be built before itself. */
static void
addedges(struct solve *s, size_t v, const struct drefs *l, Queue *q)
{
	struct node *nd = &s->nodes[v];
	int build = l == &nd->p->build, byself;

	for (size_t i = 0; i < l->n; i++) {
		providers(s, l->v[i].id, v, q, &byself);
		if (build && byself && !q->count)
			queue_push(q, (Id)v);
		for (int k = 0; k < q->count; k++)
			*ARENAPUSH(&s->a, nd->e, nd->ne) = (struct edge){(size_t)q->elements[k], l->v[i].d};
	}
}

/* Step 3: the graph over U, nodes in name order. */
static void
mkgraph(struct solve *s)
{
	Queue q;

	for (size_t i = 0; i < s->npkgs; i++)
		if (s->pkgs[i].inu)
			s->pkgs[i].node = s->nnodes++;
	s->nodes = arenaalloc(&s->a, s->nnodes, sizeof(*s->nodes));
	for (size_t i = 0; i < s->npkgs; i++)
		if (s->pkgs[i].inu)
			s->nodes[s->pkgs[i].node].p = &s->pkgs[i];
	queue_init(&q);
	for (size_t v = 0; v < s->nnodes; v++) {
		addedges(s, v, &s->nodes[v].p->run, &q);
		s->nodes[v].nrun = s->nodes[v].ne;
		addedges(s, v, &s->nodes[v].p->build, &q);
	}
	queue_free(&q);
}

/* Tarjan's strongly connected components, iteratively (no recursion depth
 * limit). Components complete dependencies first, so order[] (the nodes in
 * completion order) is a topological order when there is no cycle. comp[v]
 * is v's component; returns how many components there are. */
static size_t
tarjan(const struct node *g, size_t n, size_t *comp, size_t *order)
{
	size_t *idx = xcalloc(n, sizeof(*idx)), *low = xcalloc(n, sizeof(*low));
	size_t *stk = xcalloc(n, sizeof(*stk)), *call = xcalloc(n, sizeof(*call));
	size_t *pos = xcalloc(n, sizeof(*pos));
	unsigned char *on = xcalloc(n, 1);
	size_t next = 1, nstk = 0, ncomp = 0, norder = 0;

	for (size_t root = 0; root < n; root++) {
		size_t ncall = 0;

		if (idx[root])
			continue;
		call[ncall++] = root;
		idx[root] = low[root] = next++;
		stk[nstk++] = root, on[root] = 1;
		while (ncall) {
			size_t v = call[ncall - 1];

			if (pos[v] < g[v].ne) {
				size_t w = g[v].e[pos[v]++].to;

				if (!idx[w]) {
					idx[w] = low[w] = next++;
					stk[nstk++] = w, on[w] = 1;
					call[ncall++] = w;
				} else if (on[w] && idx[w] < low[v]) {
					low[v] = idx[w];
				}
				continue;
			}
			ncall--;
			if (ncall && low[v] < low[call[ncall - 1]])
				low[call[ncall - 1]] = low[v];
			if (low[v] != idx[v])
				continue;
			size_t w;
			do {
				w = stk[--nstk];
				on[w] = 0;
				comp[w] = ncomp;
				order[norder++] = w;
			} while (w != v);
			ncomp++;
		}
	}
	free(idx), free(low), free(stk), free(call), free(pos), free(on);
	return ncomp;
}

/* The edge of v that reaches w, for its line. */
static const struct edge *
edgeto(const struct node *v, size_t w)
{
	for (size_t i = 0; i < v->ne; i++)
		if (v->e[i].to == w)
			return &v->e[i];
	return NULL;
}

/* The shortest cycle through start inside component c, by breadth-first
 * search: path[0..len+1] with path[0] = path[len+1] = start; returns len,
 * the number of other members on it. parent and queue are scratch. */
static size_t
shortestcycle(const struct solve *s, const size_t *comp, size_t c, size_t start, size_t *parent,
              size_t *queue, size_t **path)
{
	const struct node *g = s->nodes;
	size_t head = 0, tail = 0, last = SIZE_MAX, len = 0;

	for (size_t v = 0; v < s->nnodes; v++)
		parent[v] = SIZE_MAX;
	queue[tail++] = start;
	while (head < tail && last == SIZE_MAX) {
		size_t v = queue[head++];

		for (size_t i = 0; i < g[v].ne && last == SIZE_MAX; i++) {
			size_t w = g[v].e[i].to;

			if (w == start)
				last = v;
			else if (comp[w] == c && parent[w] == SIZE_MAX)
				parent[w] = v, queue[tail++] = w;
		}
	}
	for (size_t v = last; v != start; v = parent[v])
		len++;
	*path = xcalloc(len + 2, sizeof(**path));
	(*path)[0] = (*path)[len + 1] = start;
	for (size_t v = last, k = len; v != start; v = parent[v])
		(*path)[k--] = v;
	return len;
}

/* Report component c, whose first member (smallest name) is start: its
 * shortest cycle through start, the lines of the edges (when few enough to
 * read), and the members not on that cycle. */
static void
reportcycle(struct solve *s, const size_t *comp, size_t c, size_t start, size_t *parent, size_t *queue)
{
	const struct node *g = s->nodes;
	struct buf b = {0};
	size_t *path, len = shortestcycle(s, comp, c, start, parent, queue, &path);

	bufadds(&b, "dependency cycle: ");
	for (size_t k = 0; k <= len + 1; k++)
		bufprintf(&b, "%s%s", k ? " -> " : "", g[path[k]].p->r->name);
	for (size_t k = 1; k <= len && len <= 8; k++) {
		const struct edge *e = edgeto(&g[path[k]], path[k + 1]);

		bufprintf(&b, "%s%s -> %s at %s:%d:%d%s", k == 1 ? " (" : ", ", g[path[k]].p->r->name,
		          g[path[k + 1]].p->r->name, e->d->loc.file, e->d->loc.line, e->d->loc.col, k == len ? ")" : "");
	}
	for (size_t k = 0; k <= len; k++)
		parent[path[k]] = SIZE_MAX - 1;   /* marks the members on the cycle */
	for (size_t v = 0, k = 0; v < s->nnodes; v++)
		if (comp[v] == c && parent[v] != SIZE_MAX - 1)
			bufprintf(&b, "%s%s", k++ ? ", " : "; in the same cycle: ", g[v].p->r->name);
	bufadds(&b, len ? "; remove one of these dependencies" : "; a package cannot need itself to build");
	errat(&edgeto(&g[start], path[1])->d->loc, "%s", b.p);
	free(path);
	buffree(&b);
}

/* Step 4: every cycle is an error. order receives a topological order. */
static int
checkcycles(struct solve *s, size_t *order)
{
	size_t n = s->nnodes, *comp = xcalloc(n, sizeof(*comp)), *size, ncomp;
	size_t *first, *parent = xcalloc(n, sizeof(*parent)), *queue = xcalloc(n, sizeof(*queue));
	int bad = 0;

	ncomp = tarjan(s->nodes, n, comp, order);
	size = xcalloc(ncomp, sizeof(*size));
	first = xcalloc(ncomp, sizeof(*first));
	for (size_t v = n; v-- > 0;)
		size[comp[v]]++, first[comp[v]] = v;
	for (size_t v = 0; v < n; v++) {
		if (first[comp[v]] != v || (size[comp[v]] == 1 && !edgeto(&s->nodes[v], v)))
			continue;
		reportcycle(s, comp, comp[v], v, parent, queue);
		bad = -1;
	}
	free(comp), free(size), free(first), free(parent), free(queue);
	return bad;
}

static int
cmpwave(const void *a, const void *b)
{
	const struct node *const *x = a, *const *y = b;

	if ((*x)->wave != (*y)->wave)
		return (*x)->wave < (*y)->wave ? -1 : 1;
	return strcmp((*x)->p->r->name, (*y)->p->r->name);
}

static int
cmpsize(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* The plan indexes of v's edges [from, to), without repeats, ascending. */
static size_t *
edgelist(struct solve *s, const struct node *v, size_t from, size_t to, size_t *n)
{
	size_t *l = arenaalloc(&s->plan->arena, to - from, sizeof(*l)), k = 0;

	for (size_t i = from; i < to; i++)
		l[k++] = s->nodes[v->e[i].to].planidx;
	if (k)
		qsort(l, k, sizeof(*l), cmpsize);
	*n = 0;
	for (size_t i = 0; i < k; i++)
		if (!*n || l[*n - 1] != l[i])
			l[(*n)++] = l[i];
	return l;
}

/* The sysroot of plan package i: its build dependencies and, through run-time
 * edges, everything they need (breadth first; stamp marks what this walk has
 * seen, list is scratch of plan->n entries). */
static void
mksysroot(struct solve *s, size_t i, unsigned *stamp, size_t *list)
{
	struct planpkg *pp = &s->plan->pkgs[i];
	size_t n = 0;

	for (size_t k = 0; k < pp->nbuilddeps; k++) {
		size_t d = pp->builddeps[k];

		if (stamp[d] != i + 1)
			stamp[d] = (unsigned)(i + 1), list[n++] = d;
	}
	for (size_t cur = 0; cur < n; cur++) {
		const struct planpkg *q = &s->plan->pkgs[list[cur]];

		for (size_t k = 0; k < q->nrundeps; k++) {
			size_t d = q->rundeps[k];

			if (stamp[d] != i + 1)
				stamp[d] = (unsigned)(i + 1), list[n++] = d;
		}
	}
	if (n)
		qsort(list, n, sizeof(*list), cmpsize);
	pp->sysroot = arenaalloc(&s->plan->arena, n, sizeof(*pp->sysroot));
	memcpy(pp->sysroot, list, n * sizeof(*list));
	pp->nsysroot = n;
}

/* Step 5: waves along the topological order, then the plan in build order. */
static void
mkplan(struct solve *s, const size_t *order)
{
	struct plan *pl = s->plan;
	struct node **byorder = xcalloc(s->nnodes, sizeof(*byorder));
	unsigned *stamp;
	size_t *stack;

	for (size_t k = 0; k < s->nnodes; k++) {
		struct node *v = &s->nodes[order[k]];

		for (size_t i = 0; i < v->ne; i++)
			if (s->nodes[v->e[i].to].wave + 1 > v->wave)
				v->wave = s->nodes[v->e[i].to].wave + 1;
		if (v->wave + 1 > pl->nwaves)
			pl->nwaves = v->wave + 1;
		byorder[k] = v;
	}
	if (s->nnodes)
		qsort(byorder, s->nnodes, sizeof(*byorder), cmpwave);
	pl->n = s->nnodes;
	pl->pkgs = arenaalloc(&pl->arena, pl->n, sizeof(*pl->pkgs));
	for (size_t i = 0; i < pl->n; i++)
		byorder[i]->planidx = i;
	for (size_t i = 0; i < pl->n; i++) {
		const struct node *v = byorder[i];
		struct planpkg *pp = &pl->pkgs[i];

		pp->r = v->p->r;
		pp->choice = v->p->choice;
		pp->flags = v->p->flags;
		pp->runtime = v->p->inr;
		pp->wave = v->wave;
		pp->rundeps = edgelist(s, v, 0, v->nrun, &pp->nrundeps);
		pp->builddeps = edgelist(s, v, v->nrun, v->ne, &pp->nbuilddeps);
		pl->nruntime += (size_t)pp->runtime;
	}
	stamp = xcalloc(pl->n + 1, sizeof(*stamp));
	stack = xcalloc(pl->n + 1, sizeof(*stack));
	for (size_t i = 0; i < pl->n; i++)
		mksysroot(s, i, stamp, stack);
	free(stamp), free(stack), free(byorder);
}

static int
solve(struct tree *t, const struct role *ro, const char *who, const struct target *tg, struct plan *pl)
{
	struct solve s = {0};
	size_t *order = NULL;
	int r = -1;

	memset(pl, 0, sizeof(*pl));
	pl->target = tg;
	s.t = t;
	s.ro = ro;
	s.who = who;
	s.plan = pl;
	queue_init(&s.job);
	poolfill(&s);
	if (solveruntime(&s) == 0 && solvebuild(&s) == 0) {
		mkgraph(&s);
		order = xcalloc(s.nnodes + 1, sizeof(*order));
		if (checkcycles(&s, order) == 0) {
			mkplan(&s, order);
			r = 0;
		}
	}
	free(order);
	queue_free(&s.job);
	pool_free(s.pool);
	arenafree(&s.a);
	if (r < 0)
		planfree(pl);
	return r;
}

int
solverole(struct tree *t, const struct role *flat, const struct target *tg, struct plan *pl)
{
	char *who = xasprintf("role '%s'", flat->name);
	int r = solve(t, flat, who, tg, pl);

	free(who);
	return r;
}

int
solvepackages(struct tree *t, char *const *names, size_t n, const struct target *tg, struct plan *pl)
{
	struct role ro = {0};
	int bad = 0;

	memset(pl, 0, sizeof(*pl));
	ro.name = ro.path = "(command line)";
	ro.loc.file = "(command line)";
	ro.pkgs = arenaalloc(&t->arena, n, sizeof(*ro.pkgs));
	for (size_t i = 0; i < n; i++) {
		const char *near;

		if (!treerecipe(t, names[i])) {
			near = treenearestrecipe(t, names[i]);
			err("no recipe named '%s'%s%s%s", names[i], near ? " (did you mean '" : "",
			    near ? near : "", near ? "'?)" : "");
			bad = 1;
			continue;
		}
		ro.pkgs[ro.npkgs].name = names[i];
		ro.pkgs[ro.npkgs++].loc = ro.loc;
	}
	return bad ? -1 : solve(t, &ro, "the command line", tg, pl);
}

long
planfind(const struct plan *pl, const char *name)
{
	for (size_t i = 0; i < pl->n; i++)
		if (!strcmp(pl->pkgs[i].r->name, name))
			return (long)i;
	return -1;
}

void
planfree(struct plan *pl)
{
	arenafree(&pl->arena);
	memset(pl, 0, sizeof(*pl));
}
