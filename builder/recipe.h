#ifndef UNDISTRO_RECIPE_H
#define UNDISTRO_RECIPE_H
/* Recipes and roles: the parsed, validated form of the files under recipes/.
 * Syntax and schema are documented in docs/recipes.md. Every field keeps the
 * location it came from, so later stages can point back at the file.
 * All memory belongs to the arena passed to the parse functions. */
#include "diag.h"

struct arena;

enum depop { DEP_ANY, DEP_LT, DEP_LE, DEP_EQ, DEP_GE, DEP_GT };

/* "name [op version]" */
struct dep {
	char *name;
	enum depop op;
	char *version;   /* NULL when op is DEP_ANY */
	struct loc loc;
};

struct deplist {
	struct dep *v;
	size_t n;
};

struct strlist {
	char **v;
	struct loc *loc;
	size_t n;
};

/* An archive or file fetched by url and verified by sha256, or an in-tree
 * directory (dir; srcdir.h), which has neither. */
struct source {
	char *dir;        /* in-tree: a directory relative to the tree's root, or NULL */
	char *dirpath;    /* tree.c: that directory as it is read (root/dir) */
	char *dirhash;    /* tree.c: its content hash (srcdir.h), 64 hex digits */
	struct strlist urls;
	char *sha256;     /* 64 lower-case hex digits */
	char *file;       /* file name in the cache and build dir */
	char *debian;     /* Debian source package carrying the same file, or NULL */
	char *debianversion;
	char *dest;       /* subdirectory of the source dir to unpack into, or NULL */
	int strip;        /* strip the archive's single top-level directory (default 1) */
	long size;        /* the file's size in bytes, bounding its download; 0: not declared */
	struct loc loc, sha256loc, dirloc;
};

struct patch {
	char *file;       /* beside the recipe, or inside the Debian source (debian=yes) */
	int debian;
	char *sha256;
	long strip;       /* patch -pN (default 1) */
	struct loc loc;
};

struct flag {
	char *name;
	char *def;        /* default value */
	char *desc;
	struct strlist values;  /* allowed values; yes,no when not given */
	/* applied when the flag's value is "yes" */
	char *configure;
	char *make;
	struct deplist depends, builddepends;
	struct loc loc;
};

enum toolchain { TOOLCHAIN_STAGE2, TOOLCHAIN_HOST };

/* `build-system`: which of stage2/build-system/NAME gives the build and
 * install steps the recipe does not write itself. The order is the choice
 * list's in recipe.c; BSYS_NONE (the default) gives none. */
enum buildsys { BSYS_NONE, BSYS_AUTOTOOLS, BSYS_CMAKE, BSYS_MESON, BSYS_MAKE, BSYS_KCONFIG };

struct recipe {
	char *path;       /* as given, for messages */
	char *dir;        /* directory holding the recipe, its patches and fragments */
	unsigned char hash[32];   /* recipehash(): the recipe and its directory's files */
	int hashed, isdirpkg;
	char *name, *version, *desc, *homepage, *license;
	char *evr;        /* version-release */
	long release;
	enum toolchain toolchain;
	struct source *sources;
	size_t nsources;
	struct deplist depends, builddepends, provides, conflicts;
	struct flag *flags;
	size_t nflags;
	struct patch *patches;
	size_t npatches;
	struct strlist keep;
	struct strlist tools;     /* programs of the build machine its scripts run
	                           * (bison, perl...): found on PATH before it builds;
	                           * build-depends are target libraries for its sysroot */
	enum buildsys buildsys;   /* default steps: stage2/build-system/NAME */
	struct strlist configureargs;  /* `configure-args`: words for configure,
	                                * cmake, meson setup; kconfig: the base
	                                * target, then fragment files */
	struct strlist makeargs;  /* `make-args`: words for make or ninja */
	char *build, *install, *test;   /* NULL: the build system's step, if any */
	struct loc loc, nameloc, versionloc, buildloc, installloc, testloc, buildsysloc;
};

/* A package a role installs, with the flag values it chooses. */
struct flagchoice {
	char *name, *value;
	struct loc loc;
};

struct pkgchoice {
	char *name;
	struct flagchoice *flags;
	size_t nflags;
	struct loc loc;
};

