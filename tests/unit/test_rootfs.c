/* Rootfs stage unit tests: packages made on the spot (storeadd of small
 * trees: an unstripped ELF compiled here, man pages, headers, static and
 * libtool archives, locale, pkg-config and cmake files) become a rootfs;
 * checked through the manifest and by reading the archives back: the strip
 * policy and its keeps, generated system files, device nodes, owners,
 * reproducibility, overlay and conflict rules, ssh keys. Needs cc and strip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "recipe.h"
#include "rootfs.h"
#include "store.h"
#include "str.h"
#include "tree.h"

#define EPOCH 1700000000LL

static char dir[] = "/tmp/test_rootfs.XXXXXX";
static struct arena a;
static struct store st;
static const char *const initfiles[] = {"rc", "wait", "network", "dhcp", "shutdown", "firstboot", "cost", "netwait"};
static char *elfpath;              /* an unstripped ELF compiled by setup */
static unsigned long long elfsize;

static char *
P(const char *fmt, ...)
{
	static char p[8][1024];
	static int i;
	char rel[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, rel);
	return p[i];
}

static void
put(const char *path, const char *text, mode_t mode)
{
	char *d = xstrdup(path);

	*strrchr(d, '/') = '\0';
	assert_int_equal(mkdirp(d, 0755), 0);
	assert_int_equal(writeatomic(path, text, strlen(text), mode), 0);
	free(d);
}

static void
link_(const char *path, const char *target)
{
	char *d = xstrdup(path);

	*strrchr(d, '/') = '\0';
	assert_int_equal(mkdirp(d, 0755), 0);
	assert_int_equal(symlink(target, path), 0);
	free(d);
}

static void
copy(const char *from, const char *to)
{
	char *data;
	size_t n;

	assert_int_equal(readfile(from, &data, &n), 0);
	put(to, "", 0755);
	assert_int_equal(writeatomic(to, data, n, 0755), 0);
	free(data);
}

/* Pack the tree src/NAME into the store under a key made from name. */
static const char *
pack(const char *name)
{
	static char keys[16][65];
	static int k;
	char *key = keys[k++ % 16];

	memset(key, 0, 65);
	snprintf(key, 65, "%s", name);
	for (size_t i = strlen(key); i < 64; i++)
		key[i] = '0' + (char)(i % 10);
	if (!storehas(&st, key, name)) {
		char *info = xasprintf("name %s\nkey %s\n", name, key);

		assert_int_equal(storeadd(&st, key, P("src/%s", name), EPOCH, info), 0);
		free(info);
	}
	return key;
}

static int
setup(void **state)
{
	char *cc[] = {"cc", "-g", "-O0", "-o", NULL, NULL, NULL};
	struct stat sb;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(storeopen(&st, P("store")), 0);
	put(P("hello.c"), "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n", 0644);
	elfpath = xstrdup(P("hello"));
	cc[4] = elfpath;
	cc[5] = P("hello.c");
	assert_int_equal(osrun(cc, NULL, NULL, -1), 0);
	assert_int_equal(stat(elfpath, &sb), 0);
	elfsize = (unsigned long long)sb.st_size;
	/* musl-ish: a loader symlink and a kept path */
	copy(elfpath, P("src/musl/usr/lib/libc.so"));
	link_(P("src/musl/lib/ld-musl-x86_64.so.1"), "/usr/lib/libc.so");
	put(P("src/musl/usr/include/stdio.h"), "/* header */\n", 0644);
	put(P("src/musl/usr/lib/libc.a"), "!<arch>\n", 0644);
	/* busybox-ish: the ELF, applet links, docs */
	copy(elfpath, P("src/busybox/bin/busybox"));
	link_(P("src/busybox/bin/sh"), "busybox");
	link_(P("src/busybox/sbin/init"), "../bin/busybox");
	put(P("src/busybox/usr/share/man/man1/busybox.1"), ".TH BUSYBOX 1\n", 0644);
	put(P("src/busybox/usr/share/doc/busybox/README"), "read me\n", 0644);
	put(P("src/busybox/usr/share/doc/busybox/LICENSE"), "GPL-2.0\n", 0644);
	put(P("src/busybox/usr/bin/tool"), "#!/bin/sh\necho packaged\n", 0755);
	/* the init package's boot files, which the generated inittab runs */
	for (size_t i = 0; i < sizeof(initfiles) / sizeof(initfiles[0]); i++)
		put(P("src/busybox/usr/lib/undistro/%s", initfiles[i]), "#!/bin/sh\n", 0755);
	/* everything the strip policy removes */
	put(P("src/dev/usr/include/foo/foo.h"), "int foo;\n", 0644);
	put(P("src/dev/usr/lib/libfoo.la"), "# libtool\n", 0644);
	put(P("src/dev/usr/lib/pkgconfig/foo.pc"), "Name: foo\n", 0644);
	put(P("src/dev/usr/lib/cmake/Foo/FooConfig.cmake"), "set(FOO 1)\n", 0644);
	put(P("src/dev/usr/share/locale/de/LC_MESSAGES/foo.mo"), "mo\n", 0644);
	put(P("src/dev/usr/share/info/foo.info"), "info\n", 0644);
	put(P("src/dev/usr/share/foo/data"), "data\n", 0644);
	put(P("src/dev/var/empty/.keep"), "", 0644);
	return 0;
}

