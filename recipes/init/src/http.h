/* firstboot: one HTTP/1.0 exchange over a plain socket, bounded in time and
 * size, parsed strictly (see http.c). */
#ifndef HTTP_H
#define HTTP_H

#include <sys/socket.h>

#include "fb.h"

/* Where a request goes, and the Host: header that names it. */
struct endpoint {
	struct sockaddr_storage sa;
	socklen_t salen;
	char host[64];
};

/* httpdo's results: HTTP_OK, or why there is no answer. */
enum {
	HTTP_OK,
	HTTP_UNREACH, /* no route to the address */
	HTTP_REFUSED, /* nothing listens there */
	HTTP_TIMEOUT, /* the request's deadline passed */
	HTTP_BAD,     /* an answer that is not HTTP as we accept it */
	HTTP_BIG,     /* headers over MAXHEAD or a body over the caller's bound */
	HTTP_ERR,     /* any other socket error */
};

/* An answer: the status code and the body (NUL-terminated, may hold NULs). */
struct response {
	int status;
	struct buf body;
};

/* endpointparse: "A.B.C.D:PORT" or "[IPV6]:PORT" into ep; -1 if malformed. */
int endpointparse(struct endpoint *ep, const char *s);
/* httpdo: send "METHOD PATH HTTP/1.0" with Host, Connection: close and the
 * extra header lines (each ending "\r\n"), and read the answer, all before
 * deadline (nowms()); bodies over maxbody are refused. Returns an HTTP_*. */
int httpdo(const struct endpoint *ep, const char *method, const char *path, const char *headers,
    int64_t deadline, size_t maxbody, struct response *r);
/* httperr: a phrase for an HTTP_* result. */
const char *httperr(int e);

#endif
