/* Parser unit tests: good recipes and roles parse into the right fields; bad
 * ones give exactly the golden error messages (file:line:col: message). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "alloc.h"
#include "diag.h"
#include "recipe.h"
#include "str.h"

static struct arena a;

/* Run a parse with stderr captured; returns what it printed (static). */
static const char *
capture(struct recipe **rp, struct role **rop, const char *path, const char *text)
{
	static char out[8192];
	FILE *tmp = tmpfile();
	int saved = dup(2);
	size_t n;

	fflush(stderr);
	dup2(fileno(tmp), 2);
	nerrors = 0;
	if (rp)
		*rp = recipeparse(&a, path, "recipes", text, strlen(text));
	if (rop)
		*rop = roleparse(&a, path, text, strlen(text));
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, sizeof(out) - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	return out;
}

#define GOOD \
	"name = zstd\nversion = 1.5.4\nrelease = 2\ndesc = \"fast  compression\"\n" \
	"license = BSD-3-Clause OR GPL-2.0-only\ndepends = musl >= 1.2, libc\nbuild-depends = musl,linux-headers\n" \
	"source {\n\turl = https://example.org/zstd-1.5.4.tar.gz\n" \
	"\tsha256 = 8CF4BBB65E77EC348D052C8D6230EBA66D435BDDF64C8B5BE2FCB16880C19953\n\tdebian = libzstd 1.5.4+dfsg2-5\n}\n" \
	"flag static {\n\tdefault = no\n\tdesc = static\n\tmake = LDFLAGS=-static\n\tdepends = musl-static\n}\n" \
	"patch {\n\tfile = fix.patch\n\tsha256 = 0000000000000000000000000000000000000000000000000000000000000000\n\tstrip = 0\n}\n" \
	"keep = usr/bin/zstd\n# comment\nbuild <<EOF\nmake\n  EOF\ninstall <<EOF\nmake install\nEOF\n"

static void
good_recipe(void **state)
{
	struct recipe *r;
	const char *e = capture(&r, NULL, "recipes/zstd.recipe", GOOD);

	assert_string_equal(e, "");
	assert_non_null(r);
	assert_string_equal(r->name, "zstd");
	assert_string_equal(r->evr, "1.5.4-2");
	assert_string_equal(r->desc, "fast  compression");
	assert_int_equal(r->depends.n, 2);
	assert_string_equal(r->depends.v[0].name, "musl");
	assert_int_equal(r->depends.v[0].op, DEP_GE);
	assert_string_equal(r->depends.v[0].version, "1.2");
	assert_int_equal(r->depends.v[1].op, DEP_ANY);
	assert_int_equal(r->builddepends.n, 2);
	assert_int_equal(r->nsources, 1);
	assert_string_equal(r->sources[0].file, "zstd-1.5.4.tar.gz");
	assert_string_equal(r->sources[0].sha256, "8cf4bbb65e77ec348d052c8d6230eba66d435bddf64c8b5be2fcb16880c19953");
	assert_string_equal(r->sources[0].debian, "libzstd");
	assert_string_equal(r->sources[0].debianversion, "1.5.4+dfsg2-5");
	assert_int_equal(r->sources[0].strip, 1);
	assert_int_equal(r->nflags, 1);
	assert_string_equal(flagvalue(&r->flags[0], NULL), "no");
	assert_int_equal(r->flags[0].values.n, 2);
	assert_int_equal(r->npatches, 1);
	assert_int_equal(r->patches[0].strip, 0);
	assert_string_equal(r->build, "make\n");
	assert_string_equal(r->install, "make install\n");
	assert_int_equal(r->buildloc.line, 26);
	assert_null(r->test);
}

struct badcase {
	const char *text;   /* replaces the line marked @ in GOOD-like text */
	const char *want;
};

/* A minimal valid recipe with one line to vary (%s). */
static const char base[] =
	"name = x\nversion = 1.0\nrelease = 1\ndesc = d\nlicense = MIT\n%s\ninstall <<EOF\ntrue\nEOF\n";