static int
teardown(void **state)
{
	rmtree(dir);
	storeclose(&st);
	arenafree(&a);
	free(elfpath);
	return 0;
}

/* Run f with stderr captured; returns what it printed (static). */
static const char *
capture(int (*f)(const struct rootfsjob *), const struct rootfsjob *job, int *rc)
{
	static char out[16384];
	FILE *tmp = tmpfile();
	int saved = dup(2);
	size_t n;

	fflush(stderr);
	dup2(fileno(tmp), 2);
	nerrors = 0;
	*rc = f(job);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, sizeof(out) - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	if (*out)
		fprintf(stderr, "[captured] %s", out);
	return out;
}

struct fixture {
	struct tree t;
	struct role *ro, flat;
	struct recipe r[4];
	struct rootfspkg pkgs[4];
	struct rootfsjob job;
};

/* A job for the role text over the named packages (each also a recipe
 * whose keep list is keep, for busybox), writing into out. */
static void
fixture(struct fixture *fx, const char *roletext, const char *const *names, const char *out)
{
	static char *keep[] = {"usr/share/doc/*/LICENSE"};
	static struct loc none[1];
	size_t n = 0;

	memset(fx, 0, sizeof(*fx));
	fx->t.root = xstrdup(P("tree"));
	fx->t.overlays = xstrdup(P("tree/overlays"));
	fx->ro = roleparse(&a, "recipes/roles/test.role", roletext, strlen(roletext));
	assert_non_null(fx->ro);
	fx->t.roles = &fx->ro;
	fx->t.nroles = 1;
	roleflatten(&fx->t, fx->ro, &fx->flat);
	for (; names[n]; n++) {
		fx->r[n].name = (char *)names[n];
		if (!strcmp(names[n], "busybox"))
			fx->r[n].keep = (struct strlist){keep, none, 1};
		fx->pkgs[n] = (struct rootfspkg){&fx->r[n], pack(names[n])};
	}
	fx->job = (struct rootfsjob){&fx->t, &fx->flat, &st, fx->pkgs, n, xstrdup(P("%s", out)), EPOCH, NULL, NULL};
}

static void
fixturefree(struct fixture *fx)
{
	arenafree(&fx->t.arena);
	free(fx->t.root);
	free(fx->t.overlays);
	free((char *)fx->job.outdir);
}

static const char *const basepkgs[] = {"musl", "busybox", "dev", NULL};

#define BASEROLE \
	"name = test\npackages = musl, busybox, dev\n" \
	"service sshd {\n\tcommand = /usr/sbin/dropbear -F -E -R -s -p 22\n\tafter = network\n}\n" \
	"service late {\n\tcommand = sleep 1000\n\tready = no\n}\n"

/* The contents of a file of out (static, NUL-terminated). */
static const char *
slurp(const char *out, const char *name)
{
	static char *data;
	size_t n;

	free(data);
	data = NULL;
	assert_int_equal(readfile(P("%s/%s", out, name), &data, &n), 0);
	return data;
}

