#ifndef UNDISTRO_COST_H
#define UNDISTRO_COST_H
/* What a role's image costs to run (docs/recipes.md, "Cost"): its sizes,
 * and what the guest holds and does once it is ready and idle, measured by
 * booting the built image in qemu with fixed settings (cmd_cost.c) and
 * reading the one line the init package's measurer prints on the serial
 * console (recipes/init/src/cost.c):
 *
 *   undistro: cost 1 KEY=VALUE ...
 *
 * Several boots; each figure measured per boot is the median of the runs.
 * The result is OUT/cost.json (costwrite), the table (costtable) and the
 * role's budgets checked against it (costbudgets). Functions return 0 or
 * -1 after reporting, unless stated otherwise. */
#include <stdio.h>
#include <sys/types.h>

struct buf;
struct role;
struct runopts;

enum costunit { COST_BYTES, COST_KIB, COST_COUNT, COST_SECONDS, COST_RATE };

/* The cost figures: their names are cost.json's and the budget keys. */
enum {
	COST_IMAGE_BYTES, COST_IMAGE_ZSTD_BYTES, COST_ROOTFS_BYTES, COST_BOOT_TO_READY_S,
	COST_IDLE_MEMORY_KIB, COST_IDLE_PROCESSES, COST_IDLE_USERSPACE_PROCESSES,
	COST_IDLE_CONTEXT_SWITCHES_PER_S, COST_BOOT_READ_BYTES, NCOSTFIGS
};

struct costfig {
	const char *name;
	enum costunit unit;
	int run;           /* the index of its per-boot value (costrunkeys), or
	                    * -1: computed from the files of the output */
};

extern const struct costfig costfigs[NCOSTFIGS];
/* The figures' names in order, NULL-terminated (for "did you mean"). */
extern const char *const costnames[];

/* The values of one boot: boot_to_ready_s (host side), then what the
 * guest's line gives, in this order; the first six are figures. The line
 * must hold the first COSTRUNNEEDED; the others (added since) are NaN
 * when an image's measurer does not print them. */
enum { COSTRUNKEYS = 19, COSTRUNNEEDED = 17 };
extern const char *const costrunkeys[COSTRUNKEYS + 1];

struct costrun {
	double v[COSTRUNKEYS];
};

/* The version of the guest's line this undistro reads. */
#define COSTLINEVERSION 1
/* The line's prefix on the console. */
#define COSTLINE "undistro: cost "
/* The zstd level of image_zstd_bytes (zstd -19's). */
#define COSTZSTDLEVEL 19

/* The fixed settings every measurement uses (docs/recipes.md, "Cost"). */
#define COSTMEMMB 1024
#define COSTCPUS 1
#define COSTACCEL "tcg"

struct cost {
	const char *role, *arch;
	int runs, idle;              /* boots, idle window (s) */
	double fig[NCOSTFIGS];       /* the figures */
	struct costrun *run;         /* each boot's values (runs of them) */
	double med[COSTRUNKEYS], min[COSTRUNKEYS], max[COSTRUNKEYS];
	char imagesha256[65];        /* of the disk.raw measured */
	const char *machine, *firmware;
};

/* The index of the figure called name, or -1. */
int costfind(const char *name);
/* A budget's value for figure fig into *limit in the figure's unit: a
 * count is a whole number; bytes and KiB a number, with an optional KiB,
 * MiB or GiB (powers of 1024) that must give whole units; seconds (an
 * optional trailing "s") and rates a decimal number. Returns 0, or -1 with
 * *msg set to what to write instead. */
int costlimit(int fig, const char *s, double *limit, const char **msg);
/* Append a figure's value: integers for sizes and counts, 2 decimals for
 * seconds and rates. */
void costfmt(struct buf *, int fig, double v);
/* Parse the guest's line (from COSTLINE on) into r (boot_to_ready_s is left
 * alone). Returns 0, or -1 with *msg saying what was wrong (not reported). */
int costparse(const char *line, struct costrun *r, const char **msg);
/* The figures of the output directory's files: image_bytes (disk.raw's
 * size), image_zstd_bytes (disk.raw through libzstd at COSTZSTDLEVEL),
 * rootfs_bytes (the manifest's file bytes), and disk.raw's sha256. */
int costfiles(const char *outdir, struct cost *c);
/* Boot the image once as o says (runstart) with the role's ready line
 * awaited for at most timeout s, then the cost line for idle + 60 s; fill
 * r. On failure, reports what happened with the console's last lines and
 * returns -1; -2 when a signal (SIGINT, SIGTERM, SIGHUP) stopped it (qemu
 * is stopped and waited for in every case). */
int costboot(const struct runopts *o, const char *role, int timeout, int idle, struct costrun *r);
/* Medians, minima and maxima of c->run into c, and the run figures. */
void costsummarize(struct cost *c);
/* cost.json at path, atomically. */
int costwrite(const char *path, const struct cost *c);
/* Read the figures and image sha256 of a cost.json (jansson); a figure it
 * lacks is NaN. */
int costread(const char *path, double fig[NCOSTFIGS], char imagesha256[65]);
/* Print the table: each figure, its median and spread over the runs, and
 * the flattened role's budget for it. */
void costtable(FILE *, const struct cost *c, const struct role *flat);
/* Report each budget of the flattened role that c exceeds, at the budget's
 * line; returns how many. */
int costbudgets(const struct role *flat, const struct cost *c);
#endif
