/* firstboot: user-data. Children are started with posix_spawn (exec
 * failures come back from it), with close-on-exec pipes, SIGPIPE back to
 * its default and the fixed PATH; their end is seen through the SIGCHLD
 * self-pipe (sigfd) in the same poll() as their output, so nothing waits
 * without a deadline except a script past its ready bound, which may run as
 * long as it likes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "userdata.h"

#define UNZIPMS   10000 /* gzip -dc of at most 64 KiB in */
#define UDREADYMS 30000 /* a script holds ready at most this long */

extern char **environ;

/* The child is gone: drain the self-pipe and reap it without blocking.
 * 1 with *status set, 0 while it still runs. */
static int
reaped(pid_t pid, int *status)
{
	char b[64];

	while (read(sigfd, b, sizeof(b)) > 0)
		;
	return waitpid(pid, status, WNOHANG) == pid;
}

static int
spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], posix_spawn_file_actions_t *fa)
{
	posix_spawnattr_t at;
	sigset_t def;
	int e;

	posix_spawnattr_init(&at);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGCHLD);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF);
	e = posix_spawnp(pid, path, fa, &at, argv, envp);
	posix_spawnattr_destroy(&at);
	errno = e;
	return e ? -1 : 0;
}

static int
timeleft(int64_t deadline)
{
	int64_t left = deadline - nowms();

	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* Feed in to "gzip -dc" and collect at most MAXUNZIP bytes of its output in
 * out; beyond that, or after UNZIPMS, it is killed. Longer than most: one
 * poll loop feeds gzip, reads it and reaps it at once (feeding first and
 * reading after would deadlock on full pipes), and splitting it would pass
 * its seven pieces of state around. */
static int
gunzip(const struct buf *in, struct buf *out)
{
	char *argv[] = {"gzip", "-dc", NULL}, *p = xalloc(MAXUNZIP + 1);
	posix_spawn_file_actions_t fa;
	int ip[2] = {-1, -1}, op[2] = {-1, -1}, status = 0, done = 0, rc = -1;
	size_t sent = 0, n = 0;
	int64_t deadline = nowms() + UNZIPMS;
	const char *why = NULL;
	pid_t pid;

	if (pipe2(ip, O_CLOEXEC) < 0 || pipe2(op, O_CLOEXEC) < 0) {
		msg("user-data: pipe:");
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, ip[0], 0);
	posix_spawn_file_actions_adddup2(&fa, op[1], 1);
	if (spawn(&pid, "gzip", argv, environ, &fa) < 0) {
		posix_spawn_file_actions_destroy(&fa);
		msg("user-data is gzip'ed: gzip -dc:");
		goto out;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(ip[0]);
	close(op[1]);
	ip[0] = op[1] = -1;
	fcntl(ip[1], F_SETFL, O_NONBLOCK);
	/* done: gzip reaped and its output read to the end */
	while (!done || op[0] >= 0) {
		struct pollfd fds[3] = {
			{.fd = ip[1], .events = POLLOUT},
			{.fd = op[0], .events = POLLIN},
			{.fd = sigfd, .events = POLLIN},
		};
		ssize_t r;
		if (poll(fds, 3, timeleft(deadline)) == 0) {
			why = "took too long";
			break;
		}
		if (fds[0].revents) {
			r = write(ip[1], in->p + sent, in->len - sent);
			if (r > 0)
				sent += (size_t)r;
			if (r < 0 || sent == in->len) {
				close(ip[1]);
				ip[1] = -1; /* EOF for gzip (or it died: EPIPE) */
			}
		}
		if (fds[1].revents) {
			r = read(op[0], p + n, MAXUNZIP + 1 - n);
			if (r > 0 && (n += (size_t)r) > MAXUNZIP) {
				why = "over 1 MiB decompressed";
				break;
			}
			if (r == 0) {
				close(op[0]);
				op[0] = -1;
			}
		}
		if (fds[2].revents && !done && reaped(pid, &status))
			done = 1;
	}
	if (!done || op[0] >= 0) {
		if (!done) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0); /* SIGKILL'ed: this returns at once */
		}
		msg("user-data: gzip -dc %s: stopped, user-data ignored", why);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		msg("user-data: gzip -dc failed (%s %d): user-data ignored",
		    WIFEXITED(status) ? "status" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	} else {
		buffree(out);
		p[n] = 0;
		*out = (struct buf){.p = p, .len = n};
		p = NULL;
		rc = 0;
	}
out:
	for (int i = 0; i < 2; i++) {
		if (ip[i] >= 0)
			close(ip[i]);
		if (op[i] >= 0)
			close(op[i]);
	}
	free(p);
	return rc;
}

int
udprepare(struct buf *ud)
{
	if (ud->len >= 2 && (unsigned char)ud->p[0] == 0x1f && (unsigned char)ud->p[1] == 0x8b &&
	    gunzip(ud, ud) < 0)
		return -1;
	if (ud->len >= 2 && ud->p[0] == '#' && ud->p[1] == '!')
		return 1;
	if (ud->len)
		msg("user-data ignored: it is not a script (\"#!\")%s",
		    ud->len >= 13 && !strncmp(ud->p, "#cloud-config", 13) ? "; #cloud-config needs cloud-init" : "");
	return 0;
}

/* Where the script's output is kept: /var/log/user-data.log, else (a
 * read-only or missing /var/log) /run/undistro/user-data.log. */
static int
udlog(void)
{
	const char *paths[] = {"/var/log/user-data.log", "/run/undistro/user-data.log"};
	char p[PATHMAX];
	int fd = -1;

	for (size_t i = 0; fd < 0 && i < 2; i++)
		if (rpath(p, "%s", paths[i]) == 0)
			fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		msg("user-data log %s:", p);
	return fd;
}

/* Write all of p[0..n) to fd; a log that fails is closed and said once. */
static void
copyto(int *fd, const char *p, size_t n)
{
	ssize_t w;

	while (*fd >= 0 && n) {
		if ((w = write(*fd, p, n)) < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			if (*fd != 1)
				msg("user-data log:");
			if (*fd != 1)
				close(*fd);
			*fd = -1;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Copy what the pipe has now to the console and the log; 0 at EOF. */
static int
udcopy(int fd, int *log)
{
	char b[4096];
	int out = 1;
	ssize_t r;

	while ((r = read(fd, b, sizeof(b))) > 0) {
		copyto(&out, b, (size_t)r);
		copyto(log, b, (size_t)r);
	}
	return r == 0 ? 0 : 1;
}

/* Start the script with stdin /dev/null and stdout+stderr into a new pipe
 * whose read end (non-blocking) is *rfd. */
static int
udstart(const char *path, const char *home, pid_t *pid, int *rfd)
{
	char homevar[PATHMAX + 8], *argv[] = {(char *)path, NULL};
	char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", homevar, NULL};
	posix_spawn_file_actions_t fa;
	int p[2], rc;

	snprintf(homevar, sizeof(homevar), "HOME=%s", home);
	if (pipe2(p, O_CLOEXEC) < 0) {
		msg("user-data: pipe:");
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	rc = spawn(pid, path, argv, envp, &fa);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc < 0) {
		msg("user-data %s could not run:", path);
		close(p[0]);
		return -1;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	*rfd = p[0];
	return 0;
}

int
udrun(const struct buf *ud, const char *home, int (*ready)(void))
{
	char path[PATHMAX], once[PATHMAX];
	int rfd, log, status, fd, rc = 0, isready = 0;
	int64_t bound;
	pid_t pid;

	if (rpath(path, "/run/undistro/user-data") < 0 || rpath(once, "/run/undistro/user-data.started") < 0)
		return -1;
	/* once per boot: /run is empty at boot, and this name is taken once */
	if ((fd = open(once, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		if (errno == EEXIST)
			msg("user-data already started this boot: not again");
		else
			msg("%s:", once);
		return errno == EEXIST ? 0 : -1;
	}
	close(fd);
	if (writeatomic(path, ud->p, ud->len, 0700, (uid_t)-1, (gid_t)-1) < 0) {
		msg("%s:", path);
		return -1;
	}
	log = udlog();
	if (udstart(path, home, &pid, &rfd) < 0) {
		if (log >= 0)
			close(log);
		return 0; /* reported; nothing we had to write is missing */
	}
	bound = nowms() + UDREADYMS;
	for (;;) {
		struct pollfd fds[2] = {{.fd = rfd, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
		int n = poll(fds, 2, isready ? -1 : timeleft(bound));
		if (n == 0 && !isready) {
			msg("user-data still running after %d s: ready anyway", UDREADYMS / 1000);
			isready = 1;
			rc |= ready();
		}
		if (fds[0].revents && !udcopy(rfd, &log))
			rfd = -1 - rfd; /* EOF: poll ignores it; the script may still run */
		if (fds[1].revents && reaped(pid, &status))
			break;
	}
	/* what it wrote last; a child it left behind holding the pipe is not waited for */
	if (rfd >= 0)
		udcopy(rfd, &log);
	close(rfd >= 0 ? rfd : -1 - rfd);
	if (log >= 0)
		close(log);
	if (WIFEXITED(status))
		msg("user-data exited with status %d", WEXITSTATUS(status));
	else
		msg("user-data killed by signal %d", WTERMSIG(status));
	if (!isready)
		rc |= ready();
	return rc;
}
