/* The cost of a role's image (cost.h): figures, budgets' values, one boot's
 * measurement, the summary and cost.json. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>
#include "alloc.h"
#include "cost.h"
#include "diag.h"
#include "json.h"
#include "os.h"
#include "recipe.h"
#include "run.h"
#include "sha256.h"
#include "str.h"

const char *const costrunkeys[COSTRUNKEYS + 1] = {
	"boot_to_ready_s", "idle_memory_kib", "idle_processes", "idle_userspace_processes",
	"idle_context_switches_per_s", "boot_read_bytes",
	/* the rest of the guest's line */
	"idle_kernel_threads", "context_switches", "idle_s", "ready_uptime_s", "mem_total_kib", "mem_free_kib",
	"buffers_kib", "cached_kib", "shmem_kib", "mem_available_kib", "boot_read_ios",
	"userspace_context_switches", "idle_userspace_switches_per_s", NULL,
};

const struct costfig costfigs[NCOSTFIGS] = {
	[COST_IMAGE_BYTES] = {"image_bytes", COST_BYTES, -1},
	[COST_IMAGE_ZSTD_BYTES] = {"image_zstd_bytes", COST_BYTES, -1},
	[COST_ROOTFS_BYTES] = {"rootfs_bytes", COST_BYTES, -1},
	[COST_BOOT_TO_READY_S] = {"boot_to_ready_s", COST_SECONDS, 0},
	[COST_IDLE_MEMORY_KIB] = {"idle_memory_kib", COST_KIB, 1},
	[COST_IDLE_PROCESSES] = {"idle_processes", COST_COUNT, 2},
	[COST_IDLE_USERSPACE_PROCESSES] = {"idle_userspace_processes", COST_COUNT, 3},
	[COST_IDLE_CONTEXT_SWITCHES_PER_S] = {"idle_context_switches_per_s", COST_RATE, 4},
	[COST_BOOT_READ_BYTES] = {"boot_read_bytes", COST_BYTES, 5},
};

const char *const costnames[] = {
	"image_bytes", "image_zstd_bytes", "rootfs_bytes", "boot_to_ready_s", "idle_memory_kib", "idle_processes",
	"idle_userspace_processes", "idle_context_switches_per_s", "boot_read_bytes", NULL,
};

/* Console output kept for the last lines of a failure. */
#define CONSOLEMAX (4 << 20)
#define LASTLINES 25
/* Seconds after the ready line within which the cost line must come, on top
 * of the idle window. */
#define COSTSLACK 60
/* Budgets and figures stay exact integers in a double below this. */
#define LIMITMAX 9007199254740992.0

int
costfind(const char *name)
{
	for (int i = 0; i < NCOSTFIGS; i++)
		if (!strcmp(costfigs[i].name, name))
			return i;
	return -1;
}

int
costlimit(int fig, const char *s, double *limit, const char **msg)
{
	static const char *const msgs[] = {
		[COST_BYTES] = ("bytes: a whole number, optionally followed by KiB, MiB or GiB (powers of 1024), "
		                "such as 4194304 or 64MiB"),
		[COST_KIB] = "KiB: a whole number, or one followed by MiB or GiB (powers of 1024), such as 12288 or 12MiB",
		[COST_COUNT] = "a whole number",
		[COST_SECONDS] = "seconds: a number, optionally followed by s, such as 15 or 12.5s",
		[COST_RATE] = "a number per second, such as 20 or 7.5",
	};
	enum costunit u = costfigs[fig].unit;
	size_t i = strspn(s, "0123456789"), n1 = i, n2 = 0;
	double mult = 1, v;
	char *num;

	*msg = msgs[u];
	if (s[i] == '.') {
		n2 = strspn(s + i + 1, "0123456789");
		i += 1 + n2;
	}
	if (!n1 || (s[n1] == '.' && !n2))
		return -1;
	num = xstrndup(s, i);
	v = strtod(num, NULL);
	free(num);
	if (s[i] == ' ')
		i++;
	if (u == COST_BYTES || u == COST_KIB) {
		static const char *const sfx[] = {"", "KiB", "MiB", "GiB"};
		int k;

		for (k = 0; k < 4 && strcmp(s + i, sfx[k]); k++)
			;
		if (k == 4 || (u == COST_KIB && k == 1))
			return -1;
		for (int j = 0; j < k; j++)
			mult *= 1024;
		if (u == COST_KIB && k > 0)
			mult /= 1024;
		v *= mult;
		if (v > LIMITMAX || v != (double)(long long)v)
			return -1;
	} else if (u == COST_COUNT) {
		if (s[i] || s[n1] == '.')
			return -1;
	} else if (s[i] && strcmp(s + i, u == COST_SECONDS ? "s" : "/s")) {
		return -1;
	}
	if (v > LIMITMAX)
		return -1;
	*limit = v;
	return 0;
}

