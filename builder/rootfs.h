#ifndef UNDISTRO_ROOTFS_H
#define UNDISTRO_ROOTFS_H
/* The rootfs stage: a role's root file system assembled from the package
 * archives of its run-time closure, without root and byte-reproducibly.
 *
 * Steps, over one in-memory file table (path -> type, mode, owner, size,
 * sha256, owning package; file contents live in one unlinked scratch file):
 *  1. the packages' archives (STORE/pkg/KEY/pkg.tar.zst), in closure order;
 *     a package installing a path an earlier one installed is an error
 *     unless both entries are identical (directories merge);
 *  2. the strip policy: files of the categories below are removed unless
 *     the role keeps the category (strip-keep) or the owning recipe keeps
 *     the path (keep globs, fnmatch without FNM_PATHNAME); directories they
 *     leave empty go too; ELF files (by magic) with a symbol table or debug
 *     sections are stripped with job->strip on a temporary copy (relocatable
 *     objects --strip-debug, others --strip-all) unless the role keeps `elf`;
 *  3. the generated system files (sysfiles.h): they replace packaged files
 *     with a warning;
 *  4. the overlays the role names (TREE/overlays/NAME, in order): files get
 *     mode 0755 when executable, else 0644, directories 0755 (so a checkout's
 *     umask does not matter); replacing a packaged file warns;
 *  5. missing parent directories (0755) are added; anything at or below a
 *     role user's home is owned by that user; everything else is 0:0;
 *     mtimes are all job->epoch;
 *  6. outputs in job->outdir (created), each written atomically:
 *       rootfs.tar.zst      pax-restricted tar, entries sorted by path,
 *                           relative names without "./", zstd level 19
 *       initramfs.cpio.zst  the same entries as newc cpio, zstd level 19
 *       manifest            one line per entry, sorted by path:
 *                           "TYPE MODE UID:GID SIZE SHA256 OWNER PATH[ -> TARGET]"
 *                           TYPE f d l c; MODE octal; SIZE is MAJOR,MINOR for
 *                           devices; SHA256 "-" for non-files; OWNER the
 *                           package, "overlay:NAME", or "-" (generated);
 *                           PATH and TARGET escaped as in the store manifest
 *                           (a control character, space, backslash or DEL
 *                           is \ooo; unesc() reads them back)
 *       report              removed files (count, bytes) per strip category,
 *                           stripped ELF files, the 20 largest files kept,
 *                           totals and the archives' sizes
 * Both archives are compressed at once in two threads (zstd at level 19 is
 * most of the stage's time). Scratch files live in outdir/.rootfs.XXXXXX;
 * what a killed run left there is removed by the next one. Paths through a symlink of the table (a/b
 * where a is a symlink) are errors: the archives would not unpack. */
#include <stddef.h>

struct recipe;
struct role;
struct store;
struct tree;

/* Strip-policy categories, in the order the report lists them; the names
 * are those of the role key strip-keep. */
enum {
	CAT_NONE, CAT_MAN, CAT_INFO, CAT_DOC, CAT_LOCALE, CAT_HEADERS, CAT_STATIC,
	CAT_PKGCONFIG, CAT_CMAKE, CAT_ELF, NCATEGORIES
};

struct rootfspkg {
	const struct recipe *r;   /* for its name and keep globs */
	const char *key;          /* its store key */
};

struct rootfsjob {
	struct tree *tree;                /* overlays and key files are relative to its root */
	const struct role *role;          /* flattened (roleflatten) */
	const struct store *store;
	const struct rootfspkg *pkgs;     /* the run-time closure, dependencies first */
	size_t npkgs;
	const char *outdir;               /* e.g. out/ROLE; created when missing */
	long long epoch;                  /* every mtime (SOURCE_DATE_EPOCH) */
	const char *strip;                /* the target's strip program; NULL: "strip" */
	const char *const *authorized_keys; /* NULL-terminated extra key files for root, or NULL */
};

/* Build the rootfs job describes. Returns 0, or -1 after reporting every
 * problem found (conflicting packages, bad overlays or keys, I/O); outputs
 * are then left as they were or replaced whole. */
int rootfsbuild(const struct rootfsjob *);
/* The strip category of a path relative to the root (files and symlinks;
 * CAT_ELF is never returned: ELF files are recognised by content). */
int rootfscategory(const char *path);
/* A category's name ("man", ...; "" for CAT_NONE). */
const char *rootfscategoryname(int);
#endif
