/* cost.h: budget values and their units, the guest's line (a good one, and
 * every way it can be wrong), medians over runs (odd and even counts),
 * cost.json written and read back, budgets flattened along an include
 * chain (the including role's line wins) and reported at their lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "alloc.h"
#include "cost.h"
#include "diag.h"
#include "os.h"
#include "recipe.h"
#include "str.h"
#include "tree.h"

static const char good[] =
	"undistro: cost 1 idle_s=10.002 ready_uptime_s=3.91 idle_memory_kib=11876 mem_total_kib=1001000 "
	"mem_free_kib=900000 buffers_kib=0 cached_kib=89124 shmem_kib=88000 mem_available_kib=950000 "
	"idle_processes=38 idle_userspace_processes=6 idle_kernel_threads=32 context_switches=71 "
	"idle_context_switches_per_s=7.10 boot_read_bytes=1581056 boot_read_ios=52\r";

static double
limit(const char *fig, const char *s)
{
	double v = -1;
	const char *msg = NULL;

	if (costlimit(costfind(fig), s, &v, &msg) < 0) {
		assert_non_null(msg);
		return -1;
	}
	return v;
}

static void
limits(void **state)
{
	(void)state;
	assert_true(limit("image_bytes", "64MiB") == 64.0 * 1024 * 1024);
	assert_true(limit("image_bytes", "1.5 KiB") == 1536);
	assert_true(limit("image_bytes", "4194304") == 4194304);
	assert_true(limit("image_bytes", "1GiB") == 1073741824.0);
	assert_true(limit("idle_memory_kib", "12288") == 12288);
	assert_true(limit("idle_memory_kib", "12MiB") == 12288);
	assert_true(limit("boot_to_ready_s", "12.5s") == 12.5);
	assert_true(limit("boot_to_ready_s", "15") == 15);
	assert_true(limit("idle_context_switches_per_s", "7.5") == 7.5);
	assert_true(limit("idle_context_switches_per_s", "7.5/s") == 7.5);
	assert_true(limit("idle_processes", "30") == 30);
	/* refused */
	assert_true(limit("image_bytes", "64M") < 0);
	assert_true(limit("image_bytes", "64 MB") < 0);
	assert_true(limit("image_bytes", "1.5") < 0);
	assert_true(limit("image_bytes", "0.3KiB") < 0);
	assert_true(limit("image_bytes", "-1") < 0);
	assert_true(limit("image_bytes", "1e9") < 0);
	assert_true(limit("image_bytes", "") < 0);
	assert_true(limit("image_bytes", "99999999GiB") < 0);
	assert_true(limit("idle_memory_kib", "12KiB") < 0);
	assert_true(limit("idle_processes", "30.5") < 0);
	assert_true(limit("idle_processes", "30s") < 0);
	assert_true(limit("boot_to_ready_s", "fast") < 0);
	assert_true(limit("boot_to_ready_s", "5.") < 0);
	assert_true(limit("boot_to_ready_s", ".5") < 0);
	assert_int_equal(costfind("nothing"), -1);
	assert_int_equal(costfind("boot_read_bytes"), COST_BOOT_READ_BYTES);
}