void
costfmt(struct buf *b, int fig, double v)
{
	enum costunit u = costfigs[fig].unit;

	if (isnan(v))
		bufadds(b, "-");
	else if (u == COST_SECONDS || u == COST_RATE)
		bufprintf(b, "%.2f", v);
	else if (v < LIMITMAX && v == (double)(long long)v)
		bufprintf(b, "%.0f", v);
	else
		bufprintf(b, "%.1f", v);
}

/* A JSON number: integers exactly, others with what they carry. */
static void
jsonnum(struct buf *b, double v)
{
	if (!isfinite(v))
		bufadds(b, "null");
	else
		bufprintf(b, "%.15g", v);
}

int
costparse(const char *line, struct costrun *r, const char **msg)
{
	struct costrun got;
	int seen[COSTRUNKEYS] = {0};
	const char *p;
	char *end;
	long version;

	if (strncmp(line, COSTLINE, strlen(COSTLINE))) {
		*msg = "not a cost line";
		return -1;
	}
	p = line + strlen(COSTLINE);
	version = strtol(p, &end, 10);
	if (end == p || version != COSTLINEVERSION) {
		*msg = "the image's measurer prints another format than this undistro reads: rebuild the image "
		       "with this undistro (undistro build)";
		return -1;
	}
	for (p = end; *p;) {
		size_t klen;
		const char *eq;
		int k;

		p += strspn(p, " \r\n");
		if (!*p)
			break;
		eq = p + strcspn(p, "= \r\n");
		klen = (size_t)(eq - p);
		if (*eq != '=') {
			*msg = "a word that is not KEY=VALUE";
			return -1;
		}
		for (k = 1; k < COSTRUNKEYS && (strlen(costrunkeys[k]) != klen || strncmp(costrunkeys[k], p, klen)); k++)
			;
		errno = 0;
		double v = strtod(eq + 1, &end);
		if (end == eq + 1 || errno || !isfinite(v) || v < 0 || (*end && !strchr(" \r\n", *end))) {
			*msg = "a value that is not a number";
			return -1;
		}
		if (k < COSTRUNKEYS) {   /* keys of later versions are skipped */
			if (seen[k]++) {
				*msg = "a key given twice";
				return -1;
			}
			got.v[k] = v;
		}
		p = end;
	}
	for (int k = 1; k < COSTRUNKEYS; k++) {
		if (!seen[k] && k < COSTRUNNEEDED) {
			*msg = "a key missing (the line was cut or mixed with other output)";
			return -1;
		}
		r->v[k] = seen[k] ? got.v[k] : NAN;
	}
	return 0;
}

/* image_bytes, image_zstd_bytes and the image's sha256, in one read. */
static int
imagefigs(const char *path, struct cost *c)
{
	size_t isz = ZSTD_CStreamInSize(), osz = ZSTD_CStreamOutSize();
	char *ib = xmalloc(isz), *ob = xmalloc(osz);
	ZSTD_CCtx *z = ZSTD_createCCtx();
	struct sha256 h;
	unsigned long long out = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
	struct stat st;
	ssize_t n;

	sha256init(&h);
	if (fd < 0 || fstat(fd, &st) < 0 || !z) {
		err("%s:", path);
		goto done;
	}
	ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, COSTZSTDLEVEL);
	ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, 1);   /* as the zstd program */
	ZSTD_CCtx_setPledgedSrcSize(z, (unsigned long long)st.st_size);
	do {
		ZSTD_inBuffer in;
		size_t rem;

		n = read(fd, ib, isz);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err("read %s:", path);
			goto done;
		}
		sha256add(&h, ib, (size_t)n);
		in = (ZSTD_inBuffer){ib, (size_t)n, 0};
		do {
			ZSTD_outBuffer o = {ob, osz, 0};

			rem = ZSTD_compressStream2(z, &o, &in, n ? ZSTD_e_continue : ZSTD_e_end);
			if (ZSTD_isError(rem)) {
				err("zstd on %s: %s", path, ZSTD_getErrorName(rem));
				goto done;
			}
			out += o.pos;
		} while (n ? in.pos < in.size : rem != 0);
	} while (n != 0);
	c->fig[COST_IMAGE_BYTES] = (double)st.st_size;
	c->fig[COST_IMAGE_ZSTD_BYTES] = (double)out;
	rc = 0;
