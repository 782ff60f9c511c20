/* The target table (target.h). The only place that names an architecture.
 *
 * Sources of the values: the ELF and PE/COFF machine numbers (elf.h,
 * the PE format's IMAGE_FILE_MACHINE_*), Linux's COMMAND_LINE_SIZE (2048 on
 * both), the kernel's make targets, Debian 12's package contents (paths of
 * systemd-boot, OVMF, AAVMF), and ../shared/notes/cross-aarch64.md for the
 * aarch64 qemu machine and console. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "diag.h"
#include "os.h"
#include "target.h"

/* ci/install-deps puts systemd-boot for arm64 here, unpacked from Debian's
 * package without enabling a foreign dpkg architecture */
#define LOCALEFI "/usr/local/lib/undistro/efi"

static const char *const efidirs[] = {"/usr/lib/systemd/boot/efi", LOCALEFI, NULL};

static const struct target targets[] = {
	{
		.name = "x86_64",
		.triple = "x86_64-linux-musl",
		.gnutriple = "x86_64-linux-gnu",
		.karch = "x86_64",
		.elfmachine = 62,                  /* EM_X86_64 */
		.cmakeprocessor = "x86_64",
		.mesoncpufamily = "x86_64",
		.mesoncpu = "x86_64",
		.endian = "little",
		.kerneltarget = "bzImage",
		.kernelimage = "arch/x86/boot/bzImage",
		.pemachine = 0x8664,
		.bzimage = 1,
		.efiloader = "systemd-bootx64.efi",
		.efiloaderdirs = efidirs,
		.efiboot = "BOOTX64.EFI",
		.biosmbr = "/usr/lib/syslinux/mbr/gptmbr.bin",
		.kvmprobe = "isa-debugcon,iobase=0x402",   /* SeaBIOS's debug port */
		.console = "ttyS0,115200",
		.cmdlinemax = 2047,
		.qemu = "qemu-system-x86_64",
		.machine = "pc",
		.tcgcpu = NULL,
		.ueficode = "/usr/share/OVMF/OVMF_CODE.fd",
		.uefivars = "/usr/share/OVMF/OVMF_VARS.fd",
		.qemuuser = "qemu-x86_64",
		.ec2arch = "x86_64",
		.ec2bootmode = "uefi-preferred",
		.debcross = "gcc-x86-64-linux-gnu",
		.debqemu = "qemu-system-x86",
		.debfirmware = "ovmf",
		.debefiloader = "systemd-boot-efi",
	},
	{
		.name = "aarch64",
		.triple = "aarch64-linux-musl",
		.gnutriple = "aarch64-linux-gnu",
		.karch = "arm64",
		.elfmachine = 183,                 /* EM_AARCH64 */
		.cmakeprocessor = "aarch64",
		.mesoncpufamily = "aarch64",
		.mesoncpu = "armv8-a",             /* gcc's default -march */
		.endian = "little",
		/* CONFIG_EFI_ZBOOT: a compressed image that is its own EFI app */
		.kerneltarget = "vmlinuz.efi",
		.kernelimage = "arch/arm64/boot/vmlinuz.efi",
		.pemachine = 0xaa64,
		.bzimage = 0,
		.efiloader = "systemd-bootaa64.efi",
		.efiloaderdirs = efidirs,
		.efiboot = "BOOTAA64.EFI",
		.biosmbr = NULL,                   /* Graviton and qemu virt: UEFI only */
		/* qemu virt's PL011 is ttyAMA0, Graviton's 16550 ttyS0: the SPCR
		 * table names the right one on both */
		.console = NULL,
		.cmdlinemax = 2047,
		.qemu = "qemu-system-aarch64",
		.machine = "virt",
		.tcgcpu = "neoverse-n1",           /* Graviton 2's core */
		.ueficode = "/usr/share/AAVMF/AAVMF_CODE.fd",
		.uefivars = "/usr/share/AAVMF/AAVMF_VARS.fd",
		.qemuuser = "qemu-aarch64",
		.ec2arch = "arm64",
		.ec2bootmode = "uefi",
		.debcross = "gcc-aarch64-linux-gnu",
		.debqemu = "qemu-system-arm",
		.debfirmware = "qemu-efi-aarch64",
		.debefiloader = "systemd-boot-efi:arm64 (ci/install-deps unpacks it)",
	},
};

enum { NTARGETS = sizeof(targets) / sizeof(targets[0]) };

const struct target *
targetfind(const char *name)
{
	for (size_t i = 0; i < NTARGETS; i++)
		if (!strcmp(targets[i].name, name))
			return &targets[i];
	return NULL;
}

const struct target *
targetget(size_t i)
{
	return i < NTARGETS ? &targets[i] : NULL;
}

const struct target *
targethost(void)
{
	static const struct target *host;
	static int done;
	struct utsname u;

	if (!done) {
		done = 1;
		if (uname(&u) == 0)
			host = targetfind(u.machine);
	}
	return host;
}

const char *
targetnames(void)
{
	static char names[256];

	if (!names[0])
		for (size_t i = 0; i < NTARGETS; i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
			         targets[i].name);
	return names;
}

int
targetnative(const struct target *t)
{
	return t == targethost();
}

const char *
targetcross(const struct target *t)
{
	static char prefix[NTARGETS][64];
	size_t i = (size_t)(t - targets);

	if (targetnative(t))
		return "";
	if (!prefix[i][0])
		snprintf(prefix[i], sizeof(prefix[i]), "%s-", t->gnutriple);
	return prefix[i];
}

int
targetchecktools(const struct target *t)
{
	char gcc[96];
	int ok = 1;

	char *found;

	snprintf(gcc, sizeof(gcc), "%sgcc", targetcross(t));
	/* where the sandbox's scripts will look, not the caller's PATH */
	if ((found = ospathfindin(gcc, SANDBOX_PATH))) {
		free(found);
	} else {
		err("building for %s needs %s in %s: install Debian's %s", t->name, gcc, SANDBOX_PATH,
		    targetnative(t) ? "gcc" : t->debcross);
		ok = 0;
	}
	/* recipe tests run target programs: never skipped for a foreign target */
	if (!targetnative(t) && (found = ospathfindin(t->qemuuser, SANDBOX_PATH))) {
		free(found);
	} else if (!targetnative(t)) {
		err("building for %s on this machine needs %s in %s to run the recipes' tests: install Debian's "
		    "qemu-user (ci/install-deps does)", t->name, t->qemuuser, SANDBOX_PATH);
		ok = 0;
	}
	return ok ? 0 : -1;
}

const char *
targetefiloader(const struct target *t)
{
	static char path[NTARGETS][256];
	size_t i = (size_t)(t - targets);

	for (const char *const *d = t->efiloaderdirs; *d; d++) {
		snprintf(path[i], sizeof(path[i]), "%s/%s", *d, t->efiloader);
		if (access(path[i], R_OK) == 0)
			return path[i];
	}
	err("image: no %s in %s or %s: install Debian's %s", t->efiloader, t->efiloaderdirs[0], LOCALEFI,
	    t->debefiloader);
	return NULL;
}
