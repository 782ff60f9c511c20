#ifndef UNDISTRO_TARGET_H
#define UNDISTRO_TARGET_H
/* Targets: everything that varies by architecture, as one value.
 *
 * A run picks one target (`--arch NAME`, default: the build machine's own)
 * and the value flows through the stages: the solver's pool architecture,
 * the store keys, the build environment (TARGET, ARCH, KARCH,
 * CROSS_COMPILE, TARGET_EXEC...), the rootfs strip program, the image's boot
 * loaders and EC2 registration, and `undistro run`'s qemu. No other module
 * names an architecture: it asks its target.
 *
 * The table lives in target.c; a target's fields are constants. */
#include <stddef.h>

struct target {
	const char *name;        /* uname -m spelling; --arch, out/ARCH/, role `arch` */
	const char *triple;      /* the musl triple packages are built for ($TARGET) */
	const char *gnutriple;   /* Debian's GNU triple: cross tool prefix, --build */
	const char *karch;       /* Linux's ARCH= ($KARCH) */
	unsigned elfmachine;     /* e_machine of the target's ELF files */
	/* the build systems' names for it (stage2/build-system): cmake's
	 * CMAKE_SYSTEM_PROCESSOR, meson's host_machine cpu_family and cpu,
	 * and the byte order */
	const char *cmakeprocessor, *mesoncpufamily, *mesoncpu, *endian;
	/* the kernel: make target, its path under O=, and how to recognise it:
	 * an EFI (PE/COFF) image for pemachine; bzimage: also the x86 boot
	 * protocol's "HdrS" magic at 0x202 (for BIOS boot) */
	const char *kerneltarget, *kernelimage;
	unsigned pemachine;
	int bzimage;
	/* boot: systemd-boot's file name in its Debian package and where it may
	 * be installed (the first readable wins), the name the firmware loads
	 * from removable media, the BIOS boot code (NULL: UEFI only) */
	const char *efiloader, *const *efiloaderdirs, *efiboot, *biosmbr;
	/* the qemu device whose output shows that the firmware ran, for the
	 * KVM probe (NULL: none) */
	const char *kvmprobe;
	/* the kernel's console= (NULL: the firmware's SPCR table chooses) */
	const char *console;
	int cmdlinemax;          /* COMMAND_LINE_SIZE - 1 */
	/* qemu: system emulator, machine, CPU under TCG (NULL: the default),
	 * UEFI code and variables, and the user-mode emulator that runs target
	 * programs on another build machine */
	const char *qemu, *machine, *tcgcpu, *ueficode, *uefivars, *qemuuser;
	/* EC2 register-image */
	const char *ec2arch, *ec2bootmode;
	/* Debian packages that provide the tools above, for error messages */
	const char *debcross, *debqemu, *debfirmware, *debefiloader;
};

/* The target called name (see targetnames), or NULL. */
const struct target *targetfind(const char *name);
/* The i-th known target (0, 1, ...), NULL past the last. */
const struct target *targetget(size_t i);
/* The build machine's own target; NULL when undistro has none for it. */
const struct target *targethost(void);
/* The known targets' names, comma-separated, for messages. */
const char *targetnames(void);
/* Nonzero when programs of t run natively on the build machine. */
int targetnative(const struct target *t);
/* The prefix of the build machine's gcc and binutils that generate code for
 * t: "" when native, else "GNUTRIPLE-" (a static string). */
const char *targetcross(const struct target *t);
/* Check that the build machine has what building for t needs: the cross
 * compiler and, when foreign, the user-mode emulator for recipe tests.
 * Returns 0, or -1 after naming the missing program and its Debian package. */
int targetchecktools(const struct target *t);
/* The first readable systemd-boot for t, or NULL after reporting where it
 * was looked for and which Debian package (or ci/install-deps) gives it. */
const char *targetefiloader(const struct target *t);
#endif