done:
	sha256finalhex(&h, c->imagesha256);
	if (fd >= 0)
		close(fd);
	ZSTD_freeCCtx(z);
	free(ib);
	free(ob);
	return rc;
}

/* The sum of the sizes of the manifest's files (rootfs.h's format). */
static int
rootfsbytes(const char *path, double *bytes)
{
	char *data, *p;
	size_t n;
	unsigned long long sum = 0, size;

	if (readfile(path, &data, &n) < 0)
		return -1;
	for (p = data; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (p[0] == 'f' && sscanf(p, "f %*o %*s %llu", &size) == 1)
			sum += size;
	free(data);
	*bytes = (double)sum;
	return 0;
}

int
costfiles(const char *outdir, struct cost *c)
{
	char *raw = xasprintf("%s/disk.raw", outdir), *man = xasprintf("%s/manifest", outdir);
	int rc = imagefigs(raw, c) == 0 && rootfsbytes(man, &c->fig[COST_ROOTFS_BYTES]) == 0 ? 0 : -1;

	free(raw);
	free(man);
	return rc;
}

/* The console's last lines, indented, on stderr. */
static void
lastlines(const struct buf *con)
{
	size_t i = con->n, k = 0;

	while (i > 0 && k <= LASTLINES)
		if (con->p[--i] == '\n')
			k++;
	if (i < con->n && con->p[i] == '\n')
		i++;
	fprintf(stderr, "undistro: the console's last lines:\n");
	for (const char *p = con->p + i, *end = con->p + con->n; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);

		while (len && p[len - 1] == '\r')
			len--;
		fprintf(stderr, "  | %.*s\n", (int)len, p);
		p = nl ? nl + 1 : end;
	}
}

/* State of one boot's console reading. */
struct boot {
	const char *ready;     /* the ready line */
	double start, tready;
	int state;             /* 0 before the ready line, 1 after, 2 done */
	struct costrun *r;
	const char *bad;       /* a cost line that did not parse: why */
	int sigfd;             /* the self-pipe's read end (ossigcatch) */
};

/* Look at one whole console line (CRs stripped). */
static void
consoleline(struct boot *b, const char *line)
{
	const char *p;

	if (b->state == 0 && strstr(line, b->ready)) {
		b->tready = osnow();
		b->r->v[0] = (double)(long long)((b->tready - b->start) * 1000 + 0.5) / 1000;
		b->state = 1;
	} else if (b->state == 1 && (p = strstr(line, COSTLINE))) {
		b->state = costparse(p, b->r, &b->bad) == 0 ? 2 : 3;
	}
}

/* Append what qemu wrote to con and look at each line it completes. */
static void
consoleinput(struct boot *b, struct buf *con, size_t *ls, const char *p, size_t n)
{
	size_t from = con->n;

	bufaddn(con, p, n);
	for (size_t i = from; i < con->n && b->state < 2; i++) {
		if (con->p[i] != '\n')
			continue;
		char *line = xstrndup(con->p + *ls, i - *ls);
		size_t len = strlen(line);

		while (len && line[len - 1] == '\r')
			line[--len] = '\0';
		consoleline(b, line);
		free(line);
		*ls = i + 1;
	}
	if (con->n > CONSOLEMAX) {
		size_t drop = con->n - CONSOLEMAX / 2;

		memmove(con->p, con->p + drop, con->n - drop);
		con->n -= drop;
		con->p[con->n] = '\0';
		*ls = *ls > drop ? *ls - drop : 0;
	}
}

/* Read the console until the cost line, a deadline, qemu's end or a
 * signal; 0, -1 (reported) or the signal's number. */
