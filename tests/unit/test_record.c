/* record.c: a store entry's record round-trips (its hashes and sizes are
 * the files'); recordparse refuses a record for another key, unsigned,
 * signed by an unknown name or with a bad signature, with any byte before
 * the sig line changed, with anything after it, and every other spelling
 * of a record, even when it is signed by a trusted key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "record.h"
#include "sign.h"
#include "str.h"

static char work[] = "/tmp/test_record.XXXXXX";

#define KEY "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define KEY2 "1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
/* sha256 of "", "abc" and "name zlib\n" */
#define SHAEMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHAABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static struct signkey *key, *other, *samename;
static struct trust trust;

static struct signkey *
newkey(const char *dir, const char *name)
{
	char *d = xasprintf("%s/%s", work, dir), *path = xasprintf("%s/%s.key", d, name);
	struct signkey *k;

	assert_int_equal(mkdirp(d, 0755), 0);
	assert_int_equal(signkeynew(d, name), 0);
	assert_non_null(k = signkeyload(path));
	free(d);
	free(path);
	return k;
}

/* body, then its "sig" line by k (malloc'd). */
static char *
signtext(const struct signkey *k, const char *body)
{
	char *sig = signmsg(k, body, strlen(body)), *t = xasprintf("%ssig %s\n", body, sig);

	free(sig);
	return t;
}

static int
parse(const char *text, size_t n, const char **why)
{
	struct record r;

	*why = NULL;
	return recordparse(&r, text, n, KEY, &trust, why);
}

#define BODY(name, s0, s1, s2) \
	"undistro-record 1\nkey " KEY "\nname " name "\nblob pkg.tar.zst " SHAABC " " s0 "\nblob manifest " \
	SHAEMPTY " " s1 "\nblob info " SHAABC " " s2 "\n"

static void
roundtrip(void **state)
{
	char *dir = xasprintf("%s/store/pkg/" KEY, work), *store = xasprintf("%s/store", work), *path, *text;
	struct record r, back;
	const char *why;
	size_t n;

	(void)state;
	assert_int_equal(mkdirp(dir, 0755), 0);
	path = xasprintf("%s/pkg.tar.zst", dir);
	assert_int_equal(writeatomic(path, "abc", 3, 0644), 0);
	free(path);
	path = xasprintf("%s/manifest", dir);
	assert_int_equal(writeatomic(path, "", 0, 0644), 0);
	free(path);
	path = xasprintf("%s/info", dir);
	assert_int_equal(writeatomic(path, "abc", 3, 0644), 0);
	free(path);
	assert_int_equal(recordfromstore(&r, store, KEY, "zlib"), 0);
	assert_string_equal(r.key, KEY);
	assert_string_equal(r.name, "zlib");
	assert_string_equal(r.blob[0].sha256, SHAABC);
	assert_int_equal(r.blob[0].size, 3);
	assert_string_equal(r.blob[1].sha256, SHAEMPTY);
	assert_int_equal(r.blob[1].size, 0);
	assert_string_equal(r.blob[2].sha256, SHAABC);

	text = recordformat(&r, key, &n);
	assert_int_equal(strlen(text), n);
	char *want = signtext(key, BODY("zlib", "3", "0", "3"));
	assert_string_equal(text, want);    /* Ed25519 is deterministic */
	assert_int_equal(recordparse(&back, text, n, KEY, &trust, &why), 0);
	assert_memory_equal(&back, &r, sizeof(r));
	assert_int_equal(recordparse(&back, text, n, KEY2, &trust, &why), -1);
	assert_string_equal(why, "for another key");
	free(text);
	free(want);

	/* the largest size there is; one more overflows */
	text = signtext(key, BODY("zlib", "18446744073709551615", "0", "1"));
	assert_int_equal(recordparse(&back, text, strlen(text), KEY, &trust, &why), 0);
	assert_true(back.blob[0].size == 18446744073709551615ULL);
	free(text);

	/* a file missing from the entry; a bad key or name */
	path = xasprintf("%s/info", dir);
	unlink(path);
	free(path);
	assert_int_equal(recordfromstore(&r, store, KEY, "zlib"), -1);
	assert_int_equal(recordfromstore(&r, store, "0123", "zlib"), -1);
	assert_int_equal(recordfromstore(&r, store, KEY, "Zlib"), -1);
	free(dir);
	free(store);
}

