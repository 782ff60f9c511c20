/* The SBOM writer (sbom.h) on a synthetic tree written to a temporary
 * directory: a role with a runtime closure, a build-only package, a name
 * SPDX ids cannot hold as is, a LicenseRef, a recipe without sources and
 * one with an in-tree source.
 * Checks that the output parses as JSON (python3 -m json.tool), that it has
 * the expected packages, relationships, checksums and namespace, that the
 * same inputs give the same bytes and different contents a different
 * namespace, that tests/sbom/validate.py accepts it, and the JSON escaper
 * (json.h). $TOP is the repository (default "."). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <fcntl.h>
#include "alloc.h"
#include "diag.h"
#include "json.h"
#include "os.h"
#include "sbom.h"
#include "solve.h"
#include "target.h"
#include "str.h"
#include "tree.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define SHA_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define IMG   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char dir[] = "/tmp/test_sbom.XXXXXX";
static struct tree t;
static struct role flat;
static struct plan pl;
static char (*keys)[65];

static void
put(const char *rel, const char *text)
{
	char *p = xasprintf("%s/%s", dir, rel);

	assert_int_equal(writeatomic(p, text, strlen(text), 0644), 0);
	free(p);
}

static int
setup(void **state)
{
	char *d;

	assert_non_null(mkdtemp(dir));
	d = xasprintf("%s/recipes/roles", dir);
	assert_int_equal(mkdirp(d, 0755), 0);
	free(d);
	put("recipes/libc.recipe",
	    "name = libc\nversion = 1.2.3\nrelease = 2\ndesc = the \"C\" library\nlicense = MIT\n"
	    "toolchain = host\nsource {\n\turl = https://example.org/libc-1.2.3.tar.gz\n"
	    "\turl = https://mirror.example.org/libc-1.2.3.tar.gz\n\tsha256 = " SHA_A "\n}\n"
	    "install <<EOF\ntrue\nEOF\n");
	put("recipes/headers.recipe",
	    "name = headers\nversion = 6.1\nrelease = 1\ndesc = kernel headers\nlicense = GPL-2.0-only WITH Linux-syscall-note\n"
	    "toolchain = host\nsource {\n\turl = https://example.org/h.tar.xz\n\tsha256 = " SHA_B "\n}\n"
	    "install <<EOF\ntrue\nEOF\n");
	put("recipes/sshd.recipe",
	    "name = sshd\nversion = 2022.83\nrelease = 1\ndesc = ssh\n"
	    "license = MIT AND (Unlicense OR LicenseRef-Public-Domain)\n"
	    "homepage = https://example.org/sshd\ndepends = libc\nbuild-depends = libc, headers\n"
	    "source {\n\turl = https://example.org/sshd.tar.bz2\n\tsha256 = " SHA_C "\n}\n"
	    "flag password {\n\tdefault = no\n\tdesc = passwords\n}\n"
	    "install <<EOF\ntrue\nEOF\n");
	put("recipes/gtk+.recipe",
	    "name = gtk+\nversion = 1.0\nrelease = 1\ndesc = toolkit\nlicense = LicenseRef-Public-Domain\n"
	    "depends = libc\nbuild-depends = libc\ninstall <<EOF\ntrue\nEOF\n");
	/* an in-tree source: no location, no file checksum */
	d = xasprintf("%s/src/agent", dir);
	assert_int_equal(mkdirp(d, 0755), 0);
	free(d);
	put("src/agent/main.c", "int main(void) { return 0; }\n");
	put("recipes/agent.recipe",
	    "name = agent\nversion = 0.1\nrelease = 1\ndesc = first-boot agent\nlicense = MIT\n"
	    "toolchain = host\nsource {\n\tdir = src/agent\n}\ninstall <<EOF\ntrue\nEOF\n");
	put("recipes/roles/box.role", "name = box\ndesc = a test box\npackages = sshd, gtk+, agent\n");
	assert_int_equal(treeload(&t, dir), 0);
	roleflatten(&t, treerole(&t, "box"), &flat);
	assert_int_equal(solverole(&t, &flat, targethost(), &pl), 0);
	keys = xcalloc(pl.n, sizeof(*keys));
	for (size_t i = 0; i < pl.n; i++)
		snprintf(keys[i], sizeof(keys[i]), "%064zx", i + 1);
	return 0;
}

static int
teardown(void **state)
{
	free(keys);
	planfree(&pl);
	treefree(&t);
	rmtree(dir);
	return 0;
}

/* Write the SBOM to dir/NAME and return its text (malloc'd). */
static char *
sbom(const char *name, const char *img, const char *commit)
{
	char *path = xasprintf("%s/%s", dir, name), *data;
	size_t n;

	assert_int_equal(sbomwrite(path, &flat, &pl, keys, img, 1700000000, commit), 0);
	assert_int_equal(readfile(path, &data, &n), 0);
	assert_int_equal(strlen(data), n);
	free(path);
	return data;
}