static int
consoleloop(struct boot *b, int fd, int timeout, int idle, struct buf *con)
{
	size_t ls = 0;
	char chunk[4096];

	while (b->state < 2) {
		double now = osnow(),
		       deadline = b->state == 0 ? b->start + timeout : b->tready + idle + COSTSLACK;
		struct pollfd pfd[2] = {{fd, POLLIN, 0}, {b->sigfd, POLLIN, 0}};
		ssize_t n;

		if (now >= deadline) {
			if (b->state == 0)
				err("cost: no line '%s' on the console within %d s of starting qemu (--timeout): the guest "
				    "did not become ready", b->ready, timeout);
			else
				err("cost: no cost line within %d s of the ready line: the image's init package has no "
				    "measurer, or it failed (rebuild the image with this undistro)", idle + COSTSLACK);
			return -1;
		}
		if (poll(pfd, 2, (int)((deadline - now) * 1000) + 1) < 0) {
			if (errno == EINTR)
				continue;
			err("poll:");
			return -1;
		}
		if (pfd[1].revents & POLLIN) {
			unsigned char sig;

			if (read(b->sigfd, &sig, 1) == 1)
				return sig;
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				err("cost: reading qemu's output:");
			else
				err("cost: qemu exited %s", b->state == 0 ? "before the guest was ready" : "before the cost line");
			return -1;
		}
		consoleinput(b, con, &ls, chunk, (size_t)n);
	}
	if (b->state == 3) {
		err("cost: the guest's cost line is malformed (%s)", b->bad);
		return -1;
	}
	return 0;
}

int
costboot(const struct runopts *o, const char *role, int timeout, int idle, struct costrun *r)
{
	struct buf con = {0};
	char *ready = xasprintf("undistro: role %s ready", role);
	struct boot b = {.ready = ready, .r = r};
	int fd = -1, rc = -1, sig = 0;
	pid_t pid;

	if ((b.sigfd = ossigcatch()) < 0) {
		free(ready);
		return -1;
	}
	b.start = osnow();
	if ((pid = runstart(o, &fd)) > 0) {
		rc = consoleloop(&b, fd, timeout, idle, &con);
		if (rc > 0)
			sig = rc, rc = -2;
		else if (rc < 0)
			lastlines(&con);
		close(fd);
		kill(pid, SIGTERM);
		oswait(pid, "qemu");
	}
	ossigrelease();
	buffree(&con);
	free(ready);
	if (sig)
		raise(sig);    /* qemu is gone: die of the signal as asked */
	return rc;
}

static int
cmpdouble(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void
costsummarize(struct cost *c)
{
	double *v = xcalloc((size_t)c->runs, sizeof(*v));

	for (int k = 0; k < COSTRUNKEYS; k++) {
		size_t n = (size_t)c->runs;

		for (size_t i = 0; i < n; i++)
			v[i] = c->run[i].v[k];
		qsort(v, n, sizeof(*v), cmpdouble);
		c->med[k] = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
		c->min[k] = v[0];
		c->max[k] = v[n - 1];
	}
	for (int f = 0; f < NCOSTFIGS; f++)
		if (costfigs[f].run >= 0)
			c->fig[f] = c->med[costfigs[f].run];
	free(v);
}

/* "KEY": VALUE for every per-boot key from v. */
static void
jsonrunkeys(struct buf *b, const double *v, const char *indent)
{
	for (int k = 0; k < COSTRUNKEYS; k++) {
		bufprintf(b, "%s%s\"%s\": ", k ? ",\n" : "", indent, costrunkeys[k]);
		jsonnum(b, v[k]);
	}
}

int
costwrite(const char *path, const struct cost *c)
{
	struct buf b = {0};
	int rc;

	bufadds(&b, "{\n  \"role\": ");
	jsonstr(&b, c->role);
	bufadds(&b, ",\n  \"arch\": ");
	jsonstr(&b, c->arch);
	for (int f = 0; f < NCOSTFIGS; f++) {
		bufprintf(&b, ",\n  \"%s\": ", costfigs[f].name);
		jsonnum(&b, c->fig[f]);
	}
	bufprintf(&b, ",\n  \"image_sha256\": \"%s\",\n  \"runs\": %d,\n  \"median\": {\n", c->imagesha256, c->runs);
	jsonrunkeys(&b, c->med, "    ");
	bufadds(&b, "\n  },\n  \"spread\": {\n");
	for (int k = 0; k < COSTRUNKEYS; k++) {
		bufprintf(&b, "%s    \"%s\": [", k ? ",\n" : "", costrunkeys[k]);
		jsonnum(&b, c->min[k]);
		bufadds(&b, ", ");
		jsonnum(&b, c->max[k]);
		bufadds(&b, "]");
	}
	bufadds(&b, "\n  },\n  \"per_run\": [");
	for (int i = 0; i < c->runs; i++) {
		bufprintf(&b, "%s\n    {\n", i ? "," : "");
		jsonrunkeys(&b, c->run[i].v, "      ");
		bufadds(&b, "\n    }");
	}
	bufadds(&b, "\n  ],\n  \"settings\": {\n    \"machine\": ");
	jsonstr(&b, c->machine);
	bufadds(&b, ",\n    \"firmware\": ");
	jsonstr(&b, c->firmware);
	bufprintf(&b, ",\n    \"memory_mib\": %d,\n    \"cpus\": %d,\n    \"accel\": \"%s\",\n"
	          "    \"disk\": \"nvme, raw, snapshot\",\n    \"network\": \"user, virtio-net\",\n"
	          "    \"idle_window_s\": %d,\n    \"zstd_level\": %d\n  }\n}\n",
	          COSTMEMMB, COSTCPUS, COSTACCEL, c->idle, COSTZSTDLEVEL);
	rc = writeatomic(path, b.p, b.n, 0644);
	buffree(&b);
	return rc;
}

int
costread(const char *path, double fig[NCOSTFIGS], char imagesha256[65])
{
	json_error_t e;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &e), *v;

	if (!j) {
		struct loc l = {path, e.line > 0 ? e.line : 1, e.column > 0 ? e.column : 1};

		errat(&l, "%s", e.text);
		return -1;
	}
	if (!json_is_object(j)) {
		err("%s: not a JSON object", path);
		json_decref(j);
		return -1;
	}
	for (int f = 0; f < NCOSTFIGS; f++)
		fig[f] = json_is_number(v = json_object_get(j, costfigs[f].name)) ? json_number_value(v) : NAN;
	v = json_object_get(j, "image_sha256");
	snprintf(imagesha256, 65, "%s", json_is_string(v) ? json_string_value(v) : "");
	json_decref(j);
	return 0;
}

