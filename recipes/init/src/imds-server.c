/* imds-server: an EC2 IMDSv2 emulator for tests (built with the host cc, not
 * installed). One HTTP/1.0 exchange per connection.
 *
 * usage: imds-server -d DIR [-l PORT [-p PIDFILE]] [-L LOG] [-m MODE]
 *
 * Without -l it is inetd style: the connection is stdin/stdout (qemu's
 * guestfwd=tcp:169.254.169.254:80-cmd:imds-server ARGS). With -l it listens
 * on 127.0.0.1:PORT (0: any free port), prints the port on stdout, writes its
 * pid to PIDFILE and forks per connection.
 *
 * DIR holds the answers: meta-data/instance-id, meta-data/placement/region,
 * meta-data/hostname, meta-data/local-hostname, meta-data/public-keys/N (the
 * key text; the listing "N=keyN" is generated), user-data (absent: 404).
 * LOG gets one line per request: "METHOD PATH STATUS" (STATUS "stall" or
 * "garbage" in those modes).
 *
 * As IMDSv2 does: PUT /latest/api/token needs X-aws-ec2-metadata-token-ttl-
 * seconds in 1..21600 (else 400), is refused with X-Forwarded-For (403), and
 * answers a token that encodes its expiry; a GET without a valid unexpired
 * X-aws-ec2-metadata-token is 401; unknown paths 404.
 *
 * -m MODE: ok (default); 401 (every GET); stall (read the request, never
 * answer, hold the connection up to 120 s); trickle (the answer at one byte a
 * second); huge (openssh-key answers are 5 MB); expire-once (the first GET
 * with a token is 401: state in LOG.state, or DIR/.expire-once without -L);
 * garbage (not HTTP); 500 (every answer).
 *
 * Exit status: 0, 1 usage, 4 system failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAXREQ  8192
#define MAXBODY (8 * 1024 * 1024)
#define HUGE    (5 * 1024 * 1024)
#define SECRET  0x5eed1e55c0ffeeULL

static const char *dir, *logpath, *mode = "ok";

struct req {
	char buf[MAXREQ + 1];
	char method[16], path[1024];
};

struct answer {
	int status;
	char *body;
	size_t len;
	char extra[128]; /* header lines, each ending "\r\n" */
};

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("imds-server: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(errno));
	exit(4);
}

static void
logline(const struct req *q, const char *status)
{
	char line[1200];
	int fd, n;

	if (!logpath)
		return;
	n = snprintf(line, sizeof(line), "%s %s %s\n", q->method, q->path, status);
	/* one write to an O_APPEND file: lines of concurrent connections do not mix */
	fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, (size_t)n) != n)
		die("%s", logpath);
	close(fd);
}

/* The value of header name in the request, or NULL. */
static const char *
header(const struct req *q, const char *name, char *out, size_t n)
{
	size_t len = strlen(name);
	const char *p = strstr(q->buf, "\r\n");

	for (; p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
		const char *l = p + 2, *e = strstr(l, "\r\n");
		if (!e || strncasecmp(l, name, len) || l[len] != ':')
			continue;
		l += len + 1;
		while (*l == ' ' || *l == '\t')
			l++;
		snprintf(out, n, "%.*s", (int)(e - l), l);
		return out;
	}
	return NULL;
}

