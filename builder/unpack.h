#ifndef UNDISTRO_UNPACK_H
#define UNDISTRO_UNPACK_H
/* Unpacking source archives (tar, compressed with gzip, bzip2, xz or zstd,
 * or not) with libarchive, refusing anything that could reach outside the
 * destination or create what a source tree never needs:
 *   - paths that are absolute or contain '..';
 *   - symlinks whose target is absolute or leads above the destination
 *     (checked lexically per entry, then by the kernel — openat2 with
 *     RESOLVE_BENEATH — over every symlink, which catches chains);
 *   - hardlinks to anything but a regular file already unpacked inside, not
 *     reached through a symlink;
 *   - writing through a symlink (libarchive's SECURE_SYMLINKS);
 *   - device nodes, FIFOs and sockets; setuid or setgid files (a setgid bit
 *     on a directory, common in tarballs made in group-shared directories and
 *     meaningless here, is cleared instead);
 *   - more than maxentries entries or maxbytes bytes of file data.
 * Every refusal is one error naming the archive and the entry, e.g.
 *   undistro: x.tar.gz: entry '../evil': path escapes the build directory
 * and unpacking stops there: on failure destdir may hold part of the
 * archive, never anything outside it; callers remove destdir.
 *
 * Ownership is never restored; modes are the archive's under umask 022, and
 * modification times are restored. Extraction runs in a child process that
 * chdir()s into destdir, so entry paths stay relative (libarchive's absolute
 * path checks need that) without changing the caller's working directory,
 * which is process-wide state other code and threads rely on. */
#include <stddef.h>

/* Defaults: linux's tree is ~80k entries and ~1.4 GB unpacked. */
#define UNPACK_MAXENTRIES 1000000
#define UNPACK_MAXBYTES (4ULL << 30)

struct unpackopts {
	const char *name;              /* the archive in messages; default its path */
	int strip;                     /* strip the single top-level directory */
	size_t maxentries;             /* 0: UNPACK_MAXENTRIES */
	unsigned long long maxbytes;   /* 0: UNPACK_MAXBYTES */
};

/* Unpack the archive into destdir (created if missing); opts may be NULL
 * (no strip, default limits). */
int unpack(const char *archive, const char *destdir, const struct unpackopts *opts);
#endif
