/* Image stage unit tests, and the driver of tests/e2e/60-image-boot.sh.
 *
 * The unit tests build images from placeholder kernel and initramfs files
 * (imagebuild reads only a kernel's headers: PE machine, bzImage magic): layout, reproducibility, patched vhd
 * and vmdk metadata, stale-output removal, and that a failure leaves nothing.
 * They need the image tools (sfdisk, mkfs.vfat, mtools, syslinux, qemu-img).
 *
 * Driver mode, skipped unless its variables are set (UNDISTRO_TEST_FILTER
 * names the one test to run):
 *   UNDISTRO_KERNEL, UNDISTRO_INITRAMFS, UNDISTRO_IMAGE_OUT: build an image
 *     of every format into UNDISTRO_IMAGE_OUT (epoch SOURCE_DATE_EPOCH).
 *   UNDISTRO_BOOT_LOG (+ UNDISTRO_BOOT_UEFI=1, UNDISTRO_BOOT_TIMEOUT): boot
 *     UNDISTRO_IMAGE_OUT/disk.raw with the serial console into that file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "alloc.h"
#include "diag.h"
#include "image.h"
#include "os.h"
#include "run.h"
#include "target.h"

#define EPOCH 1700000000LL

static char dir[] = "/tmp/test_image.XXXXXX";
static const char *const allfmts[] = {"qcow2", "vhd", "vmdk", NULL};

static char *
path(const char *a, const char *b)
{
	static char p[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s%s%s", dir, a, b ? "/" : "", b ? b : "");
	return p[i];
}

static void
makefile(const char *p, size_t n, int c)
{
	char *d = xmalloc(n);

	memset(d, c, n);
	assert_int_equal(writeatomic(p, d, n, 0644), 0);
	free(d);
}

/* A placeholder kernel: n bytes of 'k' with the headers imagebuild checks,
 * a PE/COFF header for machine and, when bz, the bzImage "HdrS" magic. */
static void
makekernel(const char *p, size_t n, unsigned machine, int bz)
{
	unsigned char *d = xmalloc(n);

	memset(d, 'k', n);
	memcpy(d, "MZ", 2);
	d[0x3c] = 0x80, d[0x3d] = d[0x3e] = d[0x3f] = 0;
	memcpy(d + 0x80, "PE\0\0", 4);
	d[0x84] = (unsigned char)machine, d[0x85] = (unsigned char)(machine >> 8);
	if (bz)
		memcpy(d + 0x202, "HdrS", 4);
	assert_int_equal(writeatomic(p, d, n, 0644), 0);
	free(d);
}

/* A job whose paths stay valid (path() reuses its buffers); leaks a little. */
static struct imagejob
job(const char *out)
{
	struct imagejob j = {
		.target = targetfind("x86_64"),
		.kernel = xstrdup(path("vmlinuz", NULL)), .initramfs = xstrdup(path("initrd", NULL)),
		.cmdline = "quiet", .outdir = xstrdup(out), .role = "base", .epoch = EPOCH,
		.formats = allfmts, .uuidseed = "seed-1",
	};
	return j;
}

static int
setup(void **state)
{
	assert_non_null(mkdtemp(dir));
	makekernel(path("vmlinuz", NULL), 2 * 1024 * 1024 + 17, 0x8664, 1);
	makekernel(path("vmlinuz-aa64", NULL), 2 * 1024 * 1024 + 17, 0xaa64, 0);
	makekernel(path("vmlinuz-nobz", NULL), 4096, 0x8664, 0);
	makefile(path("initrd", NULL), 700 * 1024, 'i');
	makefile(path("root.erofs", NULL), 3 * 1024 * 1024, 'e');
	return 0;
}

static int
teardown(void **state)
{
	return rmtree(dir);
}

static char *
slurp(const char *p, size_t *n)
{
	char *d;

	assert_int_equal(readfile(p, &d, n), 0);
	return d;
}