/* Nonzero when python3's json module accepts the file dir/NAME. */
static int
jsonvalid(const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	char *argv[] = {"python3", "-m", "json.tool", path, NULL};
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC), r;

	assert_true(fd >= 0);
	r = osrun(argv, NULL, NULL, fd);
	close(fd);
	free(path);
	return r == 0;
}

/* tests/sbom/validate.py (schema, ids, relationships, license list) on
 * dir/NAME: the validator the end-to-end test runs on a real build. */
static void
spdxvalid(const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	char *script = xasprintf("%s/tests/sbom/validate.py", getenv("TOP") ? getenv("TOP") : ".");
	char *argv[] = {"/usr/bin/python3", script, path, NULL};

	assert_int_equal(osrun(argv, NULL, NULL, -1), 0);
	free(script);
	free(path);
}

static void
has(const char *doc, const char *needle)
{
	if (!strstr(doc, needle))
		fail_msg("missing from the SBOM: %s", needle);
}

static void
document(void **state)
{
	char *doc = sbom("a.json", IMG, "deadbeef");

	assert_true(jsonvalid("a.json"));
	spdxvalid("a.json");
	has(doc, "\"spdxVersion\": \"SPDX-2.3\"");
	has(doc, "\"dataLicense\": \"CC0-1.0\"");
	has(doc, "\"SPDXID\": \"SPDXRef-DOCUMENT\"");
	has(doc, "\"name\": \"undistro-box\"");
	has(doc, "\"documentNamespace\": \"https://undistro.invalid/spdx/box/deadbeef/");
	has(doc, "\"created\": \"2023-11-14T22:13:20Z\"");
	has(doc, "\"creators\": [\"Tool: undistro-0.1\"]");
	has(doc, "\"SPDXID\": \"SPDXRef-Image\"");
	has(doc, "\"checksumValue\": \"" IMG "\"");
	has(doc, "\"summary\": \"a test box\"");
	assert_null(strstr(doc, "uuid"));
	free(doc);
}

static void
packages(void **state)
{
	char *doc = sbom("b.json", IMG, "deadbeef");

	/* every package of the plan, runtime and build-only */
	has(doc, "\"SPDXID\": \"SPDXRef-Package-libc\",\n      \"name\": \"libc\",\n"
	         "      \"versionInfo\": \"1.2.3\",\n      \"supplier\": \"NOASSERTION\",\n"
	         "      \"downloadLocation\": \"https://example.org/libc-1.2.3.tar.gz\",\n"
	         "      \"filesAnalyzed\": false,\n"
	         "      \"checksums\": [{\"algorithm\": \"SHA256\", \"checksumValue\": \"" SHA_A "\"}],\n");
	has(doc, "\"summary\": \"the \\\"C\\\" library\"");
	has(doc, "source libc-1.2.3.tar.gz sha256 " SHA_A " https://example.org/libc-1.2.3.tar.gz "
	         "https://mirror.example.org/libc-1.2.3.tar.gz");
	has(doc, "\"licenseDeclared\": \"GPL-2.0-only WITH Linux-syscall-note\"");
	has(doc, "\"licenseConcluded\": \"MIT AND (Unlicense OR LicenseRef-Public-Domain)\"");
	has(doc, "\"homepage\": \"https://example.org/sshd\"");
	has(doc, "release 2; store key ");
	has(doc, "build-only (not in the image)");
	has(doc, "runtime (in the image); flags password=no");
	/* gtk+: '+' is not allowed in SPDX ids; no source: NOASSERTION, no checksum */
	has(doc, "\"SPDXID\": \"SPDXRef-Package-gtk.2B\",\n      \"name\": \"gtk+\",\n"
	         "      \"versionInfo\": \"1.0\",\n      \"supplier\": \"NOASSERTION\",\n"
	         "      \"downloadLocation\": \"NOASSERTION\",\n      \"filesAnalyzed\": false,\n"
	         "      \"sourceInfo\"");
	/* agent: an in-tree source, named by its path in the tree and content
	 * hash; no location (nothing says where the tree was checked out) */
	has(doc, "\"SPDXID\": \"SPDXRef-Package-agent\",\n      \"name\": \"agent\",\n"
	         "      \"versionInfo\": \"0.1\",\n      \"supplier\": \"NOASSERTION\",\n"
	         "      \"downloadLocation\": \"NOASSERTION\",\n      \"filesAnalyzed\": false,\n"
	         "      \"sourceInfo\": \"built from source by undistro; in-tree: src/agent content sha256 ");
	has(doc, treerecipe(&t, "agent")->sources[0].dirhash);
	has(doc, "runtime (in the image); in-tree: src/agent\"");
	assert_null(strstr(doc, "file://"));
	assert_null(strstr(doc, dir));
	/* one extracted licensing info per LicenseRef, naming its users */
	has(doc, "\"licenseId\": \"LicenseRef-Public-Domain\",\n      \"name\": \"Public-Domain\",\n"
	         "      \"extractedText\": \"Named in the license of the undistro recipe of: gtk+ 1.0, sshd 2022.83.");
	assert_null(strstr(strstr(doc, "\"licenseId\"") + 1, "\"licenseId\""));
	free(doc);
}

