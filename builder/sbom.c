#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "alloc.h"
#include "diag.h"
#include "json.h"
#include "os.h"
#include "recipe.h"
#include "sbom.h"
#include "sha256.h"
#include "solve.h"
#include "str.h"

/* An SPDX id: prefix, then name with every character other than letters,
 * digits and '-' as ".HH" ('.' is never copied, so the mapping is one to
 * one and two package names never share an id). */
static void
spdxid(struct buf *b, const char *prefix, const char *name)
{
	bufaddc(b, '"');
	bufadds(b, prefix);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-')
			bufaddc(b, (char)*p);
		else
			bufprintf(b, ".%02X", *p);
	}
	bufaddc(b, '"');
}

static void
pkgid(struct buf *b, const struct planpkg *p)
{
	spdxid(b, "SPDXRef-Package-", p->r->name);
}

/* "key": "value",\n at the given indent (value JSON-escaped). */
static void
field(struct buf *b, const char *indent, const char *key, const char *value, int last)
{
	bufprintf(b, "%s\"%s\": ", indent, key);
	jsonstr(b, value);
	bufadds(b, last ? "\n" : ",\n");
}

/* The sha256 that names the contents in documentNamespace. */
static void
contenthash(const struct role *flat, const struct plan *pl, char (*keys)[65], const char *img, char hex[65])
{
	struct sha256 h;
	struct buf b = {0};

	bufprintf(&b, "role %s\n", flat->name);
	for (size_t i = 0; i < pl->n; i++)
		bufprintf(&b, "%s %s %s %s\n", pl->pkgs[i].r->name, pl->pkgs[i].r->evr, keys ? keys[i] : "-",
		          pl->pkgs[i].runtime ? "runtime" : "build-only");
	bufprintf(&b, "image %s\n", img ? img : "-");
	sha256init(&h);
	sha256add(&h, b.p, b.n);
	sha256finalhex(&h, hex);
	buffree(&b);
}

static int
header(struct buf *b, const struct role *flat, const char *ns, long long epoch)
{
	time_t t = (time_t)epoch;
	struct tm tm;
	char created[32];
	char *name = xasprintf("undistro-%s", flat->name);

	if (!gmtime_r(&t, &tm) || !strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		err("sbom: epoch %lld is not a representable time", epoch);
		free(name);
		return -1;
	}
	bufadds(b, "{\n");
	field(b, "  ", "spdxVersion", "SPDX-2.3", 0);
	field(b, "  ", "dataLicense", "CC0-1.0", 0);
	field(b, "  ", "SPDXID", "SPDXRef-DOCUMENT", 0);
	field(b, "  ", "name", name, 0);
	field(b, "  ", "documentNamespace", ns, 0);
	bufadds(b, "  \"creationInfo\": {\n");
	field(b, "    ", "created", created, 0);
	bufadds(b, "    \"creators\": [\"Tool: " SBOMTOOL "\"]\n  },\n");
	free(name);
	return 0;
}

static void
imagepkg(struct buf *b, const struct role *flat, const char *img, const char *commit)
{
	char *name = xasprintf("undistro-%s", flat->name);

	bufadds(b, "  \"packages\": [\n    {\n      \"SPDXID\": \"SPDXRef-Image\",\n");
	field(b, "      ", "name", name, 0);
	if (commit)
		field(b, "      ", "versionInfo", commit, 0);
	field(b, "      ", "supplier", "NOASSERTION", 0);
	field(b, "      ", "downloadLocation", "NOASSERTION", 0);
	bufadds(b, "      \"filesAnalyzed\": false,\n");
	if (img)
		bufprintf(b, "      \"checksums\": [{\"algorithm\": \"SHA256\", \"checksumValue\": \"%s\"}],\n", img);
	field(b, "      ", "licenseConcluded", "NOASSERTION", 0);
	field(b, "      ", "licenseDeclared", "NOASSERTION", 0);
	field(b, "      ", "copyrightText", "NOASSERTION", 0);
	field(b, "      ", "primaryPackagePurpose", "OPERATING-SYSTEM", 0);
	if (flat->desc)
		field(b, "      ", "summary", flat->desc, 0);
	field(b, "      ", "comment", "The role's bootable disk image (disk.raw); the checksum is disk.raw's.", 1);
	bufadds(b, "    }");
	free(name);
}

/* sourceInfo: every source and patch with its sha256. */
static void
sourceinfo(struct buf *b, const struct recipe *r)
{
	struct buf s = {0};

	bufadds(&s, "built from source by undistro");
	for (size_t i = 0; i < r->nsources; i++) {
		const struct source *src = &r->sources[i];

		/* no file:// location: where the tree was checked out is nobody's business */
		if (src->dir) {
			bufprintf(&s, "; in-tree: %s content sha256 %s (undistro's directory hash)", src->dir,
			          src->dirhash ? src->dirhash : "-");
			continue;
		}
		bufprintf(&s, "; source %s sha256 %s", src->file ? src->file : "-", src->sha256);
		for (size_t u = 0; u < src->urls.n; u++)
			bufprintf(&s, " %s", src->urls.v[u]);
		if (src->debian)
			bufprintf(&s, " (also in Debian source package %s %s)", src->debian,
			          src->debianversion ? src->debianversion : "");
	}
	for (size_t i = 0; i < r->npatches; i++)
		bufprintf(&s, "; patch %s%s sha256 %s", r->patches[i].file, r->patches[i].debian ? " (Debian)" : "",
		          r->patches[i].sha256);
	field(b, "      ", "sourceInfo", s.p, 0);
	buffree(&s);
}

