/* firstboot: what the agent's files share (see firstboot.c for the program).
 * Conventions: functions return 0 on success and -1 on failure; those that
 * say "reports" have printed the reason already, the others leave errno set
 * for the caller, who knows whether the failure matters (EROFS on /etc). */
#ifndef FB_H
#define FB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MAXHEAD     (8 * 1024)    /* an answer's status line and headers */
#define MAXVALUE    (64 * 1024)   /* one metadata value or fw_cfg entry */
#define MAXUSERDATA (64 * 1024)   /* user-data as served (EC2's limit: 16 KB) */
#define MAXUNZIP    (1024 * 1024) /* user-data once decompressed */
#define MAXFILE     (1024 * 1024) /* a file we rewrite (authorized_keys, hosts) */
#define PATHMAX     4096

/* A byte string we own: p is NUL-terminated at p[len] (or NULL when empty). */
struct buf {
	char *p;
	size_t len;
};

/* An account from passwd. */
struct user {
	char name[64];
	uid_t uid;
	gid_t gid;
	char home[256];
};

extern const char *fbroot; /* "-r ROOT" without trailing '/', "" for "/" */
extern int sigfd;          /* read end of the SIGCHLD self-pipe */

/* msg: print "undistro: firstboot: " and the message on stdout (the console);
 * a format ending in ':' appends strerror(errno). */
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* nowms: the monotonic clock in milliseconds. */
int64_t nowms(void);
/* rpath: format a path of the target system into out, prefixed with ROOT;
 * reports a path longer than PATHMAX. */
int rpath(char out[PATHMAX], const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* xalloc: malloc that exits 2 (reported) when memory runs out. */
void *xalloc(size_t n);
/* bufset: b becomes a copy of n bytes at p. */
void bufset(struct buf *b, const void *p, size_t n);
/* bufadd: append n bytes at p to b. */
void bufadd(struct buf *b, const void *p, size_t n);
/* buffree: release b and make it empty. */
void buffree(struct buf *b);
/* readbounded: read the file at path (already ROOT-prefixed) into b; -1 with
 * errno set, EFBIG when it has more than max bytes. Never blocks on a FIFO. */
int readbounded(const char *path, size_t max, struct buf *b);
/* writeatomic: write n bytes to path through a temporary name beside it,
 * fsync and rename; mode is set exactly, and the owner when uid != -1.
 * -1 with errno set (nothing of the target changed). */
int writeatomic(const char *path, const void *p, size_t n, mode_t mode, uid_t uid, gid_t gid);
/* mkdirs: mkdir -p with mode for the directories it creates. -1 with errno. */
int mkdirs(const char *path, mode_t mode);
/* istext: n bytes with no NUL and no control character other than '\n',
 * '\r' and '\t'. */
int istext(const char *p, size_t n);
/* trimspace: the length of p[0..n) without trailing blanks and newlines. */
size_t trimspace(const char *p, size_t n);

#endif