static unsigned long long
mac(unsigned long long expiry)
{
	unsigned long long h = expiry ^ SECRET;

	for (int i = 0; i < 4; i++)
		h = (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ULL;
	return h;
}

static int
tokenok(const struct req *q)
{
	char t[128];
	unsigned long long expiry, m;

	if (!header(q, "X-aws-ec2-metadata-token", t, sizeof(t)) ||
	    sscanf(t, "AQAE%llx-%llx", &expiry, &m) != 2)
		return 0;
	return m == mac(expiry) && (time_t)expiry > time(NULL);
}

static void
setbody(struct answer *a, int status, const char *p, size_t n)
{
	a->status = status;
	a->body = malloc(n + 1);
	if (!a->body)
		die("malloc");
	memcpy(a->body, p, n);
	a->len = n;
}

/* DIR/rel as the body (200), or 404. */
static void
filebody(struct answer *a, const char *rel)
{
	char p[2048];
	struct stat st;
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (stat(p, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAXBODY || !(f = fopen(p, "re"))) {
		setbody(a, 404, "Not Found", 9);
		return;
	}
	a->status = 200;
	a->body = malloc((size_t)st.st_size + 1);
	if (!a->body)
		die("malloc");
	a->len = fread(a->body, 1, (size_t)st.st_size, f);
	fclose(f);
}

/* The listing of DIR/meta-data/public-keys/N: "N=keyN" lines, by N. */
static void
keylist(struct answer *a)
{
	char p[2048], l[64], out[4096] = "";
	size_t n = 0;

	for (int i = 0; i < 200; i++) {
		snprintf(p, sizeof(p), "%s/meta-data/public-keys/%d", dir, i);
		if (access(p, R_OK) < 0)
			continue;
		snprintf(l, sizeof(l), "%s%d=key%d", n ? "\n" : "", i, i);
		if (n + strlen(l) < sizeof(out))
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%s", l);
	}
	setbody(a, n ? 200 : 404, n ? out : "Not Found", n ? n : 9);
}

/* expire-once: 1 the first time it is asked (across connections). */
static int
firstexpiry(void)
{
	char p[2048];
	int fd;

	if (logpath)
		snprintf(p, sizeof(p), "%s.state", logpath);
	else
		snprintf(p, sizeof(p), "%s/.expire-once", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

static void
token(const struct req *q, struct answer *a)
{
	char v[64], t[64], *end;
	long ttl;
	unsigned long long expiry;

	if (header(q, "X-Forwarded-For", v, sizeof(v))) {
		setbody(a, 403, "Forbidden", 9);
		return;
	}
	if (!header(q, "X-aws-ec2-metadata-token-ttl-seconds", v, sizeof(v)) ||
	    (ttl = strtol(v, &end, 10), !*v || *end || ttl < 1 || ttl > 21600)) {
		setbody(a, 400, "Bad Request", 11);
		return;
	}
	expiry = (unsigned long long)time(NULL) + (unsigned long long)ttl;
	snprintf(t, sizeof(t), "AQAE%llx-%llx", expiry, mac(expiry));
	snprintf(a->extra, sizeof(a->extra), "X-aws-ec2-metadata-token-ttl-seconds: %ld\r\n", ttl);
	setbody(a, 200, t, strlen(t));
}

static void
route(const struct req *q, struct answer *a)
{
	const char *md = "/latest/meta-data/", *p = q->path;
	int idx, end = 0;

	if (!strcmp(q->method, "PUT") && !strcmp(p, "/latest/api/token")) {
		token(q, a);
		return;
	}
	if (strcmp(q->method, "GET")) {
		setbody(a, 405, "Method Not Allowed", 18);
		return;
	}
	if (!tokenok(q) || !strcmp(mode, "401") || (!strcmp(mode, "expire-once") && firstexpiry())) {
		setbody(a, 401, "Unauthorized", 12);
		return;
	}
	if (!strcmp(p, "/latest/user-data")) {
		filebody(a, "user-data");
		return;
	}
	if (strncmp(p, md, strlen(md)) || strstr(p, "..") || strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-/") != strlen(p)) {
		setbody(a, 404, "Not Found", 9);
		return;
	}
	p += strlen(md);
	if (!strcmp(p, "public-keys") || !strcmp(p, "public-keys/")) {
		keylist(a);
		return;
	}
	if (sscanf(p, "public-keys/%d/openssh-key%n", &idx, &end) == 1 && end && !p[end]) {
		char rel[64];
		if (!strcmp(mode, "huge")) {
			char *big = malloc(HUGE);
			if (!big)
				die("malloc");
			memset(big, 'A', HUGE);
			memcpy(big, "ssh-ed25519 ", 12);
			setbody(a, 200, big, HUGE);
			free(big);
			return;
		}
		snprintf(rel, sizeof(rel), "meta-data/public-keys/%d", idx);
		filebody(a, rel);
		return;
	}
	char other[1100];
	snprintf(other, sizeof(other), "meta-data/%s", p);
	filebody(a, other);
}

static void
writeall(int fd, const char *p, size_t n, int trickle)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, trickle ? 1 : n);
		if (w <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			return; /* the client went away */
		}
		p += w;
		n -= (size_t)w;
		if (trickle && n)
			sleep(1);
	}
}

/* Read the request's head (bounded by MAXREQ and 30 s), then answer it. */
static void
serve(int in, int out)
{
	static struct req q;
	struct answer a = {0};
	char head[512], status[16];
	size_t n = 0;
	ssize_t r;
	int hl;

	alarm(30);
	while (n < MAXREQ && !strstr(q.buf, "\r\n\r\n")) {
		if ((r = read(in, q.buf + n, MAXREQ - n)) <= 0)
			break;
		n += (size_t)r;
		q.buf[n] = 0;
	}
	alarm(0);
	if (sscanf(q.buf, "%15s %1023s HTTP/1.%*c", q.method, q.path) != 2)
		snprintf(q.method, sizeof(q.method), "-"), snprintf(q.path, sizeof(q.path), "-");
	if (!strcmp(mode, "garbage")) {
		logline(&q, "garbage");
		writeall(out, "\x01\x02 this is not HTTP\0 at all\n\n", 29, 0);
		return;
	}
	if (!strcmp(mode, "stall")) {
		logline(&q, "stall");
		sleep(120);
		return;
	}
	if (!strstr(q.buf, "\r\n\r\n") || !strcmp(q.method, "-"))
		setbody(&a, 400, "Bad Request", 11);
	else if (!strcmp(mode, "500"))
		setbody(&a, 500, "Internal Server Error", 21);
	else
		route(&q, &a);
	snprintf(status, sizeof(status), "%d", a.status);
	logline(&q, status);
	hl = snprintf(head, sizeof(head),
	    "HTTP/1.0 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
	    a.status, a.status == 200 ? "OK" : "Error", a.len, a.extra);
	writeall(out, head, (size_t)hl, !strcmp(mode, "trickle"));
	writeall(out, a.body, a.len, !strcmp(mode, "trickle"));
	free(a.body);
}

/* Listen on 127.0.0.1:port, say the port, fork a server per connection;
 * each child dies with the listener (PR_SET_PDEATHSIG), so killing the
 * listener ends stalled connections too. */
static void
listenloop(int port, const char *pidfile)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	socklen_t alen = sizeof(a);
	int s, c, one = 1;
	pid_t parent = getpid();

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 16) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &alen) < 0)
		die("listen on 127.0.0.1:%d", port);
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");
		if (!f || fprintf(f, "%ld\n", (long)parent) < 0 || fclose(f) != 0)
			die("%s", pidfile);
	}
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	signal(SIGCHLD, SIG_IGN); /* children reap themselves */
	for (;;) {
		if ((c = accept(s, NULL, NULL)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		pid_t pid = fork();
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			close(s);
			serve(c, c);
			shutdown(c, SHUT_WR);
			_exit(0);
		}
		if (pid < 0)
			die("fork");
		close(c);
	}
}

int
main(int argc, char **argv)
{
	const char *pidfile = NULL, *modes = " ok 401 stall trickle huge expire-once garbage 500 ";
	char m[32];
	int c, port = -1;

	while ((c = getopt(argc, argv, "d:l:p:L:m:")) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'l': port = atoi(optarg); break;
		case 'p': pidfile = optarg; break;
		case 'L': logpath = optarg; break;
		case 'm': mode = optarg; break;
		default: goto usage;
		}
	}
	snprintf(m, sizeof(m), " %s ", mode);
	if (!dir || optind != argc || port < -1 || port > 65535 || !strstr(modes, m))
		goto usage;
	signal(SIGPIPE, SIG_IGN);
	if (port >= 0)
		listenloop(port, pidfile);
	serve(0, 1);
	return 0;
usage:
	fputs("usage: imds-server -d DIR [-l PORT [-p PIDFILE]] [-L LOG]\n"
	      "  [-m ok|401|stall|trickle|huge|expire-once|garbage|500]\n", stderr);
	return 1;
}