/* The manifest line of path, or NULL. */
static const char *
mline(const char *manifest, const char *path)
{
	static char line[1024];
	char pat[600];
	const char *p;

	snprintf(pat, sizeof(pat), " %s\n", path);
	for (p = strstr(manifest, pat); p; p = strstr(p + 1, pat)) {
		const char *s = p, *e = strchr(p + 1, '\n');

		while (s > manifest && s[-1] != '\n')
			s--;
		/* the path is the last field (symlinks: before " -> ") */
		snprintf(line, sizeof(line), "%.*s", (int)(e - s), s);
		return line;
	}
	snprintf(pat, sizeof(pat), " %s -> ", path);
	if ((p = strstr(manifest, pat))) {
		const char *s = p, *e = strchr(p, '\n');

		while (s > manifest && s[-1] != '\n')
			s--;
		snprintf(line, sizeof(line), "%.*s", (int)(e - s), s);
		return line;
	}
	return NULL;
}

/* Read an entry's data from an archive of out; returns its size or -1. */
static long long
archived(const char *out, const char *name, const char *path, char *buf, size_t cap, struct archive_entry **copy)
{
	struct archive *ar = archive_read_new();
	struct archive_entry *ae;
	long long r = -1;

	archive_read_support_filter_all(ar);
	archive_read_support_format_all(ar);
	assert_int_equal(archive_read_open_filename(ar, P("%s/%s", out, name), 65536), ARCHIVE_OK);
	while (archive_read_next_header(ar, &ae) == ARCHIVE_OK) {
		if (strcmp(archive_entry_pathname(ae), path))
			continue;
		r = buf ? archive_read_data(ar, buf, cap) : 0;
		if (copy)
			*copy = archive_entry_clone(ae);
		break;
	}
	archive_read_free(ar);
	return r;
}

static void
categories(void **state)
{
	assert_int_equal(rootfscategory("usr/share/man/man1/ls.1.gz"), CAT_MAN);
	assert_int_equal(rootfscategory("usr/share/man"), CAT_MAN);
	assert_int_equal(rootfscategory("usr/share/manifest"), CAT_NONE);
	assert_int_equal(rootfscategory("usr/share/info/dir"), CAT_INFO);
	assert_int_equal(rootfscategory("usr/share/doc/x/README"), CAT_DOC);
	assert_int_equal(rootfscategory("usr/share/locale/de/LC_MESSAGES/x.mo"), CAT_LOCALE);
	assert_int_equal(rootfscategory("usr/lib/locale/C.utf8/LC_CTYPE"), CAT_LOCALE);
	assert_int_equal(rootfscategory("usr/include/stdio.h"), CAT_HEADERS);
	assert_int_equal(rootfscategory("usr/lib/gcc/x/include/stddef.h"), CAT_HEADERS);
	assert_int_equal(rootfscategory("usr/lib/libc.a"), CAT_STATIC);
	assert_int_equal(rootfscategory("usr/lib/libz.la"), CAT_STATIC);
	assert_int_equal(rootfscategory("usr/lib/crt1.o"), CAT_STATIC);
	assert_int_equal(rootfscategory("usr/lib/pkgconfig/zlib.pc"), CAT_PKGCONFIG);
	assert_int_equal(rootfscategory("usr/share/pkgconfig/x.pc"), CAT_PKGCONFIG);
	assert_int_equal(rootfscategory("usr/lib/cmake/Z/ZConfig.cmake"), CAT_CMAKE);
	assert_int_equal(rootfscategory("bin/busybox"), CAT_NONE);
	assert_int_equal(rootfscategory("usr/lib/libc.so"), CAT_NONE);
	assert_int_equal(rootfscategory("etc/a.conf"), CAT_NONE);
	assert_string_equal(rootfscategoryname(CAT_PKGCONFIG), "pkgconfig");
}

