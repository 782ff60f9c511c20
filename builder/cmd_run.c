/* undistro run: boot a role's built image in qemu. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "cmd.h"
#include "diag.h"
#include "os.h"
#include "recipe.h"
#include "run.h"
#include "target.h"
#include "tree.h"

/* Guest port p is reachable on the host at p when p >= 1024, else 10000+p
 * (unprivileged users cannot bind low ports); when that port is taken (say,
 * by another guest), at a free one (runhostport). The chosen ports are
 * printed. --port overrides. */
/* A decimal number in [1, max], or -1. */
static long
posnum(const char *s, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end && v >= 1 && v <= max ? v : -1;
}

/* --port GUEST[/tcp|/udp]:HOST: a new forward, or another host port for
 * the role's forward of that guest port and protocol. */
static int
addfwd(struct runfwd *fwd, size_t *n, const char *spec)
{
	const char *colon = strchr(spec, ':');
	char guest[16], *end;
	int g, udp;
	long h;

	if (!colon || (size_t)(colon - spec) >= sizeof(guest))
		return -1;
	memcpy(guest, spec, (size_t)(colon - spec));
	guest[colon - spec] = '\0';
	if (imageport(guest, &g, &udp) < 0)
		return -1;
	h = strtol(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || *end || h < 1 || h > 65535)
		return -1;
	for (size_t i = 0; i < *n; i++)
		if (fwd[i].guest == g && fwd[i].udp == udp)
			return fwd[i].host = (int)h, 0;
	fwd[(*n)++] = (struct runfwd){.guest = g, .host = (int)h, .udp = udp};
	return 0;
}

