#ifndef UNDISTRO_RECORD_H
#define UNDISTRO_RECORD_H
/* The signed record of a store entry: what /ac/KEY holds on a remote store
 * (Bazel HTTP cache layout). At most RECORDMAX bytes, exactly these lines:
 *
 *   undistro-record 1
 *   key KEY                       64 lowercase hex: the store key
 *   name NAME                     the package name (recipe.h: namevalid)
 *   blob pkg.tar.zst SHA256 SIZE  lowercase hex; decimal bytes, no leading zero
 *   blob manifest SHA256 SIZE
 *   blob info SHA256 SIZE
 *   sig NAME:BASE64               Ed25519 (sign.h), covering every byte before "sig "
 *
 * each ending in '\n', nothing after the sig line. The three blobs are the
 * store entry's files (store.h); each lives on the remote at /cas/SHA256. */

struct signkey;
struct trust;

enum {
	RECBLOBS = 3,
	RECORDMAX = 4096,
};

/* The blobs' names, in record order: "pkg.tar.zst", "manifest", "info". */
extern const char *const recblobnames[RECBLOBS];

struct recblob {
	char sha256[65];
	unsigned long long size;
};

struct record {
	char key[65];
	char name[65];
	struct recblob blob[RECBLOBS];
};

/* Fill r from the store entry STOREDIR/pkg/KEY (hashing its three files);
 * 0 or -1 (reported). */
int recordfromstore(struct record *r, const char *storedir, const char *key, const char *name);
/* The signed text of r (malloc'd, *n its length). */
char *recordformat(const struct record *r, const struct signkey *k, size_t *n);
/* Parse and check the n bytes at text: well-formed, its key equals wantkey,
 * signed by a trusted key. 0 and r filled, or -1 with *why a static reason
 * ("malformed ...", "for another key", "unsigned", "signed by an untrusted
 * key", "bad signature", ...); never reports (the caller warns, naming the
 * package and the URL). */
int recordparse(struct record *r, const char *text, size_t n, const char *wantkey, const struct trust *t,
                const char **why);
#endif
