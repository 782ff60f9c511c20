#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "diag.h"

static _Noreturn void
oom(void)
{
	fatal(EXIT_SYSTEM, "out of memory");
}

static size_t
mulsize(size_t n, size_t sz)
{
	if (sz && n > SIZE_MAX / sz)
		oom();
	return n * sz;
}

static size_t
addsize(size_t a, size_t b)
{
	if (a > SIZE_MAX - b)
		oom();
	return a + b;
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *
xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (!p)
		oom();
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t sz)
{
	size_t len = mulsize(n, sz);

	p = realloc(p, len ? len : 1);
	if (!p)
		oom();
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xconcat(const char *a, const char *b, const char *c)
{
	size_t na = strlen(a), nb = strlen(b), nc = strlen(c);
	char *p = xmalloc(addsize(addsize(na, nb), addsize(nc, 1)));

	memcpy(p, a, na);
	memcpy(p + na, b, nb);
	memcpy(p + na + nb, c, nc + 1);
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal(EXIT_SYSTEM, "vsnprintf:");
	p = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* Blocks are at least BLOCKSIZE; a larger request gets a block of its own. */
enum { BLOCKSIZE = 64 * 1024 };

struct arenablock {
	struct arenablock *next;
	size_t used, cap;
	max_align_t data[];
};

void *
arenaalloc(struct arena *a, size_t n, size_t sz)
{
	size_t len = mulsize(n, sz), align = sizeof(max_align_t);
	struct arenablock *b = a->head;
	void *p;

	len = len ? len : 1;
	if (len > SIZE_MAX - align)
		oom();
	len = (len + align - 1) / align * align;
	if (!b || b->cap - b->used < len) {
		size_t cap = len > BLOCKSIZE ? len : BLOCKSIZE;

		if (cap > SIZE_MAX - sizeof(*b))
			oom();
		b = xmalloc(sizeof(*b) + cap);
		b->used = 0;
		b->cap = cap;
		/* keep the partly used head so small allocations fill it */
		if (a->head && len > BLOCKSIZE) {
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	p = (char *)b->data + b->used;
	b->used += len;
	memset(p, 0, len);
	return p;
}

char *
arenastrndup(struct arena *a, const char *s, size_t n)
{
	char *p = arenaalloc(a, n + 1, 1);

	memcpy(p, s, n);
	return p;
}

char *
arenastrdup(struct arena *a, const char *s)
{
	return arenastrndup(a, s, strlen(s));
}

void *
arenagrow(struct arena *a, void *v, size_t *n, size_t sz)
{
	char *p;

	/* capacity doubles at powers of two, so growth is amortised O(1) */
	if (*n == 0 || (*n & (*n - 1)) == 0) {
		p = arenaalloc(a, *n ? *n * 2 : 1, sz);
		if (*n)
			memcpy(p, v, mulsize(*n, sz));
	} else {
		p = v;
	}
	memset(p + mulsize(*n, sz), 0, sz);
	++*n;
	return p;
}

void
arenafree(struct arena *a)
{
	struct arenablock *b, *next;

	for (b = a->head; b; b = next) {
		next = b->next;
		free(b);
	}
	a->head = NULL;
}
