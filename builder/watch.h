#ifndef UNDISTRO_WATCH_H
#define UNDISTRO_WATCH_H
/* The inputs of a role's plan as inotify watches, for undistro watch.
 *
 * The watch set is a list of directories: the tree's recipes/ (every recipe
 * and role: the tree is loaded whole, so any of them can break a cycle) and
 * stage2/, recursively, whatever the plan; and from a plan, the role's
 * overlays and the in-tree source directories of its packages (recursively)
 * and the directories of its users' key files. Every directory below a
 * recursive one gets its own watch (inotify does not recurse), and one
 * created later gets one when its creation is read.
 *
 * An event names a directory and a name in it; what it changes is decided
 * from the plan: the packages whose recipe directory, recipe file or in-tree
 * source it touches, and everything that depends on them (watchaffected);
 * stage2/ changes every package; a role file, the plan itself. Linux only
 * (inotify). Functions return 0 or -1 (reported) unless stated otherwise. */
#include <stddef.h>
#include "alloc.h"

struct plan;
struct role;
struct tree;

/* What a watched directory is an input of. */
enum watchkind {
	WATCH_RECIPES,   /* recipes/ and below: recipes, their files, roles */
	WATCH_STAGE2,    /* stage2/: every package's key */
	WATCH_OVERLAY,   /* an overlay of the role: the rootfs only */
	WATCH_SOURCE,    /* an in-tree source directory of a package */
	WATCH_KEYS,      /* a directory holding a user's key file */
};

struct watchdir {
	const char *path;
	enum watchkind kind;
	int recursive;
};

/* The watch set (above) of the tree, and of flat and pl when they are not
 * NULL, into *v (allocated in a, *n entries); recipes/ and stage2/ first. */
void watchset(struct arena *a, const struct tree *, const struct role *flat, const struct plan *pl,
              struct watchdir **v, size_t *n);

/* The packages of pl an event in directory dir (a path as the watch set
 * spells it) about the entry name (may be "") changes, marked in mark (one
 * byte per plan package): a package directory's files or the directory
 * itself, a recipe file, anything below an in-tree source directory.
 * Returns how many it marked. */
size_t watchpkgs(const struct plan *pl, const char *dir, const char *name, unsigned char *mark);
/* Mark too every package that depends on a marked one (sysroot or run
 * time), transitively: their keys change with their dependencies'. */
void watchaffected(const struct plan *pl, unsigned char *mark);
/* The poll timeout in milliseconds until deadline (seconds on osnow's
 * clock; < 0: none, wait for ever), rounded up, from now. */
int watchtimeout(double now, double deadline);

/* One watched directory. */
struct watchent {
	int wd;
	char *path;
	enum watchkind kind;
	int recursive, seen;
};

/* The inotify instance and what it watches (malloc'd; watchclose frees). */
struct watch {
	int fd;              /* non-blocking, close-on-exec: poll it */
	struct watchent *v;
	size_t n, cap;
};

/* What the events read so far changed (watchread accumulates). */
struct watchchange {
	int any;             /* an event arrived */
	int all;             /* every package (stage2/, a lost event queue) */
	int plan;            /* a role or recipe file: the plan may differ */
	char **dirs, **names;  /* package-related events: directory and name */
	size_t n, cap;
};

int watchopen(struct watch *);
/* Make the watches those of v: new directories (walked when recursive)
 * added, those no longer wanted removed unless keep (a failed cycle keeps
 * what the last good plan wanted). A directory that cannot be watched (it
 * does not exist yet) is skipped. */
int watchsync(struct watch *, const struct watchdir *v, size_t n, int keep);
/* Read every pending event into c (watches for new directories below
 * recursive ones are added). Returns how many events were read, or -1. */
int watchread(struct watch *, struct watchchange *c);
/* Mark in mark the packages of pl that c changes, dependents included;
 * returns nonzero when any is marked. */
int watchmark(const struct watchchange *c, const struct plan *pl, unsigned char *mark);
/* Empty c. */
void watchchangeclear(struct watchchange *c);
void watchclose(struct watch *);
#endif
