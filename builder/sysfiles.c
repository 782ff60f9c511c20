#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "recipe.h"
#include "str.h"
#include "sysfiles.h"
#include "tree.h"

/* The PATH every generated script sets: busybox installs its applets in
 * all four directories. */
#define SCRIPTPATH "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
/* Seconds a service's run script waits for its `after` services before it
 * exits, so that init starts it again and it waits again. */
#define AFTERWAIT 60
/* First uid given to a user that does not choose one. */
#define FIRSTUID 1000

struct gen {
	struct arena *a;
	const char *treeroot;
	const struct role *ro;
	struct sysfiles *out;
	int bad;
};

/* Commands the init package's scripts (recipes/init/src) run; alternatives
 * separated by blanks. */
static const char *const sysfilescommands[] = {
	"sh", "init", "mount", "grep", "mkdir", "hostname", "cat", "mv", "rm", "sleep", "umount", "sync",
	"udhcpc", "ip ifconfig", "gzip", NULL,
};

/* Where the init package installs the scripts the generated files run:
 * a role without them would not boot. */
#define LIBDIR "usr/lib/undistro/"
static const char *const sysfilesboot[] = {
	LIBDIR "rc", LIBDIR "wait", LIBDIR "network", LIBDIR "dhcp", LIBDIR "shutdown", LIBDIR "firstboot",
	LIBDIR "cost", LIBDIR "netwait", NULL,
};

/* The fw_cfg entry of `undistro cost` (cost.h): when qemu offers it, the ready
 * script execs the init package's measurer after the ready line. */
#define COSTFWCFG "/sys/firmware/qemu_fw_cfg/by_name/opt/undistro/cost"

/* Seconds the ready line waits for the first-boot agent after the network
 * is up: its metadata deadline (10 s on EC2) plus the 30 s it gives a
 * user-data script, and some slack (docs/recipes.md, First boot). */
#define FIRSTBOOTWAIT 45

static struct sysfile *
add(struct gen *g, const char *path, char type, unsigned mode)
{
	struct sysfile *f = ARENAPUSH(g->a, g->out->v, g->out->n);

	f->path = arenastrdup(g->a, path);
	f->type = type;
	f->mode = mode;
	return f;
}

static void
addtext(struct gen *g, const char *path, unsigned mode, const char *text)
{
	struct sysfile *f = add(g, path, 'f', mode);

	f->data = arenastrdup(g->a, text);
	f->size = strlen(text);
}

/* Add a file with the buffer's contents and release the buffer. */
static void
addbuf(struct gen *g, const char *path, unsigned mode, struct buf *b)
{
	addtext(g, path, mode, b->p ? b->p : "");
	buffree(b);
}

static void
addlink(struct gen *g, const char *path, const char *target)
{
	add(g, path, 'l', 0777)->data = arenastrdup(g->a, target);
}

static void
adddev(struct gen *g, const char *path, unsigned mode, unsigned major, unsigned minor)
{
	struct sysfile *f = add(g, path, 'c', mode);

	f->major = major;
	f->minor = minor;
}

static struct account *
findaccount(struct sysfiles *s, const char *name)
{
	for (size_t i = 0; i < s->naccounts; i++)
		if (!strcmp(s->accounts[i].name, name))
			return &s->accounts[i];
	return NULL;
}

static int
uidused(const struct sysfiles *s, long uid, const struct account *except)
{
	for (size_t i = 0; i < s->naccounts; i++)
		if (&s->accounts[i] != except && s->accounts[i].uid == uid)
			return 1;
	return 0;
}

static const char *
homeof(struct arena *a, const char *name)
{
	char *h = xasprintf("/home/%s", name), *r = arenastrdup(a, h);

	free(h);
	return r;
}

