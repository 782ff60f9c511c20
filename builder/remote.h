#ifndef UNDISTRO_REMOTE_H
#define UNDISTRO_REMOTE_H
/* The remote package store: built packages shared between machines through
 * any server of Bazel's HTTP cache protocol (nginx or lighttpd with WebDAV,
 * docs/remote.md), through libcurl.
 *
 *   BASE/ac/KEY      the signed record of the store entry KEY (record.h):
 *                    the package's name and the sha256 and size of its
 *                    three files (store.h); at most 4096 bytes
 *   BASE/cas/SHA256  a file whose sha256 is SHA256
 *
 * Reading (remotesubst): GET the record, check its signature against the
 * trusted keys and its key, GET each file into STORE/tmp while its size and
 * sha256 are checked, then storeimport checks the entry as storehas would
 * and renames it into the store. A miss (404 record) is quiet; anything
 * wrong with what the server holds (a record that is malformed, unsigned,
 * signed by an untrusted key or for another key; a file missing, too long,
 * too short or with another hash; an info that names another package) is a
 * content failure: that entry is refused with a warning naming the package,
 * the URL and the reason, and the caller builds the package.
 *
 * Pushing (remotepush): HEAD the record; when absent, HEAD each file and PUT
 * those the server lacks, then PUT the signed record last, so that a record
 * never names a file a reader cannot get. A PUT answered 409 (lighttpd: the
 * collection is missing) makes BASE/cas/ and BASE/ac/ (MKCOL) and is tried
 * once more.
 *
 * A transport failure (no connection within 2 s, a stalled or crawling
 * transfer, a connection cut, an HTTP status of 5xx or another one that a
 * cache server does not give, such as 403) warns once, "remote URL
 * unreachable (WHY): building locally", and turns the remote off for the
 * rest of the run: a dead server costs a build one bound at most, never one
 * per package. Bounds: 2 s to connect; a record, HEAD or MKCOL 10 s in all;
 * a file below 8 KiB/s for 10 s is abandoned; a body longer than the
 * record's size (or 4096 bytes for a record) is refused as soon as its
 * Content-Length or its bytes say so. Only http and https, redirects
 * included. A URL's user and password (for a server that wants them) are
 * sent, never printed.
 *
 * Sockets are close-on-exec: package builds run after substitution in
 * forked children that exec the sandbox, which must not inherit the
 * connection. */
#include <stddef.h>

struct remote;
struct store;

/* Nonzero when url is an http or https URL (libcurl's parser); no report. */
int remoteurlvalid(const char *url);
/* Open the remote at url (remoteurlvalid), trusting the keys of the file
 * trustfile (NULL: none) and, when keyfile is not NULL, signing with that
 * secret key, whose own public key is trusted too. No request is made yet.
 * NULL when a file cannot be read or parsed, or when no key is trusted at
 * all (reported). */
struct remote *remoteopen(const char *url, const char *trustfile, const char *keyfile);
/* The base URL as printed in messages (without a user or password). */
const char *remoteshown(const struct remote *);
/* Get key's entry (of package name) from the remote into the store: 1 when
 * it is there now ("substituted" printed), 0 when not (a miss, a refused
 * entry or a remote turned off, warned; build it), -1 on a failure of the
 * local store (reported). */
int remotesubst(struct remote *, const struct store *, const char *key, const char *name);
/* Upload key's entry (of package name) from the store unless the remote has
 * its record: 1 pushed ("pushed" printed), 0 the remote had it, -1 not
 * pushed (warned: the remote is off, the server refused, or the entry could
 * not be read). Needs a signing key. */
int remotepush(struct remote *, const struct store *, const char *key, const char *name);
/* Print one line on what this run substituted (pushed 0; nothing when it
 * substituted nothing) or pushed (pushed 1). */
void remotesummary(const struct remote *, int pushed);
/* Close the connection and free everything (NULL is fine). */
void remoteclose(struct remote *);
#endif
