/* The image stage (see image.h for the disk layout and the outputs).
 *
 * Reproducibility pins, each needed (measured; see docs and notes):
 * - sfdisk: label-id and every partition uuid come from the seed;
 * - mkfs.vfat: --invariant before -i (after it, -i is reset), -i from seed;
 * - mtools and syslinux's internal mtools: SOURCE_DATE_EPOCH and TZ=UTC
 *   (FAT stores local time) fix every file time;
 * - qemu-img: qcow2 is deterministic; the fixed vhd footer carries a
 *   creation time, a random uuid and a checksum, and the streamOptimized
 *   vmdk descriptor a random CID: both are patched here from epoch and seed.
 *   The vmdk descriptor also names the file, so it is always made under the
 *   name disk.vmdk.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "alloc.h"
#include "diag.h"
#include "image.h"
#include "json.h"
#include "os.h"
#include "sha256.h"
#include "str.h"
#include "target.h"

#define MIB (1024L * 1024)
#define ESPSTART MIB           /* byte offset of p1 */
#define ESPMIN 40              /* MiB: FAT32 with 512-byte clusters needs > 32 */

extern char **environ;

/* Outputs in the order they are committed; raw and json always exist. */
static const char *const outputs[] = {
	"disk.raw", "disk.qcow2", "disk.vhd", "disk.vmdk", "register-image.json",
};

/* uuid indices derived from the seed */
enum { UUID_DISK, UUID_ESP, UUID_ROOT, UUID_FAT, UUID_VHD, UUID_VMDK };

struct img {
	const struct imagejob *job;
	char *tmp;              /* outdir/.image.XXXXXX, removed at the end */
	char *raw;              /* tmp/disk.raw */
	char **env;             /* environ plus the reproducibility pins */
	long espmb, rootmb, diskmb;
	char uuid[UUID_VMDK + 1][37];
	char *cmdline;
	const char *efiloader;  /* systemd-boot for the target */
	int want[sizeof(outputs) / sizeof(outputs[0])];
};

/* The first 16 bytes of sha256("undistro-image:" seed ":" n), marked as a
 * version 4 (random) RFC 4122 uuid. */
static void
uuidbytes(const char *seed, unsigned n, unsigned char b[16])
{
	struct sha256 h;
	unsigned char d[32];
	char tag[32];

	snprintf(tag, sizeof(tag), ":%u", n);
	sha256init(&h);
	sha256add(&h, "undistro-image:", 15);
	sha256add(&h, seed, strlen(seed));
	sha256add(&h, tag, strlen(tag));
	sha256final(&h, d);
	memcpy(b, d, 16);
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
}

void
imageuuid(const char *seed, unsigned n, char out[37])
{
	unsigned char b[16];
	int i, o = 0;

	uuidbytes(seed, n, b);
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		snprintf(out + o, 3, "%02x", b[i]);
		o += 2;
	}
	out[o] = '\0';
}

char *
imagecmdline(const struct imagejob *job, const char *rootuuid)
{
	struct buf b = {0};

	/* the target's console, unless the firmware's SPCR table picks it */
	if (job->target->console)
		bufprintf(&b, "console=%s ", job->target->console);
	/* Nitro: EBS volumes are NVMe; AWS asks for the longest I/O timeout */
	bufadds(&b, "nvme_core.io_timeout=4294967295");
	if (job->erofs)
		bufprintf(&b, " root=PARTUUID=%s rootfstype=erofs ro rootwait", rootuuid);
	if (job->cmdline && *job->cmdline)
		bufprintf(&b, " %s", job->cmdline);
	return b.p;
}

static long
filemb(const char *path, long long *bytes)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		err("image: %s:", path);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		err("image: %s: not a regular file", path);
		return -1;
	}
	*bytes = st.st_size;
	return (long)((st.st_size + MIB - 1) / MIB);
}

static int
checkformats(struct img *im)
{
	const char *const *f;
	size_t i;

	im->want[0] = im->want[4] = 1;
	for (f = im->job->formats; f && *f; f++) {
		for (i = 0; i < 4 && strcmp(*f, outputs[i] + 5) != 0; i++)
			;
		if (i == 4) {
			err("image: unknown format '%s' (known: raw, qcow2, vhd, vmdk)", *f);
			return -1;
		}
		im->want[i] = 1;
	}
	return 0;
}