/* Fill in one declared user's account (root and nobody are already there). */
static void
declareduser(struct gen *g, const struct user *u)
{
	struct sysfiles *s = g->out;
	struct account *ac = findaccount(s, u->name);
	long next = FIRSTUID;

	if (!ac) {
		ac = ARENAPUSH(g->a, s->accounts, s->naccounts);
		ac->name = u->name;
		ac->uid = u->uid;
		if (ac->uid < 0)
			while (uidused(s, next, ac))
				next++;
		ac->uid = ac->uid < 0 ? next : ac->uid;
		ac->gid = u->gid < 0 ? ac->uid : u->gid;
		ac->home = homeof(g->a, u->name);
		ac->shell = "/bin/sh";
	} else if (u->uid >= 0 && u->uid != ac->uid) {
		errat(&u->loc, "user '%s' must keep uid %ld", u->name, ac->uid);
		g->bad = 1;
	}
	if (u->gid >= 0)
		ac->gid = u->gid;
	if (u->home)
		ac->home = u->home;
	if (u->shell)
		ac->shell = u->shell;
	if (ac->home[0] != '/' || ac->shell[0] != '/') {
		errat(&u->loc, "user '%s': home and shell must be absolute paths", u->name);
		g->bad = 1;
	} else if (uidused(s, ac->uid, ac)) {
		errat(&u->loc, "user '%s': uid %ld is taken by another account", u->name, ac->uid);
		g->bad = 1;
	}
}

/* root, the role's users in order, nobody last. */
static void
accounts(struct gen *g)
{
	struct sysfiles *s = g->out;
	struct account nobody;

	*ARENAPUSH(g->a, s->accounts, s->naccounts) = (struct account){"root", "/root", "/bin/sh", 0, 0, 0};
	/* nobody goes in before the users so that allocated uids avoid 65534 */
	*ARENAPUSH(g->a, s->accounts, s->naccounts) =
		(struct account){"nobody", "/nonexistent", "/bin/false", 65534, 65534, 0};
	for (size_t i = 0; i < g->ro->nusers; i++)
		declareduser(g, &g->ro->users[i]);
	nobody = s->accounts[1];
	memmove(&s->accounts[1], &s->accounts[2], (s->naccounts - 2) * sizeof(*s->accounts));
	s->accounts[s->naccounts - 1] = nobody;
}

/* The account `login-user` names must exist and have a home for keys. */
static void
loginuser(struct gen *g)
{
	const char *name = g->ro->loginuser;
	const struct account *ac = name ? findaccount(g->out, name) : NULL;

	if (!name)
		return;
	if (!ac) {
		errat(&g->ro->loginuserloc, "login-user '%s' is not an account of role '%s': add `user %s { }` or use root",
		      name, g->ro->name, name);
		g->bad = 1;
	} else if (ac->uid == 65534) {
		errat(&g->ro->loginuserloc, "login-user cannot be nobody, which has no home for keys: "
		      "declare a user (`user NAME { }`) and name it");
		g->bad = 1;
	}
}

/* Nonzero when the line is an authorized_keys entry: a key type, possibly
 * after options ("no-pty,from=... ssh-ed25519 AAAA... comment"). */
static int
keyline(const char *p, size_t n)
{
	static const char *const types[] = {"ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-", NULL};

	for (size_t i = 0; i < n; i++) {
		if (i > 0 && p[i - 1] != ' ' && p[i - 1] != '\t')
			continue;
		for (size_t k = 0; types[k]; k++) {
			size_t m = strlen(types[k]);

			if (n - i > m && !memcmp(p + i, types[k], m))
				return 1;
		}
	}
	return 0;
}