static void
samefile(const char *a, const char *b)
{
	size_t na, nb;
	char *da = slurp(a, &na), *db = slurp(b, &nb);

	assert_int_equal(na, nb);
	assert_memory_equal(da, db, na);
	free(da);
	free(db);
}

static void
test_uuid(void **state)
{
	char a[37], b[37], c[37];

	imageuuid("x", 0, a);
	imageuuid("x", 0, b);
	imageuuid("x", 1, c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	imageuuid("y", 0, c);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), 36);
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89ab", a[19]));
}

static void
test_cmdline(void **state)
{
	struct imagejob j = job("x");
	char *c = imagecmdline(&j, "U");

	assert_string_equal(c, "console=ttyS0,115200 nvme_core.io_timeout=4294967295 quiet");
	free(c);
	/* aarch64: no console=, so the firmware's SPCR table chooses the UART */
	j.target = targetfind("aarch64");
	c = imagecmdline(&j, "U");
	assert_string_equal(c, "nvme_core.io_timeout=4294967295 quiet");
	free(c);
	j.target = targetfind("x86_64");
	j.erofs = "r", j.cmdline = NULL;
	c = imagecmdline(&j, "U");
	assert_non_null(strstr(c, " root=PARTUUID=U rootfstype=erofs ro rootwait"));
	free(c);
}

/* Disk: the MBR boot code is gptmbr.bin's, the GPT header follows, and the
 * ESP's FAT boot sector sits at 1 MiB; vhd footer fields are pinned. */
static void
checkraw(const char *out, long mb)
{
	size_t n, vn;
	char *d = slurp(path(out, "disk.raw"), &n);
	char *v = slurp(path(out, "disk.vhd"), &vn);
	unsigned char *f = (unsigned char *)v + vn - 512;
	uint32_t sum = 0, want, t;
	int i;

	assert_int_equal(n, mb * 1024 * 1024);
	assert_int_equal((unsigned char)d[510], 0x55);
	assert_int_equal((unsigned char)d[511], 0xaa);
	assert_memory_equal(d + 512, "EFI PART", 8);
	assert_memory_equal(d + 1048576 + 82, "FAT32", 5);
	assert_int_equal(vn, n + 512);
	assert_memory_equal(f, "conectix", 8);
	for (i = 0; i < 512; i++)
		sum += (i >= 64 && i < 68) ? 0 : f[i];
	want = (uint32_t)f[64] << 24 | (uint32_t)f[65] << 16 | (uint32_t)f[66] << 8 | f[67];
	assert_int_equal(~sum, want);
	t = (uint32_t)f[24] << 24 | (uint32_t)f[25] << 16 | (uint32_t)f[26] << 8 | f[27];
	assert_int_equal(t, EPOCH - 946684800LL);
	free(d);
	free(v);
}

static void
test_build_reproducible(void **state)
{
	struct imagejob j = job(path("a", NULL));
	const char *const outs[] = {"disk.raw", "disk.qcow2", "disk.vhd", "disk.vmdk",
	                            "register-image.json"};
	size_t i;

	assert_int_equal(imagebuild(&j), 0);
	sleep(1);   /* a clock leak would show as a difference */
	j.outdir = xstrdup(path("b", NULL));
	assert_int_equal(imagebuild(&j), 0);
	for (i = 0; i < 5; i++)
		samefile(path("a", outs[i]), path("b", outs[i]));
	checkraw("a", 42);   /* 1 + 40 (ESP minimum) + 1 */
	/* another seed: another disk */
	j.uuidseed = "seed-2", j.outdir = xstrdup(path("c", NULL)), j.formats = NULL;
	assert_int_equal(imagebuild(&j), 0);
	{
		size_t na, nc;
		char *da = slurp(path("a", "disk.raw"), &na), *dc = slurp(path("c", "disk.raw"), &nc);
		assert_int_equal(na, nc);
		assert_memory_not_equal(da, dc, na);
		free(da);
		free(dc);
	}
}