static const struct badcase bad[] = {
	{"versoin = 2", "undistro: recipes/x.recipe:6:1: unknown key 'versoin' in a recipe (did you mean 'version'?)\n"},
	{"source {\nurl = http://e/x.tgz\nsha256 = abc\n}", "undistro: recipes/x.recipe:8:10: sha256 must be 64 hex digits, got 3: copy the whole output of sha256sum\n"},
	{"source {\nurl = http://e/x.tgz\nsha256 = 8cf4bbb65e77ec348d052c8d6230eba66d435bddf64c8b5be2fcb16880c1995z\n}", "undistro: recipes/x.recipe:8:73: sha256 has a non-hex character 'z': it must be 64 hex digits\n"},
	{"!!garbage", "undistro: recipes/x.recipe:6:1: expected a key (lower-case letters, digits, '-'), a '}' or a '#' comment, not '!'\n"},
	{"depends = musl >= 1.x-2", "undistro: recipes/x.recipe:6:11: bad version: it starts with a digit, then letters, digits or '.+~_' in 'musl >= 1.x-2'\n"},
	{"depends = musl => 1", "undistro: recipes/x.recipe:6:11: unknown operator: use <, <=, =, >= or > in 'musl => 1'\n"},
	{"depends = a,,b", "undistro: recipes/x.recipe:6:13: empty item in the list of 'depends' (two commas, or a trailing comma?)\n"},
	{"name = y", "undistro: recipes/x.recipe:6:1: 'name' given twice (first at line 1): remove one\n"},
	{"build = make", "undistro: recipes/x.recipe:6:1: 'build' takes a script: write 'build <<EOF', the lines, then 'EOF'\n"},
	{"homepage", "undistro: recipes/x.recipe:6:9: key 'homepage' needs a value: write 'homepage = value'\n"},
	{"flag {\ndefault = no\ndesc = x\n}", "undistro: recipes/x.recipe:6:1: 'flag' needs a name: write 'flag NAME {'\n"},
	{"flag f {\ndefault = maybe\ndesc = x\n}", "undistro: recipes/x.recipe:6:1: flag 'f': default 'maybe' is not one of its values\n"},
	{"sorce {\n}", "undistro: recipes/x.recipe:6:1: unknown block 'sorce' in a recipe (did you mean 'source'?)\n"},
	{"source {\nurl = http://e/x.tgz\n", "undistro: recipes/x.recipe:6:1: block 'source' is never closed: add a line '}'\n"},
	{"source {\nflag f {\n}", "undistro: recipes/x.recipe:7:1: blocks cannot nest: close block 'source' (line 6) with '}' first\n"},
	{"test <<END\nfoo", "undistro: recipes/x.recipe:6:1: script started here is never closed: add a line 'END'\n"},
	{"license2 = MIT", "undistro: recipes/x.recipe:6:1: unknown key 'license2' in a recipe (did you mean 'license'?)\n"},
	{"desc = \"unterminated", "undistro: recipes/x.recipe:6:8: unterminated quoted string; add a closing '\"'\n"},
	{"}", "undistro: recipes/x.recipe:6:1: '}' without a block to close\n"},
	{"toolchain = gcc", "undistro: recipes/x.recipe:6:13: 'toolchain' is one of stage2,host, not 'gcc'\n"},
	{"homepage = www.x.org", "undistro: recipes/x.recipe:6:12: bad URL 'www.x.org': use http://, https://, ftp:// or file://, with no blanks\n"},
	{"build-system = cmaek", "undistro: recipes/x.recipe:6:16: 'build-system' is one of none,autotools,cmake,meson,make,kconfig, "
	 "not 'cmaek' (did you mean 'cmake'?)\n"},
	{"build-system = scons", "undistro: recipes/x.recipe:6:16: 'build-system' is one of none,autotools,cmake,meson,make,kconfig, "
	 "not 'scons'\n"},
	{"build-system = make\nbuild-system = meson", "undistro: recipes/x.recipe:7:1: 'build-system' given twice (first at line 6): remove one\n"},
	{"configure-args = --a, --prefix=$HOME", "undistro: recipes/x.recipe:6:32: 'configure-args' items are passed as they are, one "
	 "argument each, without a shell: no quotes, '\\', '$' or '`' (blanks are fine: 'make-args = CFLAGS=-O2 -g, V=1')\n"},
	{"make-args = \"V='1'\"", "undistro: recipes/x.recipe:6:15: 'make-args' items are passed as they are, one "
	 "argument each, without a shell: no quotes, '\\', '$' or '`' (blanks are fine: 'make-args = CFLAGS=-O2 -g, V=1')\n"},
	{"make-args = a,,b", "undistro: recipes/x.recipe:6:15: empty item in the list of 'make-args' (two commas, or a trailing comma?)\n"},
	{"configure-args =", "undistro: recipes/x.recipe:6:17: 'configure-args' needs at least one item\n"},
};

static void
bad_recipes(void **state)
{
	char text[1024];
	struct recipe *r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), base, bad[i].text);
		const char *e = capture(&r, NULL, "recipes/x.recipe", text);
		if (strcmp(e, bad[i].want)) {
			print_message("case %zu: %s\ngot:  %swant: %s", i, bad[i].text, e, bad[i].want);
			fail();
		}
		assert_null(r);
	}
}

