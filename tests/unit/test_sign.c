/* sign.c: Ed25519 key files, signatures and trusted keys. A new key signs
 * what its public key verifies and nothing else; RFC 8032's first test
 * vector (proves the seed, public key and signature are plain Ed25519, in
 * standard base64); a key file is never overwritten and is 0600 whatever
 * the umask; bad names, modes and lines are refused at file:line:col; a
 * trusted-keys file reports every bad line and keeps the good ones;
 * malformed signatures are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "sign.h"

static char work[] = "/tmp/test_sign.XXXXXX";

/* RFC 8032, 7.1, TEST 1 (the empty message), in base64. */
#define SEED1 "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
#define PUB1 "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define SIG1 "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18FlbviRlUUFDjnoQCw=="

static char *
p(const char *rel)
{
	return xasprintf("%s/%s", work, rel);
}

static char *
put(const char *rel, const char *text, mode_t mode)
{
	char *path = p(rel);

	assert_int_equal(writeatomic(path, text, strlen(text), mode), 0);
	return path;
}

static char *
slurp(const char *path)
{
	char *data;
	size_t n;

	assert_int_equal(readfile(path, &data, &n), 0);
	return data;
}

/* stderr of what ran since capstart, as a static string. */
static FILE *capfile;
static int capsaved;

static void
capstart(void)
{
	fflush(stderr);
	capfile = tmpfile();
	capsaved = dup(2);
	dup2(fileno(capfile), 2);
}

static const char *
capend(void)
{
	static char out[4096];
	size_t n;

	fflush(stderr);
	dup2(capsaved, 2);
	close(capsaved);
	rewind(capfile);
	n = fread(out, 1, sizeof(out) - 1, capfile);
	out[n] = '\0';
	fclose(capfile);
	return out;
}

