/* firstboot: the HTTP client (see http.h). A non-blocking socket waited on
 * with poll(); every wait is bounded by the request's one deadline, so a
 * server that stalls or trickles costs at most that deadline. The answer is
 * refused unless it is a strict HTTP/1.x status line and header block
 * within MAXHEAD, without Transfer-Encoding, with a body of at most the
 * caller's bound that matches Content-Length when there is one. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http.h"

int
endpointparse(struct endpoint *ep, const char *s)
{
	char host[64];
	const char *colon;
	char *end;
	long port;
	size_t n;

	*ep = (struct endpoint){0};
	colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || port < 1 || port > 65535)
		return -1;
	n = (size_t)(colon - s);
	if (s[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ep->sa;
		if (n < 3 || s[n - 1] != ']')
			return -1;
		memcpy(host, s + 1, n - 2);
		host[n - 2] = 0;
		*a = (struct sockaddr_in6){.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -1;
		ep->salen = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ep->sa;
		memcpy(host, s, n);
		host[n] = 0;
		*a = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -1;
		ep->salen = sizeof(*a);
	}
	/* the Host header names the port only when it is not HTTP's */
	snprintf(ep->host, sizeof(ep->host), port == 80 ? "%.*s" : "%.*s:%ld", (int)n, s, port);
	return 0;
}

const char *
httperr(int e)
{
	switch (e) {
	case HTTP_OK: return "ok";
	case HTTP_UNREACH: return "no route";
	case HTTP_REFUSED: return "connection refused";
	case HTTP_TIMEOUT: return "timed out";
	case HTTP_BAD: return "malformed answer";
	case HTTP_BIG: return "answer too large";
	default: return "socket error";
	}
}

static int
errclass(int e)
{
	switch (e) {
	case ENETUNREACH: case EHOSTUNREACH: case ENETDOWN: case EADDRNOTAVAIL: return HTTP_UNREACH;
	case ECONNREFUSED: return HTTP_REFUSED;
	case ETIMEDOUT: return HTTP_TIMEOUT;
	default: return HTTP_ERR;
	}
}

/* Wait until fd is ready for ev or the deadline passes. */
static int
waitfd(int fd, short ev, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - nowms();
		struct pollfd p = {.fd = fd, .events = ev};
		int n;

		if (left <= 0)
			return HTTP_TIMEOUT;
		n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return HTTP_OK;
		if (n < 0 && errno != EINTR)
			return HTTP_ERR;
	}
}

static int
dial(const struct endpoint *ep, int64_t deadline, int *fdp)
{
	int fd, e = 0, r;
	socklen_t elen = sizeof(e);

	fd = socket(ep->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errclass(errno);
	if (connect(fd, (const struct sockaddr *)&ep->sa, ep->salen) < 0) {
		if (errno != EINPROGRESS) {
			r = errclass(errno);
			close(fd);
			return r;
		}
		r = waitfd(fd, POLLOUT, deadline);
		if (r == HTTP_OK && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
			e = errno;
		if (r != HTTP_OK || e) {
			close(fd);
			return r != HTTP_OK ? r : errclass(e);
		}
	}
	*fdp = fd;
	return HTTP_OK;
}

static int
sendall(int fd, const char *p, size_t n, int64_t deadline)
{
	ssize_t w;
	int r;

	while (n) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return errclass(errno);
			if ((r = waitfd(fd, POLLOUT, deadline)) != HTTP_OK)
				return r;
			continue;
		}
		p += w;
		n -= (size_t)w;
	}
	return HTTP_OK;
}

static int
tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* One header line p[0..n) (no CRLF): a token, ':', a value without control
 * characters other than tab. Content-Length sets *clen; Transfer-Encoding
 * (chunked or anything else) is refused. */
