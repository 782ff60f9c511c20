#ifndef UNDISTRO_OS_H
#define UNDISTRO_OS_H
/* Everything that talks to the operating system beyond stdio: running
 * programs, files written atomically, directory trees. Functions return 0 on
 * success and -1 on failure, after reporting it through diag, unless stated
 * otherwise. */
#include <stddef.h>
#include <sys/types.h>

struct buf;

/* Run argv (searching PATH) and wait. Its stdout and stderr go to outfd, or
 * are inherited when outfd is -1; stdin is /dev/null. env is the environment
 * (NULL: inherit); cwd the directory (NULL: inherit). Returns the exit status
 * (0-255), 128+N when killed by signal N, or -1 when it could not be started
 * (reported, including exec failure). */
int osrun(char *const argv[], char *const env[], const char *cwd, int outfd);
/* Start argv (searching PATH) without waiting: stdin /dev/null, stdout and
 * stderr into a new pipe whose read end (close-on-exec) goes to *outfd.
 * Returns the pid (wait for it with oswait), or -1 (reported). */
pid_t osstart(char *const argv[], int *outfd);
/* Start argv (searching PATH) without waiting, with the caller's stdin,
 * stdout and stderr (a console on the terminal). Returns the pid, or -1
 * (reported). */
pid_t osstartterm(char *const argv[]);
/* A descriptor (close-on-exec) that polls readable once the child pid has
 * exited (pidfd_open), or -1 (reported). */
int ospidfd(pid_t pid);
/* Wait for pid, started as name; its status as osrun returns it. */
int oswait(pid_t pid, const char *name);
/* Like osrun with outfd -1 for stderr, but collects stdout into out. */
int osruncapture(char *const argv[], char *const env[], const char *cwd, struct buf *out);
/* The same with the child's stderr thrown away, for programs that report
 * an expected failure there (dpkg-query -S of a file no package owns). */
int osruncapturequiet(char *const argv[], char *const env[], struct buf *out);
/* Write n bytes to path atomically: a temporary name beside it, fsync,
 * rename, fsync of the directory. Nothing is left under path on failure. */
int writeatomic(const char *path, const void *data, size_t n, mode_t mode);
/* Like writeatomic, but never replaces an existing path: -1 with errno
 * EEXIST, not reported, when path exists (link(), so atomically). */
int writenew(const char *path, const void *data, size_t n, mode_t mode);
/* Open a temporary file beside path for writing (mode 0600 until finished);
 * *tmp receives its name (malloc'd). Returns the fd or -1. */
int opentemp(const char *path, char **tmp);
/* fsync fd, close it, give it mode, and rename tmp to path, fsyncing the
 * directory; on any failure tmp is removed. Takes ownership of tmp. */
int committemp(int fd, char *tmp, const char *path, mode_t mode);
/* Remove the file path and fsync its directory, so that the removal is
 * durable before what follows is written; a missing path is not an error. */
int osremove(const char *path);
/* Read a whole file into *data (malloc'd, NUL-terminated) and *n. */
int readfile(const char *path, char **data, size_t *n);
/* The same, quietly: -1 with errno set, for callers that turn a failure
 * into their own words. */
int readquiet(const char *path, char **data, size_t *n);
/* Like readfile, for files the tree provides (recipes, roles, key files):
 * only a regular file of at most max bytes is read; a FIFO (never waited
 * for), a device, a directory or a larger file is refused, reported at at
 * (which may be NULL: the message names path). */
struct loc;
int readregular(const char *path, size_t max, const struct loc *at, char **data, size_t *n);
/* A fresh directory dir/prefix.XXXXXX (dir made when missing) for one run's
 * scratch work, flocked through the returned fd until it is closed; first
 * removes every dir/prefix.* no live run holds, as a killed run leaves them.
 * *path receives its name (malloc'd). Returns the fd, or -1 (reported). */
