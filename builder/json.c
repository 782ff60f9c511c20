#include <stddef.h>
#include "json.h"
#include "str.h"

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not one
 * (overlong forms, surrogates and values past U+10FFFF are not). */
static size_t
utf8len(const unsigned char *s)
{
	size_t n, i;
	unsigned long c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;   /* also stops at the NUL */
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

void
jsonesc(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	bufadds(b, "");
	while (*p) {
		if (*p == '"' || *p == '\\')
			bufprintf(b, "\\%c", *p), n = 1;
		else if (*p == '\n')
			bufadds(b, "\\n"), n = 1;
		else if (*p == '\t')
			bufadds(b, "\\t"), n = 1;
		else if (*p < 0x20 || *p == 0x7f)
			bufprintf(b, "\\u%04x", *p), n = 1;
		else if ((n = utf8len(p)) > 0)
			bufaddn(b, (const char *)p, n);
		else
			bufadds(b, "\\ufffd"), n = 1;
		p += n;
	}
}

void
jsonstr(struct buf *b, const char *s)
{
	bufaddc(b, '"');
	jsonesc(b, s);
	bufaddc(b, '"');
}