static void
test_json(void **state)
{
	size_t n;
	char *d = slurp(path("a", "register-image.json"), &n);

	assert_non_null(strstr(d, "\"Name\": \"undistro-base-1700000000\""));
	assert_non_null(strstr(d, "\"Architecture\": \"x86_64\""));
	assert_non_null(strstr(d, "\"BootMode\": \"uefi-preferred\""));
	assert_non_null(strstr(d, "\"EnaSupport\": true"));
	assert_non_null(strstr(d, "\"ImdsSupport\": \"v2.0\""));
	assert_non_null(strstr(d, "\"RootDeviceName\": \"/dev/xvda\""));
	assert_non_null(strstr(d, "\"SnapshotId\": \"@SNAPSHOT_ID@\""));
	free(d);
}

/* erofs: a second partition holding the image's bytes; a bigger sizemb */
static void
test_erofs_and_stale(void **state)
{
	struct imagejob j = job(path("a", NULL));
	const char *const none[] = {NULL};
	size_t n;
	char *d;

	j.erofs = xstrdup(path("root.erofs", NULL)), j.sizemb = 64, j.formats = none;
	assert_int_equal(imagebuild(&j), 0);
	d = slurp(path("a", "disk.raw"), &n);
	assert_int_equal(n, 64 * 1024 * 1024);
	assert_int_equal(d[41 * 1024 * 1024], 'e');
	assert_int_equal(d[44 * 1024 * 1024 - 1], 'e');
	free(d);
	assert_false(exists(path("a", "disk.qcow2")));
	assert_false(exists(path("a", "disk.vhd")));
	assert_true(exists(path("a", "register-image.json")));
}

/* aarch64: UEFI only. No BIOS boot code in the MBR, no syslinux, no
 * LegacyBIOSBootable attribute; systemd-boot for arm64 at the removable-media
 * path; register-image.json says arm64 and uefi. */
static void
test_aarch64(void **state)
{
	struct imagejob j = job(path("aa", NULL));
	static const char zero[440];
	size_t n;
	char *d, *cmd;

	j.target = targetfind("aarch64");
	j.kernel = xstrdup(path("vmlinuz-aa64", NULL));
	assert_int_equal(imagebuild(&j), 0);
	d = slurp(path("aa", "disk.raw"), &n);
	assert_memory_equal(d, zero, sizeof(zero));
	assert_memory_equal(d + 512, "EFI PART", 8);
	free(d);
	cmd = xasprintf("MTOOLS_SKIP_CHECK=1 mdir -b -i %s@@1M ::/EFI/BOOT | grep -qx ::/EFI/BOOT/BOOTAA64.EFI && "
	                "! mdir -i %s@@1M ::/syslinux >/dev/null 2>&1 && "
	                "! sfdisk -d %s | grep -q LegacyBIOSBootable",
	                path("aa", "disk.raw"), path("aa", "disk.raw"), path("aa", "disk.raw"));
	assert_int_equal(system(cmd), 0);
	free(cmd);
	d = slurp(path("aa", "register-image.json"), &n);
	assert_non_null(strstr(d, "\"Architecture\": \"arm64\""));
	assert_non_null(strstr(d, "\"BootMode\": \"uefi\""));
	free(d);
}

/* Bad jobs fail before or during the build and leave outdir untouched. */
static void
test_failures(void **state)
{
	struct imagejob j = job(path("f", NULL));
	const char *const bad[] = {"iso", NULL};

	j.kernel = xstrdup(path("missing", NULL));
	assert_int_equal(imagebuild(&j), -1);
	j = job(path("f", NULL)), j.formats = bad;
	assert_int_equal(imagebuild(&j), -1);
	j = job(path("f", NULL)), j.sizemb = 10;
	assert_int_equal(imagebuild(&j), -1);
	j = job(path("f", NULL)), j.cmdline = "a\nb";
	assert_int_equal(imagebuild(&j), -1);
	j = job(path("f", NULL)), j.initramfs = dir;   /* a directory */
	assert_int_equal(imagebuild(&j), -1);
	/* kernels of another architecture, or not bootable by BIOS */
	j = job(path("f", NULL)), j.kernel = xstrdup(path("vmlinuz-aa64", NULL));
	assert_int_equal(imagebuild(&j), -1);
	j = job(path("f", NULL)), j.kernel = xstrdup(path("vmlinuz-nobz", NULL));
	assert_int_equal(imagebuild(&j), -1);
	j = job(path("f", NULL)), j.target = targetfind("aarch64");   /* an x86 kernel */
	assert_int_equal(imagebuild(&j), -1);
	j = job(path("f", NULL)), j.kernel = xstrdup(path("initrd", NULL));   /* not PE */
	assert_int_equal(imagebuild(&j), -1);
	assert_false(exists(path("f", "disk.raw")));
}

