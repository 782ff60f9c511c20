#ifndef UNDISTRO_JSON_H
#define UNDISTRO_JSON_H
/* Writing JSON text: string escaping for the files and outputs undistro
 * writes as JSON (resolve --json, register-image.json, the SBOM). Output is
 * always valid UTF-8: a byte that does not start a valid UTF-8 sequence
 * becomes U+FFFD, so bad input can never make an invalid document. */

struct buf;

/* Append s escaped for the inside of a JSON string (no quotes). */
void jsonesc(struct buf *, const char *s);
/* Append s as a quoted JSON string. */
void jsonstr(struct buf *, const char *s);
#endif
