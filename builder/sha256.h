#ifndef UNDISTRO_SHA256_H
#define UNDISTRO_SHA256_H
/* SHA-256 through libsolv's checksum code (already linked; no extra library).
 * Streaming: sha256init, sha256add..., sha256final. */
#include <stddef.h>

struct sha256 {
	void *chk;   /* libsolv Chksum */
};

/* Start a digest. */
void sha256init(struct sha256 *);
/* Add n bytes (any size). */
void sha256add(struct sha256 *, const void *, size_t n);
/* Finish: 32 bytes into out; the state is freed. */
void sha256final(struct sha256 *, unsigned char out[32]);
/* Finish into 64 lower-case hex digits and a NUL. */
void sha256finalhex(struct sha256 *, char hex[65]);
/* Hex of 32 bytes. */
void sha256hex(const unsigned char in[32], char hex[65]);
/* Digest of a whole file into hex; 0 or -1 (reported). */
int sha256file(const char *path, char hex[65]);
/* The same, quietly: -1 with errno set, for callers that report in their
 * own terms. */
int sha256path(const char *path, char hex[65]);
#endif
