/* firstboot: the metadata step. fw_cfg entries (qemu) win and keep us off
 * the network; otherwise IMDSv2: a token, then GETs carrying it. Bounds:
 * METAMS for the whole step from the first request, PROBEMS for the first
 * contact when DMI does not say EC2 (so a machine without metadata boots at
 * most that much slower), REQMS per request on EC2, where failures are
 * retried with a doubling backoff capped at BACKOFFMAX. Not configurable. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "meta.h"

#define METAMS     10000
#define PROBEMS    1000
#define REQMS      2000
#define BACKOFF0   100
#define BACKOFFMAX 2000
#define RENEWALS   2   /* new tokens one GET may ask for after a 401 */
#define MAXKEYS    100
#define TOKENMAX   256

#define FWCFG "/sys/firmware/qemu_fw_cfg/by_name/opt/undistro"

struct imds {
	const struct endpoint *ep;
	char token[TOKENMAX];
	int ec2;
	int64_t deadline;
	int gaveup; /* the deadline passed or tokens are refused: ask nothing more */
};

/* The file's first line, trimmed, into out (empty when unreadable). */
static void
readline1(const char *path, char *out, size_t n)
{
	struct buf b = {0};
	char p[PATHMAX];
	size_t len;

	out[0] = 0;
	if (rpath(p, "%s", path) < 0 || readbounded(p, 4096, &b) < 0)
		return;
	len = strcspn(b.p ? b.p : "", "\n");
	len = trimspace(b.p ? b.p : "", len);
	snprintf(out, n, "%.*s", (int)len, b.p ? b.p : "");
	buffree(&b);
}

/* DMI (or Xen's hypervisor uuid) says this is an EC2 instance. */
static int
onec2(void)
{
	char s[128];

	readline1("/sys/class/dmi/id/sys_vendor", s, sizeof(s));
	if (!strcmp(s, "Amazon EC2"))
		return 1;
	readline1("/sys/class/dmi/id/product_uuid", s, sizeof(s));
	if (!strncasecmp(s, "ec2", 3))
		return 1;
	readline1("/sys/hypervisor/uuid", s, sizeof(s));
	if (!strncasecmp(s, "ec2", 3))
		return 1;
	readline1("/sys/class/dmi/id/board_asset_tag", s, sizeof(s));
	return !strncmp(s, "i-", 2);
}

/* /proc/net/ipv6_route has a usable default route: destination ::/0, not
 * the kernel's reject route on lo (RTF_REJECT, 0x200). */
static int
v6route(void)
{
	char p[PATHMAX], line[512], dst[33], nh[33], dev[32];
	unsigned plen, flags;
	FILE *f;
	int found = 0;

	if (rpath(p, "/proc/net/ipv6_route") < 0 || !(f = fopen(p, "re")))
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%32s %x %*s %*s %32s %*s %*s %*s %x %31s", dst, &plen, nh, &flags, dev) != 5)
			continue;
		found = plen == 0 && !strcmp(dst, "00000000000000000000000000000000") &&
		        !(flags & 0x200) && strcmp(dev, "lo") != 0;
	}
	fclose(f);
	return found;
}

/* Sleep *delay ms (then double it, capped) if that leaves time before the
 * deadline; -1 otherwise. The one sleep of the agent: the retry backoff. */
static int
backoff(int *delay, int64_t deadline)
{
	struct timespec ts = {.tv_sec = *delay / 1000, .tv_nsec = (long)(*delay % 1000) * 1000000};

	if (nowms() + *delay >= deadline)
		return -1;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	*delay = *delay * 2 > BACKOFFMAX ? BACKOFFMAX : *delay * 2;
	return 0;
}

static int64_t
reqdeadline(const struct imds *s)
{
	int64_t d = nowms() + REQMS;

	return s->ec2 && d < s->deadline ? d : s->deadline;
}

/* PUT /latest/api/token: HTTP_OK with s->token set, an HTTP_* failure, or
 * HTTP_BAD for an answer other than 200 with a printable token. *status gets
 * the answer's status (0 without one). */
