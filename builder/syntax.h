#ifndef UNDISTRO_SYNTAX_H
#define UNDISTRO_SYNTAX_H
/* The generic syntax shared by recipes and roles (docs/recipes.md):
 *
 *   # comment
 *   key = value            value is the rest of the line, or a "quoted string"
 *   key <<TAG              a script: the following lines up to a line that is TAG
 *   key [label] {          a block of key = value lines, closed by a line "}"
 *   }
 *
 * syntaxparse() turns a file into a list of nodes; blocks hold their nodes as
 * kids. It reports every syntax error it finds (through diag) and skips the
 * offending line, so one run shows them all. A carriage return anywhere (a
 * CRLF file) is refused once, before parsing; so is text after a script's
 * tag. */
#include "str.h"

struct arena;

enum nodekind { NODE_VALUE, NODE_SCRIPT, NODE_BLOCK };

struct node {
	enum nodekind kind;
	char *key, *label;   /* label is NULL when absent */
	char *value;         /* NODE_VALUE: unquoted text; NODE_SCRIPT: the body */
	struct loc kloc, lloc, vloc;
	struct node *kids;   /* NODE_BLOCK */
	size_t nkids;
};

struct nodelist {
	struct node *v;
	size_t n;
};

/* Parse buf (n bytes, from file) into nodes; returns the number of errors. */
int syntaxparse(struct arena *, const char *file, const char *buf, size_t n, struct nodelist *);
#endif