int ostempdir(const char *dir, const char *prefix, char **path);
/* mkdir -p. */
int mkdirp(const char *path, mode_t mode);
/* rm -rf; a missing path is not an error. */
int rmtree(const char *path);
/* One entry of a walk (oswalk): its path (the root's path, '/', rel), its
 * path relative to the root, and its lstat (a symlink is not followed). */
struct stat;
struct walkent {
	const char *path, *rel;
	const struct stat *st;
};
/* Walk what lies below the directory root, depth first, each directory's
 * entries in byte order of their names (strcmp: no locale, no directory
 * order), a directory before what it holds, calling fn for each entry:
 * fn returns 0 to go on, 1 not to descend into this directory, -1 to stop
 * the walk (having reported why). Below root, symlinks are
 * reported to fn, never followed, and directories are opened O_NOFOLLOW
 * (root itself may be a symlink to a directory). Returns 0, or -1 when fn
 * stopped the walk or a directory could not be read (reported). */
int oswalk(const char *root, int (*fn)(void *ctx, const struct walkent *), void *ctx);
/* Read the regular file path (a symlink, FIFO or device is refused, never
 * opened for reading or waited on), passing what it holds to fn in chunks;
 * with to not NULL, also write it to the new file to (created with exactly
 * mode, whatever the umask; an existing to is an error). Stops after max + 1
 * bytes. Returns how many bytes were read, or -1. */
long long osstreamfile(const char *path, size_t max, void (*fn)(void *, const void *, size_t), void *ctx,
                       const char *to, mode_t mode);
/* A directory made visible inside the sandbox. */
struct bind {
	const char *src, *dst;
	int rw;
};

/* Run argv inside bubblewrap: new user, mount, network, pid, ipc and uts
 * namespaces; the host's /usr and /etc read-only, a private /dev, /proc and
 * /tmp, the n binds (directories), nothing else; no network at all. The
 * build has no capabilities (bounding set included), no_new_privs, and
 * cannot make further user namespaces. Started by root, it runs as uid and
 * gid 65534 (nobody), and the rw binds, which must hold only what this
 * build made, are chowned to it. Otherwise as osrun; -1 also when the
 * sandbox could not be set up (reported). */
int osrunsandboxed(const struct bind *, size_t n, const char *cwd, char *const argv[],
                   char *const env[], int outfd);
/* Lock dir against other undistro runs (an flock on dir/name), waiting with
 * a message naming what (e.g. "work directory") and dir while another holds
 * it. Returns the fd that holds the lock until closed, or -1. */
int oslock(const char *dir, const char *name, const char *what);
/* Nonzero when path exists (lstat). */
int exists(const char *path);
/* Append /usr/sbin and /sbin to PATH when missing: the image tools
 * (sfdisk, mkfs.vfat, mkfs.erofs) live there, and a Debian user's PATH lacks
 * them. */
void ospathsbin(void);
/* The path (malloc'd) at which execvp would find the program name (itself
 * when it holds a '/'), or NULL when there is none. */
char *ospathfind(const char *name);
/* The same over the directories of path (colon-separated) instead of PATH. */
char *ospathfindin(const char *name, const char *path);
/* The host directories the sandbox's PATH holds (after the build's own
 * tools): programs a build runs from the host must be found here. */
#define SANDBOX_PATH "/usr/bin:/bin"
/* A TCP (udp: UDP) port on 127.0.0.1 that nothing is bound to: want itself
 * when it is free, else one the kernel picks; -1 on failure (errno set). */
int osfreeport(int want, int udp);
/* Seconds on the monotonic clock (for durations and deadlines). */
double osnow(void);
/* Signals through a self-pipe: from ossigcatch on, SIGINT, SIGTERM and SIGHUP
 * write their number (one byte) to a pipe whose read end it returns
 * (close-on-exec, non-blocking) for the caller's poll loop; nothing else
 * happens in the handler. ossigrelease restores the default handlers and
 * closes the pipe. ossigcatch returns -1 (reported) when it has no pipe. */
int ossigcatch(void);
void ossigrelease(void);
#endif