static int
checkcmdline(const struct target *t, const char *s)
{
	if (strlen(s) > (size_t)t->cmdlinemax) {
		err("image: the kernel command line is %zu bytes; the limit is %d",
		    strlen(s), t->cmdlinemax);
		return -1;
	}
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			err("image: the kernel command line holds a control character (0x%02x)",
			    (unsigned char)*s);
			return -1;
		}
	}
	return 0;
}

/* Sizes: the ESP holds the kernel, the initramfs and ~1 MiB of loaders with
 * an eighth spare; the root partition the erofs image; the disk both plus
 * 1 MiB before (GPT, MBR) and 1 MiB after (backup GPT), or sizemb. */
static int
layout(struct img *im)
{
	const struct imagejob *j = im->job;
	long long kb = 0, ib = 0, rb = 0;
	long content;

	if (filemb(j->kernel, &kb) < 0)
		return -1;
	if (j->initramfs && filemb(j->initramfs, &ib) < 0)
		return -1;
	if (j->erofs && (im->rootmb = filemb(j->erofs, &rb)) < 0)
		return -1;
	content = (long)((kb + ib + MIB + MIB - 1) / MIB);
	im->espmb = content + content / 8 + 1;
	if (im->espmb < ESPMIN)
		im->espmb = ESPMIN;
	im->diskmb = 1 + im->espmb + im->rootmb + 1;
	if (j->sizemb > 0 && j->sizemb < im->diskmb) {
		err("image: size %ld MiB is too small: the content needs %ld MiB",
		    j->sizemb, im->diskmb);
		return -1;
	}
	if (j->sizemb > im->diskmb)
		im->diskmb = j->sizemb;
	return 0;
}

