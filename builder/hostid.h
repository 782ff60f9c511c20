#ifndef UNDISTRO_HOSTID_H
#define UNDISTRO_HOSTID_H
/* The build machine's programs, as store keys name them.
 *
 * A build runs programs of the build machine: its compiler and binutils for
 * the target and for itself ($HOSTCC), make, the shell, perl, a recipe's
 * `tools`... A store key must name them exactly, or a store shared between
 * machines hands out a package that other tools built. The tree's
 * stage2/host-tools lists the programs every build may run (format in that
 * file); a recipe's `tools` are added for its own key. Each program is found
 * where the sandbox finds it (SANDBOX_PATH), symlinks resolved, and becomes
 * one identity line "NAME IDENTITY":
 *
 *   make make:amd64 4.3-4.1           dpkg's database (DPKG_ADMINDIR, else
 *                                     /var/lib/dpkg) says which package owns
 *                                     the file that runs: name, architecture
 *                                     and version (one dpkg-query -S and one
 *                                     -W for every program at once)
 *   make sha256:HEX                   a file no package owns, or every file
 *                                     when there is no dpkg database
 *   make missing                      PATH has none
 *
 * A compiler's line is followed by its parts', which it names itself
 * (-print-prog-name=cc1 ... as, ld; -print-libgcc-file-name;
 * -print-file-name=libc.so): "gcc/cc1 cpp-12:amd64 12.2.0-14".
 *
 * Asking dpkg costs ~0.1 s and hashing a compiler more, so the identities
 * are cached in a file (STORE/host-tools) with the stamp (device, inode,
 * size, mtime, ctime; stat follows symlinks, so a changed alternative
 * counts) of every file they derive from and of dpkg's status file: a run
 * whose stamps all match reads the cache and spawns nothing. Without dpkg,
 * a file installed where a compiler would have found a missing part is not
 * noticed until the compiler itself changes. */
#include <stddef.h>
#include "str.h"

struct hosttool {
	char *name;        /* as PATH finds it: "make", "aarch64-linux-gnu-gcc" */
	int cc;            /* a compiler: its parts are identified too */
	int common;        /* from the list: part of every key */
	char *file;        /* where the sandbox's PATH finds it, or NULL */
	struct buf stamps; /* the cache's record of the files its identity derives from */
	struct buf id;     /* its identity: "NAME IDENTITY\n" lines, set by hostidentify */
};

struct hostid {
	struct hosttool *v;
	size_t n, cap;
};

/* Add the programs of the list file (stage2/host-tools) for a target whose
 * tool prefix is cross ("" when native). Returns 0, or -1 after reporting
 * every bad line at file:line:col. */
int hostlist(struct hostid *, const char *file, const char *cross);
/* Add a program by name (cc: a compiler; common: in every key). A name
 * added before is kept once, a compiler or common if either was. */
struct hosttool *hostadd(struct hostid *, const char *name, int cc, int common);
/* The program called name, or NULL. */
const struct hosttool *hostfind(const struct hostid *, const char *name);
/* Identify every program added (each one's id), looking programs up in
 * path (colon-separated directories), asking dpkg's database in admindir
 * when it has a status file and dpkg-query is in path, else hashing; cache
 * is the cache file (NULL: none), rewritten only when something was not
 * in it. Returns 0, or -1 after reporting a file that could not be read. */
int hostidentify(struct hostid *, const char *path, const char *admindir, const char *cache);
/* Free everything. */
void hostfree(struct hostid *);
#endif
