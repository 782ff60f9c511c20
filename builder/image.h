#ifndef UNDISTRO_IMAGE_H
#define UNDISTRO_IMAGE_H
/* The image stage: a kernel, an initramfs and optionally an erofs root file
 * system become one GPT disk image that boots under UEFI (systemd-boot for
 * the target) and, where the target has BIOS boot (target.h biosmbr), under
 * BIOS too (syslinux from gptmbr.bin), plus the formats clouds import.
 * Built without root: sfdisk on a file, mkfs.vfat --offset, mtools,
 * syslinux --install --offset, qemu-img. Reproducible: given the same inputs,
 * epoch and uuidseed, disk.raw, disk.qcow2 and disk.vhd are byte-identical
 * (disk.vmdk is not: see image.c).
 *
 * Disk layout (512-byte sectors, MiB-aligned):
 *   LBA 0      protective MBR; with BIOS boot, gptmbr.bin's 440 bytes of
 *              boot code
 *   1 MiB      p1 "ESP": FAT (32 when large enough), LegacyBIOSBootable with
 *              BIOS boot; /vmlinuz, /initrd, /EFI/BOOT/<target efiboot>
 *              (systemd-boot), /loader/..., with BIOS boot also
 *              /syslinux/{syslinux.cfg,ldlinux.*}
 *   after it   p2 "root" (only with erofs): the erofs image as given
 *   end        backup GPT; space beyond the partitions stays unallocated
 *
 * Outputs under outdir: disk.raw always; disk.qcow2, disk.vhd (fixed, for
 * EC2 import-snapshot), disk.vmdk (streamOptimized) when named in formats;
 * register-image.json (EC2 register-image input) always. All are made in a
 * temporary directory inside outdir and renamed into place (each fsynced)
 * only once every one of them exists; outputs of formats not asked for are
 * removed then. Only a failing rename can leave a mix of old and new files,
 * never a partial one. */

struct target;

struct imagejob {
	const struct target *target;  /* loaders, console, EC2 architecture */
	const char *kernel;     /* EFI image for the target (a bzImage on x86_64) */
	const char *initramfs;  /* compressed cpio; NULL only when erofs is set */
	const char *cmdline;    /* the role's kernel command line, or NULL */
	const char *outdir;     /* created if missing */
	const char *role;       /* names the image in register-image.json */
	long sizemb;            /* minimum disk size in MiB; 0: just large enough */
	long long epoch;        /* SOURCE_DATE_EPOCH: file times in the FAT, vhd */
	const char *const *formats; /* NULL-terminated: qcow2 vhd vmdk (raw implied) */
	const char *erofs;      /* root file system image for rootfs=erofs, or NULL */
	const char *uuidseed;   /* disk, partition and FAT ids derive from this */
};

/* Build the images job describes. Returns 0, or -1 after reporting which
 * step failed (naming the tool and showing its output); a failure before
 * the renames leaves outdir as it was (created if it was missing). */
int imagebuild(const struct imagejob *job);
/* The kernel command line imagebuild gives both boot loaders: console and
 * EC2 NVMe settings, root= for erofs, then the role's cmdline. malloc'd. */
char *imagecmdline(const struct imagejob *job, const char *rootuuid);
/* The n-th UUID derived from seed (36 characters and a NUL): the same for
 * the same seed and n on every run and host. */
void imageuuid(const char *seed, unsigned n, char out[37]);
#endif