static int
token(struct imds *s, int64_t deadline, int *status)
{
	struct response r = {0};
	size_t i;
	int e;

	*status = 0;
	e = httpdo(s->ep, "PUT", "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds: 300\r\n",
	    deadline, TOKENMAX - 1, &r);
	if (e == HTTP_OK) {
		*status = r.status;
		if (r.status != 200 || r.body.len == 0)
			e = HTTP_BAD;
		for (i = 0; e == HTTP_OK && i < r.body.len; i++)
			if (r.body.p[i] <= ' ' || r.body.p[i] > '~')
				e = HTTP_BAD;
	}
	if (e == HTTP_OK)
		memcpy(s->token, r.body.p, r.body.len + 1);
	buffree(&r.body);
	return e;
}

static int
retryable(int e, int status)
{
	return e == HTTP_UNREACH || e == HTTP_REFUSED || e == HTTP_TIMEOUT || e == HTTP_ERR ||
	       (e == HTTP_BAD && status >= 500);
}

static void
why(char *out, size_t n, const struct endpoint *ep, int e, int status)
{
	if (status && status != 200)
		snprintf(out, n, "%s: token request answered %d", ep->host, status);
	else
		snprintf(out, n, "%s: %s", ep->host, httperr(e));
}

/* Get a first token: from v4, else from v6 when v4 has no route or does not
 * answer and there is an IPv6 default route. On EC2, again with backoff
 * until the deadline; elsewhere once. -1 (reported in one line) if none. */
static int
probe(struct imds *s, const struct endpoints *eps, struct meta *m)
{
	char r4[160], r6[160] = "";
	int delay = BACKOFF0, have6 = v6route(), e, st;

	for (;;) {
		s->ep = &eps->v4;
		if ((e = token(s, reqdeadline(s), &st)) == HTTP_OK) {
			m->source = "imds";
			return 0;
		}
		why(r4, sizeof(r4), s->ep, e, st);
		if ((e == HTTP_UNREACH || e == HTTP_TIMEOUT) && have6 && nowms() < s->deadline) {
			int e6, st6;
			s->ep = &eps->v6;
			if ((e6 = token(s, reqdeadline(s), &st6)) == HTTP_OK) {
				m->source = "imds6";
				return 0;
			}
			why(r6, sizeof(r6), s->ep, e6, st6);
		}
		if (!s->ec2 || !retryable(e, st) || backoff(&delay, s->deadline) < 0)
			break;
	}
	msg("no instance metadata (%s; %s%s%s)", s->ec2 ? "EC2" : "not EC2, one try", r4, *r6 ? "; " : "", r6);
	return -1;
}

/* GET path with the token into out: renews the token after a 401 (at most
 * RENEWALS times: then the service refuses us and we ask nothing more),
 * retries failures and 5xx on EC2 until the deadline. Returns the status
 * (below 500) or -1, reported. */
static int
get(struct imds *s, const char *path, size_t max, struct buf *out)
{
	struct response r = {0};
	char hdr[TOKENMAX + 64];
	int delay = BACKOFF0, renewals = 0, e, st;

	while (!s->gaveup) {
		if (nowms() >= s->deadline) {
			msg("%s: metadata deadline (%d s) passed: asking nothing more", path, METAMS / 1000);
			s->gaveup = 1;
			break;
		}
		snprintf(hdr, sizeof(hdr), "X-aws-ec2-metadata-token: %s\r\n", s->token);
		e = httpdo(s->ep, "GET", path, hdr, reqdeadline(s), max, &r);
		if (e == HTTP_OK && r.status == 401) {
			if (renewals++ == RENEWALS) {
				msg("%s: 401 even with a new token: asking nothing more", path);
				s->gaveup = 1;
				break;
			}
			token(s, reqdeadline(s), &st); /* on failure the next GET says 401 again */
			continue;
		}
		if (e == HTTP_OK && r.status < 500) {
			buffree(out);
			*out = r.body;
			return r.status;
		}
		if (e == HTTP_BAD || e == HTTP_BIG) {
			if (e == HTTP_BIG)
				msg("%s: answer over %d KiB: refused", path, (int)(max / 1024));
			else
				msg("%s: malformed answer: refused", path);
			break;
		}
		if (!s->ec2 || backoff(&delay, s->deadline) < 0) {
			if (e == HTTP_OK)
				msg("%s: answered %d", path, r.status);
			else
				msg("%s: %s", path, httperr(e));
			break;
		}
	}
	buffree(&r.body);
	return -1;
}

