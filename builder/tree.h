#ifndef UNDISTRO_TREE_H
#define UNDISTRO_TREE_H
/* The recipe tree: every recipe under DIR/recipes and role under
 * DIR/recipes/roles, loaded, validated alone and against each other. */
#include "alloc.h"
#include "recipe.h"

/* Size limits of the files the tree provides: larger ones are refused (a
 * recipe that is a link to /dev/zero or a huge file must not eat memory). */
#define TREEFILEMAX (1 << 20)    /* a recipe or role */
#define KEYFILEMAX (256 << 10)   /* a file of authorized ssh keys */

struct tree {
	char *root;                /* the -C directory */
	char *overlays;            /* root/overlays */
	char *realroot;            /* root, symlinks resolved (on demand) */
	struct arena arena;        /* owns everything below */
	struct recipe **recipes;   /* sorted by name */
	size_t nrecipes;
	struct role **roles;       /* sorted by name */
	size_t nroles;
};

/* Load and check the whole tree at root. Reports every error it finds and
 * returns -1 when there were any (the tree is then still usable for lookups
 * of what did parse), 0 otherwise. */
int treeload(struct tree *, const char *root);
/* The recipe or role with that name, or NULL. */
struct recipe *treerecipe(const struct tree *, const char *name);
struct role *treerole(const struct tree *, const char *name);
/* The known name nearest to name (for "did you mean"), or NULL. */
const char *treenearestrecipe(const struct tree *, const char *name);
const char *treenearestrole(const struct tree *, const char *name);
/* Merge a role with the roles it includes (depth first, in order; the role's
 * own settings win) into *out, allocated in the tree's arena. Includes were
 * checked for existence and cycles by treeload. */
void roleflatten(struct tree *, const struct role *, struct role *out);
/* The pkgchoice of a flattened role for a package, or NULL. */
const struct pkgchoice *rolechoice(const struct role *, const char *pkg);
struct target;
/* Nonzero when the flattened role supports the target; 0 after reporting at
 * the role's arch line which targets it supports. */
int rolesupports(const struct role *flat, const struct target *);
/* Compute r->hash, once: the recipe file's bytes and, for a package
 * directory, every other regular file in it by name (patches, fragments).
 * Done on demand because only packages being built need it. */
int recipehash(struct recipe *r);
/* Free everything. */
void treefree(struct tree *);
#endif