static void
refusals(void **state)
{
	char *good = signtext(key, BODY("zlib", "3", "0", "3")), *t;
	size_t n = strlen(good), body = strstr(good, "sig ") - good;
	const char *why;
	struct buf b = {0};

	(void)state;
	assert_int_equal(parse(good, n, &why), 0);
	assert_int_equal(parse(good, body, &why), -1);
	assert_string_equal(why, "unsigned");
	t = signtext(other, BODY("zlib", "3", "0", "3"));
	assert_int_equal(parse(t, strlen(t), &why), -1);
	assert_string_equal(why, "signed by a key not in the trusted keys");
	free(t);
	t = signtext(samename, BODY("zlib", "3", "0", "3"));
	assert_int_equal(parse(t, strlen(t), &why), -1);
	assert_string_equal(why, "bad signature: not made by the trusted key of that name over this record");
	free(t);

	/* every byte before the sig line, changed: refused (one way or another) */
	t = xstrdup(good);
	for (size_t i = 0; i < body; i++) {
		char c = t[i];

		t[i] = c == 'a' ? 'b' : c == '\n' ? ' ' : (char)(c ^ 1);
		if (parse(t, n, &why) == 0)
			fail_msg("accepted with byte %zu changed", i);
		t[i] = c;
	}
	/* a changed signature, or a signature from another record */
	t[n - 3] = t[n - 3] == 'A' ? 'B' : 'A';
	assert_int_equal(parse(t, n, &why), -1);
	free(t);
	char *other3 = signtext(key, BODY("zlib", "4", "0", "3"));
	bufaddn(&b, good, body);
	bufadds(&b, strstr(other3, "sig "));
	assert_int_equal(parse(b.p, b.n, &why), -1);
	assert_string_equal(why, "bad signature: not made by the trusted key of that name over this record");
	free(other3);

	/* anything after the sig line; a sig line without its newline */
	static const char *const tails[] = {"\n", "x", "sig x\n", " ", "\0"};
	for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		b.n = 0;
		bufaddn(&b, good, n);
		bufaddn(&b, tails[i], strlen(tails[i]) ? strlen(tails[i]) : 1);
		assert_int_equal(parse(b.p, b.n, &why), -1);
		if (!strstr(why, "after the sig line") && !strstr(why, "NUL"))
			fail_msg("tail %zu: %s", i, why);
	}
	assert_int_equal(parse(good, n - 1, &why), -1);
	assert_string_equal(why, "malformed: the sig line is missing or wrong");
	/* a NUL within the sig line would end the C string trustcheck reads */
	b.n = 0;
	bufaddn(&b, good, n - 1);
	bufaddn(&b, "\0x\n", 3);
	assert_int_equal(parse(b.p, b.n, &why), -1);
	assert_string_equal(why, "malformed: holds a NUL byte");
	/* too large */
	b.n = 0;
	bufaddn(&b, good, n);
	while (b.n <= RECORDMAX)
		bufadds(&b, "#");
	assert_int_equal(parse(b.p, b.n, &why), -1);
	assert_string_equal(why, "larger than 4096 bytes: not a record");
	buffree(&b);
	free(good);
}

/* Other spellings, signed by the trusted key: the parser refuses them. */
static void
spellings(void **state)
{
	static const char *const bad[] = {
		"",
		"undistro-record 2\n",
		"undistro-record 1\r\nkey " KEY "\n",
		"undistro-record  1\n",
		/* upper-case hex, short or long keys */
		"undistro-record 1\nkey 0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\nname zlib\n",
		"undistro-record 1\nkey 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\nname zlib\n",
		"undistro-record 1\nkey " KEY "0\nname zlib\n",
		"undistro-record 1\nkey  " KEY "\nname zlib\n",
		"undistro-record 1\nname zlib\nkey " KEY "\n",
		BODY("Zlib", "3", "0", "3"),
		BODY("", "3", "0", "3"),
		BODY("zlib ", "3", "0", "3"),
		BODY("12345678901234567890123456789012345678901234567890123456789012345", "3", "0", "3"),
		BODY("zlib", "03", "0", "3"),
		BODY("zlib", "3", "00", "3"),
		BODY("zlib", "+3", "0", "3"),
		BODY("zlib", "-3", "0", "3"),
		BODY("zlib", "3 ", "0", "3"),
		BODY("zlib", "", "0", "3"),
		BODY("zlib", "0x3", "0", "3"),
		BODY("zlib", "18446744073709551616", "0", "3"),
		BODY("zlib", "99999999999999999999", "0", "3"),
		/* blobs out of order, missing, doubled, unknown */
		"undistro-record 1\nkey " KEY "\nname zlib\nblob manifest " SHAEMPTY " 0\nblob pkg.tar.zst " SHAABC
		" 3\nblob info " SHAABC " 3\n",
		"undistro-record 1\nkey " KEY "\nname zlib\nblob pkg.tar.zst " SHAABC " 3\nblob manifest " SHAEMPTY
		" 0\n",
		BODY("zlib", "3", "0", "3") "blob info " SHAABC " 3\n",
		BODY("zlib", "3", "0", "3") "note hello\n",
		BODY("zlib", "3", "0", "3") "\n",
		"undistro-record 1\nkey " KEY "\nname zlib\nblob pkg.tar.zst " SHAABC " 3\nblob manifest " SHAEMPTY
		" 0\nblob info BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 3\n",
	};
	static const char *const goodspell[] = {BODY("zlib", "3", "0", "3"), BODY("a+b.c_d-e", "0", "0", "0"),
		BODY("1234567890123456789012345678901234567890123456789012345678901234", "1", "10", "100")};
	const char *why;
	char *t;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = signtext(key, bad[i]);
		if (parse(t, strlen(t), &why) == 0)
			fail_msg("accepted case %zu: %s", i, t);
		if (strncmp(why, "malformed", 9))
			fail_msg("case %zu refused as %s", i, why);
		free(t);
	}
	for (size_t i = 0; i < sizeof(goodspell) / sizeof(goodspell[0]); i++) {
		t = signtext(key, goodspell[i]);
		if (parse(t, strlen(t), &why) < 0)
			fail_msg("refused case %zu: %s", i, why);
		free(t);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip),
		cmocka_unit_test(refusals),
		cmocka_unit_test(spellings),
	};
	char *pub;
	int r;

	umask(022);
	assert_non_null(mkdtemp(work));
	key = newkey("a", "ci");
	other = newkey("b", "other");
	samename = newkey("c", "ci");    /* a second key named like the trusted one */
	pub = signkeypub(key);
	assert_int_equal(trustadd(&trust, pub), 0);
	free(pub);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	signkeyfree(key);
	signkeyfree(other);
	signkeyfree(samename);
	trustfree(&trust);
	rmtree(work);
	return r;
}