static void
relationships(void **state)
{
	char *doc = sbom("c.json", NULL, NULL);

#define REL(a, t, b) "{\"spdxElementId\": \"" a "\", \"relationshipType\": \"" t "\", \"relatedSpdxElement\": \"" b "\"}"
	has(doc, REL("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image"));
	has(doc, REL("SPDXRef-Image", "CONTAINS", "SPDXRef-Package-libc"));
	has(doc, REL("SPDXRef-Image", "CONTAINS", "SPDXRef-Package-sshd"));
	has(doc, REL("SPDXRef-Image", "CONTAINS", "SPDXRef-Package-gtk.2B"));
	assert_null(strstr(doc, REL("SPDXRef-Image", "CONTAINS", "SPDXRef-Package-headers")));
	has(doc, REL("SPDXRef-Package-sshd", "DEPENDS_ON", "SPDXRef-Package-libc"));
	has(doc, REL("SPDXRef-Package-gtk.2B", "DEPENDS_ON", "SPDXRef-Package-libc"));
	has(doc, REL("SPDXRef-Package-headers", "BUILD_DEPENDENCY_OF", "SPDXRef-Package-sshd"));
	has(doc, REL("SPDXRef-Package-libc", "BUILD_DEPENDENCY_OF", "SPDXRef-Package-sshd"));
#undef REL
	/* no image checksum, no commit: still valid, "unknown" in the namespace */
	assert_true(jsonvalid("c.json"));
	spdxvalid("c.json");
	has(doc, "https://undistro.invalid/spdx/box/unknown/");
	assert_null(strstr(doc, "\"checksumValue\": \"" IMG));
	free(doc);
}

static void
reproducible(void **state)
{
	char *a = sbom("d1.json", IMG, "deadbeef"), *b = sbom("d2.json", IMG, "deadbeef");
	char *c = sbom("d3.json", SHA_A, "deadbeef"), *ns, *nc;

	assert_string_equal(a, b);
	/* another image: another namespace */
	ns = strstr(a, "documentNamespace");
	nc = strstr(c, "documentNamespace");
	assert_non_null(ns);
	assert_non_null(nc);
	assert_memory_not_equal(ns, nc, 150);
	free(a);
	free(b);
	free(c);
}

static void
badpath(void **state)
{
	char *path = xasprintf("%s/missing/dir/sbom.json", dir);

	diagsilent = 1;
	assert_int_equal(sbomwrite(path, &flat, &pl, keys, NULL, 0, NULL), -1);
	diagsilent = 0;
	free(path);
}

static void
commit(void **state)
{
	char *c;

	setenv("UNDISTRO_COMMIT", "0123abcd\n", 1);
	c = sbomcommit(dir);
	assert_string_equal(c, "0123abcd");
	free(c);
	quiet = 1;
	setenv("UNDISTRO_COMMIT", "not a commit", 1);
	assert_null(sbomcommit(dir));
	quiet = 0;
	unsetenv("UNDISTRO_COMMIT");
	assert_null(sbomcommit(dir));   /* not a git work tree */
}

static void
gitcommit(void **state)
{
	char *cmd = xasprintf("cd %s && git init -q g && cd g && git -c user.name=t -c user.email=t@t "
	                      "commit -q --allow-empty -m x && git rev-parse HEAD >../head", dir);
	char *g = xasprintf("%s/g", dir), *head = xasprintf("%s/head", dir), *want, *c;
	size_t n;

	assert_int_equal(system(cmd), 0);
	assert_int_equal(readfile(head, &want, &n), 0);
	assert_int_equal(n, 41);
	want[40] = '\0';
	c = sbomcommit(g);
	assert_non_null(c);
	assert_string_equal(c, want);
	free(c);
	free(want);
	free(head);
	free(g);
	free(cmd);
}

static void
escape(void **state)
{
	struct buf b = {0};

	jsonstr(&b, "a\"b\\c\n\t\x01\x7f");
	assert_string_equal(b.p, "\"a\\\"b\\\\c\\n\\t\\u0001\\u007f\"");
	b.n = 0;
	jsonesc(&b, "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");   /* é € 😀 kept */
	assert_string_equal(b.p, "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	b.n = 0;
	jsonesc(&b, "\xff\xc3(\xc0\xaf\xed\xa0\x80\xe2\x82");   /* invalid, overlong, surrogate, cut */
	assert_string_equal(b.p, "\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd");
	b.n = 0;
	jsonesc(&b, "");
	assert_string_equal(b.p, "");
	buffree(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(document),
		cmocka_unit_test(packages),
		cmocka_unit_test(relationships),
		cmocka_unit_test(reproducible),
		cmocka_unit_test(badpath),
		cmocka_unit_test(commit),
		cmocka_unit_test(gitcommit),
		cmocka_unit_test(escape),
	};
	int r;

	setvbuf(stdout, NULL, _IONBF, 0);
	r = cmocka_run_group_tests(tests, setup, teardown);
	fflush(stdout);
	return r;
}
