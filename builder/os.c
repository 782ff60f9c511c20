#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <sched.h>
#include <libgen.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "str.h"

extern char **environ;

/* posix_spawnp with fa (NULL: every descriptor inherited) and the
 * children's signal state: nothing blocked, SIGXFSZ back to its default
 * (main ignores it for itself only). posix_spawnp reports exec failure
 * through its return value (glibc uses a close-on-exec pipe internally, as
 * musl does), so "could not start" is told apart from "started and failed":
 * reported, -1. */
static pid_t
spawnwith(char *const argv[], char *const env[], const posix_spawn_file_actions_t *fa)
{
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	pid_t pid;
	int e;

	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGXFSZ);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	e = posix_spawnp(&pid, argv[0], fa, &attr, argv, env ? env : environ);
	posix_spawnattr_destroy(&attr);
	if (e) {
		errno = e;
		err("cannot run %s:", argv[0]);
		return -1;
	}
	return pid;
}

/* argv with stdin /dev/null, stdout and stderr on outfd and errfd (-1:
 * inherited), in cwd (NULL: ours). */
static pid_t
spawn(char *const argv[], char *const env[], const char *cwd, int outfd, int errfd)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (outfd >= 0)
		posix_spawn_file_actions_adddup2(&fa, outfd, 1);
	if (errfd >= 0)
		posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	pid = spawnwith(argv, env, &fa);
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

static int
waitstatus(pid_t pid, const char *name)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			err("waitpid %s:", name);
			return -1;
		}
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

int
osrun(char *const argv[], char *const env[], const char *cwd, int outfd)
{
	pid_t pid = spawn(argv, env, cwd, outfd, outfd);

	return pid < 0 ? -1 : waitstatus(pid, argv[0]);
}

pid_t
osstart(char *const argv[], int *outfd)
{
	int fd[2];
	pid_t pid;

	if (pipe2(fd, O_CLOEXEC) < 0) {
		err("pipe:");
		return -1;
	}
	pid = spawn(argv, NULL, NULL, fd[1], fd[1]);
	close(fd[1]);
	if (pid < 0)
		close(fd[0]);
	else
		*outfd = fd[0];
	return pid;
}

pid_t
osstartterm(char *const argv[])
{
	return spawnwith(argv, NULL, NULL);
}

int
ospidfd(pid_t pid)
{
	/* pidfds are close-on-exec */
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0)
		err("pidfd_open:");
	return fd;
}

int
oswait(pid_t pid, const char *name)
{
	return waitstatus(pid, name);
}

/* osruncapture with the child's stderr on errfd (-1: inherited). */
static int
capture(char *const argv[], char *const env[], const char *cwd, struct buf *out, int errfd)
{
	int fd[2], st;
	pid_t pid;
	char chunk[8192];
	ssize_t r;

	if (pipe2(fd, O_CLOEXEC) < 0) {
		err("pipe:");
		return -1;
	}
	pid = spawn(argv, env, cwd, fd[1], errfd);
	close(fd[1]);
	if (pid < 0) {
		close(fd[0]);
		return -1;
	}
	while ((r = read(fd[0], chunk, sizeof(chunk))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err("read from %s:", argv[0]);
			break;
		}
		bufaddn(out, chunk, (size_t)r);
	}
	close(fd[0]);
	st = waitstatus(pid, argv[0]);
	return r < 0 ? -1 : st;
}

int
osruncapture(char *const argv[], char *const env[], const char *cwd, struct buf *out)
{
	return capture(argv, env, cwd, out, -1);
}

int
osruncapturequiet(char *const argv[], char *const env[], struct buf *out)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC), r;

	if (null < 0) {
		err("cannot open /dev/null:");
		return -1;
	}
	r = capture(argv, env, NULL, out, null);
	close(null);
	return r;
}

static int
fsyncdir(const char *path)
{
	char *copy = xstrdup(path);
	int fd, r = 0;

	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		err("fsync directory of %s:", path);
		r = -1;
	}
	if (fd >= 0)
		close(fd);
	free(copy);
	return r;
}

