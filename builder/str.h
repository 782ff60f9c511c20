#ifndef UNDISTRO_STR_H
#define UNDISTRO_STR_H
/* Strings with their length: slices into input text, growable buffers. */
#include <stddef.h>

struct slice {
	const char *p;
	size_t n;
};

struct buf {
	char *p;   /* always NUL-terminated once anything was added */
	size_t n, cap;
};

/* Append n bytes, a string, a character, or printf output to a buffer. */
/* Make room for n more bytes and the NUL after them (b->cap - b->n - 1 >= n). */
void bufreserve(struct buf *, size_t n);
void bufaddn(struct buf *, const char *, size_t);
void bufadds(struct buf *, const char *);
void bufaddc(struct buf *, char);
void bufprintf(struct buf *, const char *, ...);
/* Append s escaped for a line of a manifest, where blanks separate fields:
 * a byte that is a control character, a space, a backslash or DEL becomes \ooo
 * (three octal digits, as in /etc/fstab); every other byte is kept. */
void bufaddesc(struct buf *, const char *s);
/* Undo bufaddesc in place (a \ooo within 0-377); returns s. */
char *unesc(char *s);
/* Release the buffer's storage. */
void buffree(struct buf *);
/* Nonzero when the slice equals the string. */
int sliceeq(struct slice, const char *);
/* Edit distance between a and b, capped at max+1 (for "did you mean"). */
size_t editdist(const char *a, const char *b, size_t max);
/* Nonzero when s ends with suffix. */
int endswith(const char *s, const char *suffix);
#endif
