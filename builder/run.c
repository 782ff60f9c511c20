#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "alloc.h"
#include "diag.h"
#include "os.h"
#include "run.h"
#include "str.h"
#include "target.h"

#define PROBESECS "5"

/* argv under construction; strings are owned by the arena */
struct args {
	struct arena *a;
	char **v;
	size_t n;
};

static void
add(struct args *g, const char *s)
{
	*ARENAPUSH(g->a, g->v, g->n) = arenastrdup(g->a, s);
}

static void
addf(struct args *g, const char *fmt, const char *s)
{
	char *t = xasprintf(fmt, s);

	add(g, t);
	free(t);
}

/* qemu option values end at a comma; a literal comma is written twice */
static char *
qemuesc(struct arena *a, const char *s)
{
	struct buf b = {0};
	char *r;

	for (; *s; s++) {
		bufaddc(&b, *s);
		if (*s == ',')
			bufaddc(&b, ',');
	}
	r = arenastrdup(a, b.p ? b.p : "");
	buffree(&b);
	return r;
}

int
runkvmworks(const struct target *t)
{
	char dev[128];
	/* the CPU the guest will get: here KVM ran SeaBIOS with qemu's default
	 * CPU but failed at start with -cpu host (an MSR it could not set) */
	char *argv[] = {"timeout", "-k", "1", PROBESECS, (char *)t->qemu, "-accel", "kvm", "-cpu", "host",
	                "-nodefaults", "-no-user-config", "-display", "none", "-m", "16",
	                "-chardev", "stdio,id=dbg", "-device", dev,
	                "-boot", "reboot-timeout=0", "-no-reboot", NULL};
	FILE *out;
	char chunk[4096];
	size_t n;
	int fd, st;

	if (!targetnative(t))
		return 0;
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	close(fd);
	if (!t->kvmprobe)
		return 1;
	snprintf(dev, sizeof(dev), "%s,chardev=dbg", t->kvmprobe);
	if (!(out = tmpfile()))
		return 0;
	st = osrun(argv, NULL, NULL, fileno(out));
	rewind(out);
	n = fread(chunk, 1, sizeof(chunk) - 1, out);
	chunk[n] = '\0';
	fclose(out);
	return st == 0 && strstr(chunk, "SeaBIOS") != NULL;
}

static void
addmachine(struct args *g, const struct runopts *o)
{
	char mem[32];
	const struct target *t = o->target;
	const char *accel = o->accel ? o->accel : runkvmworks(t) ? "kvm" : "tcg";

	snprintf(mem, sizeof(mem), "%ld", o->memmb > 0 ? o->memmb : 256);
	add(g, t->qemu);
	add(g, "-nodefaults"), add(g, "-no-user-config");
	add(g, "-M"), add(g, t->machine);
	add(g, "-accel"), add(g, accel);
	if (strcmp(accel, "kvm") == 0)
		add(g, "-cpu"), add(g, "host");
	else if (t->tcgcpu)
		add(g, "-cpu"), add(g, t->tcgcpu);
	add(g, "-m"), add(g, mem);
	if (o->cpus > 0) {
		snprintf(mem, sizeof(mem), "%d", o->cpus);
		add(g, "-smp"), add(g, mem);
	}
	add(g, "-display"), add(g, "none");
	if (o->uefi || !t->biosmbr) {
		add(g, "-drive"), addf(g, "if=pflash,format=raw,unit=0,readonly=on,file=%s", qemuesc(g->a, t->ueficode));
		add(g, "-drive"), addf(g, "if=pflash,format=raw,unit=1,snapshot=on,file=%s", qemuesc(g->a, t->uefivars));
	}
}

/* The disk, network, fw_cfg entries and serial console; topipe: the console
 * on qemu's standard output (runstart). */
static void
adddevices(struct args *g, const struct runopts *o, int topipe)
{
	char *raw = xasprintf("%s/disk.raw", o->outdir);
	struct buf net = {0};
	size_t i;

	add(g, "-drive");
	addf(g, "if=none,id=d0,format=raw,snapshot=on,file=%s", qemuesc(g->a, raw));
	add(g, "-device"), add(g, "nvme,drive=d0,serial=undistro0,bootindex=0");
	bufadds(&net, "user,id=n0");
	if (o->imds) {
		/* slirp only forwards guest connections to addresses inside the
		 * guest network (../shared/notes/ec2-firstboot.md) */
		bufprintf(&net, ",net=169.254.0.0/16,guestfwd=tcp:169.254.169.254:80-cmd:%s", qemuesc(g->a, o->imds));
		add(g, "-smbios"), add(g, "type=1,manufacturer=Amazon EC2,product=undistro run --imds");
	}
	for (i = 0; i < o->nfwd; i++)
		bufprintf(&net, ",hostfwd=%s:127.0.0.1:%d-:%d", o->fwd[i].udp ? "udp" : "tcp", o->fwd[i].host,
		          o->fwd[i].guest);
	add(g, "-netdev"), add(g, net.p);
	/* romfile= keeps the iPXE option ROM out: SeaBIOS would load it and
	 * fall back to network boot */
	add(g, "-device"), add(g, "virtio-net-pci,netdev=n0,romfile=");
	add(g, "-device"), add(g, "virtio-rng-pci");
	/* first-boot metadata: the agent reads it (docs/recipes.md, First boot) */
	if (o->sshkeys) {
		add(g, "-fw_cfg");
		addf(g, "name=opt/undistro/authorized_keys,file=%s", qemuesc(g->a, o->sshkeys));
	}
	if (o->userdata) {
		add(g, "-fw_cfg");
		addf(g, "name=opt/undistro/user-data,file=%s", qemuesc(g->a, o->userdata));
	}
	if (o->hostname) {
		add(g, "-fw_cfg");
		addf(g, "name=opt/undistro/hostname,string=%s", o->hostname);
	}
	if (o->cost) {
		add(g, "-fw_cfg");
		addf(g, "name=opt/undistro/cost,string=%s", o->cost);
	}
	if (topipe) {
		/* signal=off: qemu's stdin is /dev/null, no terminal whose ^C it
		 * should turn into its own exit */
		add(g, "-chardev"), add(g, "stdio,id=s0,signal=off");
		add(g, "-serial"), add(g, "chardev:s0");
		add(g, "-no-reboot");
	} else if (o->seriallog) {
		add(g, "-chardev");
		addf(g, "file,id=s0,path=%s", qemuesc(g->a, o->seriallog));
		add(g, "-serial"), add(g, "chardev:s0");
		add(g, "-no-reboot");
	} else {
		add(g, "-serial"), add(g, "mon:stdio");
	}
	buffree(&net);
	free(raw);
}

