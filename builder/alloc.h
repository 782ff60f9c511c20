#ifndef UNDISTRO_ALLOC_H
#define UNDISTRO_ALLOC_H
/* Overflow-checked allocation. The x* helpers never return NULL: running out
 * of memory is reported and exits with EXIT_SYSTEM. Per-run data lives in
 * arenas, freed all at once. */
#include <stddef.h>

/* Allocate n bytes. */
void *xmalloc(size_t n);
/* Allocate n zeroed elements of size sz, checking n*sz for overflow. */
void *xcalloc(size_t n, size_t sz);
/* Resize p to n elements of size sz, checking n*sz for overflow. */
void *xreallocarray(void *p, size_t n, size_t sz);
/* Duplicate a string, or its first n bytes (NUL-terminated). */
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
/* printf into a new string. */
char *xasprintf(const char *, ...);
/* a, b and c concatenated into a new string: paths built in loops over
 * thousands of files, where xasprintf's formatting shows in profiles. */
char *xconcat(const char *a, const char *b, const char *c);

struct arena {
	struct arenablock *head;
};

/* n zeroed elements of size sz from the arena; aligned for any type. */
void *arenaalloc(struct arena *, size_t n, size_t sz);
/* A NUL-terminated copy of the n bytes at s. */
char *arenastrndup(struct arena *, const char *s, size_t n);
char *arenastrdup(struct arena *, const char *s);
/* Grow the arena array v of *n elements (of size sz) by one zeroed element;
 * returns the array's (possibly moved) base. Old storage stays in the arena.
 * Use through ARENAPUSH, which yields a pointer to the new element. */
void *arenagrow(struct arena *, void *v, size_t *n, size_t sz);
#define ARENAPUSH(a, v, n) \
	((v) = arenagrow((a), (v), &(n), sizeof(*(v))), &(v)[(n) - 1])
/* Free every block of the arena. */
void arenafree(struct arena *);
#endif
