/* outkeycompute(): the output key of a role (outkey.h) changes with every
 * input that goes into the outputs (a package's store key, the role's file
 * and its includes', overlay contents, executable bits, symlink targets and
 * names, key files, epoch, commit, target, --no-image, the executable) and
 * with nothing else (times, other mode bits, a second computation); an
 * overlay that holds a FIFO gives no key. The key file: written, checked
 * (one missing output or another key is not up to date), removed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "alloc.h"
#include "os.h"
#include "outkey.h"
#include "recipe.h"
#include "solve.h"
#include "target.h"
#include "tree.h"

static char work[] = "/tmp/test_outkey.XXXXXX";

#include "files.h"

/* The fixture: role r includes role inc, has overlay web and a user with a
 * key file; a plan of two packages. */
struct fix {
	struct tree tree;
	struct role r, inc, flat;
	struct role *roles[2];
	struct user user;
	struct recipe rec[2];
	struct planpkg pkgs[2];
	struct plan plan;
	char keys[2][65];
	char *incname, *overlay, *keyfile;
	struct outkeyin in;
};

static void
fixture(struct fix *f)
{
	memset(f, 0, sizeof(*f));
	f->tree.root = work;
	f->tree.overlays = p("overlays");
	f->incname = "inc";
	f->overlay = "web";
	f->keyfile = "keys/k.pub";
	f->inc = (struct role){.name = "inc", .path = p("inc.role")};
	f->r = (struct role){.name = "r", .path = p("r.role"), .include = {.v = &f->incname, .n = 1}};
	f->roles[0] = &f->inc;
	f->roles[1] = &f->r;
	f->tree.roles = f->roles;
	f->tree.nroles = 2;
	f->user = (struct user){.name = "root", .keys = {.v = &f->keyfile, .n = 1}};
	f->flat = (struct role){.name = "r", .overlays = {.v = &f->overlay, .n = 1}, .users = &f->user, .nusers = 1};
	f->rec[0].name = "init";
	f->rec[1].name = "kern";
	for (int i = 0; i < 2; i++) {
		f->pkgs[i] = (struct planpkg){.r = &f->rec[i], .runtime = 1};
		memset(f->keys[i], 'a' + i, 64);
		f->keys[i][64] = '\0';
	}
	f->plan = (struct plan){.pkgs = f->pkgs, .n = 2, .nruntime = 2};
	f->in = (struct outkeyin){
		.tree = &f->tree,
		.role = &f->r,
		.flat = &f->flat,
		.target = targetfind("x86_64"),
		.plan = &f->plan,
		.keys = f->keys,
		.epoch = 1700000000,
		.commit = "0123abcd",
		.images = 1,
		.exe = p("exe"),
		.authorized_keys = NULL,
	};
}

static void
unfixture(struct fix *f)
{
	free(f->tree.overlays);
	free(f->inc.path);
	free(f->r.path);
	free((char *)f->in.exe);
}

static void
key(struct fix *f, char hex[65])
{
	assert_int_equal(outkeycompute(&f->in, hex), 0);
}

/* The key differs from base now, and is base again after undo. */
#define CHANGES(f, base, change, undo) do { \
		char h_[65]; \
		change; \
		key(f, h_); \
		assert_string_not_equal(h_, base); \
		undo; \
		key(f, h_); \
		assert_string_equal(h_, base); \
	} while (0)

