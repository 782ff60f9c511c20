/* Hostile input: the subcommand option parser (GNU-style permutation, "--",
 * missing values), the manifest escaping, SOURCE_DATE_EPOCH, reading files
 * the tree provides (FIFOs, devices, size bound) and the value checks that
 * guard generated files (recipe.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "alloc.h"
#include "cmd.h"
#include "diag.h"
#include "os.h"
#include "pipeline.h"
#include "recipe.h"
#include "str.h"

static const struct cmd testcmd = {
	.name = "test", .args = "[-o DIR] [-v] ARG...", .summary = "a test", .help = "",
};

static const struct cmdopt testopts[] = {
	{"out", 'o', CMDARG | CMDSHORT}, {"verbose", 'v', CMDSHORT}, {"json", 'J', 0}, {"arch", 'a', CMDARG},
	{NULL, 0, 0},
};

/* Parse argv (NULL-terminated, copied) with testopts; the options seen are
 * written to got as "KEY[=VALUE] ", the operands to ops as "OP ". Returns
 * cmdnext's last result. */
static int
parse(const char *const *argv, struct buf *got, struct buf *ops)
{
	char *v[32];
	int n = 0, r;

	for (; argv[n]; n++)
		v[n] = (char *)argv[n];
	v[n] = NULL;
	struct cmdargs a = {.cmd = &testcmd, .opts = testopts, .argc = n, .argv = v};
	got->n = ops->n = 0;
	bufadds(got, "");
	bufadds(ops, "");
	while ((r = cmdnext(&a)) > 0)
		bufprintf(got, "%c%s%s ", r, a.val ? "=" : "", a.val ? a.val : "");
	for (int i = 0; r == 0 && i < a.nops; i++)
		bufprintf(ops, "%s ", v[1 + i]);
	return r;
}

static void
options(void **state)
{
	struct buf g = {0}, o = {0};

	(void)state;
	diagsilent = 1;
	/* options after operands, values in every spelling, clusters */
	assert_int_equal(parse((const char *[]){"test", "r", "--json", "-vo", "d1", "--out=d2", "--arch", "x", "s",
	                                        "-od3", NULL}, &g, &o), 0);
	assert_string_equal(g.p, "J v o=d1 o=d2 a=x o=d3 ");
	assert_string_equal(o.p, "r s ");
	/* "--" ends the options; "-" is an operand */
	assert_int_equal(parse((const char *[]){"test", "-v", "--", "--json", "-", "-o", NULL}, &g, &o), 0);
	assert_string_equal(g.p, "v ");
	assert_string_equal(o.p, "--json - -o ");
	/* a missing value is not an unknown option */
	nerrors = 0;
	assert_int_equal(parse((const char *[]){"test", "r", "--out", NULL}, &g, &o), -1);
	assert_int_equal(parse((const char *[]){"test", "r", "-o", NULL}, &g, &o), -1);
	assert_int_equal(parse((const char *[]){"test", "--nope", NULL}, &g, &o), -1);
	assert_int_equal(parse((const char *[]){"test", "-x", NULL}, &g, &o), -1);
	assert_int_equal(parse((const char *[]){"test", "--json=1", NULL}, &g, &o), -1);
	/* no abbreviations: --js is not --json */
	assert_int_equal(parse((const char *[]){"test", "--js", NULL}, &g, &o), -1);
	assert_int_equal(parse((const char *[]){"test", "r", "--help", NULL}, &g, &o), CMDHELP);
	assert_int_equal(parse((const char *[]){"test", "-vh", NULL}, &g, &o), CMDHELP);
	/* a table-less command takes operands and --help only */
	{
		char *v[] = {"test", "a", "--", "-b", NULL};
		struct cmdargs a = {.cmd = &testcmd, .argc = 4, .argv = v};

		assert_int_equal(cmdnext(&a), 0);
		assert_int_equal(a.nops, 2);
		assert_string_equal(v[2], "-b");
	}
	diagsilent = 0;
	buffree(&g);
	buffree(&o);
}

