# undistro — plain Makefile; libraries through pkg-config.
.POSIX:
.SUFFIXES:

CC       = cc
PKGS     = libsolv libsolvext libarchive libzstd libcurl libcrypto jansson
WARN     = -Wall -Wextra -Wshadow -Wmissing-prototypes -Wno-unused-parameter
CFLAGS   = -std=c11 -O2 -g $(WARN) -Werror
CPPFLAGS = -D_GNU_SOURCE
PKGCFLAGS != pkg-config --cflags $(PKGS) 2>/dev/null || true
PKGLIBS   != pkg-config --libs $(PKGS) 2>/dev/null || true
ALLCFLAGS = $(CFLAGS) $(CPPFLAGS) $(PKGCFLAGS)

SRC  != ls builder/*.c
LIBSRC != ls builder/*.c | grep -v '^builder/main.c$$'
LIBOBJ = $(LIBSRC:builder/%.c=o/%.o)
UNITS != ls tests/unit/test_*.c 2>/dev/null || true
UNITBIN = $(UNITS:tests/unit/%.c=o/tests/%)

all: undistro

deps:
	@sh ci/install-deps

o/%.o: builder/%.c builder/*.h
	@mkdir -p o
	$(CC) $(ALLCFLAGS) -c -o $@ builder/$*.c

o/libundistro.a: $(LIBOBJ)
	rm -f $@
	ar rcs $@ $(LIBOBJ)

undistro: o/main.o o/libundistro.a
	$(CC) $(LDFLAGS) -o $@ o/main.o o/libundistro.a $(PKGLIBS)

o/tests/%: tests/unit/%.c o/libundistro.a builder/*.h tests/unit/*.h
	@mkdir -p o/tests
	$(CC) $(ALLCFLAGS) -Ibuilder -o $@ tests/unit/$*.c o/libundistro.a $(PKGLIBS) -lcmocka

units: $(UNITBIN)

# The sanitizer build: the same sources with ASan and UBSan, in o-asan/.
ASANFLAGS = -std=c11 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all $(WARN) -Werror

asan: undistro-asan

undistro-asan: $(SRC) builder/*.h
	@mkdir -p o-asan
	for f in $(SRC); do clang $(ASANFLAGS) $(CPPFLAGS) $(PKGCFLAGS) -c -o o-asan/$$(basename $$f .c).o $$f || exit 1; done
	clang $(ASANFLAGS) -o $@ o-asan/*.o $(PKGLIBS)

# The unit tests again, linked with the sanitizer objects (tests/run.sh runs both).
UNITASAN = $(UNITS:tests/unit/%.c=o-asan/tests/%)

units-asan: $(UNITASAN)

o-asan/tests/%: tests/unit/%.c undistro-asan tests/unit/*.h
	@mkdir -p o-asan/tests
	clang $(ASANFLAGS) $(CPPFLAGS) $(PKGCFLAGS) -Ibuilder -o $@ tests/unit/$*.c \
		$$(ls o-asan/*.o | grep -v '/main.o$$') $(PKGLIBS) -lcmocka

fuzz: o/fuzz-recipe

o/fuzz-recipe: tests/fuzz/fuzz_recipe.c $(LIBSRC) builder/*.h
	@mkdir -p o
	clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS) $(PKGCFLAGS) -Ibuilder -o $@ tests/fuzz/fuzz_recipe.c $(LIBSRC) $(PKGLIBS)

# `make check`: every test, including the sanitizer build and the tests that
# build, boot and reproduce the real roles (README; .ci/run).
check: deps
	$(MAKE) undistro units asan units-asan
	sh tests/run.sh

# `make check-quick`: without the tests marked `# e2e: images` (no cold
# build of stage2, packages and the kernel): for the edit-test loop.
check-quick: deps
	$(MAKE) undistro units asan units-asan
	QUICK=1 sh tests/run.sh

# `make image`: the default role's bootable image (README).
image: deps undistro
	sh ci/build-image base

clean:
	rm -rf o o-asan undistro undistro-asan

.PHONY: all deps check-quick units units-asan asan undistro-asan fuzz check image clean