static void
comment(struct buf *b, const struct planpkg *p, const char *key)
{
	struct buf s = {0};

	bufprintf(&s, "release %ld; store key %s; %s", p->r->release, key ? key : "-",
	          p->runtime ? "runtime (in the image)" : "build-only (not in the image)");
	for (size_t f = 0; f < p->r->nflags; f++)
		bufprintf(&s, "%s%s=%s", f ? " " : "; flags ", p->r->flags[f].name, p->flags[f]);
	for (size_t i = 0; i < p->r->nsources; i++)
		if (p->r->sources[i].dir)
			bufprintf(&s, "; in-tree: %s", p->r->sources[i].dir);
	field(b, "      ", "comment", s.p, 1);
	buffree(&s);
}

static void
planpkgout(struct buf *b, const struct planpkg *p, const char *key)
{
	const struct recipe *r = p->r;
	const char *dl = r->nsources && r->sources[0].urls.n ? r->sources[0].urls.v[0] : "NOASSERTION";

	bufadds(b, ",\n    {\n      \"SPDXID\": ");
	pkgid(b, p);
	bufadds(b, ",\n");
	field(b, "      ", "name", r->name, 0);
	field(b, "      ", "versionInfo", r->version, 0);
	field(b, "      ", "supplier", "NOASSERTION", 0);
	field(b, "      ", "downloadLocation", dl, 0);
	bufadds(b, "      \"filesAnalyzed\": false,\n");
	/* a package checksum is a downloaded file's: an in-tree directory has
	 * none (its content hash is in sourceInfo) */
	if (r->nsources && r->sources[0].sha256)
		bufprintf(b, "      \"checksums\": [{\"algorithm\": \"SHA256\", \"checksumValue\": \"%s\"}],\n",
		          r->sources[0].sha256);
	if (r->homepage)
		field(b, "      ", "homepage", r->homepage, 0);
	sourceinfo(b, r);
	field(b, "      ", "licenseConcluded", r->license, 0);
	field(b, "      ", "licenseDeclared", r->license, 0);
	field(b, "      ", "copyrightText", "NOASSERTION", 0);
	if (r->desc)
		field(b, "      ", "summary", r->desc, 0);
	comment(b, p, key);
	bufadds(b, "    }");
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The LicenseRef ids of every recipe's license, sorted, without repeats;
 * *n receives the count. Each id is malloc'd. */
static char **
licenserefs(const struct plan *pl, size_t *n)
{
	char **v = NULL;
	size_t nv = 0, i, k;

	for (i = 0; i < pl->n; i++) {
		const char *s = pl->pkgs[i].r->license, *e;

		for (; (s = strstr(s, "LicenseRef-")); s = e) {
			for (e = s; *e && *e != ' ' && *e != '(' && *e != ')'; e++)
				;
			if (s != pl->pkgs[i].r->license && s[-1] == ':')
				continue;   /* DocumentRef-X:LicenseRef-Y is another document's */
			v = xreallocarray(v, nv + 1, sizeof(*v));
			v[nv++] = xstrndup(s, (size_t)(e - s));
		}
	}
	if (nv)
		qsort(v, nv, sizeof(*v), cmpstr);
	for (i = k = 0; i < nv; i++) {
		if (k && !strcmp(v[k - 1], v[i]))
			free(v[i]);
		else
			v[k++] = v[i];
	}
	*n = k;
	return v;
}

/* Nonzero when the license expression lic names the id (a whole token). */
static int
hasref(const char *lic, const char *id)
{
	size_t l = strlen(id);

	for (const char *s = lic; (s = strstr(s, id)); s += l)
		if ((s == lic || strchr(" (", s[-1])) && (!s[l] || strchr(" ()", s[l])))
			return 1;
	return 0;
}

/* hasExtractedLicensingInfos: SPDX requires one entry per LicenseRef used. */
static void
extracted(struct buf *b, const struct plan *pl)
{
	size_t n, i, j;
	char **ids = licenserefs(pl, &n);

	if (n)
		bufadds(b, "  \"hasExtractedLicensingInfos\": [\n");
	for (i = 0; i < n; i++) {
		struct buf text = {0};
		const char *sep = "";

		bufadds(&text, "Named in the license of the undistro recipe of:");
		for (j = 0; j < pl->n; j++)
			if (hasref(pl->pkgs[j].r->license, ids[i]))
				bufprintf(&text, "%s %s %s", sep, pl->pkgs[j].r->name, pl->pkgs[j].r->version), sep = ",";
		bufadds(&text, ". The text is in those packages' sources (their downloadLocation).");
		bufadds(b, "    {\n");
		field(b, "      ", "licenseId", ids[i], 0);
		field(b, "      ", "name", ids[i] + strlen("LicenseRef-"), 0);
		field(b, "      ", "extractedText", text.p, 1);
		bufadds(b, i + 1 < n ? "    },\n" : "    }\n  ],\n");
		buffree(&text);
		free(ids[i]);
	}
	free(ids);
}

static void
relation(struct buf *b, int *first, const char *from, const char *type, const char *to)
{
	bufprintf(b, "%s    {\"spdxElementId\": %s, \"relationshipType\": \"%s\", \"relatedSpdxElement\": %s}",
	          *first ? "" : ",\n", from, type, to);
	*first = 0;
}

static void
relationships(struct buf *b, const struct plan *pl)
{
	struct buf a = {0}, d = {0};
	int first = 1;
	size_t i, k;

	bufadds(b, "  \"relationships\": [\n");
	relation(b, &first, "\"SPDXRef-DOCUMENT\"", "DESCRIBES", "\"SPDXRef-Image\"");
	for (i = 0; i < pl->n; i++) {
		if (!pl->pkgs[i].runtime)
			continue;
		a.n = 0;
		pkgid(&a, &pl->pkgs[i]);
		relation(b, &first, "\"SPDXRef-Image\"", "CONTAINS", a.p);
	}
	for (i = 0; i < pl->n; i++) {
		const struct planpkg *p = &pl->pkgs[i];

		a.n = 0;
		pkgid(&a, p);
		for (k = 0; k < p->nrundeps; k++) {
			d.n = 0;
			pkgid(&d, &pl->pkgs[p->rundeps[k]]);
			relation(b, &first, a.p, "DEPENDS_ON", d.p);
		}
		for (k = 0; k < p->nbuilddeps; k++) {
			d.n = 0;
			pkgid(&d, &pl->pkgs[p->builddeps[k]]);
			relation(b, &first, d.p, "BUILD_DEPENDENCY_OF", a.p);
		}
	}
	bufadds(b, "\n  ]\n}\n");
	buffree(&a);
	buffree(&d);
}

int
sbomwrite(const char *path, const struct role *flat, const struct plan *pl, char (*keys)[65],
          const char *imagesha256, long long epoch, const char *commit)
{
	struct buf b = {0};
	char content[65], *ns;
	int r = -1;

	contenthash(flat, pl, keys, imagesha256, content);
	ns = xasprintf("https://undistro.invalid/spdx/%s/%s/%s", flat->name, commit ? commit : "unknown", content);
	if (header(&b, flat, ns, epoch) == 0) {
		imagepkg(&b, flat, imagesha256, commit);
		for (size_t i = 0; i < pl->n; i++)
			planpkgout(&b, &pl->pkgs[i], keys ? keys[i] : NULL);
		bufadds(&b, "\n  ],\n");
		extracted(&b, pl);
		relationships(&b, pl);
		r = writeatomic(path, b.p, b.n, 0644);
	}
	free(ns);
	buffree(&b);
	return r;
}

/* A commit id: hex digits only (what git prints), else NULL. */
static char *
commitid(const char *s, size_t n)
{
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		n--;
	if (n == 0 || n > 64 || strspn(s, "0123456789abcdef") < n)
		return NULL;
	return xstrndup(s, n);
}

char *
sbomcommit(const char *top)
{
	const char *env = getenv("UNDISTRO_COMMIT");
	char *abs = realpath(top, NULL), *safe = xasprintf("safe.directory=%s", abs ? abs : top);
	/* safe.directory: git refuses a work tree another user owns (a build
	 * run as nobody in a checkout of root's), and this one was chosen */
	char *argv[] = {"git", "-c", safe, "-C", (char *)top, "rev-parse", "HEAD", NULL};
	char *git = xasprintf("%s/.git", top), *c = NULL;
	struct buf out = {0};

	if (env && *env) {
		c = commitid(env, strlen(env));
		if (!c)
			warn("UNDISTRO_COMMIT='%s' is not a commit id (hex digits): ignored", env);
	} else if (exists(git) && osruncapture(argv, NULL, NULL, &out) == 0 && out.p) {
		c = commitid(out.p, out.n);
	}
	free(git);
	free(safe);
	free(abs);
	buffree(&out);
	return c;
}

int
sbomrole(const char *outdir, const char *top, const struct role *flat, const struct plan *pl,
         char (*keys)[65], long long epoch)
{
	char *raw = xasprintf("%s/disk.raw", outdir), *path = xasprintf("%s/sbom.spdx.json", outdir);
	char *commit = sbomcommit(top), img[65];
	int r = -1;

	if (!exists(raw) || sha256file(raw, img) == 0)
		r = sbomwrite(path, flat, pl, keys, exists(raw) ? img : NULL, epoch, commit);
	free(raw);
	free(path);
	free(commit);
	return r;
}