static void
escaping(void **state)
{
	static const char *const names[] = {
		"plain/name.txt", "new\nline", "a b", "back\\slash", "tab\there -> x", "\x7f\x01", "\\040 literal",
		"caf\xc3\xa9", "",
	};
	struct buf b = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *copy;

		b.n = 0;
		bufadds(&b, "");
		bufaddesc(&b, names[i]);
		/* one field of one line, whatever the name */
		assert_null(strpbrk(b.p, " \t\n\r"));
		copy = xstrdup(b.p);
		assert_string_equal(unesc(copy), names[i]);
		free(copy);
	}
	b.n = 0;
	bufaddesc(&b, "x\ny z\\");
	assert_string_equal(b.p, "x\\012y\\040z\\134");
	buffree(&b);
}

static void
epoch(void **state)
{
	static const char *const bad[] = {"abc", "12abc", "-1", " 5", "1e9", "99999999999999999999", "0x10",
	                                  "253402300800", "+5"};

	(void)state;
	diagsilent = 1;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("SOURCE_DATE_EPOCH", bad[i], 1);
		assert_int_equal(pipelineepoch("."), -1);
	}
	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	assert_int_equal(pipelineepoch("."), 1700000000LL);
	setenv("SOURCE_DATE_EPOCH", "0", 1);
	assert_int_equal(pipelineepoch("."), 0);
	unsetenv("SOURCE_DATE_EPOCH");
	diagsilent = 0;
}

static void
regularfiles(void **state)
{
	char dir[] = "/tmp/test_input.XXXXXX", *fifo, *big, *data;
	size_t n;
	FILE *f;

	(void)state;
	diagsilent = 1;
	assert_non_null(mkdtemp(dir));
	fifo = xasprintf("%s/fifo", dir);
	big = xasprintf("%s/big", dir);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	/* a FIFO without writer: refused at once, not waited on */
	assert_int_equal(readregular(fifo, 100, NULL, &data, &n), -1);
	assert_int_equal(readregular("/dev/zero", 100, NULL, &data, &n), -1);
	assert_int_equal(readregular(dir, 100, NULL, &data, &n), -1);
	f = fopen(big, "w");
	assert_non_null(f);
	fputs("0123456789", f);
	fclose(f);
	assert_int_equal(readregular(big, 9, NULL, &data, &n), -1);
	assert_int_equal(readregular(big, 10, NULL, &data, &n), 0);
	assert_int_equal(n, 10);
	free(data);
	unlink(fifo);
	unlink(big);
	rmdir(dir);
	free(fifo);
	free(big);
	diagsilent = 0;
}

/* A role whose values would forge lines of passwd, escape the root or break
 * the kernel command line is refused; a sane one parses. */
static void
values(void **state)
{
	static const char *const bad[] = {
		"name = r\nuser x {\n\thome = \"/h\\nroot2::0:0::/:/bin/sh\"\n}\n",
		"name = r\nuser x {\n\tshell = /bin/sh:0\n}\n",
		"name = r\nuser x {\n\thome = /home/../root\n}\n",
		"name = r\nuser x {\n\thome = home/x\n}\n",
		"name = r\nuser x {\n\tuid = 0\n}\n",
		"name = r\nuser 0day {\n}\n",
		"name = r\nuser x {\n\tkeys = ../k.pub\n}\n",
		"name = r\nuser x {\n\tkeys = /etc/shadow\n}\n",
		"name = r\ncmdline = \"a\\nb\"\n",
		"name = r\ncmdline = a=\"b\n",
		"name = r\nhostname = a_b\n",
		"name = r\nhostname = a.-b\n",
		"name = r\nservice network {\n\tcommand = x\n}\n",
		"name = r\nservice s {\n\tcommand = \"a\\nb\"\n}\n",
		"name = r\nservice s {\n\tcommand = a\n\tuser = a+b\n}\n",
		"name = r\ndesc = \"a\\tb\"\n",
	};
	struct arena a = {0};

	(void)state;
	diagsilent = 1;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("bad role %zu\n", i);
		assert_null(roleparse(&a, "recipes/roles/r.role", bad[i], strlen(bad[i])));
	}
	{
		const char *ok = "name = r\nhostname = web-1.example\ncmdline = quiet a=\"b c\"\n"
		                 "user www-data {\n\thome = /srv/www\n\tshell = /bin/false\n\tkeys = keys/a.pub\n}\n";

		assert_non_null(roleparse(&a, "recipes/roles/r.role", ok, strlen(ok)));
	}
	diagsilent = 0;
	arenafree(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(options),
		cmocka_unit_test(escaping),
		cmocka_unit_test(epoch),
		cmocka_unit_test(regularfiles),
		cmocka_unit_test(values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
