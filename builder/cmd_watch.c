/* undistro watch: build a role, then build it again whenever one of its
 * inputs changes (watch.h), one status line per cycle; with --run, boot
 * each new image in qemu. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "alloc.h"
#include "build.h"
#include "cmd.h"
#include "diag.h"
#include "os.h"
#include "pipeline.h"
#include "run.h"
#include "str.h"
#include "target.h"
#include "watch.h"

/* Seconds of quiet after the last event before a cycle starts: an editor's
 * save is several events, a `git checkout` many. */
#define DEBOUNCE 0.15
/* pipelinebuild's "stopped by the watch" */
#define CANCELLED (-1)

struct wstate {
	struct pipeline p;
	struct watch w;
	struct watchchange ch;   /* events since the cycle started */
	char *role;
	int sigfd, quit;
	double deadline;         /* when the next cycle starts; < 0: none due */
	/* --run */
	int run;
	pid_t guest;
	int guestfd;             /* a pidfd of the guest's qemu, or -1 */
	struct runfwd fwd[64];
	size_t nfwd;
	int ported;
};

/* The scheduler's callback (build.h): a signal stops every build; events
 * stop the builds whose inputs they change. */
static int
onready(void *ctx, int fd, unsigned char *stop)
{
	struct wstate *s = ctx;

	if (fd == s->sigfd) {
		unsigned char sig;

		while (read(s->sigfd, &sig, 1) == 1)
			s->quit = 1;
		memset(stop, 1, s->p.plan.n);
		return 1;
	}
	if (watchread(&s->w, &s->ch) < 0)
		return -1;
	return watchmark(&s->ch, &s->p.plan, stop) || s->ch.plan;
}

/* Sync the watches with the cycle's plan, or (failed: the plan is not
 * usable) add the tree's own without dropping the last good plan's. */
static int
rewatch(struct wstate *s, int planned)
{
	struct arena a = {0};
	struct watchdir *v;
	size_t n;
	int rc;

	if (!s->p.tree.root)
		return 0;
	watchset(&a, &s->p.tree, planned ? &s->p.flat : NULL, planned ? &s->p.plan : NULL, &v, &n);
	rc = watchsync(&s->w, v, n, !planned);
	arenafree(&a);
	return rc;
}

static void
guestkill(struct wstate *s)
{
	if (s->guest <= 0)
		return;
	kill(s->guest, SIGTERM);
	while (waitpid(s->guest, NULL, 0) < 0 && errno == EINTR)
		;
	if (s->guestfd >= 0)
		close(s->guestfd);
	s->guest = 0;
	s->guestfd = -1;
}

/* Boot the new image, the old guest stopped and waited for first. */
static void
guestboot(struct wstate *s)
{
	struct runopts ro = {.target = s->p.target, .outdir = s->p.outdir, .fwd = s->fwd};

	guestkill(s);
	if (!s->ported) {
		/* the role's ports, chosen once: a rebooted guest keeps them */
		for (size_t i = 0; i < s->p.flat.image.ports.n && s->nfwd < 64; i++) {
			int g, udp;

			if (imageport(s->p.flat.image.ports.v[i], &g, &udp) != 0)
				continue;
			s->fwd[s->nfwd++] = (struct runfwd){.guest = g, .host = runhostport(g, udp), .udp = udp};
			fprintf(stderr, "undistro: guest port %d%s is 127.0.0.1:%d\n", g, udp ? "/udp" : "",
			        s->fwd[s->nfwd - 1].host);
		}
		s->ported = 1;
	}
	ro.nfwd = s->nfwd;
	if ((s->guest = runspawn(&ro)) > 0 && (s->guestfd = ospidfd(s->guest)) < 0)
		guestkill(s);
}

/* The cycle's status line: what was rebuilt and how long it took. */
static void
status(struct wstate *s, int rc, const unsigned char *built, double t0)
{
	struct buf b = {0};
	double t = osnow() - t0;

	if (rc == CANCELLED) {
		printf("undistro: watch: an input changed during the build, starting again (%.2f s)\n", t);
	} else if (rc != EXIT_OK) {
		printf("undistro: watch: failed (exit status %d) after %.2f s; waiting for a change\n", rc, t);
	} else {
		for (size_t i = 0; built && i < s->p.plan.n; i++)
			if (built[i])
				bufprintf(&b, " %s", s->p.plan.pkgs[i].r->name);
		if (s->p.redone)
			bufadds(&b, " rootfs images");
		if (b.n)
			printf("undistro: watch: rebuilt%s in %.2f s\n", b.p, t);
		else
			printf("undistro: watch: up to date (%.2f s)\n", t);
	}
	fflush(stdout);
	buffree(&b);
}