static void
parse(void **state)
{
	struct costrun r = {{0}};
	const char *msg = NULL;
	char *s;

	(void)state;
	r.v[0] = 4.5;
	assert_int_equal(costparse(good, &r, &msg), 0);
	assert_true(r.v[0] == 4.5);   /* boot_to_ready_s is the host's */
	assert_true(r.v[costfigs[COST_IDLE_MEMORY_KIB].run] == 11876);
	assert_true(r.v[costfigs[COST_IDLE_PROCESSES].run] == 38);
	assert_true(r.v[costfigs[COST_IDLE_USERSPACE_PROCESSES].run] == 6);
	assert_true(r.v[costfigs[COST_IDLE_CONTEXT_SWITCHES_PER_S].run] == 7.10);
	assert_true(r.v[costfigs[COST_BOOT_READ_BYTES].run] == 1581056);
	assert_true(r.v[16] == 52);
	/* keys added since are optional: NaN without them */
	assert_true(isnan(r.v[17]) && isnan(r.v[18]));
	s = xasprintf("%s userspace_context_switches=0 idle_userspace_switches_per_s=0.00", good);
	s[strlen(good) - 1] = ' ';
	assert_int_equal(costparse(s, &r, &msg), 0);
	assert_true(r.v[17] == 0 && r.v[18] == 0);
	free(s);
	/* a later version's extra key is skipped */
	s = xasprintf("%s future_key=3", good);
	s[strlen(good) - 1] = ' ';
	assert_int_equal(costparse(s, &r, &msg), 0);
	free(s);
	/* wrong: another version, a key missing (cut), twice, not a number, a
	 * negative value, a word without '=', not a cost line */
	assert_int_equal(costparse("undistro: cost 2 idle_s=1", &r, &msg), -1);
	assert_non_null(strstr(msg, "rebuild the image"));
	assert_int_equal(costparse("undistro: cost 1 idle_s=10.002 ready_uptime_s=3.91 idle_mem", &r, &msg), -1);
	assert_int_equal(costparse("undistro: cost 1 idle_s=10.002 ready_uptime_s=3.91", &r, &msg), -1);
	assert_non_null(strstr(msg, "missing"));
	s = xasprintf("%s idle_s=3", good);
	s[strlen(good) - 1] = ' ';
	assert_int_equal(costparse(s, &r, &msg), -1);
	assert_non_null(strstr(msg, "twice"));
	free(s);
	assert_int_equal(costparse("undistro: cost 1 idle_s=ten", &r, &msg), -1);
	assert_int_equal(costparse("undistro: cost 1 idle_s=-1", &r, &msg), -1);
	assert_int_equal(costparse("undistro: cost 1 idle_s=1[ 3.2] random: crng init done", &r, &msg), -1);
	assert_int_equal(costparse("undistro: role base ready", &r, &msg), -1);
}

/* A cost of n runs whose value k of run i is base[i]. */
static void
fill(struct cost *c, int n, const double *base)
{
	memset(c, 0, sizeof(*c));
	c->role = "r";
	c->arch = "x86_64";
	c->machine = "pc";
	c->firmware = "SeaBIOS";
	c->runs = n;
	c->idle = 10;
	c->run = xcalloc((size_t)n, sizeof(*c->run));
	for (int i = 0; i < n; i++)
		for (int k = 0; k < COSTRUNKEYS; k++)
			c->run[i].v[k] = base[i] + k;
	c->fig[COST_IMAGE_BYTES] = 44040192;
	c->fig[COST_IMAGE_ZSTD_BYTES] = 3182607;
	c->fig[COST_ROOTFS_BYTES] = 1351993;
	memset(c->imagesha256, 'a', 64);
}

static void
medians(void **state)
{
	struct cost c;

	(void)state;
	fill(&c, 3, (double[]){7, 5, 100});
	costsummarize(&c);
	assert_true(c.med[0] == 7 && c.min[0] == 5 && c.max[0] == 100);
	assert_true(c.fig[COST_BOOT_TO_READY_S] == 7);
	assert_true(c.fig[COST_IDLE_MEMORY_KIB] == 8);   /* key 1: base + 1 */
	assert_true(c.fig[COST_IMAGE_BYTES] == 44040192);
	free(c.run);
	fill(&c, 4, (double[]){4, 1, 2, 3});
	costsummarize(&c);
	assert_true(c.med[0] == 2.5 && c.min[0] == 1 && c.max[0] == 4);
	free(c.run);
	fill(&c, 1, (double[]){9});
	costsummarize(&c);
	assert_true(c.med[5] == 14 && c.min[5] == 14 && c.max[5] == 14);
	free(c.run);
}

