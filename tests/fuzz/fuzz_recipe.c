/* libFuzzer target for the recipe and role parsers: any input must parse or
 * be rejected with messages, never crash, leak past the arena, or hang.
 * Run: make fuzz && o/fuzz-recipe -max_total_time=600 tests/fuzz/corpus */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "alloc.h"
#include "diag.h"
#include "recipe.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* messages are the expected outcome for most inputs; keep the log readable */
	diagsilent = 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct arena a = {0};

	recipeparse(&a, "recipes/x.recipe", "recipes", (const char *)data, n);
	roleparse(&a, "recipes/roles/x.role", (const char *)data, n);
	arenafree(&a);
	return 0;
}
