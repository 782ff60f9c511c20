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
 *   STORE/pkg/<key>/info          "name NAME\nversion EVR\nkey KEY\n" and the
 *                                 key's inputs, for people
 *
 * <key> is 64 hex digits (build.c computes it from everything that can change
 * the output). An entry is assembled in STORE/tmp/ and renamed into place, so
 * a key present under pkg/ is always complete; stale tmp/ entries from killed
 * runs are removed by storeopen. */

struct store {
	char *dir;
	int lock;    /* flock()ed STORE/lock: one run at a time uses a store */
};

/* Open (creating) the store at dir, waiting for its lock; removes what a
 * killed run left in tmp/. */
int storeopen(struct store *, const char *dir);
/* Nonzero when key is in the store. */
int storehas(const struct store *, const char *key);
/* STORE/pkg/<key>/pkg.tar.zst and .../manifest (malloc'd). */
char *storearchive(const struct store *, const char *key);
char *storemanifest(const struct store *, const char *key);
/* Pack the tree destdir into the store under key, atomically; info is
 * written as the info file. Files keep their permission bits (setuid/setgid
 * allowed: packages may need them), owners become 0:0, mtimes epoch.
 * Returns 0 or -1 (reported; nothing under pkg/<key>). */
int storeadd(const struct store *, const char *key, const char *destdir, long long epoch, const char *info);
/* Unpack key's archive into dir (for build sysroots). */
int storeextract(const struct store *, const char *key, const char *dir);
/* Free. */
void storeclose(struct store *);
#endif
