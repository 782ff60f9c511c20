#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "str.h"

extern char **environ;

/* posix_spawnp reports exec failure through its return value (glibc uses a
 * close-on-exec pipe internally, as musl does), so "could not start" is told
 * apart from "started and failed". */
static pid_t
spawn(char *const argv[], char *const env[], const char *cwd, int outfd, int errfd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none;
	pid_t pid;
	int e;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (outfd >= 0)
		posix_spawn_file_actions_adddup2(&fa, outfd, 1);
	if (errfd >= 0)
		posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	e = posix_spawnp(&pid, argv[0], &fa, &attr, argv, env ? env : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (e) {
		errno = e;
		err("cannot run %s:", argv[0]);
		return -1;
	}
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

int
osruncapture(char *const argv[], char *const env[], const char *cwd, struct buf *out)
{
	int fd[2], st;
	pid_t pid;
	char chunk[8192];
	ssize_t r;

	if (pipe2(fd, O_CLOEXEC) < 0) {
		err("pipe:");
		return -1;
	}
	pid = spawn(argv, env, cwd, fd[1], -1);
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
writeatomic(const char *path, const void *data, size_t n, mode_t mode)
{
	const char *p = data;
	char *tmp;
	ssize_t w;
	int fd = opentemp(path, &tmp);

	if (fd < 0)
		return -1;
	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err("write %s:", tmp);
			close(fd);
			unlink(tmp);
			free(tmp);
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return committemp(fd, tmp, path, mode);
}

int
readfile(const char *path, char **data, size_t *n)
{
	struct buf b = {0};
	char chunk[16384];
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		err("cannot open %s:", path);
		return -1;
	}
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err("read %s:", path);
			close(fd);
			buffree(&b);
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
	char chunk[16384];
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
	/* st_size may lie (a file still growing): the read stops at max + 1 */
	while (b.n <= max && (r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		bufaddn(&b, chunk, (size_t)r);
	}
	close(fd);
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

int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int
osrunsandboxed(const struct bind *b, size_t n, const char *cwd, char *const argv[], char *const env[], int outfd)
{
	static const char *const fixed[] = {
		"bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--hostname", "undistro",
		"--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
		"--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
		"--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin",
		"--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
	};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]), nargv = 0, k = 0;
	char **v;
	int r;

	while (argv[nargv])
		nargv++;
	v = xcalloc(nfixed + 3 * n + 3 + nargv + 1, sizeof(*v));
	for (size_t i = 0; i < nfixed; i++)
		v[k++] = (char *)fixed[i];
	for (size_t i = 0; i < n; i++) {
		v[k++] = b[i].rw ? "--bind" : "--ro-bind";
		v[k++] = (char *)b[i].src;
		v[k++] = (char *)b[i].dst;
	}
	v[k++] = "--chdir";
	v[k++] = (char *)cwd;
	v[k++] = "--";
	for (size_t i = 0; i < nargv; i++)
		v[k++] = argv[i];
	r = osrun(v, env, NULL, outfd);
	free(v);
	return r;
}

int
osfreeport(int want)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		struct sockaddr_in a = {0};
		socklen_t len = sizeof(a);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

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