static void
build_base(void **state)
{
	struct fixture fx;
	const char *m, *l, *rep;
	struct archive_entry *ae = NULL;
	char buf[4096];
	int rc;

	fixture(&fx, BASEROLE, basepkgs, "out1");
	capture(rootfsbuild, &fx.job, &rc);
	assert_int_equal(rc, 0);
	m = slurp("out1", "manifest");
	/* the strip policy */
	assert_null(strstr(m, " usr/share/man"));
	assert_null(strstr(m, " usr/share/info"));
	assert_null(strstr(m, " usr/share/locale"));
	assert_null(strstr(m, " usr/include"));
	assert_null(strstr(m, ".a\n"));
	assert_null(strstr(m, ".la\n"));
	assert_null(strstr(m, ".pc\n"));
	assert_null(strstr(m, ".cmake\n"));
	assert_null(strstr(m, " usr/lib/cmake"));
	assert_null(strstr(m, " usr/share/doc/busybox/README"));
	assert_non_null(mline(m, "usr/share/doc/busybox/LICENSE"));    /* the recipe keeps it */
	assert_non_null(mline(m, "usr/share/foo/data"));
	assert_non_null(mline(m, "var/empty"));
	assert_non_null(strstr(m, "l 0777 0:0 0 - musl lib/ld-musl-x86_64.so.1 -> /usr/lib/libc.so\n"));
	/* ELF files are stripped */
	l = mline(m, "bin/busybox");
	assert_non_null(l);
	assert_int_equal(strncmp(l, "f 0755 0:0 ", 11), 0);
	assert_true(strtoull(l + 11, NULL, 10) < elfsize);
	/* generated files, devices, directories */
	assert_non_null(strstr(m, "c 0600 0:0 5,1 - - dev/console\n"));
	assert_non_null(strstr(m, "c 0666 0:0 1,3 - - dev/null\n"));
	assert_non_null(strstr(m, "d 1777 0:0 0 - - tmp\n"));
	assert_non_null(strstr(m, "d 0700 0:0 0 - - root\n"));
	assert_non_null(strstr(m, "d 0555 0:0 0 - - proc\n"));
	assert_non_null(strstr(m, "l 0777 0:0 0 - - init -> sbin/init\n"));
	assert_non_null(mline(m, "var/log"));
	assert_non_null(strstr(m, " - etc/shadow\n"));
	assert_true(strncmp(mline(m, "etc/shadow"), "f 0600 0:0 ", 11) == 0);
	assert_non_null(strstr(m, " - etc/service/sshd/run\n"));
	assert_null(strstr(m, "supervise"));
	/* the archives hold what the manifest says */
	assert_int_equal(archived("out1", "initramfs.cpio.zst", "dev/console", NULL, 0, &ae), 0);
	assert_int_equal(archive_entry_filetype(ae), AE_IFCHR);
	assert_int_equal(archive_entry_rdevmajor(ae), 5);
	assert_int_equal(archive_entry_rdevminor(ae), 1);
	assert_int_equal(archive_entry_mtime(ae), EPOCH);
	archive_entry_free(ae);
	assert_true(archived("out1", "rootfs.tar.zst", "etc/inittab", buf, sizeof(buf) - 1, NULL) > 0);
	assert_non_null(strstr(buf, "::sysinit:/usr/lib/undistro/rc\n::respawn:/etc/service/network/run\n"
	                         "::respawn:/etc/service/sshd/run\n::respawn:/etc/service/late/run\n"
	                         "::once:/etc/undistro/ready\n::shutdown:/usr/lib/undistro/shutdown\n"));
	memset(buf, 0, sizeof(buf));
	assert_true(archived("out1", "initramfs.cpio.zst", "etc/undistro/ready", buf, sizeof(buf) - 1, NULL) > 0);
	assert_non_null(strstr(buf, "/usr/lib/undistro/wait 0 network sshd || exit\n"
	                         "/usr/lib/undistro/wait 45 firstboot >/dev/console\n"
	                         "echo \"undistro: role test ready\" >/dev/console\n"
	                         "# undistro cost: the idle measurement, when qemu asks for it\n"
	                         "[ ! -e /sys/firmware/qemu_fw_cfg/by_name/opt/undistro/cost ] || "
	                         "exec /usr/lib/undistro/cost >/dev/console 2>&1\n"));
	memset(buf, 0, sizeof(buf));
	assert_true(archived("out1", "initramfs.cpio.zst", "etc/service/sshd/run", buf, sizeof(buf) - 1, NULL) > 0);
	assert_non_null(strstr(buf, "read -r t _ </proc/uptime\n"
	                         "if read -r _ t0 </run/undistro/sshd.up 2>/dev/null && [ \"${t%.*}\" = \"${t0%.*}\" ]; then\n"
	                         "\tsleep 1\nfi\n"
	                         "/usr/lib/undistro/wait 60 network || exit 1\n"
	                         "read -r t _ </proc/uptime\necho \"$$ $t\" >/run/undistro/sshd.up\n"
	                         "exec /usr/sbin/dropbear -F -E -R -s -p 22\n"));
	memset(buf, 0, sizeof(buf));
	assert_true(archived("out1", "rootfs.tar.zst", "etc/passwd", buf, sizeof(buf) - 1, NULL) > 0);
	assert_string_equal(buf, "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
	/* the report */
	rep = slurp("out1", "report");
	assert_non_null(strstr(rep, "\nman             1 "));
	assert_non_null(strstr(rep, "\nheaders         2 "));
	assert_non_null(strstr(rep, "\nstatic          2 "));
	assert_non_null(strstr(rep, "\nelf             2 "));
	assert_non_null(strstr(rep, "largest files kept"));
	assert_non_null(strstr(rep, "kept by recipes' keep globs: 1\n"));
	fixturefree(&fx);
}

/* Every ELF file in the tar is stripped: readelf shows no .symtab. */
static void
elf_stripped(void **state)
{
	static char buf[1 << 20];
	long long n = archived("out1", "rootfs.tar.zst", "usr/lib/libc.so", buf, sizeof(buf), NULL);
	char *argv[] = {"readelf", "-S", "-W", P("libc.so"), NULL};
	struct buf out = {0};

	assert_true(n > 0 && (unsigned long long)n < elfsize);
	assert_int_equal(writeatomic(P("libc.so"), buf, (size_t)n, 0755), 0);
	assert_int_equal(osruncapture(argv, NULL, NULL, &out), 0);
	assert_non_null(strstr(out.p, ".text"));
	assert_null(strstr(out.p, ".symtab"));
	assert_null(strstr(out.p, ".debug"));
	buffree(&out);
}

static void
samefile(const char *x, const char *y)
{
	char *a1, *a2;
	size_t n1, n2;

	assert_int_equal(readfile(x, &a1, &n1), 0);
	assert_int_equal(readfile(y, &a2, &n2), 0);
	assert_int_equal(n1, n2);
	assert_memory_equal(a1, a2, n1);
	free(a1);
	free(a2);
}

static void
reproducible(void **state)
{
	static const char *const files[] = {"rootfs.tar.zst", "initramfs.cpio.zst", "manifest", "report"};
	struct fixture fx;
	int rc;

	fixture(&fx, BASEROLE, basepkgs, "elsewhere/out2");
	sleep(1);
	capture(rootfsbuild, &fx.job, &rc);
	assert_int_equal(rc, 0);
	for (size_t i = 0; i < 4; i++)
		samefile(P("out1/%s", files[i]), P("elsewhere/out2/%s", files[i]));
	/* a rebuild over existing outputs changes nothing either, and removes
	 * what a killed run left */
	put(P("elsewhere/out2/.rootfs.AbCdEf/blob"), "x", 0600);
	put(P("elsewhere/out2/initramfs.cpio.zst.tmp.XyZ123"), "x", 0600);
	put(P("elsewhere/out2/logs/keep"), "x", 0644);
	capture(rootfsbuild, &fx.job, &rc);
	assert_int_equal(rc, 0);
	assert_false(exists(P("elsewhere/out2/.rootfs.AbCdEf")));
	assert_false(exists(P("elsewhere/out2/initramfs.cpio.zst.tmp.XyZ123")));
	assert_true(exists(P("elsewhere/out2/logs/keep")));
	samefile(P("out1/initramfs.cpio.zst"), P("elsewhere/out2/initramfs.cpio.zst"));
	fixturefree(&fx);
}

static void
overlay_replaces(void **state)
{
	struct fixture fx;
	const char *e, *m;
	int rc;

	put(P("tree/overlays/test/usr/bin/tool"), "#!/bin/sh\necho overlaid\n", 0700);
	put(P("tree/overlays/test/srv/www/index.html"), "<p>hi</p>\n", 0600);
	put(P("tree/overlays/test/etc/motd"), "welcome\n", 0644);
	put(P("tree/overlays/test/etc/hostname"), "custom\n", 0644);
	fixture(&fx, BASEROLE, basepkgs, "out3");
	e = capture(rootfsbuild, &fx.job, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(e, "warning: usr/bin/tool: overlay test replaces the file of package busybox"));
	assert_null(strstr(e, "etc/hostname"));    /* generated files are replaced quietly */
	m = slurp("out3", "manifest");
	assert_true(strncmp(mline(m, "usr/bin/tool"), "f 0755 0:0 24 ", 14) == 0);
	assert_non_null(strstr(mline(m, "usr/bin/tool"), " overlay:test usr/bin/tool"));
	assert_true(strncmp(mline(m, "srv/www/index.html"), "f 0644 0:0 ", 11) == 0);
	assert_true(strncmp(mline(m, "srv/www"), "d 0755 0:0 ", 11) == 0);
	assert_non_null(strstr(mline(m, "etc/hostname"), " overlay:test "));
	rmtree(P("tree/overlays"));
	fixturefree(&fx);
}

static void
conflicts(void **state)
{
	static const char *const same[] = {"busybox", "twin", NULL};
	static const char *const differ[] = {"busybox", "rival", "musl", NULL};
	static const char *const through[] = {"musl", "busybox", "merged", "under", NULL};
	struct fixture fx;
	const char *e;
	int rc;

	put(P("src/twin/usr/bin/tool"), "#!/bin/sh\necho packaged\n", 0755);
	put(P("src/rival/usr/bin/tool"), "#!/bin/sh\necho rival\n", 0755);
	fixture(&fx, "name = test\n", same, "out4");
	e = capture(rootfsbuild, &fx.job, &rc);
	assert_int_equal(rc, 0);
	assert_null(strstr(e, "tool"));
	fixturefree(&fx);
	fixture(&fx, "name = test\n", differ, "out5");
	e = capture(rootfsbuild, &fx.job, &rc);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(e, "undistro: usr/bin/tool: packages busybox and rival both install it, differently"));
	assert_false(exists(P("out5/manifest")));
	fixturefree(&fx);
	/* usr/lib/x below a symlink usr/lib would be written through it */
	link_(P("src/merged/usr/sbin"), "bin");
	put(P("src/under/usr/sbin/x"), "x\n", 0644);
	fixture(&fx, "name = test\n", through, "out6");
	e = capture(rootfsbuild, &fx.job, &rc);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(e, "usr/sbin/x (package under) lies below usr/sbin, which is a symlink from package merged"));
	fixturefree(&fx);
}