int
opentemp(const char *path, char **tmp)
{
	int fd;

	*tmp = xasprintf("%s.tmp.XXXXXX", path);
	fd = mkostemp(*tmp, O_CLOEXEC);
	if (fd < 0) {
		err("cannot create a temporary file beside %s:", path);
		free(*tmp);
		*tmp = NULL;
	}
	return fd;
}

int
committemp(int fd, char *tmp, const char *path, mode_t mode)
{
	int r = -1;

	if (fchmod(fd, mode) < 0)
		err("chmod %s:", tmp);
	else if (fsync(fd) < 0)
		err("fsync %s:", tmp);
	else if (close(fd) < 0)
		err("close %s:", tmp), fd = -1;
	else if ((fd = -1, rename(tmp, path) < 0))
		err("rename %s to %s:", tmp, path);
	else
		r = fsyncdir(path);
	if (fd >= 0)
		close(fd);
	if (r < 0)
		unlink(tmp);
	free(tmp);
	return r;
}

int
osremove(const char *path)
{
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			return 0;
		err("cannot remove %s:", path);
		return -1;
	}
	return fsyncdir(path);
}

/* Write n bytes to a temporary file beside path; its fd, or -1 (reported,
 * nothing left). */
static int
writetemp(const char *path, const void *data, size_t n, char **tmp)
{
	const char *p = data;
	ssize_t w;
	int fd = opentemp(path, tmp);

	if (fd < 0)
		return -1;
	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err("write %s:", *tmp);
			close(fd);
			unlink(*tmp);
			free(*tmp);
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return fd;
}

int
writeatomic(const char *path, const void *data, size_t n, mode_t mode)
{
	char *tmp;
	int fd = writetemp(path, data, n, &tmp);

	return fd < 0 ? -1 : committemp(fd, tmp, path, mode);
}

int
writenew(const char *path, const void *data, size_t n, mode_t mode)
{
	char *tmp;
	int fd = writetemp(path, data, n, &tmp), r = -1, e = 0;

	if (fd < 0)
		return -1;
	if (fchmod(fd, mode) < 0)
		err("chmod %s:", tmp);
	else if (fsync(fd) < 0)
		err("fsync %s:", tmp);
	/* link, unlike rename, fails when path exists: no window in which
	 * another writer's file could be replaced */
	else if (link(tmp, path) < 0)
		e = errno;
	else
		r = fsyncdir(path);
	if (e && e != EEXIST)
		err("cannot create %s: %s", path, strerror(e));
	close(fd);
	unlink(tmp);
	free(tmp);
	errno = e;
	return r;
}

int
readquiet(const char *path, char **data, size_t *n)
{
	struct buf b = {0};
	char chunk[16384];
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			close(fd);
			buffree(&b);
			errno = e;
			return -1;
		}
		bufaddn(&b, chunk, (size_t)r);
	}
	close(fd);
	if (!b.p)
		bufaddn(&b, "", 0);
	*data = b.p;
	*n = b.n;
	return 0;
}

int
readfile(const char *path, char **data, size_t *n)
{
	if (readquiet(path, data, n) < 0) {
		err("cannot read %s:", path);
		return -1;
	}
	return 0;
}

static const char *
filekind(mode_t m)
{
	return S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device" :
	       S_ISSOCK(m) ? "a socket" : S_ISDIR(m) ? "a directory" : "not a regular file";
}