static void
bad_version_and_missing(void **state)
{
	struct recipe *r;
	const char *e = capture(&r, NULL, "recipes/x.recipe", "name = x\nversion = v1.0\n");

	assert_string_equal(e,
		"undistro: recipes/x.recipe:2:11: bad version 'v1.0': start with a digit, then letters, digits or '.+~_' ('-' separates the release)\n"
		"undistro: recipes/x.recipe:1:1: recipe has no 'release': add 'release = ...'\n"
		"undistro: recipes/x.recipe:1:1: recipe has no 'desc': add 'desc = ...'\n"
		"undistro: recipes/x.recipe:1:1: recipe has no 'license': add 'license = ...'\n"
		"undistro: recipes/x.recipe:1:1: recipe has no 'install' script: add 'install <<EOF' ... 'EOF', or a "
		"'build-system' (none,autotools,cmake,meson,make,kconfig) whose install step fits\n");
	assert_null(r);
	e = capture(&r, NULL, "recipes/y.recipe", "name = x\nversion = 1\nrelease = 1\ndesc = d\nlicense = MIT\ninstall <<E\nE\n");
	assert_string_equal(e, "undistro: recipes/y.recipe:1:1: name 'x' does not match the file name 'recipes/y.recipe': rename one of them\n");
	e = capture(&r, NULL, "recipes/x.recipe", "name = x\0\n");
	assert_null(r);
}

/* build-system gives the install step (so none is required), its host
 * programs become tools at its line (once), and the argument lists keep
 * blanks inside items. */
static void
build_system(void **state)
{
	struct recipe *r;
	const char *e = capture(&r, NULL, "recipes/x.recipe",
		"name = x\nversion = 1\nrelease = 1\ndesc = d\nlicense = MIT\ntools = ninja, bison\n"
		"build-system = cmake\nconfigure-args = -DA=on, -DB=x y\nconfigure-args = -DC=1\nmake-args = V=1\n");

	assert_string_equal(e, "");
	assert_non_null(r);
	assert_int_equal(r->buildsys, BSYS_CMAKE);
	assert_string_equal(buildsysname(r->buildsys), "cmake");
	assert_int_equal(r->buildsysloc.line, 7);
	assert_null(r->build);
	assert_null(r->install);
	assert_int_equal(r->configureargs.n, 3);
	assert_string_equal(r->configureargs.v[1], "-DB=x y");
	assert_int_equal(r->configureargs.loc[2].line, 9);
	assert_int_equal(r->makeargs.n, 1);
	assert_int_equal(r->tools.n, 3);
	assert_string_equal(r->tools.v[0], "ninja");
	assert_string_equal(r->tools.v[2], "cmake");
	assert_int_equal(r->tools.loc[2].line, 7);
	assert_int_equal(r->tools.loc[2].col, 1);

	e = capture(&r, NULL, "recipes/x.recipe",
		"name = x\nversion = 1\nrelease = 1\ndesc = d\nlicense = MIT\nbuild-system = meson\n");
	assert_string_equal(e, "");
	assert_int_equal(r->buildsys, BSYS_MESON);
	assert_int_equal(r->tools.n, 2);
	assert_string_equal(r->tools.v[0], "meson");
	assert_string_equal(r->tools.v[1], "ninja");

	/* autotools, make, kconfig need nothing beyond stage2/host-tools; none
	 * is the default, and then install is required */
	e = capture(&r, NULL, "recipes/x.recipe",
		"name = x\nversion = 1\nrelease = 1\ndesc = d\nlicense = MIT\nbuild-system = kconfig\n"
		"build <<EOF\ntrue\nEOF\n");
	assert_string_equal(e, "");
	assert_int_equal(r->buildsys, BSYS_KCONFIG);
	assert_int_equal(r->tools.n, 0);
	assert_non_null(r->build);
	e = capture(&r, NULL, "recipes/x.recipe",
		"name = x\nversion = 1\nrelease = 1\ndesc = d\nlicense = MIT\nbuild-system = none\n");
	assert_null(r);
	assert_non_null(strstr(e, "recipe has no 'install' script"));
}

static void
nul_byte(void **state)
{
	struct recipe *r;
	char text[] = "name = x\n\0junk";

	nerrors = 0;
	FILE *tmp = tmpfile();
	int saved = dup(2);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	r = recipeparse(&a, "recipes/x.recipe", "recipes", text, sizeof(text) - 1);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fclose(tmp);
	assert_null(r);
	assert_int_equal(nerrors, 1);
}