static void
strip_keep(void **state)
{
	struct fixture fx;
	const char *m;
	int rc;

	fixture(&fx, "name = test\nstrip-keep = man, elf, headers\n", basepkgs, "out7");
	capture(rootfsbuild, &fx.job, &rc);
	assert_int_equal(rc, 0);
	m = slurp("out7", "manifest");
	assert_non_null(mline(m, "usr/share/man/man1/busybox.1"));
	assert_non_null(mline(m, "usr/include/foo/foo.h"));
	assert_null(mline(m, "usr/share/doc/busybox/README"));
	assert_null(mline(m, "usr/lib/libc.a"));
	assert_int_equal(strtoull(mline(m, "bin/busybox") + 11, NULL, 10), elfsize);
	fixturefree(&fx);
}

static void
keys(void **state)
{
	const char *k = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests alice@host\n";
	struct fixture fx;
	const char *e, *m;
	char buf[4096] = {0};
	int rc;

	put(P("tree/keys/alice.pub"), k, 0644);
	put(P("extra.pub"), "# root's\nno-pty ecdsa-sha2-nistp256 AAAAE2Vj root@host\n", 0644);
	fixture(&fx, "name = test\nuser alice {\n\tkeys = keys/alice.pub\n}\n"
	        "service web {\n\tcommand = httpd -f\n\tuser = alice\n}\n", basepkgs, "out8");
	fx.job.authorized_keys = (const char *const[]){P("extra.pub"), NULL};
	capture(rootfsbuild, &fx.job, &rc);
	assert_int_equal(rc, 0);
	m = slurp("out8", "manifest");
	assert_true(strncmp(mline(m, "home/alice"), "d 0700 1000:1000 ", 17) == 0);
	assert_true(strncmp(mline(m, "home/alice/.ssh"), "d 0700 1000:1000 ", 17) == 0);
	assert_true(strncmp(mline(m, "home/alice/.ssh/authorized_keys"), "f 0600 1000:1000 ", 17) == 0);
	assert_true(strncmp(mline(m, "root/.ssh/authorized_keys"), "f 0600 0:0 ", 11) == 0);
	assert_true(archived("out8", "rootfs.tar.zst", "etc/shadow", buf, sizeof(buf) - 1, NULL) > 0);
	assert_string_equal(buf, "root:*:::::::\nalice:*:::::::\nnobody:!:::::::\n");
	memset(buf, 0, sizeof(buf));
	assert_true(archived("out8", "rootfs.tar.zst", "etc/group", buf, sizeof(buf) - 1, NULL) > 0);
	assert_string_equal(buf, "root:x:0:\ntty:x:5:\nalice:x:1000:\nnogroup:x:65534:\n");
	memset(buf, 0, sizeof(buf));
	assert_true(archived("out8", "rootfs.tar.zst", "etc/service/web/run", buf, sizeof(buf) - 1, NULL) > 0);
	assert_non_null(strstr(buf, "\nexec chpst -u alice httpd -f\n"));
	memset(buf, 0, sizeof(buf));
	assert_true(archived("out8", "rootfs.tar.zst", "root/.ssh/authorized_keys", buf, sizeof(buf) - 1, NULL) > 0);
	assert_string_equal(buf, "no-pty ecdsa-sha2-nistp256 AAAAE2Vj root@host\n");
	fixturefree(&fx);
	/* a private key, a file that is not a key, a missing file, a service user nobody declared */
	put(P("tree/keys/id_ed25519"), "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blb\n", 0600);
	put(P("tree/keys/junk.pub"), "ssh-ed25519 AAAA ok\nhello world\n", 0644);
	fixture(&fx, "name = test\nuser bob {\n\tkeys = keys/id_ed25519, keys/junk.pub, keys/none.pub\n}\n"
	        "service web {\n\tcommand = httpd -f\n\tuser = www\n}\n", basepkgs, "out9");
	e = capture(rootfsbuild, &fx.job, &rc);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(e, "id_ed25519 holds a private key: give the public key (the .pub file)"));
	assert_non_null(strstr(e, "keys/junk.pub:2:1: not an OpenSSH public key"));
	assert_non_null(strstr(e, "keys/none.pub: No such file or directory"));
	assert_non_null(strstr(e, "service 'web' runs as user 'www', which role 'test' does not declare"));
	fixturefree(&fx);
}

