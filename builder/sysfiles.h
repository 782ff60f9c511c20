#ifndef UNDISTRO_SYSFILES_H
#define UNDISTRO_SYSFILES_H
/* The system files a role's rootfs gets besides its packages, generated
 * from the flattened role: accounts (passwd, group, shadow), hostname,
 * hosts, fstab, the busybox init configuration, one service directory (its
 * run script) per role service plus the built-in `network` service (DHCP on
 * the first interface), the ready watcher, ssh keys and the directories and device
 * nodes the init needs.
 *
 * The fixed scripts are files of the init package (recipes/init/src,
 * installed under /usr/lib/undistro; a role without it is refused): what is
 * generated here is what differs between roles.
 *
 * Boot sequence (busybox init reads /etc/inittab):
 *   /init -> sbin/init            the kernel runs /init from an initramfs
 *   ::sysinit:/usr/lib/undistro/rc
 *                                 mounts proc sys dev dev/pts run (tmp when
 *                                 the root is read-only), hostname, lo up
 *   ::respawn:/etc/service/NAME/run
 *                                 one line per service, network first: init
 *                                 itself supervises them (no runsvdir or
 *                                 runsv processes, no periodic scan); a
 *                                 service's run script first waits (60 s,
 *                                 then exits so init retries) for its
 *                                 `after` services, and waits a second when
 *                                 its command ended within the second it
 *                                 started; `network` runs
 *                                 /usr/lib/undistro/network (udhcpc), whose
 *                                 first lease starts the first-boot agent
 *                                 /usr/lib/undistro/firstboot
 *   ::once:/etc/undistro/ready    waits until `network` and every service
 *                                 with ready = yes are up, then for the
 *                                 agent (at most FIRSTBOOTWAIT s), then prints
 *                                 "undistro: role ROLE ready" on /dev/console;
 *                                 when qemu offers fw_cfg opt/undistro/cost
 *                                 (`undistro cost`), it then execs the init
 *                                 package's measurer /usr/lib/undistro/cost
 * "Up" is decided by /usr/lib/undistro/wait: network once udhcpc has a lease
 * (/run/undistro/lease), the agent once /run/undistro/firstboot exists, any
 * other service once its command has run for at least 1 s: the run script
 * writes "PID UPTIME" to /run/undistro/NAME.up after its `after` wait, just
 * before it execs the command, so a service still waiting, or dead and
 * being started again by init, is not up. Nothing is written outside /run,
 * so a read-only root works. /etc/undistro/firstboot.conf names the account the agent gives
 * the ssh keys of the metadata (`login-user`, default root).
 *
 * Accounts: root (0:0, /root), the role's users (uid from 1000 upwards
 * unless given, each with a group of its own gid unless it names an existing
 * one, home /home/NAME, shell /bin/sh) and nobody (65534). A password field
 * is `*` (no password, key login works with any sshd) for an account with
 * baked-in keys and `!` (locked) otherwise; dropbear only refuses an empty
 * one, so keys handed in at boot work either way. */
#include <stddef.h>

struct arena;
struct role;

struct sysfile {
	const char *path;       /* relative to the root, no leading '/' */
	char type;              /* 'f' file, 'd' directory, 'l' symlink, 'c' character device */
	unsigned mode;          /* permission bits */
	long uid, gid;
	const char *data;       /* contents (files) or target (symlinks) */
	size_t size;            /* of data, for files */
	unsigned major, minor;  /* devices */
};

struct account {
	const char *name, *home, *shell;   /* home absolute */
	long uid, gid;
	int haskeys;                        /* authorized keys baked in */
};

struct sysfiles {
	struct sysfile *v;                  /* in no particular order */
	size_t n;
	struct account *accounts;           /* root first, nobody last */
	size_t naccounts;
	/* commands the generated scripts run besides shell builtins, for
	 * checking that the packages provide them; an item may list
	 * alternatives separated by blanks ("ip ifconfig") */
	const char **needs;
	size_t nneeds;
	/* files of the init package the generated files run (relative to the
	 * root; NULL-terminated): without them the role cannot boot */
	const char *const *boot;
};

/* Generate the system files of the flattened role ro into *out (allocated in
 * a). Key files of the role's users are read relative to treeroot; extrakeys
 * (NULL-terminated, may be NULL) are further key files for root, relative to
 * the working directory. Returns 0, or -1 after reporting every problem. */
int sysfilesgen(struct arena *a, const char *treeroot, const struct role *ro,
                const char *const *extrakeys, struct sysfiles *out);
/* The account whose home holds path (relative, no leading '/'), or NULL;
 * root's home and homes that are "/" count for nobody. */
const struct account *sysfileshome(const struct sysfiles *, const char *path);
#endif