/* get() a text value: 200 and no control characters, else empty out. 404
 * is quiet (the caller knows what is optional). */
static int
getvalue(struct imds *s, const char *path, struct buf *out)
{
	int st = get(s, path, MAXVALUE, out);

	if (st == 200 && istext(out->p, out->len))
		return 200;
	if (st == 200)
		msg("%s: not text (NUL or control bytes): refused", path);
	else if (st > 0 && st != 404)
		msg("%s: answered %d", path, st);
	buffree(out);
	return st == 200 ? -1 : st;
}

/* The listing "N=name" lines: each N's openssh-key into m->keys. */
static void
getkeys(struct imds *s, const struct buf *list, struct meta *m)
{
	char path[128];
	struct buf key = {0};
	const char *p = list->p, *nl;
	size_t d;
	int n = 0;

	for (; p && *p; p = nl ? nl + 1 : p + strlen(p)) {
		nl = strchr(p, '\n');
		for (d = 0; p[d] >= '0' && p[d] <= '9'; d++)
			;
		if (d == 0 || d > 4 || p[d] != '=')
			continue; /* not "N=name": nothing we can ask for */
		if (++n > MAXKEYS) {
			msg("more than %d public keys: the rest ignored", MAXKEYS);
			break;
		}
		snprintf(path, sizeof(path), "/latest/meta-data/public-keys/%.*s/openssh-key", (int)d, p);
		if (getvalue(s, path, &key) != 200)
			continue;
		bufadd(&m->keys, key.p, key.len);
		bufadd(&m->keys, "\n", 1);
	}
	buffree(&key);
}

static void
imdsfetch(struct imds *s, struct meta *m)
{
	struct buf list = {0};
	int st;

	getvalue(s, "/latest/meta-data/instance-id", &m->instanceid);
	getvalue(s, "/latest/meta-data/placement/region", &m->region);
	if (getvalue(s, "/latest/meta-data/hostname", &m->hostname) != 200)
		getvalue(s, "/latest/meta-data/local-hostname", &m->hostname);
	if (getvalue(s, "/latest/meta-data/public-keys/", &list) == 200)
		getkeys(s, &list, m);
	buffree(&list);
	st = get(s, "/latest/user-data", MAXUSERDATA, &m->userdata);
	if (st != 200)
		buffree(&m->userdata);
	if (st > 0 && st != 200 && st != 404)
		msg("/latest/user-data: answered %d", st);
}

/* One fw_cfg entry opt/undistro/NAME into out; absent is quiet. */
static void
fwentry(const char *name, size_t max, int text, struct buf *out)
{
	char p[PATHMAX];

	if (rpath(p, FWCFG "/%s/raw", name) < 0)
		return;
	if (readbounded(p, max, out) < 0) {
		if (errno == EFBIG)
			msg("fw_cfg opt/undistro/%s: over %d KiB: refused", name, (int)(max / 1024));
		else if (errno != ENOENT)
			msg("fw_cfg opt/undistro/%s:", name);
		return;
	}
	if (text && !istext(out->p, out->len)) {
		msg("fw_cfg opt/undistro/%s: not text (NUL or control bytes): refused", name);
		buffree(out);
	}
}

void
metaget(struct meta *m, const struct endpoints *eps)
{
	struct imds s = {.ec2 = onec2()};
	int64_t start = nowms();
	struct stat st;
	char p[PATHMAX];

	m->source = "none";
	if (rpath(p, FWCFG) == 0 && stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
		m->source = "fw_cfg";
		fwentry("authorized_keys", MAXVALUE, 1, &m->keys);
		fwentry("hostname", MAXVALUE, 1, &m->hostname);
		fwentry("user-data", MAXUSERDATA, 0, &m->userdata);
		return;
	}
	s.deadline = start + (s.ec2 ? METAMS : PROBEMS);
	if (probe(&s, eps, m) < 0)
		return;
	s.deadline = start + METAMS;
	imdsfetch(&s, m);
}
