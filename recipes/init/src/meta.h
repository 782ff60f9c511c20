/* firstboot: where the instance's metadata comes from (see meta.c). */
#ifndef META_H
#define META_H

#include "http.h"

/* What the metadata step found; empty bufs are unknown. */
struct meta {
	const char *source; /* "fw_cfg", "imds", "imds6" or "none" */
	struct buf instanceid, region, hostname;
	struct buf keys;     /* candidate authorized_keys lines, '\n'-separated */
	struct buf userdata; /* as served, at most MAXUSERDATA bytes */
};

/* The IMDS addresses (-e, -6 override them). */
struct endpoints {
	struct endpoint v4, v6;
};

/* metaget: fill m from fw_cfg if qemu offers opt/undistro/, else from IMDSv2
 * (retrying for up to 10 s on EC2, one try within 1 s elsewhere). Reports
 * what went wrong; never fails: m->source says what answered. */
void metaget(struct meta *m, const struct endpoints *eps);

#endif