int
readregular(const char *path, size_t max, const struct loc *at, char **data, size_t *n)
{
	const struct loc *l = at;
	struct buf b = {0};
	struct stat st;
	ssize_t r = 0;
	/* O_NONBLOCK: opening a FIFO that has no writer must not wait for one */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		errat(l, "cannot open %s:", path);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		errat(l, "stat %s:", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		errat(l, "%s is %s, not a regular file: give a plain text file", path, filekind(st.st_mode));
		close(fd);
		return -1;
	}
	/* One read of st_size + 1 bytes into the final buffer: a short read of
	 * a regular file is its end (Linux returns short reads of regular files
	 * only there), which saves the second, empty read per file (10,000 of
	 * them when loading a large tree: bench/resolve.sh). st_size may lie (a
	 * file still growing): then the reads go on, and stop at max + 1. */
	bufreserve(&b, (uintmax_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1);
	while (b.n <= max) {
		if (b.cap - b.n - 1 == 0)
			bufreserve(&b, b.cap);
		size_t room = b.cap - b.n - 1 < max + 1 - b.n ? b.cap - b.n - 1 : max + 1 - b.n;

		if ((r = read(fd, b.p + b.n, room)) < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		b.n += (size_t)r;
		if ((size_t)r < room)
			break;
	}
	close(fd);
	b.p[b.n] = '\0';
	if (r < 0 || b.n > max) {
		if (r < 0)
			errat(l, "read %s:", path);
		else
			errat(l, "%s is larger than %zu bytes: not a recipe, role or key file", path, max);
		buffree(&b);
		return -1;
	}
	if (!b.p)
		bufaddn(&b, "", 0);
	*data = b.p;
	*n = b.n;
	return 0;
}

int
mkdirp(const char *path, mode_t mode)
{
	char *p = xstrdup(path), *s;
	int r = 0;

	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			err("mkdir %s:", p);
			r = -1;
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return r;
}

static int
rmone(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (remove(path) < 0 && errno != ENOENT) {
		err("cannot remove %s:", path);
		return -1;
	}
	return 0;
}

static int
rmquiet(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int
rmtree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : (err("stat %s:", path), -1);
	if (!S_ISDIR(st.st_mode))
		return remove(path) < 0 ? (err("cannot remove %s:", path), -1) : 0;
	if (nftw(path, rmquiet, 32, FTW_DEPTH | FTW_PHYS) == 0)
		return 0;
	/* a read-only directory (some build systems make them) blocks removal
	 * of its entries: open the tree up, then try again */
	char *argv[] = {"chmod", "-R", "u+rwx", (char *)path, NULL};
	osrun(argv, NULL, NULL, -1);
	return nftw(path, rmone, 32, FTW_DEPTH | FTW_PHYS) ? -1 : 0;
}

static int
cmpname(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the directory path (not "." or ".."), sorted by strcmp; *n
 * receives the count. A symlink is followed only when follow is set. NULL
 * (reported) on failure. */
static char **
dirnames(const char *path, int follow, size_t *n)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	char **v = NULL;

	*n = 0;
	if (!d) {
		err("cannot read directory %s:", path);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	for (errno = 0; (e = readdir(d)); errno = 0) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		v = xreallocarray(v, *n + 1, sizeof(*v));
		v[(*n)++] = xstrdup(e->d_name);
	}
	if (errno) {
		err("cannot read directory %s:", path);
		closedir(d);
		while (*n)
			free(v[--*n]);
		free(v);
		return NULL;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), cmpname);
	return v ? v : xcalloc(1, sizeof(*v));
}

/* One directory of oswalk: path holds its path, rootlen the root's length.
 * Names are read whole before descending, so a walk holds no directory
 * open below the one it reads: depth costs memory, never descriptors. */
static int
walkdir(struct buf *path, size_t rootlen, int (*fn)(void *, const struct walkent *), void *ctx)
{
	size_t n, base = path->n;
	/* the root was named by the caller; what lies below it was not */
	char **names = dirnames(path->p, base == rootlen, &n);
	int r = names ? 0 : -1;

	for (size_t i = 0; r == 0 && i < n; i++) {
		struct stat st;
		int k;

		path->n = base;
		bufprintf(path, "/%s", names[i]);
		if (lstat(path->p, &st) < 0) {
			err("stat %s:", path->p);
			r = -1;
			break;
		}
		k = fn(ctx, &(struct walkent){.path = path->p, .rel = path->p + rootlen + 1, .st = &st});
		if (k < 0)
			r = -1;
		else if (k == 0 && S_ISDIR(st.st_mode))
			r = walkdir(path, rootlen, fn, ctx);
	}
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
	path->n = base;
	path->p[base] = '\0';
	return r;
}

int
oswalk(const char *root, int (*fn)(void *, const struct walkent *), void *ctx)
{
	struct buf path = {0};
	int r;

	bufadds(&path, root);
	while (path.n > 1 && path.p[path.n - 1] == '/')
		path.p[--path.n] = '\0';
	r = walkdir(&path, path.n, fn, ctx);
	buffree(&path);
	return r;
}

long long
osstreamfile(const char *path, size_t max, void (*fn)(void *, const void *, size_t), void *ctx,
             const char *to, mode_t mode)
{
	/* O_NONBLOCK: a FIFO put in place of the file must not block the open */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), out = -1;
	long long total = 0;
	char chunk[65536];
	struct stat st;
	ssize_t r = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		err("cannot open %s:", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err("%s is %s, not a regular file", path, filekind(st.st_mode));
		goto fail;
	}
	if (to && ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
	           fchmod(out, mode) < 0)) {
		err("cannot create %s:", to);
		goto fail;
	}
	while ((size_t)total <= max && (r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err("read %s:", path);
			goto fail;
		}
		fn(ctx, chunk, (size_t)r);
		total += r;
		for (ssize_t off = 0, w; out >= 0 && off < r; off += w) {
			if ((w = write(out, chunk + off, (size_t)(r - off))) < 0 && errno == EINTR) {
				w = 0;
			} else if (w < 0) {
				err("write %s:", to);
				goto fail;
			}
		}
	}
	if (out >= 0 && close(out) < 0) {
		out = -1;
		err("write %s:", to);
		goto fail;
	}
	close(fd);
	return total;
