/* firstboot: what the agent writes into the system (see install.c). All
 * functions report their failures and return 0 or -1. */
#ifndef INSTALL_H
#define INSTALL_H

#include "fb.h"

/* config: the account named by /etc/undistro/firstboot.conf ("user NAME"),
 * root without one, into name; unknown lines are warned about. */
void config(char *name, size_t n);
/* userget: the account name from /etc/passwd. */
int userget(const char *name, struct user *u);
/* keysadd: append each OpenSSH public key line of keys that the user's
 * authorized_keys lacks; says how many, from source. */
int keysadd(const struct user *u, const struct buf *keys, const char *source);
/* hostnameset: the first label of name as the hostname: the kernel's
 * (sethostname unless -r), /etc/hostname, /etc/hosts' 127.0.1.1 line. A
 * read-only /etc is said and is not a failure. */
int hostnameset(const struct buf *name);
/* runfile: /run/undistro/NAME holding the one line value[0..n). */
int runfile(const char *name, const char *value, size_t n);

#endif
