/* firstboot: writes (see install.h). Every file is replaced through a
 * temporary name, fsync and rename (writeatomic), so a crash leaves the old
 * or the new file, never a mix; files are never followed through symlinks
 * into places the user chose (.ssh and authorized_keys are lstat'ed). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "install.h"

/* A valid account name: what passwd and shells accept without surprise. */
static int
okname(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n >= 32 || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

void
config(char *name, size_t n)
{
	struct buf b = {0};
	char p[PATHMAX];
	const char *l, *nl;
	int line = 0;

	snprintf(name, n, "root");
	if (rpath(p, "/etc/undistro/firstboot.conf") < 0 || readbounded(p, MAXVALUE, &b) < 0) {
		if (errno != ENOENT)
			msg("%s:", p);
		return;
	}
	for (l = b.p; l && *l; l = nl ? nl + 1 : l + strlen(l)) {
		size_t len;
		nl = strchr(l, '\n');
		len = trimspace(l, nl ? (size_t)(nl - l) : strlen(l));
		line++;
		if (len == 0 || l[0] == '#')
			continue;
		if (len > 5 && !strncmp(l, "user ", 5) && okname(l + 5, len - 5) && len - 5 < n)
			snprintf(name, n, "%.*s", (int)(len - 5), l + 5);
		else
			msg("warning: %s:%d: ignored (expected: user NAME)", p, line);
	}
	buffree(&b);
}

int
userget(const char *name, struct user *u)
{
	struct buf b = {0};
	char p[PATHMAX];
	const char *l, *nl;
	size_t nlen = strlen(name);

	if (rpath(p, "/etc/passwd") < 0)
		return -1;
	if (readbounded(p, MAXFILE, &b) < 0) {
		msg("%s:", p);
		return -1;
	}
	for (l = b.p; l && *l; l = nl ? nl + 1 : l + strlen(l)) {
		unsigned long uid, gid;
		char home[256];
		nl = strchr(l, '\n');
		if (strncmp(l, name, nlen) || l[nlen] != ':')
			continue;
		/* name:password:uid:gid:gecos:home:shell */
		if (sscanf(l + nlen, ":%*[^:]:%lu:%lu:%*[^:]:%255[^:\n]", &uid, &gid, home) != 3 &&
		    sscanf(l + nlen, ":%*[^:]:%lu:%lu::%255[^:\n]", &uid, &gid, home) != 3)
			break;
		*u = (struct user){.uid = (uid_t)uid, .gid = (gid_t)gid};
		snprintf(u->name, sizeof(u->name), "%s", name);
		snprintf(u->home, sizeof(u->home), "%s", home);
		buffree(&b);
		return home[0] == '/' ? 0 : (msg("%s: %s: home %s is not absolute", p, name, home), -1);
	}
	buffree(&b);
	msg("%s: no usable account %s", p, name);
	return -1;
}

/* An OpenSSH public key line: a known type, a blank, then no control bytes. */
static int
keyline(const char *p, size_t n)
{
	size_t i;

	if (!((n > 4 && !strncmp(p, "ssh-", 4)) || (n > 11 && !strncmp(p, "ecdsa-sha2-", 11)) ||
	      (n > 3 && !strncmp(p, "sk-", 3))))
		return 0;
	if (!memchr(p, ' ', n))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return 0;
	return 1;
}

/* The text holds p[0..n) as a whole line. */
static int
hasline(const struct buf *text, const char *p, size_t n)
{
	const char *l = text->p, *nl;

	for (; l && *l; l = nl ? nl + 1 : l + strlen(l)) {
		nl = strchr(l, '\n');
		if ((size_t)((nl ? nl : l + strlen(l)) - l) == n && !memcmp(l, p, n))
			return 1;
	}
	return 0;
}

/* ~/.ssh for u: created 0700 and owned by u if absent; a real directory. */
static int
sshdir(const struct user *u, char dir[PATHMAX])
{
	struct stat st;

	if (rpath(dir, "%s/.ssh", u->home) < 0)
		return -1;
	if (mkdir(dir, 0700) == 0) {
		if (chown(dir, u->uid, u->gid) < 0) {
			msg("%s:", dir);
			return -1;
		}
	} else if (errno != EEXIST) {
		msg("%s:", dir);
		return -1;
	}
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		msg("%s: not a directory: keys not installed", dir);
		return -1;
	}
	return 0;
}