static unsigned
le(const unsigned char *p, int n)
{
	unsigned v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* The kernel must be an EFI image for the target (PE/COFF: "MZ", the PE
 * header's offset at 0x3c, "PE\0\0" there, then the machine), and for a
 * BIOS-booted target also a bzImage ("HdrS" at 0x202): a kernel built for
 * another architecture is refused here, not at boot. */
static int
checkkernel(const struct imagejob *j)
{
	unsigned char h[1024];
	ssize_t n;
	unsigned pe = 0, machine = 0;
	int fd = open(j->kernel, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		err("image: %s:", j->kernel);
		return -1;
	}
	n = read(fd, h, sizeof(h));
	close(fd);
	if (n < 0) {
		err("image: %s:", j->kernel);
		return -1;
	}
	if (n >= 0x40 && h[0] == 'M' && h[1] == 'Z')
		pe = le(h + 0x3c, 4);
	/* pe comes from the file: compare without overflow */
	if (pe >= 0x40 && n >= 6 && pe <= (size_t)n - 6 && !memcmp(h + pe, "PE\0\0", 4))
		machine = le(h + pe + 4, 2);
	if (machine != j->target->pemachine) {
		err("image: the kernel %s is not an EFI image for %s (PE machine %04x, want %04x): build the kernel "
		    "package for %s", j->kernel, j->target->name, machine, j->target->pemachine, j->target->name);
		return -1;
	}
	if (j->target->bzimage && (n < 0x206 || memcmp(h + 0x202, "HdrS", 4))) {
		err("image: the kernel %s is not a bzImage (no HdrS at 0x202): BIOS boot needs one", j->kernel);
		return -1;
	}
	return 0;
}

static int
checkjob(struct img *im)
{
	const struct imagejob *j = im->job;
	unsigned i;

	if (!j->target || !j->kernel || !j->outdir || !j->role || !j->uuidseed) {
		err("image: target, kernel, outdir, role and uuidseed are required");
		return -1;
	}
	if (!j->initramfs && !j->erofs) {
		err("image: neither an initramfs nor an erofs root was given");
		return -1;
	}
	for (i = 0; i <= UUID_VMDK; i++)
		imageuuid(j->uuidseed, i, im->uuid[i]);
	im->cmdline = imagecmdline(j, im->uuid[UUID_ROOT]);
	if (checkformats(im) < 0 || checkcmdline(j->target, im->cmdline) < 0 || checkkernel(j) < 0)
		return -1;
	if (!(im->efiloader = targetefiloader(j->target)))
		return -1;
	return layout(im);
}

/* environ without the variables we pin, then the pins */
static char **
toolenv(long long epoch)
{
	static const char *const pinned[] = {
		"SOURCE_DATE_EPOCH=", "TZ=", "LC_ALL=", "MTOOLS_SKIP_CHECK=", "MTOOLSRC=",
	};
	size_t n = 0, i, k;
	char **env;

	while (environ[n])
		n++;
	env = xcalloc(n + 6, sizeof(*env));
	for (i = k = 0; i < n; i++) {
		size_t p;
		for (p = 0; p < 5 && strncmp(environ[i], pinned[p], strlen(pinned[p])); p++)
			;
		if (p == 5)
			env[k++] = xstrdup(environ[i]);
	}
	env[k++] = xasprintf("SOURCE_DATE_EPOCH=%lld", epoch);
	env[k++] = xstrdup("TZ=UTC");
	env[k++] = xstrdup("LC_ALL=C");
	env[k++] = xstrdup("MTOOLS_SKIP_CHECK=1");
	env[k++] = xstrdup("MTOOLSRC=/dev/null");
	return env;
}

/* Run a tool with its output going to tmp/tool.log; on failure report the
 * tool, its status and its output. */
static int
tool(struct img *im, char *const argv[])
{
	char *log = xasprintf("%s/tool.log", im->tmp), *out = NULL;
	size_t n;
	int fd, st;

	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err("image: %s:", log);
		free(log);
		return -1;
	}
	st = osrun(argv, im->env, NULL, fd);
	close(fd);
	if (st > 0 && readfile(log, &out, &n) == 0)
		err("image: %s failed (status %d):\n%s", argv[0], st, out);
	free(out);
	free(log);
	return st == 0 ? 0 : -1;
}

/* sfdisk reads its script from stdin, which osrun points at /dev/null */
static int
partition(struct img *im)
{
	const struct imagejob *j = im->job;
	struct buf s = {0};
	char *script = xasprintf("%s/sfdisk.script", im->tmp);
	char *argv[] = {"sh", "-c", "exec sfdisk --no-reread --no-tell-kernel -q -- \"$1\" <\"$2\"",
	                "sfdisk", im->raw, script, NULL};
	int r;

	bufprintf(&s, "label: gpt\nlabel-id: %s\nunit: sectors\nfirst-lba: 2048\n\n",
	          im->uuid[UUID_DISK]);
	bufprintf(&s, "start=2048, size=%ld, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, "
	          "uuid=%s, name=\"ESP\"%s\n",
	          im->espmb * 2048, im->uuid[UUID_ESP], j->target->biosmbr ? ", attrs=\"LegacyBIOSBootable\"" : "");
	if (j->erofs)
		bufprintf(&s, "start=%ld, size=%ld, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, "
		          "uuid=%s, name=\"root\"\n", (1 + im->espmb) * 2048,
		          im->rootmb * 2048, im->uuid[UUID_ROOT]);
	r = writeatomic(script, s.p, s.n, 0644);
	if (r == 0)
		r = tool(im, argv);
	buffree(&s);
	free(script);
	return r;
}

/* Copy the file at src into fd at off; all-zero chunks are skipped (the
 * target is sparse and zero there). */
static int
copyinto(int fd, off_t off, const char *src, size_t max)
{
	static const char zero[65536];
	char chunk[65536];
	ssize_t r;
	int in = open(src, O_RDONLY | O_CLOEXEC);

	if (in < 0) {
		err("image: %s:", src);
		return -1;
	}
	while (max && (r = read(in, chunk, sizeof(chunk) < max ? sizeof(chunk) : max)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (memcmp(chunk, zero, (size_t)r) != 0
		              && pwrite(fd, chunk, (size_t)r, off) != r)) {
			err("image: copying %s into the disk image:", src);
			close(in);
			return -1;
		}
		off += r;
		max -= (size_t)r;
	}
	close(in);
	return 0;
}

/* An empty sparse disk of diskmb MiB, then the table, the MBR boot code
 * (the first 440 bytes, before the disk signature and partition entries),
 * and the erofs image in p2. */
static int
makedisk(struct img *im)
{
	int fd = open(im->raw, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int r = -1;

	if (fd < 0) {
		err("image: %s:", im->raw);
		return -1;
	}
	if (ftruncate(fd, (off_t)im->diskmb * MIB) < 0)
		err("image: %s:", im->raw);
	else if (partition(im) == 0 && (!im->job->target->biosmbr || copyinto(fd, 0, im->job->target->biosmbr, 440) == 0))
		r = 0;
	if (r == 0 && im->job->erofs)
		r = copyinto(fd, (off_t)(1 + im->espmb) * MIB, im->job->erofs, (size_t)-1);
	close(fd);
	return r;
}

static int
mkfs(struct img *im)
{
	char serial[9], blocks[32];
	char *argv[] = {"mkfs.vfat", "--invariant", "-i", serial, "-n", "UNDISTRO",
	                "-F", "32", "-S", "512", "-s", "1", "--offset", "2048",
	                im->raw, blocks, NULL};

	memcpy(serial, im->uuid[UUID_FAT], 8);
	serial[8] = '\0';
	snprintf(blocks, sizeof(blocks), "%ld", im->espmb * 1024);   /* 1 KiB blocks */
	return tool(im, argv);
}

/* Write a configuration file into tmp and copy it into the ESP at dest. */
static int
espwrite(struct img *im, const char *dest, const char *text)
{
	char *path = xasprintf("%s/espfile", im->tmp);
	char *to = xasprintf("::%s", dest);
	char *img = xasprintf("%s@@%ld", im->raw, ESPSTART);
	char *argv[] = {"mcopy", "-i", img, path, to, NULL};
	int r = writeatomic(path, text, strlen(text), 0644);

	if (r == 0)
		r = tool(im, argv);
	free(path);
	free(to);
	free(img);
	return r;
}

static int
espcopy(struct img *im, const char *src, const char *dest)
{
	char *to = xasprintf("::%s", dest);
	char *img = xasprintf("%s@@%ld", im->raw, ESPSTART);
	char *argv[] = {"mcopy", "-i", img, (char *)src, to, NULL};
	int r = tool(im, argv);

	free(to);
	free(img);
	return r;
}

static int
espdirs(struct img *im)
{
	char *img = xasprintf("%s@@%ld", im->raw, ESPSTART);
	/* syslinux's directory only where the target boots from BIOS */
	char *argv[] = {"mmd", "-i", img, "::/EFI", "::/EFI/BOOT", "::/loader", "::/loader/entries",
	                im->job->target->biosmbr ? "::/syslinux" : NULL, NULL};
	int r = tool(im, argv);

	free(img);
	return r;
}

/* Both loaders boot the same /vmlinuz and /initrd with the same cmdline;
 * a UEFI-only target gets systemd-boot alone. */
static int
loaders(struct img *im)
{
	const struct target *t = im->job->target;
	const char *initrd = im->job->initramfs ? "/initrd" : NULL;
	char *sys = xasprintf("SERIAL 0 115200\nDEFAULT linux\nPROMPT 0\nTIMEOUT 0\n"
	                      "LABEL linux\n  LINUX /vmlinuz\n%s%s%s  APPEND %s\n",
	                      initrd ? "  INITRD " : "", initrd ? initrd : "",
	                      initrd ? "\n" : "", im->cmdline);
	char *entry = xasprintf("title undistro %s\nlinux /vmlinuz\n%s%s%soptions %s\n",
	                        im->job->role, initrd ? "initrd " : "", initrd ? initrd : "",
	                        initrd ? "\n" : "", im->cmdline);
	char *argv[] = {"syslinux", "--install", "--offset", "1048576", "--directory",
	                "/syslinux", im->raw, NULL};
	char *boot = xasprintf("/EFI/BOOT/%s", t->efiboot);
	int r = espcopy(im, im->efiloader, boot)
	        || espwrite(im, "/loader/loader.conf", "timeout 0\ndefault undistro.conf\n")
	        || espwrite(im, "/loader/entries/undistro.conf", entry) ? -1 : 0;

	if (r == 0 && t->biosmbr)
		r = espwrite(im, "/syslinux/syslinux.cfg", sys) || tool(im, argv) ? -1 : 0;
	free(boot);
	free(sys);
	free(entry);
	return r;
}

static int
fillesp(struct img *im)
{
	if (mkfs(im) < 0 || espdirs(im) < 0)
		return -1;
	if (espcopy(im, im->job->kernel, "/vmlinuz") < 0)
		return -1;
	if (im->job->initramfs && espcopy(im, im->job->initramfs, "/initrd") < 0)
		return -1;
	return loaders(im);
}

static void
put32be(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Read or write n bytes at off of path. */
static int
rwat(const char *path, off_t off, void *p, size_t n, int write)
{
	int fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	ssize_t r = -1;

	if (fd >= 0) {
		r = write ? pwrite(fd, p, n, off) : pread(fd, p, n, off);
		close(fd);
	}
	if (r != (ssize_t)n) {
		err("image: %s %s:", write ? "writing" : "reading", path);
		return -1;
	}
	return 0;
}

/* The fixed vhd's only metadata is its 512-byte footer at the end: set its
 * time (seconds since 2000-01-01 UTC) and uuid, and redo its checksum (the
 * one's complement of the byte sum with the checksum field zero). */
static int
fixvhd(struct img *im, const char *path)
{
	unsigned char f[512];
	long long t = im->job->epoch - 946684800LL;
	off_t off = (off_t)im->diskmb * MIB;
	uint32_t sum = 0;
	int i;

	if (rwat(path, off, f, sizeof(f), 0) < 0)
		return -1;
	if (memcmp(f, "conectix", 8) != 0) {
		err("image: %s: no vhd footer after the disk data", path);
		return -1;
	}
	put32be(f + 24, (uint32_t)(t < 0 ? 0 : t > 0xffffffffLL ? 0xffffffffLL : t));
	uuidbytes(im->job->uuidseed, UUID_VHD, f + 68);
	memset(f + 64, 0, 4);
	for (i = 0; i < 512; i++)
		sum += f[i];
	put32be(f + 64, ~sum);
	return rwat(path, off, f, sizeof(f), 1);
}

/* The streamOptimized descriptor text (header: offset and size in sectors
 * at bytes 28 and 36, little-endian) holds "CID=%x" with a random value of
 * varying width: rewrite the text with a fixed-width CID from the seed. */
static int
fixvmdk(struct img *im, const char *path)
{
	unsigned char h[64];
	char desc[16384], *cid, *end;
	struct buf b = {0};
	uint64_t off = 0, len = 0;
	int i, r = -1;

	if (rwat(path, 0, h, sizeof(h), 0) < 0)
		return -1;
	for (i = 7; i >= 0; i--)
		off = off << 8 | h[28 + i], len = len << 8 | h[36 + i];
	if (memcmp(h, "KDMV", 4) != 0 || len * 512 > sizeof(desc) - 1 || len == 0
	    || rwat(path, (off_t)(off * 512), desc, (size_t)len * 512, 0) < 0)
		goto bad;
	desc[len * 512] = '\0';
	if (!(cid = strstr(desc, "\nCID=")) || !(end = strchr(cid + 1, '\n')))
		goto bad;
	bufaddn(&b, desc, (size_t)(cid - desc));
	bufprintf(&b, "\nCID=%.8s%s", im->uuid[UUID_VMDK], end);
	if (b.n > len * 512)
		goto bad;
	memset(desc, 0, sizeof(desc));
	memcpy(desc, b.p, b.n);
	r = rwat(path, (off_t)(off * 512), desc, (size_t)len * 512, 1);
	buffree(&b);
	return r;
bad:
	buffree(&b);
	err("image: %s: unexpected vmdk header or descriptor", path);
	return -1;
}

static int
convert(struct img *im, int which)
{
	static const char *const opts[] = {
		NULL, NULL, "subformat=fixed,force_size", "subformat=streamOptimized",
	};
	static const char *const fmt[] = {NULL, "qcow2", "vpc", "vmdk"};
	char *out = xasprintf("%s/%s", im->tmp, outputs[which]);
	char *argv[] = {"qemu-img", "convert", "-f", "raw", "-O", (char *)fmt[which],
	                "-o", (char *)opts[which], im->raw, out, NULL};
	int r;

	if (!opts[which])
		argv[6] = im->raw, argv[7] = out, argv[8] = NULL;
	r = tool(im, argv);
	if (r == 0 && which == 2)
		r = fixvhd(im, out);
	if (r == 0 && which == 3)
		r = fixvmdk(im, out);
	free(out);
	return r;
}

/* Input for `aws ec2 register-image --cli-input-json`, after replacing the
 * SnapshotId placeholder with import-snapshot's result. AMI names allow
 * [A-Za-z0-9()./_ -]: anything else in the role name becomes '-'. */
static int
registerjson(struct img *im)
{
	const char *role = im->job->role, *p;
	char *path = xasprintf("%s/register-image.json", im->tmp);
	struct buf b = {0};
	int r;

	bufadds(&b, "{\n  \"Name\": \"undistro-");
	for (p = role; *p; p++)
		bufaddc(&b, strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                   "0123456789()./_", *p) ? *p : '-');
	bufprintf(&b, "-%lld\",\n  \"Description\": \"undistro role ", im->job->epoch);
	jsonesc(&b, role);   /* role names are restricted, but be safe */
	bufprintf(&b, "\",\n  \"Architecture\": \"%s\",\n"
	          "  \"BootMode\": \"%s\",\n", im->job->target->ec2arch, im->job->target->ec2bootmode);
	bufadds(&b, "  \"EnaSupport\": true,\n"
	        "  \"ImdsSupport\": \"v2.0\",\n"
	        "  \"VirtualizationType\": \"hvm\",\n"
	        "  \"RootDeviceName\": \"/dev/xvda\",\n"
	        "  \"BlockDeviceMappings\": [\n"
	        "    {\n"
	        "      \"DeviceName\": \"/dev/xvda\",\n"
	        "      \"Ebs\": {\n"
	        "        \"SnapshotId\": \"@SNAPSHOT_ID@\",\n"
	        "        \"VolumeType\": \"gp3\",\n"
	        "        \"DeleteOnTermination\": true\n"
	        "      }\n"
	        "    }\n"
	        "  ]\n"
	        "}\n");
	r = writeatomic(path, b.p, b.n, 0644);
	buffree(&b);
	free(path);
	return r;
}

/* Move every output from tmp into outdir (each fsynced, then renamed);
 * remove outputs of an earlier run that this one did not make. */
static int
commit(struct img *im)
{
	size_t i;
	int r = 0;

	for (i = 0; i < sizeof(outputs) / sizeof(outputs[0]) && r == 0; i++) {
		char *dst = xasprintf("%s/%s", im->job->outdir, outputs[i]);
		char *src = xasprintf("%s/%s", im->tmp, outputs[i]);
		int fd;

		if (!im->want[i]) {
			if (unlink(dst) < 0 && errno != ENOENT)
				err("image: cannot remove the stale %s:", dst), r = -1;
			free(src);
		} else if ((fd = open(src, O_RDONLY | O_CLOEXEC)) < 0) {
			err("image: %s:", src), r = -1;
			free(src);
		} else {
			r = committemp(fd, src, dst, 0644);
		}
		free(dst);
	}
	return r;
}

static int
build(struct img *im)
{
	size_t i;

	if (makedisk(im) < 0 || fillesp(im) < 0)
		return -1;
	for (i = 1; i < 4; i++)
		if (im->want[i] && convert(im, (int)i) < 0)
			return -1;
	if (registerjson(im) < 0)
		return -1;
	return commit(im);
}

int
imagebuild(const struct imagejob *job)
{
	struct img im = {.job = job};
	int r = -1;
	char **e;

	if (checkjob(&im) < 0) {
		free(im.cmdline);
		return -1;
	}
	if (mkdirp(job->outdir, 0755) < 0)
		goto out;
	im.tmp = xasprintf("%s/.image.XXXXXX", job->outdir);
	if (!mkdtemp(im.tmp)) {
		err("image: cannot create a temporary directory in %s:", job->outdir);
		goto out;
	}
	im.raw = xasprintf("%s/disk.raw", im.tmp);
	im.env = toolenv(job->epoch);
	r = build(&im);
	if (rmtree(im.tmp) < 0)
		r = -1;
out:
	for (e = im.env; e && *e; e++)
		free(*e);
	free(im.env);
	free(im.raw);
	free(im.tmp);
	free(im.cmdline);
	return r;
}