static void
sensitivity(void **state)
{
	struct fix f;
	char base[65], h[65];

	fixture(&f);
	key(&f, base);
	key(&f, h);
	assert_string_equal(h, base);
	CHANGES(&f, base, f.keys[1][3] = 'z', f.keys[1][3] = 'b');
	CHANGES(&f, base, f.pkgs[0].runtime = 0, f.pkgs[0].runtime = 1);
	CHANGES(&f, base, f.rec[0].name = "other", f.rec[0].name = "init");
	CHANGES(&f, base, put("r.role", "name = r\nhostname = two\n", 0644), put("r.role", "name = r\n", 0644));
	CHANGES(&f, base, put("inc.role", "name = inc\n#\n", 0644), put("inc.role", "name = inc\n", 0644));
	CHANGES(&f, base, put("overlays/web/srv/index.html", "bye\n", 0644),
	        put("overlays/web/srv/index.html", "hello\n", 0644));
	CHANGES(&f, base, put("overlays/web/srv/index.html", "hello\n", 0755),
	        put("overlays/web/srv/index.html", "hello\n", 0644));
	CHANGES(&f, base, put("overlays/web/srv/new", "", 0644), assert_int_equal(unlink(p("overlays/web/srv/new")), 0));
	CHANGES(&f, base, assert_int_equal(mkdir(p("overlays/web/empty"), 0755), 0),
	        assert_int_equal(rmdir(p("overlays/web/empty")), 0));
	CHANGES(&f, base, (unlink(p("overlays/web/link")), assert_int_equal(symlink("elsewhere", p("overlays/web/link")), 0)),
	        (unlink(p("overlays/web/link")), assert_int_equal(symlink("srv/index.html", p("overlays/web/link")), 0)));
	CHANGES(&f, base, put("keys/k.pub", "ssh-ed25519 AAAA two\n", 0644), put("keys/k.pub", "ssh-ed25519 AAAA one\n", 0644));
	CHANGES(&f, base, f.in.epoch++, f.in.epoch--);
	CHANGES(&f, base, f.in.commit = NULL, f.in.commit = "0123abcd");
	CHANGES(&f, base, f.in.images = 0, f.in.images = 1);
	CHANGES(&f, base, f.in.target = targetfind("aarch64"), f.in.target = targetfind("x86_64"));
	CHANGES(&f, base, put("exe", "program 2\n", 0755), put("exe", "program 1\n", 0755));
	/* what the outputs do not show: other mode bits, times */
	assert_int_equal(chmod(p("overlays/web/srv/index.html"), 0600), 0);
	assert_int_equal(utimensat(AT_FDCWD, p("overlays/web/srv/index.html"), (struct timespec[2]){{0, 0}, {0, 0}}, 0), 0);
	key(&f, h);
	assert_string_equal(h, base);
	assert_int_equal(chmod(p("overlays/web/srv/index.html"), 0644), 0);
	/* a FIFO in an overlay: no key (rootfs.c reports it) */
	assert_int_equal(mkfifo(p("overlays/web/fifo"), 0644), 0);
	assert_int_equal(outkeycompute(&f.in, h), -1);
	assert_int_equal(unlink(p("overlays/web/fifo")), 0);
	unfixture(&f);
}

static void
keyfile(void **state)
{
	struct fix f;
	char hex[65], other[65], *out = p("out"), **files;

	fixture(&f);
	key(&f, hex);
	memcpy(other, hex, sizeof(other));
	other[0] = other[0] == '0' ? '1' : '0';
	files = outkeyfiles(&f.flat, 1);
	assert_int_equal(mkdir(out, 0755), 0);
	for (size_t i = 0; files[i]; i++) {
		char *rel = xasprintf("out/%s", files[i]);

		put(rel, "x", 0644);
		free(rel);
	}
	assert_int_equal(outkeyuptodate(out, hex), 0);
	assert_int_equal(outkeywrite(out, hex, files), 0);
	assert_int_equal(outkeyuptodate(out, hex), 1);
	assert_int_equal(outkeyuptodate(out, other), 0);
	assert_int_equal(unlink(p("out/disk.raw")), 0);
	assert_int_equal(outkeyuptodate(out, hex), 0);
	put("out/disk.raw", "x", 0644);
	assert_int_equal(outkeyuptodate(out, hex), 1);
	assert_int_equal(outkeyclear(out), 0);
	assert_int_equal(outkeyuptodate(out, hex), 0);
	assert_int_equal(outkeyclear(out), 0);
	outkeyfilesfree(files);
	free(out);
	unfixture(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sensitivity),
		cmocka_unit_test(keyfile),
	};
	char *d;
	int r;

	umask(022);
	assert_non_null(mkdtemp(work));
	d = p("overlays/web/srv");
	assert_int_equal(mkdirp(d, 0755), 0);
	free(d);
	d = p("keys");
	assert_int_equal(mkdirp(d, 0755), 0);
	free(d);
	put("r.role", "name = r\n", 0644);
	put("inc.role", "name = inc\n", 0644);
	put("overlays/web/srv/index.html", "hello\n", 0644);
	d = p("overlays/web/link");
	assert_int_equal(symlink("srv/index.html", d), 0);
	free(d);
	put("keys/k.pub", "ssh-ed25519 AAAA one\n", 0644);
	put("exe", "program 1\n", 0755);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	rmtree(work);
	return r;
}
