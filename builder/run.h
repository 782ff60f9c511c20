#ifndef UNDISTRO_RUN_H
#define UNDISTRO_RUN_H
#include <stddef.h>
#include <sys/types.h>

/* Boot a built image under qemu: `undistro run`, and the boot tests.
 * The disk (outdir/disk.raw) is attached as NVMe with snapshot=on, so the
 * guest never changes the build output; the UEFI variable store is likewise
 * a snapshot of the distribution's template. */

/* A guest TCP (or, with udp set, UDP) port reachable on the host at
 * 127.0.0.1:host. */
struct runfwd {
	int guest, host, udp;
};

struct target;

struct runopts {
	const struct target *target; /* qemu binary, machine, firmware */
	const char *outdir;        /* holds disk.raw */
	int uefi;                  /* boot through UEFI firmware instead of SeaBIOS;
	                            * always for a target without BIOS boot */
	long memmb;                /* guest memory; 0: 256 */
	int cpus;                  /* virtual CPUs (-smp); 0: qemu's default, 1 */
	const struct runfwd *fwd;  /* user-mode network port forwards */
	size_t nfwd;
	/* NULL: serial console and qemu monitor on the terminal (Ctrl-A x
	 * quits). Otherwise the serial output goes to this file, there is no
	 * terminal, and qemu exits when the guest powers off or reboots. */
	const char *seriallog;
	int timeout;               /* with seriallog: stop qemu after this many s; 0: never */
	const char *accel;         /* "kvm", "tcg", or NULL: kvm when runkvmworks() */
	const char *sshkeys;       /* authorized_keys handed to the guest through fw_cfg
	                            * (opt/undistro/authorized_keys), or NULL */
	const char *userdata;      /* a user-data file, fw_cfg opt/undistro/user-data */
	const char *hostname;      /* a host name, fw_cfg opt/undistro/hostname */
	/* Emulate an EC2 instance: the guest network is 169.254.0.0/16, its
	 * connections to 169.254.169.254:80 go to a new process of this command
	 * each (inetd style, the connection on stdin and stdout), and SMBIOS
	 * says "Amazon EC2". NULL: qemu's usual 10.0.2.0/24 network. */
	const char *imds;
	/* fw_cfg opt/undistro/cost: the idle window in seconds of the
	 * guest's cost measurement (cost.h), or NULL */
	const char *cost;
};

/* Boot the image. Interactive (no seriallog): replaces the process with qemu
 * and returns -1 only when that fails. With seriallog: waits for qemu and
 * returns 0 when it exited 0 (the guest powered off), else reports and
 * returns -1 (-2 when the timeout stopped it). */
int runimage(const struct runopts *);
/* Start the image's qemu and return at once (`undistro cost`): the serial
 * console and qemu's own messages go to a new pipe whose read end
 * (close-on-exec) is *fd; seriallog and timeout are not used, and qemu exits
 * when the guest powers off or reboots. Returns qemu's pid, or -1 (reported). */
pid_t runstart(const struct runopts *, int *fd);
/* Start the image's qemu with its serial console and monitor on the
 * terminal (the caller's stdin and stdout) and return at once (`undistro
 * watch --run`); seriallog and timeout are not used. Returns qemu's pid,
 * or -1 (reported). */
pid_t runspawn(const struct runopts *);
/* The host port for a guest port (a UDP one when udp): the guest's own
 * (10000 + it below 1024) when free, else one the kernel picks. */
int runhostport(int guest, int udp);
/* Nonzero when guests of the target can run under KVM here: the target is
 * the build machine's own, /dev/kvm opens and, where the target has a probe
 * (target.h kvmprobe), a tiny guest (firmware alone, no disk) prints its
 * banner and exits under -accel kvm within a few seconds: a /dev/kvm that
 * exists is not enough (nested setups fail at run time). A target without
 * a probe is taken to work once /dev/kvm opens. */
int runkvmworks(const struct target *);
#endif
