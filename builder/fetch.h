#ifndef UNDISTRO_FETCH_H
#define UNDISTRO_FETCH_H
/* Fetching sources: each recipe source's file into the source cache,
 * verified against the sha256 the recipe pins.
 *
 * Cache layout (CACHE: cfg->cache):
 *   CACHE/sha256/HEX     the file whose sha256 is HEX; the only name looked up
 *   CACHE/by-name/FILE   symlink to ../sha256/HEX, for people (and so a cache
 *                        can serve as another machine's mirror); never trusted
 *   CACHE/tmp/           downloads in progress, each flock()ed by its writer;
 *                        unlocked leftovers (a killed run) are removed on the
 *                        next fetch
 * A file enters sha256/ only by rename() after its hash was computed while it
 * was written and found equal, and after fsync: an interrupted or truncated
 * download leaves nothing there. A cache hit is hashed again before it is
 * returned (0.4 s for the 138 MB linux tarball here), so a file corrupted or
 * edited in the cache is caught: nothing unverified is ever unpacked.
 *
 * Backends, tried in order, each attempt logged on stderr unless quiet:
 *   1. the cache;
 *   2. mirrors: directories or http(s)/file URL prefixes holding files as
 *      PREFIX/FILE or PREFIX/sha256/HEX (a cache directory is a mirror);
 *   3. the source's upstream URLs (libcurl: redirects to http(s) only, 15 s
 *      connect timeout, aborted below 8 KiB/s for cfg->lowspeedtime, each
 *      URL's attempts together bounded by cfg->timeout; 3 retries after 1, 2
 *      and 4 s for transient failures — connection refused, truncation, HTTP
 *      408/429/5xx — but not for a timeout (a stalled or crawling server has
 *      had its chance: on to the next backend), 404 or an unknown host; a
 *      progress bar when stderr is a terminal);
 *   4. the Debian source archive: `apt-cache showsrc` (local, no network)
 *      picks the version carrying a file with the wanted hash (or checks the
 *      pinned one), then `apt-get source --download-only` into a temporary
 *      directory under CACHE/tmp; only a file with the wanted hash is kept.
 * Every download (URLs and mirror directories) is bounded in size: the
 * source's `size`, else cfg->maxsize. A larger one is refused as soon as its
 * Content-Length or its bytes so far pass the bound, and is not retried.
 * A failed download's partial file in CACHE/tmp is removed at once.
 * A file with the wrong hash is deleted and reported (warning: recipe
 * file:line, expected and actual hash, origin); the next backend is tried.
 * When all fail, one error at the source's sha256 line lists every attempt.
 *
 * SHA-256 comes from sha256.h (libsolv's implementation). */
#include <stddef.h>

struct recipe;
struct source;
struct patch;

struct fetchcfg {
	const char *cache;            /* the cache root; see fetchcfgenv */
	const char *const *mirrors;   /* directories or URL prefixes, in order */
	size_t nmirrors;
	int offline;                  /* use the cache only */
	int verbose;                  /* also log cache hits */
	/* bounds of a download; 0 for the default */
	long long maxsize;            /* bytes, for sources without size (2 GiB) */
	long long timeout;            /* seconds per URL, retries included (1800) */
	long long lowspeedtime;       /* seconds below 8 KiB/s that abort (30) */
};

/* Complete cfg from the environment: cache (when NULL) from UNDISTRO_CACHE,
 * else $XDG_CACHE_HOME/undistro, else $HOME/.cache/undistro; mirrors (when
 * nmirrors is 0, so a command-line list replaces the environment's) from
 * UNDISTRO_MIRRORS, separated by white space; the bounds left 0 from
 * UNDISTRO_FETCH_MAX_SIZE, UNDISTRO_FETCH_TIMEOUT and
 * UNDISTRO_FETCH_LOW_SPEED_TIME (positive whole numbers; -1, reported, for
 * anything else). Strings are allocated for the life of the process. */
int fetchcfgenv(struct fetchcfg *);
/* Get src (of recipe r) into the cache, verified; *path receives the cached
 * file's name (malloc'd). An in-tree source (dir) is refused: never fetched. */
int fetchsource(const struct fetchcfg *, const struct recipe *r, const struct source *src, char **path);
/* 1 when src's file is in the cache (or src is an in-tree directory, which
 * is never fetched), 0 when not; no hashing, no reporting. */
int fetchcheck(const struct fetchcfg *, const struct source *);
/* Fetch every source of the n recipes (`undistro fetch`), each file once;
 * in-tree sources (dir) are skipped: the build copies them from the tree.
 * Offline, first checks them all and reports one error listing every missing
 * file. Returns 0, or -1 when any failed (all are still tried). */
int fetchrecipes(const struct fetchcfg *, const struct recipe *const *, size_t n);
/* Get patch p (debian = yes) of a recipe whose source src names the Debian
 * source package: the package's debian.tar.* (version src->debianversion, or
 * the one carrying src's file) is fetched into the cache like a source, and
 * debian/<p->file> in it, checked against p->sha256, is stored as
 * CACHE/sha256/HEX; *path receives that name (malloc'd). */
int fetchdebianfile(const struct fetchcfg *, const struct source *src, const struct patch *p, char **path);
/* Get a file whose hash is not known yet into the cache (`undistro recipe
 * new`): from is an http(s), ftp or file URL, tried after the mirrors (as
 * PREFIX/file only: there is no hash to look up), or a local file's path;
 * file is its name in mirrors and CACHE/by-name/. It is hashed while it is
 * written and enters the cache under that hash, bounded by cfg->maxsize;
 * hex receives the hash, *size the bytes, *path the cached file (malloc'd).
 * Returns 0, or -1 after reporting every attempt. */
int fetchnew(const struct fetchcfg *, const char *from, const char *file, char hex[65], long long *size,
             char **path);
/* What fetchdebiansrc got (strings malloc'd). */
struct fetchdeb {
	char *file;       /* the upstream tarball's name: NAME_VERSION.orig.tar.EXT */
	char *version;    /* the Debian version that carries it */
	char sha256[65];
	long long size;
	char *path;       /* the cached file */
};
/* The upstream tarball of Debian source package pkg, of version (as
 * `apt-cache showsrc` spells it) or else of the newest version offered
 * (Debian's ordering), into the cache through the Debian backend. */
int fetchdebiansrc(const struct fetchcfg *, const char *pkg, const char *version, struct fetchdeb *);
#endif
