/* undistro graph: a role's dependency graph in Graphviz DOT. */
#include <stdio.h>
#include "cmd.h"
#include "diag.h"
#include "solve.h"
#include "target.h"
#include "tree.h"

/* Print s as a DOT quoted string. */
static void
dotstr(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static void
edges(const struct plan *pl, size_t from, const size_t *to, size_t n, const char *attrs)
{
	for (size_t k = 0; k < n; k++) {
		putchar('\t');
		dotstr(pl->pkgs[from].r->name);
		printf(" -> ");
		dotstr(pl->pkgs[to[k]].r->name);
		printf("%s;\n", attrs);
	}
}

static void
printdot(const struct role *ro, const struct plan *pl)
{
	printf("digraph ");
	dotstr(ro->name);
	printf(" {\n"
	       "\t// an edge A -> B: A needs B built first; solid: run-time, dashed: build\n"
	       "\t// boxes: in the image; grey ellipses: build-only\n"
	       "\trankdir=BT;\n"
	       "\tnode [shape=box];\n");
	for (size_t i = 0; i < pl->n; i++) {
		const struct planpkg *p = &pl->pkgs[i];

		putchar('\t');
		dotstr(p->r->name);
		printf(" [label=\"%s\\n%s\\nwave %d\"%s];\n", p->r->name, p->r->evr, p->wave + 1,
		       p->runtime ? "" : ", shape=ellipse, style=filled, fillcolor=lightgrey");
	}
	for (size_t i = 0; i < pl->n; i++) {
		edges(pl, i, pl->pkgs[i].rundeps, pl->pkgs[i].nrundeps, "");
		edges(pl, i, pl->pkgs[i].builddeps, pl->pkgs[i].nbuilddeps, " [style=dashed]");
	}
	printf("}\n");
}

static int
run(int argc, char **argv, const struct opts *o)
{
	static const struct cmdopt opts[] = {
		{"arch", 'A', CMDARG},
		{NULL, 0, 0},
	};
	struct cmdargs a = {.cmd = &cmd_graph, .opts = opts, .argc = argc, .argv = argv};
	struct tree t;
	struct role flat;
	struct plan pl;
	const struct target *tg;
	const char *arch = NULL;
	int r;

	while ((r = cmdnext(&a)) > 0)
		arch = a.val;   /* --arch, the only option */
	if (r < 0)
		return r == CMDHELP ? EXIT_OK : EXIT_USAGE;
	if (a.nops != 1)
		return cmdusage(&cmd_graph, "graph takes one role");
	if ((r = cmdtarget(&cmd_graph, arch, &tg)) != 0)
		return r;
	if ((r = cmdplan(o, argv[1], tg, &t, &flat, &pl)) == EXIT_OK) {
		printdot(&flat, &pl);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			err("cannot write the graph:");
			r = EXIT_SYSTEM;
		}
	}
	planfree(&pl);
	treefree(&t);
	return r;
}

const struct cmd cmd_graph = {
	"graph", run, "[--arch ARCH] ROLE",
	"print a role's dependency graph in Graphviz DOT",
	"Resolves the role like `undistro resolve` and prints its packages and\n"
	"dependencies as a DOT digraph: an edge A -> B means A needs B built first;\n"
	"run-time dependencies are solid, build dependencies dashed; packages only\n"
	"needed to build others are grey ellipses. Render it with, for example,\n"
	"`undistro graph web | dot -Tsvg > web.svg`.\n"
	"Exit status: 0 resolved, 1 bad tree or unsatisfiable, 2 usage, 4 system.\n",
};
