#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "diag.h"
#include "syntax.h"

struct lexer {
	struct arena *a;
	const char *file, *buf;
	size_t n, pos;       /* pos: start of the current line */
	int line;
	struct loc here;
};

static int
iskeystart(int c)
{
	return c >= 'a' && c <= 'z';
}

static int
iskeychar(int c)
{
	return iskeystart(c) || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static int
islabelchar(int c)
{
	return iskeychar(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '+';
}

static int
isblank_(int c)
{
	return c == ' ' || c == '\t';
}

/* The location of column col (0-based) of the current line. */
static struct loc *
at(struct lexer *l, size_t col)
{
	l->here = (struct loc){l->file, l->line, (int)col + 1};
	return &l->here;
}

/* The current line as [s, s+len), without its newline; advances pos. */
static int
nextline(struct lexer *l, const char **s, size_t *len)
{
	const char *nl;

	if (l->pos >= l->n)
		return 0;
	*s = l->buf + l->pos;
	nl = memchr(*s, '\n', l->n - l->pos);
	*len = nl ? (size_t)(nl - *s) : l->n - l->pos;
	l->pos += *len + (nl != NULL);
	l->line++;
	return 1;
}

/* Unquote "..." starting at s[i]; the closing quote must end the line. */
static char *
unquote(struct lexer *l, const char *s, size_t i, size_t len)
{
	struct buf b = {0};
	char *r;
	size_t j;

	for (j = i + 1; j < len && s[j] != '"'; j++) {
		if (s[j] == '\\' && j + 1 < len) {
			j++;
			switch (s[j]) {
			case 'n': bufaddc(&b, '\n'); break;
			case 't': bufaddc(&b, '\t'); break;
			case '"': case '\\': bufaddc(&b, s[j]); break;
			default:
				errat(at(l, j - 1), "unknown escape '\\%c' in quoted string; use \\\", \\\\, \\n or \\t", s[j]);
				buffree(&b);
				return NULL;
			}
		} else {
			bufaddc(&b, s[j]);
		}
	}
	if (j >= len) {
		errat(at(l, i), "unterminated quoted string; add a closing '\"'");
		buffree(&b);
		return NULL;
	}
	for (j++; j < len && isblank_(s[j]); j++)
		;
	if (j < len) {
		errat(at(l, j), "unexpected text after quoted string");
		buffree(&b);
		return NULL;
	}
	r = arenastrndup(l->a, b.p ? b.p : "", b.n);
	buffree(&b);
	return r;
}

/* Read a heredoc body up to the line holding only tag. */
static char *
heredoc(struct lexer *l, const char *tag, size_t taglen, int startline)
{
	const char *s, *body = l->buf + l->pos;
	size_t len, i, e;

	while (nextline(l, &s, &len)) {
		for (i = 0; i < len && isblank_(s[i]); i++)
			;
		for (e = len; e > i && isblank_(s[e - 1]); e--)
			;
		if (e - i == taglen && memcmp(s + i, tag, taglen) == 0)
			return arenastrndup(l->a, body, (size_t)(s - body));
	}
	{
		struct loc loc = {l->file, startline, 1};
		errat(&loc, "script started here is never closed: add a line '%.*s'", (int)taglen, tag);
	}
	return NULL;
}

/* Parse one non-blank, non-comment line starting at column i into *nd.
 * Returns 1 for a node, 2 for a block opening, 3 for a block close, 0 on error. */
static int
parseline(struct lexer *l, const char *s, size_t len, size_t i, struct node *nd)
{
	size_t k, e;

	if (s[i] == '}') {
		for (k = i + 1; k < len && isblank_(s[k]); k++)
			;
		if (k < len) {
			errat(at(l, k), "unexpected text after '}'");
			return 0;
		}
		return 3;
	}
	if (!iskeystart((unsigned char)s[i])) {
		if (s[i] >= 'A' && s[i] <= 'Z')
			errat(at(l, i), "keys are lower case: expected a key such as 'name = ...'");
		else
			errat(at(l, i), "expected a key (lower-case letters, digits, '-'), a '}' or a '#' comment, not '%c'", (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?');
		return 0;
	}
	for (k = i; k < len && iskeychar((unsigned char)s[k]); k++)
		;
	nd->key = arenastrndup(l->a, s + i, k - i);
	nd->kloc = (struct loc){l->file, l->line, (int)i + 1};
	for (; k < len && isblank_(s[k]); k++)
		;
	if (k < len && s[k] == '=') {
		for (k++; k < len && isblank_(s[k]); k++)
			;
		nd->kind = NODE_VALUE;
		nd->vloc = (struct loc){l->file, l->line, (int)k + 1};
		if (k < len && s[k] == '"') {
			nd->value = unquote(l, s, k, len);
			return nd->value ? 1 : 0;
		}
		for (e = len; e > k && isblank_(s[e - 1]); e--)
			;
		nd->value = arenastrndup(l->a, s + k, e - k);
		return 1;
	}
	if (k + 1 < len && s[k] == '<' && s[k + 1] == '<') {
		size_t t = k + 2, te;
		int start = l->line;
		char q = 0;

		for (; t < len && isblank_(s[t]); t++)
			;
		if (t < len && (s[t] == '\'' || s[t] == '"'))
			q = s[t++];
		for (te = t; te < len && (islabelchar((unsigned char)s[te])); te++)
			;
		if (te == t) {
			errat(at(l, t), "expected a terminator word after '<<', as in '%s <<EOF'", nd->key);
			return 0;
		}
		/* a quoted tag ('EOF', "EOF") closes with its quote; nothing may
		 * follow: the shell would read it, undistro would not */
		e = te;
		if (q && e < len && s[e] == q)
			e++;
		for (; e < len && isblank_(s[e]); e++)
			;
		if (e < len) {
			errat(at(l, e), "unexpected text after '<<%.*s': the script starts on the next line",
			      (int)(te - t), s + t);
			heredoc(l, s + t, te - t, start);
			return 0;
		}
		nd->kind = NODE_SCRIPT;
		nd->vloc = (struct loc){l->file, l->line + 1, 1};
		nd->value = heredoc(l, s + t, te - t, start);
		return nd->value ? 1 : 0;
	}
	if (k < len && islabelchar((unsigned char)s[k]) && s[k] != '{') {
		for (e = k; e < len && islabelchar((unsigned char)s[e]); e++)
			;
		nd->label = arenastrndup(l->a, s + k, e - k);
		nd->lloc = (struct loc){l->file, l->line, (int)k + 1};
		for (k = e; k < len && isblank_(s[k]); k++)
			;
	}
	if (k < len && s[k] == '{') {
		for (e = k + 1; e < len && isblank_(s[e]); e++)
			;
		if (e < len) {
			errat(at(l, e), "unexpected text after '{': put each key on its own line");
			return 0;
		}
		nd->kind = NODE_BLOCK;
		return 2;
	}
	if (k >= len)
		errat(at(l, k), "key '%s' needs a value: write '%s = value'", nd->key, nd->key);
	else
		errat(at(l, k), "expected '=', '<<' or '{' after key '%s'", nd->key);
	return 0;
}

/* A carriage return anywhere (a CRLF file) is refused once, at the first:
 * values would carry it and the build's shell would choke on the scripts. */
static int
crlf(const char *file, const char *buf, size_t n)
{
	const char *cr = memchr(buf, '\r', n), *p, *ls = buf;
	struct loc loc = {file, 1, 1};
	size_t more = 0;

	if (!cr)
		return 0;
	for (p = buf; p < cr; p++)
		if (*p == '\n')
			loc.line++, ls = p + 1;
	loc.col = (int)(cr - ls) + 1;
	for (p = cr + 1; p < buf + n; p++)
		more += *p == '\r';
	errat(&loc, "carriage return (a CRLF line ending?)%s: convert the file to LF line endings "
	      "(dos2unix FILE, or sed -i 's/\\r$//' FILE)", more ? " here and further down" : "");
	return 1;
}

/* Nodes are collected in malloc'd vectors and copied into the arena once:
 * growing arrays inside the arena would keep every outgrown copy. */
struct nodevec {
	struct node *v;
	size_t n, cap;
};

static void
nodepush(struct nodevec *nv, const struct node *nd)
{
	if (nv->n == nv->cap) {
		nv->cap = nv->cap ? nv->cap * 2 : 16;
		nv->v = xreallocarray(nv->v, nv->cap, sizeof(*nv->v));
	}
	nv->v[nv->n++] = *nd;
}

static struct node *
nodecopy(struct arena *a, const struct nodevec *nv)
{
	struct node *v = arenaalloc(a, nv->n, sizeof(*v));

	if (nv->n)
		memcpy(v, nv->v, nv->n * sizeof(*v));
	return v;
}

/* Close the open block (the last top-level node): its kids move to the arena. */
static void
closeblock(struct arena *a, struct nodevec *top, struct nodevec *kids, int *open)
{
	struct node *b = &top->v[top->n - 1];

	b->kids = nodecopy(a, kids);
	b->nkids = kids->n;
	kids->n = 0;
	*open = 0;
}

int
syntaxparse(struct arena *a, const char *file, const char *buf, size_t n, struct nodelist *out)
{
	struct lexer l = {a, file, buf, n, 0, 0, {0}};
	struct nodevec top = {0}, kids = {0};
	int before = nerrors, open = 0, r;
	struct node nd;
	const char *s;
	size_t len, i;

	out->v = NULL;
	out->n = 0;
	if (memchr(buf, '\0', n)) {
		struct loc loc = {file, 0, 0};
		errat(&loc, "file contains a NUL byte: recipes and roles are text files");
		return 1;
	}
	if (crlf(file, buf, n))
		return 1;
	while (nextline(&l, &s, &len)) {
		for (i = 0; i < len && isblank_(s[i]); i++)
			;
		if (i == len || s[i] == '#')
			continue;
		memset(&nd, 0, sizeof(nd));
		r = parseline(&l, s, len, i, &nd);
		if (r == 0)
			continue;
		if (r == 3) {
			if (!open)
				errat(at(&l, i), "'}' without a block to close");
			else
				closeblock(a, &top, &kids, &open);
		} else if (r == 2 && open) {
			errat(at(&l, i), "blocks cannot nest: close block '%s' (line %d) with '}' first",
			      top.v[top.n - 1].key, top.v[top.n - 1].kloc.line);
		} else if (open) {
			nodepush(&kids, &nd);
		} else {
			nodepush(&top, &nd);
			open = r == 2;
		}
	}
	if (open) {
		errat(&top.v[top.n - 1].kloc, "block '%s' is never closed: add a line '}'", top.v[top.n - 1].key);
		closeblock(a, &top, &kids, &open);
	}
	out->v = nodecopy(a, &top);
	out->n = top.n;
	free(top.v);
	free(kids.v);
	return nerrors - before;
}