static int
roleports(const struct opts *o, const char *name, const struct target *tg, struct runfwd *fwd, size_t *n)
{
	struct tree t;
	struct role *ro, flat;
	int rc = 0;

	if (treeload(&t, o->dir) < 0) {
		treefree(&t);
		return -1;
	}
	if (!(ro = treerole(&t, name))) {
		const char *near = treenearestrole(&t, name);
		err("no role '%s'%s%s%s", name, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
		rc = -1;
	} else {
		roleflatten(&t, ro, &flat);
		if (!rolesupports(&flat, tg))
			rc = -1;
		for (size_t i = 0; rc == 0 && i < flat.image.ports.n && *n < 64; i++) {
			int g, udp;

			if (imageport(flat.image.ports.v[i], &g, &udp) == 0)
				fwd[(*n)++] = (struct runfwd){.guest = g, .host = runhostport(g, udp), .udp = udp};
		}
	}
	treefree(&t);
	return rc;
}

static int
run(int argc, char **argv, const struct opts *o)
{
	static const struct cmdopt opts[] = {
		{"uefi", 'U', 0}, {"out", 'o', CMDARG | CMDSHORT}, {"ssh-key", 'k', CMDARG},
		{"port", 'p', CMDARG}, {"serial-log", 'l', CMDARG}, {"timeout", 't', CMDARG},
		{"memory", 'm', CMDARG}, {"accel", 'a', CMDARG}, {"arch", 'A', CMDARG},
		{"user-data", 'u', CMDARG}, {"hostname", 'H', CMDARG}, {"imds", 'I', CMDARG},
		{NULL, 0, 0},
	};
	struct cmdargs a = {.cmd = &cmd_run, .opts = opts, .argc = argc, .argv = argv};
	struct runfwd fwd[128];
	const char *ports[64];
	size_t nfwd = 0, nports = 0;
	struct runopts ro = {0};
	char *outdir = NULL;
	const char *arch = NULL;
	int c, rc;

	while ((c = cmdnext(&a)) > 0) {
		const char *v = a.val;

		switch (c) {
		case 'U': ro.uefi = 1; break;
		case 'o': ro.outdir = v; break;
		case 'k': ro.sshkeys = v; break;
		case 'p':
			if (nports == 64)
				return cmdusage(&cmd_run, "too many --port options");
			ports[nports++] = v;
			break;
		case 'l': ro.seriallog = v; break;
		case 't':
			if ((ro.timeout = (int)posnum(v, 86400)) < 0)
				return cmdusage(&cmd_run, "--timeout takes seconds (1 to 86400), not '%s'", v);
			break;
		case 'm':
			if ((ro.memmb = posnum(v, 1 << 20)) < 0)
				return cmdusage(&cmd_run, "--memory takes megabytes (1 to 1048576), not '%s'", v);
			break;
		case 'a': ro.accel = v; break;
		case 'A': arch = v; break;
		case 'u': ro.userdata = v; break;
		case 'H':
			if (!hostnamevalid(v))
				return cmdusage(&cmd_run, "--hostname takes a host name (RFC 1123: lower-case letters, "
				                "digits, '-' and '.'), not '%s'", v);
			ro.hostname = v;
			break;
		case 'I':
			if (!*v)
				return cmdusage(&cmd_run, "--imds takes a command");
			ro.imds = v;
			break;
		}
	}
	if (c < 0)
		return c == CMDHELP ? EXIT_OK : EXIT_USAGE;
	if (a.nops != 1)
		return cmdusage(&cmd_run, "name one role");
	if ((rc = cmdtarget(&cmd_run, arch, &ro.target)) != 0)
		return rc;
	if (roleports(o, argv[1], ro.target, fwd, &nfwd) < 0)
		return EXIT_INPUT;
	for (size_t i = 0; i < nports; i++)
		if (addfwd(fwd, &nfwd, ports[i]) < 0)
			return cmdusage(&cmd_run, "--port takes GUEST:HOST port numbers (GUEST/udp:HOST for UDP), not '%s'",
			                ports[i]);
	if (!ro.outdir) {
		const char *env = getenv("UNDISTRO_OUT");
		ro.outdir = outdir = env && *env ? xstrdup(env) : xasprintf("out/%s/%s", ro.target->name, argv[1]);
	}
	ro.fwd = fwd;
	ro.nfwd = nfwd;
	for (size_t i = 0; i < nfwd && !quiet; i++)
		fprintf(stderr, "undistro: guest port %d%s is 127.0.0.1:%d\n", fwd[i].guest, fwd[i].udp ? "/udp" : "",
		        fwd[i].host);
	rc = runimage(&ro);
	free(outdir);
	return rc == 0 ? EXIT_OK : EXIT_SYSTEM;
}

const struct cmd cmd_run = {
	"run", run, "[--arch ARCH] [--uefi] [--ssh-key FILE] [--user-data FILE] [--hostname NAME] [--imds COMMAND]\n"
	"       [--port GUEST:HOST]... [--serial-log FILE [--timeout S]] ROLE",
	"boot a role's image in qemu",
	"Boots out/ARCH/ROLE/disk.raw (see -o) in the target's qemu as an NVMe disk:\n"
	"through SeaBIOS by default or UEFI with --uefi where the target boots both\n"
	"ways, through UEFI alone where it has no BIOS boot (README: targets). KVM\n"
	"when a probe shows it works for a native target, TCG otherwise. The\n"
	"serial console is the terminal (Ctrl-A x quits). The role's image ports are\n"
	"forwarded to 127.0.0.1: port P to P when P >= 1024, else to 10000+P, or\n"
	"to a free port when that one is taken; each mapping is printed.\n"
	"The disk is used in snapshot mode: the image never changes.\n"
	"\n"
	"  --arch ARCH         the image's target (default: this machine's)\n"
	"  -o, --out DIR       the image directory (default $UNDISTRO_OUT, else\n"
	"                      out/ARCH/ROLE)\n"
	"  --uefi              boot through the target's UEFI firmware (always, where\n"
	"                      it has no BIOS boot)\n"
	"  --ssh-key FILE      hand these authorized_keys to the guest (qemu fw_cfg);\n"
	"                      root (or the role's login-user) can then log in\n"
	"  --user-data FILE    hand the guest a user-data script (fw_cfg); it runs\n"
	"                      once per boot (docs/recipes.md: First boot)\n"
	"  --hostname NAME     hand the guest a host name (fw_cfg)\n"
	"  --imds COMMAND      emulate an EC2 instance: the guest's connections to\n"
	"                      169.254.169.254:80 each start COMMAND with the\n"
	"                      connection on its stdin and stdout (inetd style), and\n"
	"                      SMBIOS says Amazon EC2; with fw_cfg data (the three\n"
	"                      options above) the guest uses that instead\n"
	"  --port GUEST:HOST   forward a guest TCP port to a host port (repeatable;\n"
	"                      GUEST/udp:HOST for a UDP port)\n"
	"  --serial-log FILE   serial output to FILE, no terminal; qemu exits when\n"
	"                      the guest powers off\n"
	"  --timeout S         with --serial-log: stop qemu after S seconds\n"
	"  --memory MB         guest memory (default 256)\n"
	"  --accel kvm|tcg     force an accelerator\n",
};
