#ifndef UNDISTRO_SRCDIR_H
#define UNDISTRO_SRCDIR_H
/* In-tree sources (`source { dir = PATH }`, docs/recipes.md): a directory of
 * the recipe tree that a package builds from, copied into its $SRC. Its
 * content hash enters the package's store key as an archive's sha256 does
 * (inside the recipe's bytes), so an edit of any file under it rebuilds the
 * package; nothing else about the tree does.
 *
 * The content hash is the sha256 of "undistro-srcdir 1\n", then for every
 * entry below the directory in oswalk's order (byte order of names, a
 * directory before what it holds): a type byte ('d' directory, 'f' file,
 * 'x' file its owner may execute), the path relative to the directory and
 * a NUL; for files the size in decimal, '\n' and the contents. Paths hold no
 * NUL and the size says where the contents end, so two trees share a
 * serialization only when they are equal. Nothing else counts: not owners,
 * times, or mode bits other than the owner's x; a new empty directory does.
 *
 * Only directories and regular files may be there: a symlink, FIFO, socket
 * or device is refused (a build must not see what a link names outside the
 * tree, nor hang on a FIFO). Entries named .git are left out, directories
 * and files alike: version-control state, not source, and changing with
 * every commit. Bounded: SRCDIRMAXENTRIES entries and SRCDIRMAXBYTES of file
 * contents in all. */

struct loc;

#define SRCDIRMAXENTRIES 10000
#define SRCDIRMAXBYTES (64LL << 20)

/* Hash the directory at path into hex (64 digits and a NUL). When to is not
 * NULL, every directory and file is also copied below the existing
 * directory to as it is hashed (directories 0755, files 0644, or 0755 when
 * executable; a file already there is an error), so the hash describes
 * exactly the bytes copied. Errors are reported at at, naming the file.
 * Returns 0 or -1. */
int srcdirhash(const char *path, const char *to, const struct loc *at, char hex[65]);
#endif