fail:
	if (out >= 0)
		close(out);
	if (fd >= 0)
		close(fd);
	return -1;
}

int
oslock(const char *dir, const char *name, const char *what)
{
	char *p = xasprintf("%s/%s", dir, name);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0) {
		err("cannot open %s:", p);
	} else if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		warn("waiting for another undistro that uses the %s %s", what, dir);
		while (flock(fd, LOCK_EX) < 0) {
			if (errno != EINTR) {
				err("cannot lock %s:", p);
				close(fd);
				fd = -1;
				break;
			}
		}
	}
	free(p);
	return fd;
}

int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* When root starts undistro, builds run as the kernel's overflow ids
 * ("nobody"): an id that owns nothing a build can see. bubblewrap started by
 * root keeps every capability and maps the sandbox's uid to host root, so a
 * script could remount its read-only binds, and read what only root may
 * (/etc/shadow); started by nobody it gets the same sandbox as any user. */
#define SANDBOX_ID 65534

/* Where the root sandbox's binds are staged: a tmpfs over /tmp in a private
 * mount namespace of the process that becomes bwrap (the host's /tmp is
 * untouched). bwrap resolves its sources by name as nobody, and the work
 * directory may lie under a directory nobody cannot search (/root/.cache). */
#define STAGE "/tmp"

static int
chownone(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (lchown(path, SANDBOX_ID, SANDBOX_ID) < 0) {
		err("chown %s:", path);
		return -1;
	}
	return 0;
}

/* In the forked child, as root: each bind's source mounted at STAGE/N, where
 * nobody can reach it by name. Sources are opened before STAGE is covered,
 * as they may lie below it. The namespace dies with bwrap. */