static void
roundtrip(void **state)
{
	char dir[] = "/tmp/test_cost.XXXXXX", *path, sha[65];
	double fig[NCOSTFIGS];
	struct cost c;
	char *data;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/cost.json", dir);
	fill(&c, 3, (double[]){5.25, 5.5, 6});
	costsummarize(&c);
	assert_int_equal(costwrite(path, &c), 0);
	assert_int_equal(readfile(path, &data, &n), 0);
	assert_non_null(strstr(data, "\n  \"image_bytes\": 44040192,\n"));
	assert_non_null(strstr(data, "\n  \"boot_to_ready_s\": 5.5,\n"));
	assert_non_null(strstr(data, "\"per_run\": ["));
	assert_non_null(strstr(data, "\"memory_mib\": 1024,"));
	free(data);
	assert_int_equal(costread(path, fig, sha), 0);
	for (int f = 0; f < NCOSTFIGS; f++)
		assert_true(fig[f] == c.fig[f]);
	assert_int_equal(strspn(sha, "a"), 64);
	/* not JSON: reported at its line, -1 */
	assert_int_equal(writeatomic(path, "{\n\"image_bytes\": 1,\n}", 20, 0644), 0);
	assert_int_equal(costread(path, fig, sha), -1);
	/* a figure it lacks is NaN */
	assert_int_equal(writeatomic(path, "{\"image_bytes\": 1}", 18, 0644), 0);
	assert_int_equal(costread(path, fig, sha), 0);
	assert_true(fig[COST_IMAGE_BYTES] == 1 && isnan(fig[COST_IDLE_PROCESSES]) && !sha[0]);
	free(c.run);
	free(path);
	assert_int_equal(rmtree(dir), 0);
}

static void
put(const char *dir, const char *rel, const char *text)
{
	char *p = xasprintf("%s/%s", dir, rel);

	assert_int_equal(writeatomic(p, text, strlen(text), 0644), 0);
	free(p);
}

static void
budgets(void **state)
{
	char dir[] = "/tmp/test_cost.XXXXXX", *roles;
	struct tree t;
	struct role flat;
	struct cost c;
	int before;

	(void)state;
	assert_non_null(mkdtemp(dir));
	roles = xasprintf("%s/recipes/roles", dir);
	assert_int_equal(mkdirp(roles, 0755), 0);
	put(dir, "recipes/musl.recipe", "name = musl\nversion = 1\nrelease = 1\ndesc = c\nlicense = MIT\n"
	    "install <<EOF\ntrue\nEOF\n");
	put(dir, "recipes/roles/base.role", "name = base\npackages = musl\nbudget {\n\tidle_processes = 30\n"
	    "\timage_bytes = 64MiB\n}\n");
	put(dir, "recipes/roles/web.role", "name = web\ninclude = base\nbudget {\n\tidle_processes = 40\n}\n");
	assert_int_equal(treeload(&t, dir), 0);
	roleflatten(&t, treerole(&t, "web"), &flat);
	assert_int_equal(flat.nbudgets, 2);
	fill(&c, 1, (double[]){0});
	/* within: processes 35 (web allows 40), image 64 MiB exactly */
	c.fig[COST_IDLE_PROCESSES] = 35;
	c.fig[COST_IMAGE_BYTES] = 64 << 20;
	assert_int_equal(costbudgets(&flat, &c), 0);
	/* over both: web's own line for processes, base's for the image */
	c.fig[COST_IDLE_PROCESSES] = 41;
	c.fig[COST_IMAGE_BYTES] = (64 << 20) + 1;
	before = nerrors;
	assert_int_equal(costbudgets(&flat, &c), 2);
	assert_int_equal(nerrors, before + 2);
	for (size_t i = 0; i < flat.nbudgets; i++) {
		const struct budget *b = &flat.budgets[i];

		assert_non_null(strstr(b->loc.file, b->fig == COST_IDLE_PROCESSES ? "web.role" : "base.role"));
		assert_int_equal(b->loc.line, 4 + (b->fig == COST_IMAGE_BYTES));
		assert_int_equal(b->loc.col, 2);
	}
	roleflatten(&t, treerole(&t, "base"), &flat);
	c.fig[COST_IDLE_PROCESSES] = 31;
	c.fig[COST_IMAGE_BYTES] = 1;
	assert_int_equal(costbudgets(&flat, &c), 1);
	free(c.run);
	treefree(&t);
	free(roles);
	assert_int_equal(rmtree(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(limits), cmocka_unit_test(parse), cmocka_unit_test(medians),
		cmocka_unit_test(roundtrip), cmocka_unit_test(budgets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