static void
roundtrip(void **state)
{
	struct signkey *k, *other;
	struct trust t = {0}, ft = {0};
	char *keypath = p("ci.main-1.key"), *pubpath = p("ci.main-1.pub"), *pub, *publine, *sig, *sig2;
	struct stat st;

	(void)state;
	umask(0);
	assert_int_equal(signkeynew(work, "ci.main-1"), 0);
	umask(022);
	assert_int_equal(stat(keypath, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(pubpath, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_non_null(k = signkeyload(keypath));
	assert_string_equal(signkeyname(k), "ci.main-1");
	pub = signkeypub(k);
	publine = slurp(pubpath);
	assert_int_equal(strlen(publine), strlen("ci.main-1:") + 44 + 1);
	assert_memory_equal(publine, pub, strlen(pub));
	assert_string_equal(publine + strlen(pub), "\n");
	assert_int_equal(strlen(slurp(keypath)), strlen("ci.main-1:") + 44 + 1);

	sig = signmsg(k, "hello", 5);
	assert_int_equal(strlen(sig), strlen("ci.main-1:") + 88);
	assert_int_equal(trustcheck(&t, "hello", 5, sig), 0);    /* no keys */
	assert_int_equal(trustadd(&t, pub), 0);
	assert_int_equal(trustcheck(&t, "hello", 5, sig), 1);
	assert_int_equal(trustcheck(&t, "hellp", 5, sig), 0);
	assert_int_equal(trustcheck(&t, "hello", 4, sig), 0);
	/* the .pub file trusts it too */
	assert_int_equal(trustload(&ft, pubpath), 0);
	assert_int_equal(ft.n, 1);
	assert_int_equal(trustcheck(&ft, "hello", 5, sig), 1);

	/* another key of the same name is not this one */
	assert_int_equal(signkeynew(work, "other"), 0);
	char *op = p("other.key");
	assert_non_null(other = signkeyload(op));
	sig2 = signmsg(other, "hello", 5);
	assert_int_equal(trustcheck(&t, "hello", 5, sig2), 0);   /* "other" is not trusted */
	/* nor under ci.main-1's name */
	char *renamed = xasprintf("ci.main-1%s", strchr(sig2, ':'));
	assert_int_equal(trustcheck(&t, "hello", 5, renamed), 0);
	/* a key trusted under another name does not vouch for this one */
	char *alias = xasprintf("alias%s", strchr(pub, ':'));
	struct trust at = {0};
	assert_int_equal(trustadd(&at, alias), 0);
	assert_int_equal(trustcheck(&at, "hello", 5, sig), 0);
	/* two keys of one name (one being replaced): either verifies */
	char *otherpub = signkeypub(other);
	char *as = xasprintf("ci.main-1%s", strchr(otherpub, ':'));
	assert_int_equal(trustadd(&t, as), 0);
	char *sig3 = xasprintf("ci.main-1%s", strchr(signmsg(other, "x", 1), ':'));
	assert_int_equal(trustcheck(&t, "x", 1, sig3), 1);
	assert_int_equal(trustcheck(&t, "hello", 5, sig), 1);

	signkeyfree(k);
	signkeyfree(other);
	trustfree(&t);
	trustfree(&ft);
	trustfree(&at);
	assert_int_equal(t.n, 0);
}

static void
vector(void **state)
{
	char *path = put("rfc.key", "rfc:" SEED1 "\n", 0600);
	struct signkey *k;
	struct trust t = {0};
	char *s;

	(void)state;
	assert_non_null(k = signkeyload(path));
	assert_string_equal(s = signkeypub(k), "rfc:" PUB1);
	free(s);
	assert_string_equal(s = signmsg(k, "", 0), "rfc:" SIG1);
	free(s);
	assert_int_equal(trustadd(&t, "rfc:" PUB1), 0);
	assert_int_equal(trustcheck(&t, "", 0, "rfc:" SIG1), 1);
	/* without the final newline (a pasted CI secret) */
	signkeyfree(k);
	path = put("rfc2.key", "rfc:" SEED1, 0600);
	assert_non_null(k = signkeyload(path));
	signkeyfree(k);
	trustfree(&t);
}

static void
noclobber(void **state)
{
	char *keypath = put("taken.key", "taken:" SEED1 "\n", 0600), *pubpath = p("taken.pub");
	static const char *const bad[] = {"", "a/b", "a b", "k:x", "../x", "\xc3\xa9",
		"12345678901234567890123456789012345678901234567890123456789012345"};
	const char *e;

	(void)state;
	capstart();
	errno = 0;
	int r = signkeynew(work, "taken");
	int eno = errno;
	e = capend();
	assert_int_equal(r, -1);
	assert_int_equal(eno, EEXIST);
	assert_non_null(strstr(e, keypath));
	assert_non_null(strstr(e, "never overwritten"));
	assert_string_equal(slurp(keypath), "taken:" SEED1 "\n");
	assert_false(exists(pubpath));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		capstart();
		errno = 0;
		r = signkeynew(work, bad[i]);
		eno = errno;
		e = capend();
		assert_int_equal(r, -1);
		assert_int_equal(eno, EINVAL);
		assert_non_null(strstr(e, "is not a key name"));
	}
	/* 64 characters is fine */
	assert_int_equal(signkeynew(work, "1234567890123456789012345678901234567890123456789012345678901234"), 0);
	/* a directory that is not there: the system's error, nothing made */
	capstart();
	r = signkeynew("/nonexistent-undistro", "k");
	eno = errno;
	e = capend();
	assert_int_equal(r, -1);
	assert_int_equal(eno, ENOENT);
	assert_non_null(strstr(e, "cannot create /nonexistent-undistro/k.key"));
}

/* Load text as a key file of mode mode; returns the message, checking that
 * it failed. */
static const char *
loadbad(const char *text, mode_t mode)
{
	char *path = put("bad.key", text, mode);
	struct signkey *k;
	const char *e;

	capstart();
	k = signkeyload(path);
	e = capend();
	assert_null(k);
	free(path);
	return e;
}

static void
keyfile(void **state)
{
	char *path = p("bad.key"), *want;
	struct {
		const char *text, *where, *what;
	} cases[] = {
		{"", ":1:1: ", "expected a key name"},
		{"\n", ":1:1: ", "expected a key name"},
		{"k\n", ":1:2: ", "expected ':'"},
		{"k y:" SEED1 "\n", ":1:2: ", "key name holds only"},
		{":" SEED1 "\n", ":1:1: ", "expected a key name"},
		{"k:" SEED1 "\n\n", ":2:1: ", "one line"},
		{"k:" SEED1 "\nk:" SEED1 "\n", ":2:1: ", "one line"},
		{"k:" SEED1 "\r\n", ":1:47: ", "canonical base64"},
		{"k: " SEED1 "\n", ":1:3: ", "canonical base64"},
		{"k:" SEED1 " \n", ":1:47: ", "canonical base64"},
		/* stray bits in the last character: decodes to the same bytes, not canonical */
		{"k:nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2B=\n", ":1:3: ", "canonical base64"},
		{"k:nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\n", ":1:3: ", "canonical base64"},
		{"k:nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A==\n", ":1:47: ", "canonical base64"},
		{"k:nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyu=2A=\n", ":1:43: ", "canonical base64"},
		{"k:" PUB1 PUB1 "\n", ":1:47: ", "canonical base64"},
		{"k:" SIG1 "\n", ":1:47: ", "canonical base64"},
		{"12345678901234567890123456789012345678901234567890123456789012345:" SEED1 "\n", ":1:65: ",
		 "at most 64"},
	};
	const char *e;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = loadbad(cases[i].text, 0600);
		want = xasprintf("undistro: %s%s", path, cases[i].where);
		if (!strstr(e, want) || !strstr(e, cases[i].what))
			fail_msg("case %zu: want %s...%s, got %s", i, want, cases[i].what, e);
		free(want);
	}
	/* a NUL byte */
	static const char nul[] = "k:" SEED1 "\0\n";
	assert_int_equal(writeatomic(path, nul, sizeof(nul) - 1, 0600), 0);
	capstart();
	assert_null(signkeyload(path));
	e = capend();
	want = xasprintf("undistro: %s:1:47: ", path);
	assert_non_null(strstr(e, want));
	free(want);
	/* a file too long to be a key */
	char big[400];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	e = loadbad(big, 0600);
	assert_non_null(strstr(e, "too long"));
	/* modes that let others read it */
	e = loadbad("k:" SEED1 "\n", 0640);
	assert_non_null(strstr(e, "others may read this secret key (mode 0640): chmod 600"));
	e = loadbad("k:" SEED1 "\n", 0604);
	assert_non_null(strstr(e, "mode 0604"));
	/* not a regular file, not there */
	capstart();
	assert_null(signkeyload(work));
	e = capend();
	assert_non_null(strstr(e, "not a regular file"));
	char *fifo = p("fifo.key");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	capstart();
	assert_null(signkeyload(fifo));
	e = capend();
	assert_non_null(strstr(e, "not a regular file"));
	capstart();
	assert_null(signkeyload("/nonexistent-undistro.key"));
	e = capend();
	assert_non_null(strstr(e, "cannot open the secret key /nonexistent-undistro.key: No such file"));
}

static void
trustfile(void **state)
{
	char *path = put("trusted",
	                 "# CI's keys\n"
	                 "\n"
	                 "rfc:" PUB1 "\n"
	                 "bad key:" PUB1 "\n"
	                 "#rfc2:" PUB1 "\n"
	                 "crlf:" PUB1 "\r\n"
	                 "short:" SEED1 "x\n"
	                 "two:" PUB1 "\n"
	                 "last:" PUB1, 0644);
	struct trust t = {0};
	const char *e;
	char *want;

	(void)state;
	capstart();
	assert_int_equal(trustload(&t, path), -1);
	e = capend();
	/* every bad line, at its line and column; the good ones kept */
	want = xasprintf("undistro: %s:4:4: expected NAME:BASE64", path);
	assert_non_null(strstr(e, want));
	free(want);
	want = xasprintf("undistro: %s:6:50: expected the canonical base64 of a 32-byte", path);
	assert_non_null(strstr(e, want));
	free(want);
	want = xasprintf("undistro: %s:7:51: ", path);
	assert_non_null(strstr(e, want));
	free(want);
	assert_int_equal(t.n, 3);
	assert_string_equal(t.keys[0].name, "rfc");
	assert_string_equal(t.keys[1].name, "two");
	assert_string_equal(t.keys[2].name, "last");
	assert_int_equal(trustcheck(&t, "", 0, "rfc:" SIG1), 1);
	trustfree(&t);

	/* a FIFO or a missing file: reported, not waited for */
	capstart();
	assert_int_equal(trustload(&t, "/nonexistent-undistro.keys"), -1);
	e = capend();
	assert_non_null(strstr(e, "/nonexistent-undistro.keys"));
	capstart();
	assert_int_equal(trustadd(&t, "rfc:" PUB1 "\n"), -1);
	e = capend();
	assert_non_null(strstr(e, "at character 49"));
	assert_int_equal(t.n, 0);
}

static void
badsig(void **state)
{
	struct trust t = {0};
	static const char *const bad[] = {
		"", "rfc", "rfc:", ":" SIG1, "rfc " SIG1, "rfc:" SIG1 "\n", "rfc:" SIG1 "=", "rfc: " SIG1,
		"rfc:" PUB1, "RFC:" SIG1, "rfc:" SIG1 "AAAA",
		/* stray bits in the last character before the padding */
		"rfc:5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18FlbviRlUUFDjnoQCx==",
	};

	(void)state;
	assert_int_equal(trustadd(&t, "rfc:" PUB1), 0);
	assert_int_equal(trustcheck(&t, "", 0, "rfc:" SIG1), 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (trustcheck(&t, "", 0, bad[i]))
			fail_msg("accepted %s", bad[i]);
	trustfree(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip), cmocka_unit_test(vector),    cmocka_unit_test(noclobber),
		cmocka_unit_test(keyfile),   cmocka_unit_test(trustfile), cmocka_unit_test(badsig),
	};
	int r;

	umask(022);
	assert_non_null(mkdtemp(work));
	r = cmocka_run_group_tests(tests, NULL, NULL);
	rmtree(work);
	return r;
}