/* Plan, build, assemble; every cycle's memory freed at its end. Returns
 * an exit code, or CANCELLED. */
static int
cycle(struct wstate *s)
{
	double t0 = osnow();
	unsigned char *built = NULL;
	int fds[2] = {s->sigfd, s->w.fd}, rc;

	watchchangeclear(&s->ch);
	rc = pipelineplan(&s->p, &s->role, 1);
	if (rewatch(s, rc == EXIT_OK) < 0 && rc == EXIT_OK)
		rc = EXIT_SYSTEM;
	if (rc == EXIT_OK) {
		struct buildwatch bw = {.fds = fds, .nfds = 2, .ready = onready, .ctx = s};

		bw.built = built = xcalloc(s->p.plan.n + 1, 1);
		rc = pipelinebuild(&s->p, &bw);
	}
	if (rc == EXIT_OK)
		rc = pipelineassemble(&s->p);
	if (!s->quit)
		status(s, rc, built, t0);
	if (rc == EXIT_OK && s->run && !s->quit && (s->p.redone || s->guest <= 0))
		guestboot(s);
	free(built);
	pipelinecycleend(&s->p);
	return rc;
}

/* The guest's qemu exited by itself (powered off, Ctrl-A x). */
static void
guestgone(struct wstate *s)
{
	int st = 0;

	while (waitpid(s->guest, &st, 0) < 0 && errno == EINTR)
		;
	close(s->guestfd);
	s->guest = 0;
	s->guestfd = -1;
	fprintf(stderr, "undistro: watch: the guest stopped; the next good cycle boots it again\n");
}

/* Wait for changes and run cycles until a signal (or --cycles). Idle, it
 * is blocked in one poll without a timeout. Returns the last cycle's
 * status. */
static int
loop(struct wstate *s, unsigned long maxcycles)
{
	unsigned long cycles = 0;
	int rc = EXIT_OK;

	s->deadline = 0;
	while (!s->quit) {
		int to = s->deadline < 0 ? -1 : watchtimeout(osnow(), s->deadline);
		struct pollfd pfd[3] = {
			{s->sigfd, POLLIN, 0}, {s->w.fd, POLLIN, 0}, {s->guestfd, POLLIN, 0},
		};

		if (to == 0) {
			s->deadline = -1;
			rc = cycle(s);
			if (maxcycles && ++cycles == maxcycles)
				break;
			/* --cycles: one after another, as if everything changed */
			if (maxcycles || rc == CANCELLED || s->ch.any)
				s->deadline = maxcycles ? 0 : osnow() + DEBOUNCE;
			continue;
		}
		if (poll(pfd, 3, to) < 0) {
			if (errno == EINTR)
				continue;
			err("poll:");
			return EXIT_SYSTEM;
		}
		if (pfd[0].revents & POLLIN)
			s->quit = 1;
		if (pfd[1].revents & POLLIN) {
			if (watchread(&s->w, &s->ch) < 0)
				return EXIT_SYSTEM;
			if (s->ch.any)
				s->deadline = osnow() + DEBOUNCE;
		}
		if (pfd[2].revents & POLLIN)
			guestgone(s);
	}
	return rc == CANCELLED ? EXIT_OK : rc;
}

