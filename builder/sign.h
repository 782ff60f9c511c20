#ifndef UNDISTRO_SIGN_H
#define UNDISTRO_SIGN_H
/* Ed25519 keys and signatures, through OpenSSL's libcrypto. Key files are
 * one text line each (like Nix's):
 *
 *   NAME.key   "NAME:BASE64(32-byte Ed25519 seed)\n", mode 0600, never overwritten
 *   NAME.pub   "NAME:BASE64(32-byte Ed25519 public key)\n"
 *
 * NAME is [A-Za-z0-9._-]{1,64}; BASE64 is canonical (padded, no stray bits,
 * nothing else on the line). A trusted-keys file holds lines like NAME.pub's;
 * blank lines and lines starting with '#' are ignored, anything else is an
 * error at file:line:col. A signature is "NAME:BASE64(64-byte signature)".
 * A file's last line may lack its '\n' (a secret pasted into CI often does).
 *
 * Failures of libcrypto itself (out of memory, no randomness) are fatal
 * (EXIT_SYSTEM): no caller could do better. */
#include <stddef.h>

enum {
	SIGNNAMEMAX = 64,   /* longest key name */
};

/* A secret key and its name: opaque, wiped when freed. */
struct signkey;

/* One trusted public key. Several may share a name (a key being replaced). */
struct trustkey {
	char name[SIGNNAMEMAX + 1];
	unsigned char pub[32];
};

/* The trusted public keys; zero-initialized it is empty. */
struct trust {
	struct trustkey *keys;
	size_t n;
};

/* Nonzero when s is a valid key name. */
int signnamevalid(const char *s);
/* Write DIR/NAME.key (0600, never overwriting: O_EXCL) and then DIR/NAME.pub
 * (atomically). 0, or -1 reported with errno EINVAL for a bad name, EEXIST
 * when DIR/NAME.key exists, else the system's error. */
int signkeynew(const char *dir, const char *name);
/* Load a secret key file; NULL (reported at file:line:col, or at the file
 * when it is unreadable or others may read it) when it cannot be used. */
struct signkey *signkeyload(const char *path);
/* Wipe and free a key (NULL is fine). */
void signkeyfree(struct signkey *);
/* The key's name. */
const char *signkeyname(const struct signkey *);
/* "NAME:BASE64(public key)" of a secret key (malloc'd): a signer trusts itself. */
char *signkeypub(const struct signkey *);
/* Signature of msg: "NAME:BASE64(64-byte signature)" (malloc'd). */
char *signmsg(const struct signkey *, const void *msg, size_t n);
/* Add the keys of a trusted-keys file: 0, or -1 after reporting every bad
 * line at file:line:col (the good ones are added). */
int trustload(struct trust *, const char *path);
/* Add one "NAME:BASE64" public-key line (no '\n'): 0, or -1 reported. */
int trustadd(struct trust *, const char *line);
/* 1 when sig ("NAME:BASE64") is a valid signature of msg by a trusted key of
 * that NAME; 0 otherwise (no report: callers say why a record was refused). */
int trustcheck(const struct trust *, const void *msg, size_t n, const char *sig);
/* Free the keys; t is empty again. */
void trustfree(struct trust *);
#endif