static int
entries(const char *d)
{
	DIR *h = opendir(d);
	struct dirent *e;
	int n = 0;

	assert_non_null(h);
	while ((e = readdir(h)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(h);
	return n;
}

/* A tool failing half-way (after disk.raw exists in the temporary
 * directory): the build fails and outdir gains nothing, not even the
 * temporary directory; an earlier build's outputs stay as they were. */
static void
test_tool_failure(void **state)
{
	struct imagejob j = job(path("g", NULL));
	const char *oldpath = getenv("PATH");
	char *newpath = xasprintf("%s:%s", path("fakebin", NULL), oldpath);
	const char *fake = "#!/bin/sh\necho fake qemu-img failure >&2\nexit 3\n";

	assert_int_equal(mkdirp(path("fakebin", NULL), 0755), 0);
	assert_int_equal(writeatomic(path("fakebin", "qemu-img"), fake, strlen(fake), 0755), 0);
	setenv("PATH", newpath, 1);
	assert_int_equal(imagebuild(&j), -1);
	assert_int_equal(entries(path("g", NULL)), 0);
	j.outdir = xstrdup(path("a", NULL));
	assert_int_equal(imagebuild(&j), -1);
	assert_true(exists(path("a", "register-image.json")));
	setenv("PATH", oldpath, 1);
	free(newpath);
}

static void
test_run_missing(void **state)
{
	struct runopts o = {.target = targetfind("x86_64"), .outdir = path("nothing", NULL), .seriallog = "/dev/null"};

	assert_int_equal(runimage(&o), -1);
}

static void
test_envbuild(void **state)
{
	const char *k = getenv("UNDISTRO_KERNEL"), *i = getenv("UNDISTRO_INITRAMFS");
	const char *out = getenv("UNDISTRO_IMAGE_OUT"), *e = getenv("SOURCE_DATE_EPOCH");
	const char *arch = getenv("UNDISTRO_ARCH");
	struct imagejob j = {
		.target = arch ? targetfind(arch) : targethost(),
		.kernel = k, .initramfs = i, .outdir = out, .role = "e2e",
		.epoch = e ? atoll(e) : EPOCH, .formats = allfmts, .uuidseed = "e2e",
	};

	if (!k || !i || !out)
		skip();
	assert_int_equal(imagebuild(&j), 0);
}

static void
test_envboot(void **state)
{
	const char *log = getenv("UNDISTRO_BOOT_LOG"), *uefi = getenv("UNDISTRO_BOOT_UEFI");
	const char *t = getenv("UNDISTRO_BOOT_TIMEOUT");
	const char *arch = getenv("UNDISTRO_ARCH");
	struct runopts o = {
		.target = arch ? targetfind(arch) : targethost(),
		.outdir = getenv("UNDISTRO_IMAGE_OUT"), .seriallog = log,
		.uefi = uefi && strcmp(uefi, "1") == 0, .timeout = t ? atoi(t) : 120,
	};

	if (!log || !o.outdir)
		skip();
	assert_int_equal(runimage(&o), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_aarch64),
		cmocka_unit_test(test_build_reproducible),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_erofs_and_stale),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_tool_failure),
		cmocka_unit_test(test_run_missing),
		cmocka_unit_test(test_envbuild),
		cmocka_unit_test(test_envboot),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	if (getenv("UNDISTRO_TEST_FILTER"))
		cmocka_set_test_filter(getenv("UNDISTRO_TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