/* Check the key lines of data (from file) and append them to b. */
static int
addkeys(const char *file, const char *data, size_t n, struct buf *b)
{
	int line = 0, bad = 0;

	if (memmem(data, n, "PRIVATE KEY", 11)) {
		err("%s holds a private key: give the public key (the .pub file)", file);
		return -1;
	}
	for (const char *p = data, *end = data + n; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		struct loc l = {file, ++line, 1};

		while (len && (p[len - 1] == '\r' || p[len - 1] == ' '))
			len--;
		if (len && p[0] != '#' && !keyline(p, len)) {
			errat(&l, "not an OpenSSH public key (expected a line like 'ssh-ed25519 AAAA... comment')");
			bad = 1;
		} else if (len && p[0] != '#') {
			bufaddn(b, p, len);
			bufaddc(b, '\n');
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return bad ? -1 : 0;
}

/* Append the keys of the file at path (relative to base when not absolute;
 * given at loc, which may be NULL) to b. */
static void
readkeys(struct gen *g, const char *base, const char *path, const struct loc *loc, struct buf *b)
{
	char *full = path[0] == '/' || !base ? xstrdup(path) : xasprintf("%s/%s", base, path), *data;
	size_t n;

	/* a FIFO or device here would hang or flood the build: regular files only */
	if (readregular(full, KEYFILEMAX, loc, &data, &n) < 0) {
		g->bad = 1;
	} else {
		if (addkeys(full, data, n, b) < 0)
			g->bad = 1;
		free(data);
	}
	free(full);
}

/* Home directory and baked-in keys of one account. */
static void
homeandkeys(struct gen *g, struct account *ac, const char *const *extrakeys)
{
	const struct user *u = NULL;
	struct buf keys = {0}, p = {0};
	const char *home = ac->home + 1;

	for (size_t i = 0; i < g->ro->nusers; i++)
		if (!strcmp(g->ro->users[i].name, ac->name))
			u = &g->ro->users[i];
	for (size_t i = 0; u && i < u->keys.n; i++)
		readkeys(g, g->treeroot, u->keys.v[i], &u->keys.loc[i], &keys);
	for (size_t i = 0; ac->uid == 0 && extrakeys && extrakeys[i]; i++)
		readkeys(g, NULL, extrakeys[i], NULL, &keys);
	if (home[0] && (u || ac->uid == 0)) {
		struct sysfile *f = add(g, home, 'd', 0700);

		f->uid = ac->uid;
		f->gid = ac->gid;
	}
	if (keys.n && home[0]) {
		struct sysfile *f;

		ac->haskeys = 1;
		bufprintf(&p, "%s/.ssh", home);
		f = add(g, p.p, 'd', 0700);
		f->uid = ac->uid;
		f->gid = ac->gid;
		bufadds(&p, "/authorized_keys");
		f = add(g, p.p, 'f', 0600);
		f->uid = ac->uid;
		f->gid = ac->gid;
		f->data = arenastrndup(g->a, keys.p, keys.n);
		f->size = keys.n;
	}
	buffree(&keys);
	buffree(&p);
}

static int
gidlisted(const struct sysfiles *s, size_t upto, long gid)
{
	if (gid == 0 || gid == 5 || gid == 65534)
		return 1;
	for (size_t i = 0; i < upto; i++)
		if (s->accounts[i].gid == gid)
			return 1;
	return 0;
}

/* passwd, group, shadow. */
static void
accountfiles(struct gen *g)
{
	const struct sysfiles *s = g->out;
	struct buf pw = {0}, gr = {0}, sh = {0};

	bufadds(&gr, "root:x:0:\ntty:x:5:\n");
	for (size_t i = 0; i < s->naccounts; i++) {
		const struct account *ac = &s->accounts[i];

		bufprintf(&pw, "%s:x:%ld:%ld:%s:%s:%s\n", ac->name, ac->uid, ac->gid, ac->name, ac->home, ac->shell);
		bufprintf(&sh, "%s:%s:::::::\n", ac->name, ac->haskeys ? "*" : "!");
		if (!gidlisted(s, i, ac->gid))
			bufprintf(&gr, "%s:x:%ld:\n", ac->name, ac->gid);
	}
	bufadds(&gr, "nogroup:x:65534:\n");
	addbuf(g, "etc/passwd", 0644, &pw);
	addbuf(g, "etc/group", 0644, &gr);
	addbuf(g, "etc/shadow", 0600, &sh);
}

/* /etc/shells: /bin/sh and every account's shell, once each. */
static void
shells(struct gen *g)
{
	const struct sysfiles *s = g->out;
	struct buf b = {0};

	bufadds(&b, "/bin/sh\n");
	for (size_t i = 0; i < s->naccounts; i++) {
		const char *sh = s->accounts[i].shell;
		size_t k;

		for (k = 0; k < i && strcmp(s->accounts[k].shell, sh); k++)
			;
		if (k == i && strcmp(sh, "/bin/sh") && strcmp(sh, "/bin/false"))
			bufprintf(&b, "%s\n", sh);
	}
	addbuf(g, "etc/shells", 0644, &b);
}

/* One service directory: the run script (text, or with link set a symlink
 * to the script of that absolute path), which busybox init respawns. */
static void
service(struct gen *g, const char *name, const char *run, const char *link)
{
	struct buf p = {0}, t = {0};

	bufprintf(&p, "etc/service/%s", name);
	add(g, p.p, 'd', 0755);
	bufprintf(&t, "%s/run", p.p);
	if (link)
		addlink(g, t.p, link);
	else
		addtext(g, t.p, 0755, run);
	buffree(&p);
	buffree(&t);
}

/* The run script of a role service. */
static int
roleservice(struct gen *g, const struct service *sv)
{
	const char *user = sv->user ? sv->user : "root";
	struct buf b = {0};

	if (!strcmp(sv->name, "network")) {
		errat(&sv->loc, "'network' is the built-in DHCP service: give this service another name");
		return -1;
	}
	if (!findaccount(g->out, user)) {
		errat(&sv->loc, "service '%s' runs as user '%s', which role '%s' does not declare: add `user %s { }`",
		      sv->name, user, g->ro->name, user);
		return -1;
	}
	bufprintf(&b, "#!/bin/sh\n# Service %s of role %s (generated by undistro); init starts it again when it exits.\n"
	          "exec 2>&1\n" SCRIPTPATH, sv->name, g->ro->name);
	/* init respawns at once: a command that ends within the second it
	 * started waits a second before the next try */
	bufprintf(&b, "read -r t _ </proc/uptime\n"
	          "if read -r _ t0 </run/undistro/%s.up 2>/dev/null && [ \"${t%%.*}\" = \"${t0%%.*}\" ]; then\n"
	          "\tsleep 1\nfi\n", sv->name);
	if (sv->after.n) {
		bufprintf(&b, "/" LIBDIR "wait %d", AFTERWAIT);
		for (size_t i = 0; i < sv->after.n; i++)
			bufprintf(&b, " %s", sv->after.v[i]);
		bufadds(&b, " || exit 1\n");
	}
	bufprintf(&b, "read -r t _ </proc/uptime\necho \"$$ $t\" >/run/undistro/%s.up\n", sv->name);
	if (strcmp(user, "root"))
		bufprintf(&b, "exec chpst -u %s %s\n", user, sv->command);
	else
		bufprintf(&b, "exec %s\n", sv->command);
	service(g, sv->name, b.p, NULL);
	buffree(&b);
	return 0;
}

static void
services(struct gen *g)
{
	struct buf b = {0};

	service(g, "network", NULL, "/" LIBDIR "network");
	for (size_t i = 0; i < g->ro->nservices; i++)
		if (roleservice(g, &g->ro->services[i]) < 0)
			g->bad = 1;
	bufprintf(&b, "#!/bin/sh\n# Print the ready line of role %s once its services are up and the first-boot\n"
	          "# agent is done or has had its time (generated by undistro).\n"
	          "/" LIBDIR "wait 0 network", g->ro->name);
	for (size_t i = 0; i < g->ro->nservices; i++)
		if (g->ro->services[i].ready)
			bufprintf(&b, " %s", g->ro->services[i].name);
	bufprintf(&b, " || exit\n/" LIBDIR "wait %d firstboot >/dev/console\n"
	          "echo \"undistro: role %s ready\" >/dev/console\n"
	          "# undistro cost: the idle measurement, when qemu asks for it\n"
	          "[ ! -e " COSTFWCFG " ] || exec /" LIBDIR "cost >/dev/console 2>&1\n",
	          FIRSTBOOTWAIT, g->ro->name);
	addbuf(g, "etc/undistro/ready", 0755, &b);
}

/* inittab, pointing at the init package's scripts and respawning every
 * service (network first), and the first-boot agent's configuration. */
static void
initfiles(struct gen *g)
{
	struct buf b = {0};

	bufprintf(&b, "# /etc/inittab of role %s (generated by undistro; busybox init)\n"
	          "::sysinit:/" LIBDIR "rc\n"
	          "::respawn:/etc/service/network/run\n", g->ro->name);
	for (size_t i = 0; i < g->ro->nservices; i++)
		bufprintf(&b, "::respawn:/etc/service/%s/run\n", g->ro->services[i].name);
	bufadds(&b, "::once:/etc/undistro/ready\n"
	        "::shutdown:/" LIBDIR "shutdown\n"
	        "::ctrlaltdel:reboot\n");
	addbuf(g, "etc/inittab", 0644, &b);
	add(g, "etc/undistro", 'd', 0755);
	bufprintf(&b, "# The first-boot agent's configuration for role %s (generated by undistro):\n"
	          "# the account that receives the ssh keys of the instance metadata.\n"
	          "user %s\n", g->ro->name, g->ro->loginuser ? g->ro->loginuser : "root");
	addbuf(g, "etc/undistro/firstboot.conf", 0644, &b);
	add(g, "etc/service", 'd', 0755);
	addlink(g, "init", "sbin/init");
}

/* hostname, hosts, fstab, os-release, resolv.conf. */
static void
etcfiles(struct gen *g)
{
	const struct role *ro = g->ro;
	struct buf b = {0};

	bufprintf(&b, "%s\n", ro->hostname ? ro->hostname : ro->name);
	addbuf(g, "etc/hostname", 0644, &b);
	bufprintf(&b, "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\t%s\n", ro->hostname ? ro->hostname : ro->name);
	addbuf(g, "etc/hosts", 0644, &b);
	bufprintf(&b, "# /etc/fstab of role %s (generated by undistro); /etc/rc mounts these\n", ro->name);
	if (ro->image.rootfs == ROOTFS_EROFS)
		bufadds(&b, "/dev/root\t/\terofs\tro\t0 0\n");
	bufadds(&b, "proc\t/proc\tproc\tnosuid,nodev,noexec\t0 0\n"
	        "sysfs\t/sys\tsysfs\tnosuid,nodev,noexec\t0 0\n"
	        "devtmpfs\t/dev\tdevtmpfs\tnosuid,mode=0755\t0 0\n"
	        "devpts\t/dev/pts\tdevpts\tnosuid,noexec,gid=5,mode=0620\t0 0\n"
	        "tmpfs\t/run\ttmpfs\tnosuid,nodev,mode=0755\t0 0\n");
	if (ro->image.rootfs == ROOTFS_EROFS)
		bufadds(&b, "tmpfs\t/tmp\ttmpfs\tnosuid,nodev,mode=1777\t0 0\n");
	addbuf(g, "etc/fstab", 0644, &b);
	bufprintf(&b, "NAME=undistro\nID=undistro\nPRETTY_NAME=\"undistro (role %s)\"\nVARIANT_ID=%s\n", ro->name, ro->name);
	addbuf(g, "etc/os-release", 0644, &b);
	addlink(g, "etc/resolv.conf", "../run/resolv.conf");
}

/* The directories and device nodes every root needs. */
static void
basedirs(struct gen *g)
{
	static const struct { const char *path; unsigned mode; } dirs[] = {
		{"dev", 0755}, {"etc", 0755}, {"proc", 0555}, {"sys", 0555}, {"run", 0755},
		{"tmp", 01777}, {"var", 0755}, {"var/log", 0755},
	};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		add(g, dirs[i].path, 'd', dirs[i].mode);
	adddev(g, "dev/console", 0600, 5, 1);
	adddev(g, "dev/null", 0666, 1, 3);
}

static void
needs(struct gen *g)
{
	struct sysfiles *s = g->out;

	for (size_t i = 0; sysfilescommands[i]; i++)
		*ARENAPUSH(g->a, s->needs, s->nneeds) = sysfilescommands[i];
	s->boot = sysfilesboot;
	for (size_t i = 0; i < g->ro->nservices; i++) {
		const char *u = g->ro->services[i].user;

		if (u && strcmp(u, "root")) {
			*ARENAPUSH(g->a, s->needs, s->nneeds) = "chpst";
			break;
		}
	}
}

int
sysfilesgen(struct arena *a, const char *treeroot, const struct role *ro,
            const char *const *extrakeys, struct sysfiles *out)
{
	struct gen g = {a, treeroot, ro, out, 0};

	memset(out, 0, sizeof(*out));
	accounts(&g);
	loginuser(&g);
	for (size_t i = 0; i < out->naccounts; i++)
		homeandkeys(&g, &out->accounts[i], extrakeys);
	accountfiles(&g);
	shells(&g);
	basedirs(&g);
	etcfiles(&g);
	initfiles(&g);
	services(&g);
	needs(&g);
	return g.bad ? -1 : 0;
}

const struct account *
sysfileshome(const struct sysfiles *s, const char *path)
{
	for (size_t i = 0; i < s->naccounts; i++) {
		const struct account *ac = &s->accounts[i];
		size_t n = strlen(ac->home + 1);

		if (ac->uid == 0 || n == 0 || strncmp(path, ac->home + 1, n))
			continue;
		if (path[n] == '\0' || path[n] == '/')
			return ac;
	}
	return NULL;
}