static int
stagebinds(const struct bind *b, size_t n)
{
	int *fd = xcalloc(n + 1, sizeof(*fd)), r = -1;
	char at[64], from[64];
	size_t i, k = 0;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		err("cannot make a private mount namespace for the sandbox:");
		goto out;
	}
	/* opened in the new namespace: a bind's source must belong to it */
	for (; k < n; k++) {
		if ((fd[k] = open(b[k].src, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
			err("cannot open %s:", b[k].src);
			goto out;
		}
	}
	if (mount("undistro", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k") < 0) {
		err("cannot mount a tmpfs on " STAGE " for the sandbox:");
		goto out;
	}
	for (i = 0; i < n; i++) {
		snprintf(at, sizeof(at), STAGE "/%zu", i);
		snprintf(from, sizeof(from), "/proc/self/fd/%d", fd[i]);
		if (mkdir(at, 0755) < 0 || mount(from, at, NULL, MS_BIND | MS_REC, NULL) < 0) {
			err("cannot stage %s for the sandbox:", b[i].src);
			goto out;
		}
	}
	r = 0;
out:
	while (k-- > 0)
		close(fd[k]);
	free(fd);
	return r;
}

/* The forked child that becomes bwrap; never returns. A byte on the
 * close-on-exec pipe efd tells the parent it failed before the exec (and
 * said why on stderr). */
static void
sandboxchild(const struct bind *b, size_t n, char **v, char *const env[], int outfd, int efd)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGXFSZ, SIG_DFL);  /* main ignores it for itself only */
	if (null < 0 || dup2(null, 0) < 0 || (outfd >= 0 && (dup2(outfd, 1) < 0 || dup2(outfd, 2) < 0))) {
		err("cannot set up the sandbox's standard files:");
		goto fail;
	}
	if (geteuid() == 0) {
		if (stagebinds(b, n) < 0)
			goto fail;
		/* from root to nobody: every capability goes with the uid */
		if (setgroups(0, NULL) < 0 || setresgid(SANDBOX_ID, SANDBOX_ID, SANDBOX_ID) < 0 ||
		    setresuid(SANDBOX_ID, SANDBOX_ID, SANDBOX_ID) < 0) {
			err("cannot drop to uid %d for the sandbox:", SANDBOX_ID);
			goto fail;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		err("cannot set no_new_privs for the sandbox:");
		goto fail;
	}
	execvpe(v[0], v, env ? env : environ);
	err("cannot run %s:", v[0]);
fail:
	fflush(stderr);
	ssize_t w = write(efd, "x", 1);
	(void)w;  /* nothing more to do if the parent is gone */
	_exit(127);
}

int
osrunsandboxed(const struct bind *b, size_t n, const char *cwd, char *const argv[], char *const env[], int outfd)
{
	static const char *const fixed[] = {
		"bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL",
		"--die-with-parent", "--new-session", "--hostname", "undistro",
		"--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
		"--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
		"--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin",
		"--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
	};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]), nargv = 0, k = 0;
	int root = geteuid() == 0, efd[2], r = -1;
	char **v, **staged, c;
	ssize_t failed;
	pid_t pid;

	while (argv[nargv])
		nargv++;
	/* the rw binds hold only what this build made: they become nobody's */
	for (size_t i = 0; root && i < n; i++)
		if (b[i].rw && nftw(b[i].src, chownone, 32, FTW_PHYS | FTW_MOUNT) != 0)
			return -1;
	staged = xcalloc(n + 1, sizeof(*staged));
	v = xcalloc(nfixed + 3 * n + 3 + nargv + 1, sizeof(*v));
	for (size_t i = 0; i < nfixed; i++)
		v[k++] = (char *)fixed[i];
	for (size_t i = 0; i < n; i++) {
		staged[i] = root ? xasprintf(STAGE "/%zu", i) : xstrdup(b[i].src);
		v[k++] = b[i].rw ? "--bind" : "--ro-bind";
		v[k++] = staged[i];
		v[k++] = (char *)b[i].dst;
	}
	v[k++] = "--chdir";
	v[k++] = (char *)cwd;
	v[k++] = "--";
	for (size_t i = 0; i < nargv; i++)
		v[k++] = argv[i];
	fflush(stdout);
	fflush(stderr);
	if (pipe2(efd, O_CLOEXEC) < 0) {
		err("pipe:");
		goto out;
	}
	if ((pid = fork()) < 0) {
		err("fork:");
		close(efd[0]);
		close(efd[1]);
		goto out;
	}
	if (pid == 0)
		sandboxchild(b, n, v, env, outfd, efd[1]);
	close(efd[1]);
	while ((failed = read(efd[0], &c, 1)) < 0 && errno == EINTR)
		;
	close(efd[0]);
	r = waitstatus(pid, "bwrap");
	if (failed == 1) {
		nerrors++;  /* the child reported it */
		r = -1;
	}