struct service {
	char *name, *command, *user;
	struct strlist after;   /* services that must be up first */
	int ready;              /* counts for the "ready" line (default yes) */
	struct loc loc, userloc;
};

struct user {
	char *name, *home, *shell;
	long uid, gid;
	struct strlist keys;    /* authorized ssh keys, each a file under the tree */
	struct loc loc;
};

enum { ROOTFS_INITRAMFS, ROOTFS_EROFS };

struct imageopts {
	int rootfs;             /* ROOTFS_INITRAMFS (default) or ROOTFS_EROFS */
	long sizemb;            /* disk size in MiB */
	struct strlist formats; /* raw qcow2 vhd vmdk */
	struct strlist ports;   /* guest ports to forward in `undistro run`:
	                         * PORT, PORT/tcp or PORT/udp (imageport) */
	struct loc loc;
};

/* One line of a role's `budget { }`: a maximum for a cost figure (cost.h). */
struct budget {
	int fig;                /* COST_* */
	double limit;           /* in the figure's unit */
	char *text;             /* the value as written */
	struct loc loc;         /* the key's */
};

struct role {
	char *path, *name, *desc, *hostname, *kernel, *cmdline;
	struct strlist include;   /* roles whose contents this role adds to */
	struct strlist packages;  /* as written; merged into pkgs */
	struct pkgchoice *pkgs;
	size_t npkgs;
	struct strlist overlays;
	struct service *services;
	size_t nservices;
	struct user *users;
	size_t nusers;
	struct strlist strip;     /* strip-policy overrides: categories to keep */
	struct strlist arch;      /* `arch`: the targets it supports (target.h);
	                           * flattened: see archlimited */
	int archlimited;          /* flattened: some role of the chain names
	                           * targets; arch is then what all of them allow */
	struct loc archloc;       /* flattened: the outermost such `arch` line */
	char *loginuser;          /* `login-user`: the account that receives the
	                           * ssh keys handed in at boot (default root) */
	struct imageopts image;
	struct budget *budgets;   /* flattened: one per figure, the outermost
	                           * role's line winning */
	size_t nbudgets;
	struct loc budgetloc;     /* the block's (0 when there is none) */
	struct loc loc, kernelloc, loginuserloc;
};

/* Parse one `ports` item, PORT, PORT/tcp or PORT/udp (PORT 1-65535): sets
 * *port and *udp and returns 0, or returns -1. */
int imageport(const char *spec, int *port, int *udp);

/* Parse a recipe from the text buf of length n read from path; dir is the
 * directory holding it. Errors are reported through diag; returns NULL when
 * there were any. */
struct recipe *recipeparse(struct arena *, const char *path, const char *dir,
                           const char *buf, size_t n);
/* Parse a role likewise. */
struct role *roleparse(struct arena *, const char *path, const char *buf, size_t n);
/* Parse "name [op version]"; returns 0, or -1 with msg set to why not. */
int depparse(struct arena *, const char *s, size_t n, struct dep *, const char **msg);
/* Nonzero when s is a valid version: starts with a digit, then [A-Za-z0-9.+~_]. */
int versionvalid(const char *s);
/* Nonzero when s is a valid package, flag or role name. */
int namevalid(const char *s);
/* Longest user name: useradd's default limit, and what ps and ls show whole. */
#define USERNAMEMAX 32
/* Nonzero when s is a valid user name: [a-z_][a-z0-9_.-]*, at most
 * USERNAMEMAX characters (the POSIX portable set, lower case, no leading
 * '-' or digit: chpst and chown would read a number as a uid). */
int usernamevalid(const char *s);
/* Nonzero when s is an RFC 1123 host name (what `hostname` defaults to). */
int hostnamevalid(const char *s);
/* The longest cmdline a role may give, on every target: the smallest
 * kernel limit in target.c (cmdlinemax) less room for the console, root and
 * timeout parameters the image adds first. */
#define CMDLINEROLEMAX 1536
/* The value a role gives flag f of pkg, or f's default. */
const char *flagvalue(const struct flag *f, const struct pkgchoice *pkg);
/* The name of a build system, as recipes write it ("autotools"...; "none"). */
const char *buildsysname(enum buildsys);
/* The text of a dependency operator ("", "<", "<=", "=", ">=", ">"). */
const char *depopstr(enum depop);
#endif
