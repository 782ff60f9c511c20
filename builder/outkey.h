#ifndef UNDISTRO_OUTKEY_H
#define UNDISTRO_OUTKEY_H
/* Output keys: a role's outputs (rootfs, initramfs, images, SBOM) keyed by
 * what goes into them, as packages are keyed by their inputs (build.c), so
 * that a build with nothing changed writes nothing.
 *
 * The key is the sha256 of a versioned serialization ("undistro-outkey
 * OUTKEYVERSION", then one length-prefixed field per input) of:
 *  - the generator: OUTKEYVERSION, the sha256 of the running executable
 *    (/proc/self/exe: a rebuilt or another undistro, undistro-asan included,
 *    never reuses another's outputs), and the libzstd and libarchive
 *    versions it runs with;
 *  - the target, the epoch, the tree's commit (the SBOM names it) and
 *    whether images are made (--no-image makes the rootfs only);
 *  - every package of the plan: name, store key, run-time or not (the
 *    store keys cover recipes, sources, flags, toolchain);
 *  - the bytes of the role's file and of every role it includes;
 *  - each overlay, walked like rootfs.c reads it: per entry its path, type,
 *    for files the executable bit (all rootfs.c copies of the mode) and the
 *    sha256 of the contents, for symlinks the target;
 *  - the contents of the role users' key files and of extra key files;
 *  - the tools and files that write the outputs, by identity (path, inode,
 *    size, mtime, not contents): the target's strip, tar and mkfs.erofs,
 *    sfdisk, mkfs.vfat, mcopy, mmd, syslinux, qemu-img, the BIOS boot code
 *    and systemd-boot. A package upgrade replaces the file (a new inode);
 *    their versions are not asked for, since that would spawn each one.
 *
 * OUT/.undistro-outkey holds "undistro-outkey KEY" and then the outputs the
 * key covers, one name (relative to OUT) a line. It is removed first (and
 * the removal made durable) before any output is rewritten and written last,
 * atomically, once every output is complete: an interrupted rebuild leaves
 * no key, so the next build redoes everything. Outputs are up to date when
 * the file holds the computed key and every output it names is a regular
 * file (one lstat each; contents are not hashed again). */

struct plan;
struct role;
struct target;
struct tree;

/* Bump when what sysfiles.c, rootfs.c, image.c, sbom.c or pipeline.c write
 * changes in a way the executable's hash would not show (it always does
 * today; this marks the serialization's version). */
#define OUTKEYVERSION 1
/* The key file's name in the output directory. */
#define OUTKEYFILE ".undistro-outkey"

struct outkeyin {
	const struct tree *tree;         /* roles, overlays; key files are relative to its root */
	const struct role *role;         /* as written: its file and its includes' are hashed */
	const struct role *flat;         /* flattened (roleflatten): overlays, users, formats */
	const struct target *target;
	const struct plan *plan;
	char (*keys)[65];                /* the plan's store keys, plan order */
	long long epoch;
	const char *commit;              /* the tree's commit, or NULL */
	int images;                      /* 0: rootfs outputs only */
	const char *exe;                 /* the generator; NULL: /proc/self/exe */
	const char *const *authorized_keys; /* extra key files, NULL-terminated, or NULL */
};

/* The output key of in, in hex. Returns 0, or -1 when an input could not be
 * read (nothing is reported: the rebuild that follows reports it, and no
 * key is then written). */
int outkeycompute(const struct outkeyin *in, char hex[65]);
/* The outputs a build of flat writes, relative to the output directory
 * (images: 0 for the rootfs's only): NULL-terminated, malloc'd; free them
 * with outkeyfilesfree. */
char **outkeyfiles(const struct role *flat, int images);
/* Free what outkeyfiles returned (NULL is fine). */
void outkeyfilesfree(char **);
/* 1 when outdir's key file holds hex and every output it names exists as a
 * regular file, else 0. Only reads. */
int outkeyuptodate(const char *outdir, const char *hex);
/* Remove outdir's key file durably (before any output is rewritten). A
 * missing file is fine. Returns 0, or -1 (reported). */
int outkeyclear(const char *outdir);
/* Write outdir's key file: hex and files (outkeyfiles), atomically, after
 * every output is complete. Returns 0, or -1 (reported). */
int outkeywrite(const char *outdir, const char *hex, char *const *files);
#endif
