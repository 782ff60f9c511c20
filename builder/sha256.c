#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <solv/chksum.h>
#include <solv/knownid.h>
#include "diag.h"
#include "sha256.h"

void
sha256init(struct sha256 *h)
{
	h->chk = solv_chksum_create(REPOKEY_TYPE_SHA256);
}

void
sha256add(struct sha256 *h, const void *p, size_t n)
{
	const char *s = p;

	/* libsolv takes an int length */
	while (n) {
		int k = n > INT_MAX ? INT_MAX : (int)n;

		solv_chksum_add(h->chk, s, k);
		s += k;
		n -= (size_t)k;
	}
}

void
sha256final(struct sha256 *h, unsigned char out[32])
{
	int len;
	const unsigned char *d = solv_chksum_get(h->chk, &len);

	memcpy(out, d, 32);
	solv_chksum_free(h->chk, NULL);
	h->chk = NULL;
}

void
sha256hex(const unsigned char in[32], char hex[65])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		hex[2 * i] = digits[in[i] >> 4];
		hex[2 * i + 1] = digits[in[i] & 15];
	}
	hex[64] = '\0';
}

void
sha256finalhex(struct sha256 *h, char hex[65])
{
	unsigned char d[32];

	sha256final(h, d);
	sha256hex(d, hex);
}

int
sha256path(const char *path, char hex[65])
{
	struct sha256 h;
	char buf[65536];
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	sha256init(&h);
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			close(fd);
			sha256final(&h, (unsigned char[32]){0});
			errno = e;
			return -1;
		}
		sha256add(&h, buf, (size_t)r);
	}
	close(fd);
	sha256finalhex(&h, hex);
	return 0;
}

int
sha256file(const char *path, char hex[65])
{
	if (sha256path(path, hex) < 0) {
		err("cannot read %s:", path);
		return -1;
	}
	return 0;
}