out:
	for (size_t i = 0; i < n; i++)
		free(staged[i]);
	free(staged);
	free(v);
	return r;
}

int
osfreeport(int want, int udp)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		struct sockaddr_in a = {0};
		socklen_t len = sizeof(a);
		int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0), port = -1;

		if (fd < 0)
			return -1;
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = htons((unsigned short)(attempt ? 0 : want));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
			port = ntohs(a.sin_port);
		close(fd);
		if (port > 0)
			return port;
	}
	return -1;
}

void
ospathsbin(void)
{
	const char *path = getenv("PATH");
	struct buf b = {0}, look = {0};

	bufadds(&b, path && *path ? path : "/usr/bin:/bin");
	/* ":PATH:" holds ":DIR:" exactly when DIR is one of PATH's entries */
	bufprintf(&look, ":%s:", b.p);
	if (!strstr(look.p, ":/usr/sbin:"))
		bufadds(&b, ":/usr/sbin");
	if (!strstr(look.p, ":/sbin:"))
		bufadds(&b, ":/sbin");
	setenv("PATH", b.p, 1);
	buffree(&b);
	buffree(&look);
}

char *
ospathfindin(const char *name, const char *path)
{
	const char *p, *end;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
	for (p = path && *path ? path : "/usr/bin:/bin"; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		/* an empty entry means the current directory, as for execvp */
		char *full = xasprintf("%.*s%s%s", (int)(end - p), p, end > p ? "/" : "", name);

		if (access(full, X_OK) == 0)
			return full;
		free(full);
	}
	return NULL;
}

char *
ospathfind(const char *name)
{
	return ospathfindin(name, getenv("PATH"));
}

double
osnow(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int sigpipe[2] = {-1, -1};

static void
onsignal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	if (write(sigpipe[1], &c, 1) < 0) {
		/* full: the loop has signals to read already */
	}
	errno = saved;
}

static void
sethandlers(void (*h)(int))
{
	struct sigaction sa = {.sa_handler = h};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int
ossigcatch(void)
{
	if (pipe2(sigpipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		err("pipe:");
		return -1;
	}
	sethandlers(onsignal);
	return sigpipe[0];
}

void
ossigrelease(void)
{
	sethandlers(SIG_DFL);
	close(sigpipe[0]);
	close(sigpipe[1]);
	sigpipe[0] = sigpipe[1] = -1;
}

/* Remove dir/prefix.* that no live run holds locked. */
static void
sweeptemps(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t k = strlen(prefix);

	while (d && (e = readdir(d))) {
		char *p;
		int fd;

		if (strncmp(e->d_name, prefix, k) || e->d_name[k] != '.')
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
			rmtree(p);
		if (fd >= 0)
			close(fd);
		free(p);
	}
	if (d)
		closedir(d);
}

int
ostempdir(const char *dir, const char *prefix, char **path)
{
	int fd;

	if (mkdirp(dir, 0755) < 0)
		return -1;
	sweeptemps(dir, prefix);
	*path = xasprintf("%s/%s.XXXXXX", dir, prefix);
	if (!mkdtemp(*path)) {
		err("cannot create a directory like %s:", *path);
		free(*path);
		*path = NULL;
		return -1;
	}
	/* a sweeper that opened it first holds the lock: it is gone, or going */
	fd = open(*path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err("cannot lock %s:", *path);
		if (fd >= 0)
			close(fd);
		rmdir(*path);
		free(*path);
		*path = NULL;
		return -1;
	}
	return fd;
}
