/* netwait: the Ethernet device DHCP runs on, waited for by kernel events.
 *
 * usage: netwait [-n] [-r ROOT]
 *
 * Prints the name of the first network device (in /sys/class/net order)
 * that is Ethernet (type 1, ARPHRD_ETHER) and backed by hardware (it has a
 * device/ link: tunnels, bridges, veth and other virtual devices have
 * none), and exits 0. When there is none it sleeps until the kernel
 * announces a network device (a uevent with SUBSYSTEM=net), looks again, and
 * so on: no timer, no polling, one blocking recv() while it waits. The
 * uevent socket is bound before the first look, so a device that appears
 * between the look and the wait still wakes it.
 *
 *   -n       do not wait: exit 1 at once when there is no such device
 *   -r ROOT  read ROOT/sys/class/net instead (tests)
 *
 * Exit status: 0 printed a name, 1 none (-n), 2 usage or a system error
 * (reported on standard error).
 *
 * The network service (/usr/lib/undistro/network) runs it; it needs no
 * privilege (the kernel lets any process listen to uevents). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *root = "";

static void
die(const char *what)
{
	fprintf(stderr, "undistro: netwait: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Nonzero when the device named name is Ethernet with a device/ link. */
static int
usable(const char *name)
{
	char path[PATH_MAX], type[16];
	struct stat st;
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof path, "%s/sys/class/net/%s/device", root, name) >= (int)sizeof path)
		return 0;
	if (stat(path, &st) != 0)
		return 0;
	snprintf(path, sizeof path, "%s/sys/class/net/%s/type", root, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	n = read(fd, type, sizeof type - 1);
	close(fd);
	if (n <= 0)
		return 0;
	type[n] = '\0';
	return strcmp(type, "1\n") == 0 || strcmp(type, "1") == 0;
}

/* Print the first usable device's name; 0 when one was found, -1 if none. */
static int
find(void)
{
	char path[PATH_MAX];
	struct dirent *e;
	char best[256] = "";
	DIR *d;

	if (snprintf(path, sizeof path, "%s/sys/class/net", root) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		die(root);
	}
	d = opendir(path);
	if (!d)
		die(path);
	/* readdir's order is the file system's: take the least name, so that
	 * the choice does not depend on it (eth0 before eth1) */
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof best)
			continue;
		if ((!best[0] || strcmp(e->d_name, best) < 0) && usable(e->d_name))
			strcpy(best, e->d_name);
	}
	closedir(d);
	if (!best[0])
		return -1;
	printf("%s\n", best);
	if (fflush(stdout) != 0)
		die("standard output");
	return 0;
}

/* Nonzero when the uevent message m of n bytes (NUL-separated KEY=VALUE
 * fields after a header) is about a network device. */
static int
netevent(const char *m, size_t n)
{
	size_t i, len;

	for (i = 0; i < n; i += len + 1) {
		len = strnlen(m + i, n - i);
		if (len == 13 && memcmp(m + i, "SUBSYSTEM=net", 13) == 0)
			return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
	char msg[8192];
	int c, nowait = 0, s = -1;

	while ((c = getopt(argc, argv, "nr:")) != -1) {
		switch (c) {
		case 'n': nowait = 1; break;
		case 'r': root = optarg; break;
		default:
			fprintf(stderr, "usage: netwait [-n] [-r ROOT]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: netwait [-n] [-r ROOT]\n");
		return 2;
	}
	if (!nowait) {
		s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
		if (s < 0)
			die("uevent socket");
		if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0)
			die("uevent socket");
	}
	while (find() != 0) {
		ssize_t n;

		if (nowait)
			return 1;
		/* wait for a network device's event; others (block devices,
		 * drivers binding) go by without a look at sysfs */
		do {
			n = recv(s, msg, sizeof msg, 0);
			if (n < 0 && errno != EINTR && errno != ENOBUFS)
				die("uevent socket");
			/* ENOBUFS: events were lost while we slept; one may have
			 * been the device: look again */
		} while (n < 0 ? errno == EINTR : !netevent(msg, (size_t)n));
	}
	return 0;
}
