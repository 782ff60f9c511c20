#ifndef UNDISTRO_STORE_H
#define UNDISTRO_STORE_H
/* The content-addressed package store. Each built package is a directory
 *
 *   STORE/pkg/<key>/pkg.tar.zst   the package's files: pax-restricted tar,
 *                                 zstd, entries sorted by path, relative paths
 *                                 without "./", owner 0:0, mtime = epoch
 *   STORE/pkg/<key>/manifest      one line per entry, sorted:
 *                                 "TYPE MODE SIZE SHA256 PATH[ -> TARGET]"
 *                                 TYPE f d l, MODE octal, SHA256 "-" for non-files;
 *                                 PATH and TARGET escaped (bufaddesc: a control
 *                                 character, space, backslash or DEL is \ooo)
 *   STORE/pkg/<key>/info          "name NAME\nversion EVR\nkey KEY\n", the
 *                                 key's inputs (for people), and last
 *                                 "archive-sha256 HEX\nmanifest-sha256 HEX\n"
 *   STORE/pkg/<key>/verified      the verification cache: device, inode,
 *                                 size, mtime and ctime of pkg.tar.zst,
 *                                 manifest and info when they were last
 *                                 found to match those hashes
 *
 * <key> is 64 hex digits (build.c computes it from everything that can change
 * the output). An entry is assembled in STORE/tmp/ and renamed into place, so
 * a key present under pkg/ is always complete; stale tmp/ entries from killed
 * runs are removed by storeopen.
 *
 * The store is not trusted: an entry is checked (storehas, storeverify)
 * before it counts as present and before it is read. The check stats the
 * three files; only when that stamp differs from "verified" (a new entry, a
 * file written or replaced since) are the archive and manifest hashed and
 * compared with info. Damage below the file system (which leaves the stamp
 * alone) is caught by the zstd frames' content checksums when the archive is
 * read; whoever reads an archive reports a read error through storedamaged,
 * which takes the entry out so that the next run rebuilds it. */
#include <stddef.h>

struct store {
	char *dir;
	int lock;    /* flock()ed STORE/lock: one run at a time uses a store */
};

/* Open (creating) the store at dir, waiting for its lock; removes what a
 * killed run left in tmp/. */
int storeopen(struct store *, const char *dir);
/* Nonzero when key is in the store, complete and intact. A damaged entry
 * (a file missing, a hash that does not match) counts as missing, with a
 * warning naming it and the package name; storeadd replaces it. */
int storehas(const struct store *, const char *key, const char *name);
/* 0 when key is in the store, complete and intact; else -1, reported, and a
 * damaged entry is taken out of the store (see storedamaged). */
int storeverify(const struct store *, const char *key);
/* Report key's entry as damaged (why: what was found) and take it out of
 * the store, so that the next run builds it again. */
void storedamaged(const struct store *, const char *key, const char *why);
/* STORE/pkg/<key>/pkg.tar.zst and .../manifest (malloc'd). */
char *storearchive(const struct store *, const char *key);
char *storemanifest(const struct store *, const char *key);
/* Pack the tree destdir into the store under key, atomically, replacing a
 * damaged entry; info is the start of the info file. Files keep their permission bits (setuid/setgid
 * allowed: packages may need them), owners become 0:0, mtimes epoch.
 * Returns 0 or -1 (reported; nothing under pkg/<key>). */
int storeadd(const struct store *, const char *key, const char *destdir, long long epoch, const char *info);
struct buf;
/* A new directory STORE/tmp/<key>.XXXXXX (malloc'd) in which to assemble an
 * entry of key (for storeimport); NULL reported. Whatever a killed run
 * leaves there is removed by the next storeopen. */
char *storetmp(const struct store *, const char *key);
/* Remove what a build of key stopped half way left in STORE/tmp/ (its
 * storetmp directories), for a process that keeps the store open while it
 * kills builds (undistro watch). Returns 0 or -1 (reported). */
int storetmpclean(const struct store *, const char *key);
/* Move dir (from storetmp, holding pkg.tar.zst, manifest and info as above)
 * into the store as key's entry, replacing a damaged one, once it checks as
 * storehas would (info names key and the package name, the archive and the
 * manifest have the hashes info records): 1 placed (and verified: storehas
 * accepts it at once); 0 refused, the reason appended to why, nothing
 * reported and dir left to the caller; -1 on a system failure (reported). */
int storeimport(const struct store *, const char *key, const char *name, const char *dir, struct buf *why);
/* Verify key's entry and unpack its archive into dir (for build sysroots);
 * 0 or -1 (reported; a damaged entry is taken out, see storedamaged). */
int storeextract(const struct store *, const char *key, const char *dir);
/* Free. */
void storeclose(struct store *);
/* Open the store at dir as it is, for undistro gc: nothing created, tmp/
 * left alone; waits for its lock. Returns 0, 1 when dir holds no store
 * (nothing locked), or -1 (reported). */
int storeattach(struct store *, const char *dir);
/* An entry as undistro gc lists it. */
struct storeentry {
	char *key;     /* the store key, or "tmp/NAME" for what tmp/ holds */
	char *name;    /* the package's name from info; "?" when it has none, "-" in tmp/ */
	unsigned long long bytes;   /* disk space it uses (du) */
};
/* Every entry under pkg/ (by key), then what tmp/ holds, into *v and *n
 * (malloc'd; storelistfree). Returns 0 or -1 (reported). */
int storelist(const struct store *, struct storeentry **v, size_t *n);
/* Free what storelist returned. */
void storelistfree(struct storeentry *v, size_t n);
/* Remove an entry of storelist: pkg/KEY is renamed into tmp/ first, so no
 * run ever sees part of it, then removed (what a killed removal leaves in
 * tmp/ goes when the store is next opened). Returns 0 or -1 (reported). */
int storeremove(const struct store *, const char *key);
struct archive;
/* libarchive's message for a, with the system's reason when it has one (its
 * "Write error" says neither). Thread-local buffer: rootfs compresses in
 * threads. */
const char *storearcherr(struct archive *a);
#endif