static int
run(int argc, char **argv, const struct opts *o)
{
	static const struct cmdopt opts[] = {
		{"out", 'o', CMDARG | CMDSHORT}, {"arch", 'A', CMDARG}, {"run", 'r', 0}, {"cycles", 'n', CMDARG},
		{"offline", 'O', 0}, {"no-test", 'T', 0}, {NULL, 0, 0},
	};
	struct cmdargs a = {.cmd = &cmd_watch, .opts = opts, .argc = argc, .argv = argv};
	struct wstate s = {.sigfd = -1, .guestfd = -1, .w = {.fd = -1}};
	const char *arch = NULL;
	unsigned long maxcycles = 0;
	char *end;
	int c, rc;

	s.p.opts = o;
	s.p.watching = 1;
	while ((c = cmdnext(&a)) > 0) {
		switch (c) {
		case 'o': s.p.out = a.val; break;
		case 'A': arch = a.val; break;
		case 'r': s.run = 1; break;
		case 'O': s.p.offline = 1; break;
		case 'T': s.p.notest = 1; break;
		case 'n':
			maxcycles = strtoul(a.val, &end, 10);
			if (!*a.val || *end || !maxcycles || maxcycles > 1000000)
				return cmdusage(&cmd_watch, "--cycles takes a number from 1 to 1000000, not '%s'", a.val);
			break;
		}
	}
	if (c < 0)
		return c == CMDHELP ? EXIT_OK : EXIT_USAGE;
	if (a.nops != 1)
		return cmdusage(&cmd_watch, "name one role");
	if (s.run && maxcycles)
		return cmdusage(&cmd_watch, "--run boots a guest and --cycles stops after N cycles: use one");
	if ((rc = cmdtarget(&cmd_watch, arch, &s.p.target)) != 0)
		return rc;
	s.role = argv[1];
	/* the one status line per cycle replaces the build's progress lines */
	quiet = 1;
	if (watchopen(&s.w) < 0)
		return EXIT_SYSTEM;
	if ((rc = pipelineopen(&s.p, s.role)) != EXIT_OK || (s.sigfd = ossigcatch()) < 0) {
		pipelineclose(&s.p);
		watchclose(&s.w);
		return rc != EXIT_OK ? rc : EXIT_SYSTEM;
	}
	rc = loop(&s, maxcycles);
	guestkill(&s);
	watchchangeclear(&s.ch);
	watchclose(&s.w);
	pipelineclose(&s.p);
	ossigrelease();
	return maxcycles ? rc : rc == EXIT_SYSTEM ? rc : EXIT_OK;
}

const struct cmd cmd_watch = {
	"watch", run, "[--arch ARCH] [-o DIR] [--run] [--cycles N] [--offline] [--no-test] ROLE",
	"build a role again whenever one of its inputs changes",
	"Builds the role as `undistro build` does, then watches its inputs with\n"
	"inotify: the recipes and roles (recipes/, with patches and fragments),\n"
	"stage2/, the role's overlays, its users' key files and its packages'\n"
	"in-tree sources. 150 ms after the last change it builds again: only what\n"
	"the change affects (packages and their dependents; the rootfs and images\n"
	"when anything of theirs changed), and prints one line per cycle:\n"
	"  undistro: watch: rebuilt PACKAGE... rootfs images in S s\n"
	"  undistro: watch: up to date (S s)\n"
	"  undistro: watch: failed (exit status N) after S s; waiting for a change\n"
	"A failing cycle (a recipe error, a failed build) reports the error as\n"
	"`undistro build` does and keeps watching. A change to a package's inputs\n"
	"while it builds stops that build (and those of its dependents) and starts\n"
	"the cycle again. Idle, it makes no system calls: it waits in poll().\n"
	"\n"
	"  --arch ARCH     the target architecture (default: this machine's)\n"
	"  -o, --out DIR   output directory (default $UNDISTRO_OUT, else out/ARCH/ROLE)\n"
	"  --run           after each cycle that made a new image, boot it in qemu\n"
	"                  (as `undistro run`: the role's ports forwarded, serial\n"
	"                  console and monitor on the terminal, Ctrl-A x stops the\n"
	"                  guest); the old guest is stopped first\n"
	"  --cycles N      run N cycles one after another without waiting for a\n"
	"                  change, then exit with the last one's status (for\n"
	"                  measurements and leak checks)\n"
	"  --offline       use only the source cache\n"
	"  --no-test       skip the recipes' test scripts\n"
	"\n"
	"Build progress lines and warnings are not shown (the build logs hold\n"
	"them: OUT/logs). SIGINT, SIGTERM and SIGHUP stop it: running builds are\n"
	"killed and their work directories removed, the guest is stopped, and it\n"
	"exits 0. Exit status otherwise: 2 usage, 4 system failure (inotify, the\n"
	"store); with --cycles, the last cycle's (as `undistro build`'s).\n",
};