static int
checkfiles(const struct runopts *o)
{
	char *raw = xasprintf("%s/disk.raw", o->outdir), *qemu = NULL;
	int r = 0;

	if (access(raw, R_OK) < 0)
		err("run: %s: (build the image first)", raw), r = -1;
	else if (o->sshkeys && access(o->sshkeys, R_OK) < 0)
		err("run: ssh key file %s:", o->sshkeys), r = -1;
	else if (o->userdata && access(o->userdata, R_OK) < 0)
		err("run: user-data file %s:", o->userdata), r = -1;
	else if ((o->uefi || !o->target->biosmbr) &&
	         (access(o->target->ueficode, R_OK) < 0 || access(o->target->uefivars, R_OK) < 0))
		err("run: UEFI firmware %s or %s is missing: install Debian's %s", o->target->ueficode,
		    o->target->uefivars, o->target->debfirmware), r = -1;
	else if (!(qemu = ospathfind(o->target->qemu)))
		err("run: no %s on PATH: install Debian's %s", o->target->qemu, o->target->debqemu), r = -1;
	free(qemu);
	free(raw);
	return r;
}

/* qemu under timeout(1): 124 means the time ran out. --foreground keeps
 * qemu in our process group, so whoever stops us by group (a test harness,
 * a CI step's cancel) stops the guest too. */
static int
runlogged(struct args *g, int timeout)
{
	char secs[16], **v = arenaalloc(g->a, g->n + 6, sizeof(*v));
	size_t k = 0;
	int st;

	snprintf(secs, sizeof(secs), "%d", timeout);
	if (timeout > 0)
		v[k++] = "timeout", v[k++] = "--foreground", v[k++] = "-k", v[k++] = "5", v[k++] = secs;
	memcpy(v + k, g->v, g->n * sizeof(*v));
	v[k + g->n] = NULL;
	st = osrun(v, NULL, NULL, -1);
	if (timeout > 0 && (st == 124 || st == 128 + 9)) {
		err("run: qemu was stopped after %d s", timeout);
		return -2;
	}
	if (st != 0) {
		if (st > 0)
			err("run: %s exited with status %d", g->v[0], st);
		return -1;
	}
	return 0;
}

int
runimage(const struct runopts *o)
{
	struct arena a = {0};
	struct args g = {.a = &a};
	int r;

	if (checkfiles(o) < 0)
		return -1;
	addmachine(&g, o);
	adddevices(&g, o, 0);
	if (o->seriallog) {
		r = runlogged(&g, o->timeout);
	} else {
		*ARENAPUSH(g.a, g.v, g.n) = NULL;
		fflush(NULL);
		signal(SIGXFSZ, SIG_DFL);   /* main ignores it for itself only */
		execvp(g.v[0], g.v);
		err("run: cannot run %s:", g.v[0]);
		r = -1;
	}
	arenafree(&a);
	return r;
}

/* qemu for o: its console on *fd (a pipe) when fd is not NULL, else on our
 * terminal, with every descriptor inherited. Returns its pid, or -1
 * (reported). */
static pid_t
qemustart(const struct runopts *o, int *fd)
{
	struct arena a = {0};
	struct args g = {.a = &a};
	pid_t pid = -1;

	if (checkfiles(o) == 0) {
		addmachine(&g, o);
		adddevices(&g, o, fd != NULL);
		*ARENAPUSH(g.a, g.v, g.n) = NULL;
		fflush(NULL);
		pid = fd ? osstart(g.v, fd) : osstartterm(g.v);
	}
	arenafree(&a);
	return pid;
}

pid_t
runspawn(const struct runopts *o)
{
	return qemustart(o, NULL);
}

int
runhostport(int guest, int udp)
{
	int p = osfreeport(guest >= 1024 ? guest : 10000 + guest, udp);

	return p > 0 ? p : 10000 + guest;
}

pid_t
runstart(const struct runopts *o, int *fd)
{
	return qemustart(o, fd);
}
