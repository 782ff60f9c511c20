/* firstboot: user-data (see userdata.c). */
#ifndef USERDATA_H
#define USERDATA_H

#include "fb.h"

/* udprepare: ud decompressed in place when gzip'ed ("gzip -dc", at most
 * MAXUNZIP bytes out); 1 if it is a script to run ("#!"), 0 if there is
 * nothing to run (said why), -1 on failure (reported). */
int udprepare(struct buf *ud);
/* udrun: run the script ud once per boot with its output on stdout and in
 * the log; calls ready() when it exits or UDREADYMS after it started,
 * whichever is first, then keeps copying until it exits and reports its
 * status. -1 if the script file or ready() could not be written (reported);
 * a script that cannot start is reported, and ready() is then the caller's. */
int udrun(const struct buf *ud, const char *home, int (*ready)(void));

#endif
