/* firstboot: the first-boot agent of undistro images (issue #13).
 *
 * usage: firstboot [-r ROOT] [-e HOST:PORT] [-6 [HOST]:PORT]
 *
 * Started once per boot by the DHCP script on the first lease, in the
 * background, output on the console. In order: the account for the keys
 * (/etc/undistro/firstboot.conf: "user NAME", default root); the metadata
 * (qemu fw_cfg opt/undistro/{authorized_keys,hostname,user-data} if offered,
 * else EC2's IMDSv2 at 169.254.169.254:80, then [fd00:ec2::254]:80 when that
 * has no route or does not answer and there is an IPv6 default route; on
 * EC2 (DMI says so) retried for up to 10 s, elsewhere one try of at most
 * 1 s); the writes (ssh keys, hostname, /run/undistro/{instance-id,region,
 * metadata}); user-data (gzip'ed is decompressed; "#!" scripts are run once
 * per boot, output on the console and in /var/log/user-data.log). It creates
 * /run/undistro/firstboot, which the ready line waits for, when the metadata
 * step is over and the script exited or ran for 30 s; a script still running
 * then is followed until it exits.
 *
 *   -r ROOT       prefix every path read or written (tests); not "/": no
 *                 sethostname()
 *   -e HOST:PORT  the IMDS address instead of 169.254.169.254:80
 *   -6 [H]:PORT   the IPv6 IMDS address instead of [fd00:ec2::254]:80
 *
 * Exit status: 0 done (whatever the metadata said), 1 usage, 2 something it
 * had to write could not be written (reported). The time bounds are fixed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "install.h"
#include "meta.h"
#include "userdata.h"

static const char usage[] =
	"usage: firstboot [-h] [-r ROOT] [-e HOST:PORT] [-6 [HOST]:PORT]\n"
	"  -r ROOT       prefix every path it reads or writes (no sethostname unless /)\n"
	"  -e HOST:PORT  instance metadata service (default 169.254.169.254:80)\n"
	"  -6 [H]:PORT   its IPv6 address (default [fd00:ec2::254]:80)\n"
	"exit: 0 done, 1 usage, 2 could not write what it must\n";

static int sigw = -1;

static void
onchld(int sig)
{
	int e = errno;

	(void)sig;
	(void)!write(sigw, "c", 1); /* full pipe: a wake-up is pending anyway */
	errno = e;
}

/* SIGCHLD as a readable byte on sigfd; SIGPIPE as EPIPE. */
static void
signals(void)
{
	struct sigaction sa = {.sa_handler = onchld, .sa_flags = SA_RESTART | SA_NOCLDSTOP};
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		msg("pipe:");
		exit(2);
	}
	sigfd = p[0];
	sigw = p[1];
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The marker the ready line waits for; once (later calls repeat the result). */
static int
ready(void)
{
	static int done, rc;

	if (!done++)
		rc = runfile("firstboot", "", 0);
	return rc;
}

static int
options(int argc, char **argv, struct endpoints *eps)
{
	static char root[PATHMAX];
	int c;

	endpointparse(&eps->v4, "169.254.169.254:80");
	endpointparse(&eps->v6, "[fd00:ec2::254]:80");
	while ((c = getopt(argc, argv, "hr:e:6:")) != -1) {
		switch (c) {
		case 'r':
			snprintf(root, sizeof(root), "%s", optarg);
			for (size_t n = strlen(root); n > 0 && root[n - 1] == '/'; n--)
				root[n - 1] = 0;
			fbroot = root;
			if (!*optarg || strlen(optarg) >= sizeof(root) - 64)
				return -1;
			break;
		case 'e':
			if (endpointparse(&eps->v4, optarg) < 0)
				return -1;
			break;
		case '6':
			if (endpointparse(&eps->v6, optarg) < 0 || eps->v6.sa.ss_family != AF_INET6)
				return -1;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			return -1;
		}
	}
	return optind == argc ? 0 : -1;
}

/* The writes of the metadata step; -1 if any that must succeed failed. */
static int
install(const struct meta *m)
{
	char name[64];
	struct user u;
	int rc = 0;

	if (m->keys.len) {
		config(name, sizeof(name));
		if (userget(name, &u) < 0 || keysadd(&u, &m->keys, m->source) < 0)
			rc = -1;
	}
	if (m->hostname.len && hostnameset(&m->hostname) < 0)
		rc = -1;
	if (m->instanceid.len && runfile("instance-id", m->instanceid.p, trimspace(m->instanceid.p, m->instanceid.len)) < 0)
		rc = -1;
	if (m->region.len && runfile("region", m->region.p, trimspace(m->region.p, m->region.len)) < 0)
		rc = -1;
	if (runfile("metadata", m->source, strlen(m->source)) < 0)
		rc = -1;
	return rc;
}

int
main(int argc, char **argv)
{
	struct endpoints eps;
	struct meta m = {0};
	char home[PATHMAX];
	struct user r;
	int rc = 0, script;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (options(argc, argv, &eps) < 0) {
		fputs(usage, stderr);
		return 1;
	}
	umask(077);
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
	signals();
	metaget(&m, &eps);
	rc |= install(&m);
	script = m.userdata.len ? udprepare(&m.userdata) : 0;
	if (script == 1) {
		/* root's home for the script's HOME; /root if passwd has no root */
		if (userget("root", &r) < 0)
			snprintf(r.home, sizeof(r.home), "/root");
		if (rpath(home, "%s", r.home) == 0)
			rc |= udrun(&m.userdata, home, ready);
	}
	rc |= ready(); /* without a script, or one that could not start */
	buffree(&m.instanceid);
	buffree(&m.region);
	buffree(&m.hostname);
	buffree(&m.keys);
	buffree(&m.userdata);
	return rc ? 2 : 0;
}