int
keysadd(const struct user *u, const struct buf *keys, const char *source)
{
	struct buf old = {0}, out = {0};
	char dir[PATHMAX], path[PATHMAX + 32];
	const char *l, *nl;
	struct stat st;
	int n = 0, rc = 0;

	if (sshdir(u, dir) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/authorized_keys", dir);
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		msg("%s: not a regular file: keys not installed", path);
		return -1;
	}
	if (readbounded(path, MAXFILE, &old) < 0 && errno != ENOENT) {
		msg("%s:", path);
		return -1;
	}
	bufadd(&out, old.p, old.len);
	if (out.len && out.p[out.len - 1] != '\n')
		bufadd(&out, "\n", 1);
	for (l = keys->p; l && *l; l = nl ? nl + 1 : l + strlen(l)) {
		size_t len;
		nl = strchr(l, '\n');
		len = trimspace(l, nl ? (size_t)(nl - l) : strlen(l));
		if (!keyline(l, len) || hasline(&out, l, len))
			continue;
		if (out.len + len + 1 > MAXFILE)
			break; /* readbounded() could not read it back */
		bufadd(&out, l, len);
		bufadd(&out, "\n", 1);
		n++;
	}
	if (n && writeatomic(path, out.p, out.len, 0600, u->uid, u->gid) < 0) {
		msg("%s:", path);
		rc = -1;
	} else {
		msg("%d ssh key(s) for %s from %s", n, u->name, source);
	}
	buffree(&old);
	buffree(&out);
	return rc;
}

/* The first label of name, lower-cased, if it is an RFC 1123 label. */
static int
label(const struct buf *name, char out[64])
{
	size_t i, n = name->len ? strcspn(name->p, ".\n\r \t") : 0;

	if (n == 0 || n > 63 || name->p[0] == '-' || name->p[n - 1] == '-')
		return -1;
	for (i = 0; i < n; i++) {
		char c = name->p[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return -1;
		out[i] = c;
	}
	out[n] = 0;
	return 0;
}

/* /etc/hosts with its 127.0.1.1 lines replaced by one for host (added if
 * there was none). */
static int
hostsfile(const char *host)
{
	struct buf old = {0}, out = {0};
	char p[PATHMAX], line[96];
	const char *l, *nl;
	int done = 0, rc;
	size_t n = (size_t)snprintf(line, sizeof(line), "127.0.1.1\t%s\n", host);

	if (rpath(p, "/etc/hosts") < 0)
		return -1;
	if (readbounded(p, MAXFILE - sizeof(line), &old) < 0 && errno != ENOENT) {
		msg("%s:", p);
		return -1;
	}
	for (l = old.p; l && *l; l = nl ? nl + 1 : l + strlen(l)) {
		size_t len;
		nl = strchr(l, '\n');
		len = nl ? (size_t)(nl - l) : strlen(l);
		if (len >= 10 && !strncmp(l, "127.0.1.1", 9) && (l[9] == ' ' || l[9] == '\t')) {
			if (!done++)
				bufadd(&out, line, n);
			continue;
		}
		bufadd(&out, l, len);
		bufadd(&out, "\n", 1);
	}
	if (!done)
		bufadd(&out, line, n);
	rc = writeatomic(p, out.p, out.len, 0644, (uid_t)-1, (gid_t)-1);
	buffree(&old);
	buffree(&out);
	return rc;
}

int
hostnameset(const struct buf *name)
{
	char host[64], p[PATHMAX], line[66];

	if (label(name, host) < 0) {
		msg("hostname \"%.64s\" is not an RFC 1123 label: not set", name->p ? name->p : "");
		return 0;
	}
	if (!*fbroot && sethostname(host, strlen(host)) < 0) {
		msg("sethostname %s:", host);
		return -1;
	}
	snprintf(line, sizeof(line), "%s\n", host);
	if (rpath(p, "/etc/hostname") < 0)
		return -1;
	if (writeatomic(p, line, strlen(line), 0644, (uid_t)-1, (gid_t)-1) < 0 || hostsfile(host) < 0) {
		if (errno == EROFS) {
			msg("hostname %s (/etc is read-only: for this boot only)", host);
			return 0;
		}
		msg("hostname %s: writing /etc:", host);
		return -1;
	}
	msg("hostname %s", host);
	return 0;
}

int
runfile(const char *name, const char *value, size_t n)
{
	char dir[PATHMAX], p[PATHMAX + 64], *line;
	int rc = 0;

	if (rpath(dir, "/run/undistro") < 0)
		return -1;
	if (mkdirs(dir, 0755) < 0) {
		msg("%s:", dir);
		return -1;
	}
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	line = xalloc(n + 2);
	memcpy(line, value, n);
	line[n] = '\n';
	/* the marker "firstboot" is empty: n == 0 writes no line */
	if (writeatomic(p, line, n ? n + 1 : 0, 0644, (uid_t)-1, (gid_t)-1) < 0) {
		msg("%s:", p);
		rc = -1;
	}
	free(line);
	return rc;
}