static void
good_role(void **state)
{
	struct role *ro;
	const char *e = capture(NULL, &ro, "recipes/roles/web.role",
		"name = web\ninclude = base\npackages = busybox, dropbear\n"
		"package busybox {\n\thttpd = yes\n}\n"
		"service httpd {\n\tcommand = /bin/httpd -f\n\tafter = network\n}\n"
		"user www {\n\tuid = 80\n}\n"
		"image {\n\tports = 22, 80/tcp, 53/udp\n\trootfs = erofs\n\tsize = 64\n}\n");

	assert_string_equal(e, "");
	assert_non_null(ro);
	assert_int_equal(ro->npkgs, 2);
	assert_string_equal(ro->pkgs[0].name, "busybox");
	assert_int_equal(ro->pkgs[0].nflags, 1);
	assert_string_equal(ro->pkgs[0].flags[0].value, "yes");
	assert_int_equal(ro->nservices, 1);
	assert_int_equal(ro->services[0].ready, 1);
	assert_int_equal(ro->users[0].uid, 80);
	assert_int_equal(ro->users[0].gid, -1);
	assert_int_equal(ro->image.rootfs, ROOTFS_EROFS);
	assert_int_equal(ro->image.ports.n, 3);
	assert_int_equal(ro->image.sizemb, 64);
}

static void
bad_roles(void **state)
{
	struct role *ro;
	const char *e = capture(NULL, &ro, "recipes/roles/web.role",
		"name = web\nservice s {\n\tcomand = x\n}\nimage {\n\tports = 0, 80, 53/sctp, 53/\n}\npackge x {\n}\n");

	assert_string_equal(e,
		"undistro: recipes/roles/web.role:3:2: unknown key 'comand' in a service block (did you mean 'command'?)\n"
		"undistro: recipes/roles/web.role:2:1: this service has no 'command': add 'command = ...'\n"
		"undistro: recipes/roles/web.role:6:10: port '0' is not a port number (1-65535), optionally followed by "
		"/tcp or /udp\n"
		"undistro: recipes/roles/web.role:6:17: port '53/sctp' is not a port number (1-65535), optionally followed by "
		"/tcp or /udp\n"
		"undistro: recipes/roles/web.role:6:26: port '53/' is not a port number (1-65535), optionally followed by "
		"/tcp or /udp\n"
		"undistro: recipes/roles/web.role:8:1: unknown block 'packge' in a role (did you mean 'package'?)\n");
	assert_null(ro);
}

static void
image_ports(void **state)
{
	int port = 0, udp = -1;

	assert_int_equal(imageport("53", &port, &udp), 0);
	assert_int_equal(port, 53);
	assert_int_equal(udp, 0);
	assert_int_equal(imageport("53/udp", &port, &udp), 0);
	assert_int_equal(udp, 1);
	assert_int_equal(imageport("65535/tcp", &port, &udp), 0);
	assert_int_equal(port, 65535);
	assert_int_equal(udp, 0);
	assert_int_equal(imageport("65536", &port, &udp), -1);
	assert_int_equal(imageport("0/udp", &port, &udp), -1);
	assert_int_equal(imageport("53/UDP", &port, &udp), -1);
	assert_int_equal(imageport("/udp", &port, &udp), -1);
	assert_int_equal(imageport(" 53", &port, &udp), -1);
	assert_int_equal(imageport("+53", &port, &udp), -1);
	assert_int_equal(imageport("53/udp ", &port, &udp), -1);
}

static void
deps(void **state)
{
	struct dep d;
	const char *msg;

	assert_int_equal(depparse(&a, "musl>=1.2", 9, &d, &msg), 0);
	assert_string_equal(d.name, "musl");
	assert_int_equal(d.op, DEP_GE);
	assert_int_equal(depparse(&a, " a < 2 ", 7, &d, &msg), 0);
	assert_int_equal(d.op, DEP_LT);
	assert_int_equal(depparse(&a, "a = ", 4, &d, &msg), -1);
	assert_int_equal(depparse(&a, "A", 1, &d, &msg), -1);
	assert_int_equal(depparse(&a, "", 0, &d, &msg), -1);
	assert_true(versionvalid("1.2.3+dfsg~rc1_x"));
	assert_false(versionvalid("1.2-3"));
	assert_false(versionvalid(""));
	assert_true(namevalid("libstdc++"));
	assert_false(namevalid("-x"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_recipe),
		cmocka_unit_test(bad_recipes),
		cmocka_unit_test(bad_version_and_missing),
		cmocka_unit_test(build_system),
		cmocka_unit_test(nul_byte),
		cmocka_unit_test(good_role),
		cmocka_unit_test(bad_roles),
		cmocka_unit_test(image_ports),
		cmocka_unit_test(deps),
	};
	int r;

	setvbuf(stdout, NULL, _IONBF, 0);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	arenafree(&a);
	return r;
}