static const struct budget *
budgetof(const struct role *flat, int fig)
{
	for (size_t i = 0; i < flat->nbudgets; i++)
		if (flat->budgets[i].fig == fig)
			return &flat->budgets[i];
	return NULL;
}

/* The value of figure fig as the table shows it ("" for none). */
static const char *
cell(struct buf *b, int fig, int has, double v)
{
	b->n = 0;
	if (has)
		costfmt(b, fig, v);
	else
		bufadds(b, "");
	return b->p;
}

void
costtable(FILE *f, const struct cost *c, const struct role *flat)
{
	struct buf m = {0}, lo = {0}, hi = {0};

	fprintf(f, "cost of %s (%s): %d run%s, qemu %s (%s), %d MiB, %d CPU, %s, %d s idle\n", c->role, c->arch,
	        c->runs, c->runs == 1 ? "" : "s", c->machine, c->firmware, COSTMEMMB, COSTCPUS, COSTACCEL, c->idle);
	fprintf(f, "%-28s %12s %12s %12s  %s\n", "figure", "value", "min", "max", "budget");
	for (int i = 0; i < NCOSTFIGS; i++) {
		const struct budget *bu = budgetof(flat, i);
		int k = costfigs[i].run;

		fprintf(f, "%-28s %12s %12s %12s  %s%s\n", costfigs[i].name, cell(&m, i, 1, c->fig[i]),
		        cell(&lo, i, k >= 0, k >= 0 ? c->min[k] : 0), cell(&hi, i, k >= 0, k >= 0 ? c->max[k] : 0),
		        bu ? bu->text : "-", bu && c->fig[i] > bu->limit ? "  EXCEEDED" : "");
	}
	buffree(&m);
	buffree(&lo);
	buffree(&hi);
}

int
costbudgets(const struct role *flat, const struct cost *c)
{
	int over = 0;

	for (size_t i = 0; i < flat->nbudgets; i++) {
		const struct budget *bu = &flat->budgets[i];
		struct buf v = {0}, l = {0};

		if (!(c->fig[bu->fig] > bu->limit))
			continue;
		costfmt(&v, bu->fig, c->fig[bu->fig]);
		costfmt(&l, bu->fig, bu->limit);
		if (!strcmp(l.p, bu->text))
			errat(&bu->loc, "%s %s exceeds the budget %s", costfigs[bu->fig].name, v.p, bu->text);
		else
			errat(&bu->loc, "%s %s exceeds the budget %s (%s)", costfigs[bu->fig].name, v.p, bu->text, l.p);
		buffree(&v);
		buffree(&l);
		over++;
	}
	return over;
}
