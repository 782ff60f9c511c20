/* The target table: lookups, the build machine's target, cross prefixes,
 * and the invariants every entry must hold (the rest of the builder relies
 * on them instead of naming architectures). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <cmocka.h>
#include "target.h"

static void
test_find(void **state)
{
	const struct target *x = targetfind("x86_64"), *a = targetfind("aarch64");

	assert_non_null(x);
	assert_non_null(a);
	assert_ptr_not_equal(x, a);
	assert_null(targetfind("arm64"));     /* Linux's name, not the target's */
	assert_null(targetfind("X86_64"));
	assert_null(targetfind(""));
	assert_string_equal(targetnames(), "x86_64, aarch64");
	assert_string_equal(a->karch, "arm64");
	assert_string_equal(a->triple, "aarch64-linux-musl");
	assert_int_equal(a->elfmachine, 183);
	assert_int_equal(x->elfmachine, 62);
	assert_int_equal(a->pemachine, 0xaa64);
	assert_int_equal(x->pemachine, 0x8664);
	assert_string_equal(a->ec2arch, "arm64");
	assert_string_equal(a->ec2bootmode, "uefi");
	assert_null(a->biosmbr);    /* Graviton boots UEFI only */
	assert_null(a->console);    /* SPCR chooses */
	assert_non_null(x->biosmbr);
	assert_true(x->bzimage);
	assert_false(a->bzimage);
}

/* Each entry is complete and its names agree with each other. */
static void
test_invariants(void **state)
{
	const char *names[] = {"x86_64", "aarch64"};

	for (size_t i = 0; i < 2; i++) {
		const struct target *t = targetfind(names[i]);
		size_t n = strlen(t->name);

		assert_string_equal(t->name, names[i]);
		assert_true(!strncmp(t->triple, t->name, n) && !strcmp(t->triple + n, "-linux-musl"));
		assert_true(!strncmp(t->gnutriple, t->name, n) && !strcmp(t->gnutriple + n, "-linux-gnu"));
		assert_non_null(strstr(t->qemuuser, t->name));
		assert_non_null(strstr(t->qemu, t->name));
		assert_non_null(t->karch);
		assert_non_null(t->kerneltarget);
		assert_non_null(strstr(t->kernelimage, t->kerneltarget));
		assert_non_null(t->efiloader);
		assert_non_null(t->efiloaderdirs[0]);
		assert_true(!strncmp(t->efiboot, "BOOT", 4));
		assert_non_null(t->machine);
		assert_non_null(t->ueficode);
		assert_non_null(t->uefivars);
		assert_true(t->cmdlinemax > 255);
		assert_non_null(t->debcross);
		assert_non_null(t->debqemu);
		assert_non_null(t->debfirmware);
	}
}

static void
test_host(void **state)
{
	struct utsname u;
	const struct target *h = targethost();

	assert_int_equal(uname(&u), 0);
	assert_ptr_equal(h, targetfind(u.machine));
	if (!h)
		return;   /* a build machine undistro has no target for */
	assert_true(targetnative(h));
	assert_string_equal(targetcross(h), "");
	for (const char *const *n = (const char *const[]){"x86_64", "aarch64", NULL}; *n; n++) {
		const struct target *t = targetfind(*n);

		if (t == h)
			continue;
		assert_false(targetnative(t));
		assert_string_equal(targetcross(t), strcat(strcpy((char[64]){0}, t->gnutriple), "-"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_invariants),
		cmocka_unit_test(test_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