static int
parseheader(const char *p, size_t n, size_t maxbody, long long *clen)
{
	size_t i = 0, j;
	long long v = 0;

	while (i < n && tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i == n || p[i] != ':')
		return HTTP_BAD;
	for (j = i + 1; j < n; j++)
		if (((unsigned char)p[j] < 0x20 && p[j] != '\t') || p[j] == 0x7f)
			return HTTP_BAD;
	if (i == 17 && !strncasecmp(p, "Transfer-Encoding", i))
		return HTTP_BAD;
	if (i != 14 || strncasecmp(p, "Content-Length", i))
		return HTTP_OK;
	for (j = i + 1; j < n && (p[j] == ' ' || p[j] == '\t'); j++)
		;
	n = trimspace(p, n);
	if (j == n || *clen >= 0)
		return HTTP_BAD; /* empty, or a second Content-Length */
	for (; j < n; j++) {
		if (p[j] < '0' || p[j] > '9')
			return HTTP_BAD; /* a sign, a list, garbage */
		v = v * 10 + (p[j] - '0');
		if (v > (long long)maxbody)
			return HTTP_BIG; /* refused before reading it */
	}
	*clen = v;
	return HTTP_OK;
}

/* The head p[0..n), which ends with the blank line: status line then headers. */
static int
parsehead(const char *p, size_t n, size_t maxbody, int *status, long long *clen)
{
	const char *end = p + n, *e;
	size_t i;
	int r;

	e = memmem(p, n, "\r\n", 2);
	if (!e || n < 14 || memcmp(p, "HTTP/1.", 7) || (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
	    p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9')
		return HTTP_BAD;
	if (p + 12 != e && p[12] != ' ')
		return HTTP_BAD;
	for (i = 12; p + i < e; i++)
		if (((unsigned char)p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			return HTTP_BAD;
	*status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	*clen = -1;
	for (p = e + 2; ; p = e + 2) {
		e = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!e)
			return HTTP_BAD;
		if (e == p)
			return HTTP_OK; /* the blank line */
		if (memchr(p, '\n', (size_t)(e - p)) || memchr(p, '\r', (size_t)(e - p)))
			return HTTP_BAD; /* bare CR or LF: no folding, no sloppy lines */
		if ((r = parseheader(p, (size_t)(e - p), maxbody, clen)) != HTTP_OK)
			return r;
	}
}

/* Read the answer into r. The buffer holds the head, the body and one byte
 * more, so that a body one byte over the bound is seen as too large. */
static int
readanswer(int fd, int64_t deadline, size_t maxbody, struct response *r)
{
	size_t cap = MAXHEAD + 4 + maxbody + 1, n = 0, body = 0;
	char *p = xalloc(cap + 1), *e;
	long long clen = -1;
	ssize_t got;
	int rc;

	for (;;) {
		if (!body && (e = memmem(p, n, "\r\n\r\n", 4))) {
			body = (size_t)(e - p) + 4;
			if ((rc = parsehead(p, body, maxbody, &r->status, &clen)) != HTTP_OK)
				goto out;
		}
		if (!body && n > MAXHEAD) {
			rc = HTTP_BIG;
			goto out;
		}
		if (body && n - body > maxbody) {
			rc = HTTP_BIG;
			goto out;
		}
		if (body && clen >= 0 && n - body >= (size_t)clen)
			break; /* all of it: no need to wait for the close */
		if ((rc = waitfd(fd, POLLIN, deadline)) != HTTP_OK)
			goto out;
		got = recv(fd, p + n, cap - n, 0);
		if (got == 0)
			break;
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			rc = errclass(errno);
			goto out;
		}
		n += (size_t)got;
	}
	/* no head, or a body shorter or longer than announced */
	if (!body || (clen >= 0 && n - body != (size_t)clen)) {
		rc = HTTP_BAD;
		goto out;
	}
	memmove(p, p + body, n - body);
	p[n - body] = 0;
	buffree(&r->body);
	r->body = (struct buf){.p = p, .len = n - body};
	return HTTP_OK;
out:
	free(p);
	return rc;
}

int
httpdo(const struct endpoint *ep, const char *method, const char *path, const char *headers,
    int64_t deadline, size_t maxbody, struct response *r)
{
	char req[1024];
	int fd = -1, rc, n;

	n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n%s\r\n",
	    method, path, ep->host, headers);
	if (n < 0 || (size_t)n >= sizeof(req))
		return HTTP_ERR;
	if ((rc = dial(ep, deadline, &fd)) != HTTP_OK)
		return rc;
	rc = sendall(fd, req, (size_t)n, deadline);
	if (rc == HTTP_OK)
		rc = readanswer(fd, deadline, maxbody, r);
	close(fd);
	return rc;
}