/* Without busybox's sbin/init link, /init still reaches busybox; without
 * any init or shell the build fails. */
static void
noinit(void **state)
{
	static const char *const bare[] = {"musl", NULL};
	static const char *const bb[] = {"musl", "bbonly", NULL};
	static const char *const bbinit[] = {"musl", "bbinit", NULL};
	struct fixture fx;
	const char *e;
	int rc;

	copy(elfpath, P("src/bbonly/bin/busybox"));
	link_(P("src/bbonly/bin/sh"), "busybox");
	fixture(&fx, "name = test\n", bb, "out10");
	e = capture(rootfsbuild, &fx.job, &rc);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(e, "recipes/roles/test.role:1:1: role test has no /usr/lib/undistro/rc, which its "
	                          "/etc/inittab runs: add the package `init`"));
	fixturefree(&fx);
	copy(elfpath, P("src/bbinit/bin/busybox"));
	link_(P("src/bbinit/bin/sh"), "busybox");
	for (size_t i = 0; i < sizeof(initfiles) / sizeof(initfiles[0]); i++)
		put(P("src/bbinit/usr/lib/undistro/%s", initfiles[i]), "#!/bin/sh\n", 0755);
	fixture(&fx, "name = test\n", bbinit, "out12");
	e = capture(rootfsbuild, &fx.job, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(e, "warning: role test: no package installs mount, grep, mkdir"));
	assert_non_null(strstr(slurp("out12", "manifest"), "l 0777 0:0 0 - - sbin/init -> ../bin/busybox\n"));
	fixturefree(&fx);
	fixture(&fx, "name = test\n", bare, "out11");
	e = capture(rootfsbuild, &fx.job, &rc);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(e, "role test has no /bin/sh"));
	assert_non_null(strstr(e, "role test has no init"));
	fixturefree(&fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(categories),
		cmocka_unit_test(build_base),
		cmocka_unit_test(elf_stripped),
		cmocka_unit_test(reproducible),
		cmocka_unit_test(overlay_replaces),
		cmocka_unit_test(conflicts),
		cmocka_unit_test(strip_keep),
		cmocka_unit_test(keys),
		cmocka_unit_test(noinit),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
