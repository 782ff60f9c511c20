/* undistro recipe: work on the recipes of the tree. Its one verb so far,
 * `recipe new`, drafts a recipe from a source archive (draft.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "alloc.h"
#include "cmd.h"
#include "diag.h"
#include "draft.h"
#include "fetch.h"
#include "os.h"
#include "recipe.h"
#include "str.h"
#include "unpack.h"

static const struct cmd cmd_recipe_new = {
	"recipe new", NULL, "[--name NAME] [--version V] [-o FILE | --stdout] [--force] URL | FILE | debian:PKG[=VERSION]",
	"draft a recipe from a source archive",
	"Fetches the archive into the source cache (through the mirrors, then the\n"
	"URL; a local FILE is copied; debian:PKG takes the upstream tarball of\n"
	"Debian's source package PKG, of VERSION or the newest offered), computing\n"
	"its sha256, guesses the name and version from the file name, unpacks it\n"
	"(under the work directory, removed afterwards) to guess the build system\n"
	"and the license, and writes recipes/NAME.recipe in the tree. The recipe\n"
	"passes `undistro check`; every value to check or fill is under a line\n"
	"starting `# FILL:`.\n"
	"\n"
	"  --name NAME     the package name (default: guessed from the file name)\n"
	"  --version V     its version (likewise)\n"
	"  -o FILE         write the recipe to FILE instead\n"
	"  --stdout        write it to standard output\n"
	"  --force         replace an existing recipe file\n"
	"\n"
	"Exit status: 0 written, 1 bad input (no name or version could be guessed,\n"
	"the file exists, the archive was refused), 2 usage, 4 fetching or writing\n"
	"failed.\n",
};

/* What one `recipe new` run works with. */
struct newrun {
	const char *from, *name, *version, *out;
	int tostdout, force;
	char *file, *guessname, *guessversion, *dest;
	char *workdir;                 /* scratch under the work directory */
	int lockfd;                    /* holds workdir's lock (ostempdir) */
	char *debpkg, *debversion;     /* from debian:PKG[=VERSION] */
	struct fetchcfg fc;
	char sha256[65];
	long long size;
	char *path;                    /* the cached archive */
	struct fetchdeb deb;
};

/* The last path component of a URL, without query or fragment; NULL when
 * it has none. */
static char *
urlfile(const char *url)
{
	const char *e = url + strcspn(url, "?#"), *b = e;

	while (b > url && b[-1] != '/')
		b--;
	return b < e && b > url && b[-1] == '/' && b[-2] != '/' ? xstrndup(b, (size_t)(e - b)) : NULL;
}

/* Name and version: the options', else guessed from the file name; an
 * invalid one is reported with the option that fixes it. */
static int
pickname(struct newrun *n)
{
	int bad = 0;

	draftguess(n->file, &n->guessname, &n->guessversion);
	if (!n->name)
		n->name = n->guessname;
	if (!n->version)
		n->version = n->guessversion;
	if (!n->name) {
		err("%s: the file name holds no package name: pass --name NAME", n->file);
		bad = 1;
	} else if (!namevalid(n->name)) {
		err("%s: '%s' is no package name (lower-case letters, digits and '+._-', at most 64): pass --name NAME",
		    n->file, n->name);
		bad = 1;
	}
	if (!n->version) {
		err("%s: the file name holds no version: pass --version V", n->file);
		bad = 1;
	} else if (!versionvalid(n->version)) {
		err("%s: '%s' is no version (a digit, then letters, digits and '.+~_'): pass --version V", n->file,
		    n->version);
		bad = 1;
	}
	return bad ? -1 : 0;
}

/* Where the recipe goes, refused early when it exists (--force aside). */
static int
pickdest(struct newrun *n, const struct opts *o)
{
	struct stat st;
	char *dir, *pkgdir;

	if (n->tostdout)
		return 0;
	if (n->out) {
		n->dest = xstrdup(n->out);
	} else {
		dir = xasprintf("%s/recipes", o->dir);
		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			err("%s is not a recipe tree (no directory %s): pass -C DIR, -o FILE or --stdout", o->dir, dir);
			free(dir);
			return -1;
		}
		pkgdir = xasprintf("%s/%s", dir, n->name);
		n->dest = xasprintf("%s/%s.recipe", dir, n->name);
		free(dir);
		if (stat(pkgdir, &st) == 0 && S_ISDIR(st.st_mode)) {
			err("%s exists: package %s has a recipe already (pass --name NAME for another)", pkgdir, n->name);
			free(pkgdir);
			return -1;
		}
		free(pkgdir);
	}
	if (!n->force && exists(n->dest)) {
		err("%s exists: pass --force to replace it, or -o FILE", n->dest);
		return -1;
	}
	return 0;
}

/* Unpack the archive under the work directory and guess from its tree. */
static int
inspect(struct newrun *n, struct draft *d)
{
	const char *w = getenv("UNDISTRO_WORK");
	char *base = w && *w ? xstrdup(w) : xasprintf("%s/work", n->fc.cache), *src, *top = NULL;
	struct unpackopts uo = {.name = n->file};
	struct stat st;
	int r = -1;

	n->lockfd = ostempdir(base, "recipe-new", &n->workdir);
	free(base);
	if (n->lockfd < 0)
		return EXIT_SYSTEM;
	src = xasprintf("%s/src", n->workdir);
	/* unstripped, then stripped here as unpack would: a tree without a
	 * single top-level directory needs `strip = no`, which the draft says */
	if (unpack(n->path, src, &uo) == 0) {
		struct dirent **ents;
		int k = scandir(src, &ents, NULL, NULL), one = 0;

		for (int i = 0; i < k; i++) {
			if (strcmp(ents[i]->d_name, ".") && strcmp(ents[i]->d_name, "..")) {
				one = top ? -1 : one + 1;
				if (!top)
					top = xasprintf("%s/%s", src, ents[i]->d_name);
			}
			free(ents[i]);
		}
		if (k >= 0)
			free(ents);
		if (one != 1 || lstat(top, &st) < 0 || !S_ISDIR(st.st_mode)) {
			free(top);
			top = xstrdup(src);
			d->strip = 0;
		}
		d->bs = draftbuildsys(top);
		d->license = draftlicense(top, &d->licensewhy);
		r = 0;
	}
	free(top);
	free(src);
	return r < 0 ? EXIT_INPUT : EXIT_OK;
}

/* Fetch the archive into the cache: URL, local file or Debian package. */
static int
get(struct newrun *n)
{
	if (n->debpkg) {
		if (fetchdebiansrc(&n->fc, n->debpkg, n->debversion, &n->deb) < 0)
			return -1;
		n->path = n->deb.path;
		n->deb.path = NULL;
		memcpy(n->sha256, n->deb.sha256, sizeof(n->sha256));
		n->size = n->deb.size;
		return 0;
	}
	return fetchnew(&n->fc, n->from, n->file, n->sha256, &n->size, &n->path);
}

/* Parse the draft as `undistro check` would: a draft it refuses is our bug
 * or a value (URL, file name) the format cannot hold; nothing is written. */
static int
selfcheck(const struct newrun *n, const struct buf *text)
{
	struct arena a = {0};
	/* the parser wants the file named after the package: -o's may not be */
	char *own = xasprintf("%s.recipe", n->name);
	const char *base = n->dest ? strrchr(n->dest, '/') ? strrchr(n->dest, '/') + 1 : n->dest : "";
	struct recipe *r = recipeparse(&a, strcmp(base, own) ? own : n->dest, ".", text->p, text->n);

	arenafree(&a);
	free(own);
	if (!r)
		err("the drafted recipe is not valid (above); nothing written: pass --name, --version, or fetch from a "
		    "URL whose file name is plain");
	return r ? 0 : -1;
}

static int
emit(const struct newrun *n, const struct buf *text)
{
	if (n->tostdout) {
		if (fwrite(text->p, 1, text->n, stdout) != text->n || fflush(stdout) != 0) {
			err("cannot write to standard output:");
			return EXIT_SYSTEM;
		}
		return EXIT_OK;
	}
	if (n->force ? writeatomic(n->dest, text->p, text->n, 0644) < 0
	             : writenew(n->dest, text->p, text->n, 0644) < 0) {
		if (errno == EEXIST && !n->force) {
			err("%s exists: pass --force to replace it, or -o FILE", n->dest);
			return EXIT_INPUT;
		}
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}

/* From the archive in the cache to the recipe. */
static int
draftfrom(struct newrun *n)
{
	struct draft d = {
		.name = n->name, .version = n->version, .from = n->from, .file = n->file, .sha256 = n->sha256,
		.size = n->size, .strip = 1,
	};
	struct buf text = {0};
	int rc;

	char *local = NULL, *abs;

	if (strstr(n->from, "://")) {
		d.url = n->from;
	} else if (!n->debpkg && (abs = realpath(n->from, NULL))) {
		d.url = local = xasprintf("file://%s", abs);
		free(abs);
	}
	if (n->debpkg) {
		d.debian = n->debpkg;
		d.debianversion = n->debversion;
	}
	if ((rc = inspect(n, &d)) != EXIT_OK)
		return rc;
	draftrecipe(&text, &d);
	rc = selfcheck(n, &text) < 0 ? EXIT_INPUT : emit(n, &text);
	if (rc == EXIT_OK && !quiet && !n->tostdout)
		fprintf(stderr, "%s: wrote %s: %s %s, build system %s%s%s, license %s; check the lines marked FILL\n",
		        argv0, n->dest, n->name, n->version, buildsysname(d.bs.sys), d.bs.why ? " from " : "",
		        d.bs.why ? d.bs.why : "", d.license ? d.license : "not recognised");
	buffree(&text);
	free(local);
	return rc;
}

static int
recipenew(int argc, char **argv, const struct opts *o)
{
	static const struct cmdopt opts[] = {
		{"name", 'n', CMDARG}, {"version", 'V', CMDARG}, {"o", 'o', CMDARG | CMDSHORT}, {"stdout", 's', 0},
		{"force", 'f', 0},
		{NULL, 0, 0},
	};
	struct cmdargs a = {.cmd = &cmd_recipe_new, .opts = opts, .argc = argc, .argv = argv};
	struct newrun n = {.lockfd = -1};
	int c, rc = EXIT_INPUT;

	while ((c = cmdnext(&a)) > 0) {
		switch (c) {
		case 'n': n.name = a.val; break;
		case 'V': n.version = a.val; break;
		case 'o': n.out = a.val; break;
		case 's': n.tostdout = 1; break;
		case 'f': n.force = 1; break;
		}
	}
	if (c < 0 || c == CMDHELP)
		return c == CMDHELP ? EXIT_OK : EXIT_USAGE;
	if (a.nops != 1)
		return cmdusage(&cmd_recipe_new, "name one URL, file or debian:PKG");
	if (n.out && n.tostdout)
		return cmdusage(&cmd_recipe_new, "-o and --stdout exclude each other");
	if (!*argv[1])
		return cmdusage(&cmd_recipe_new, "the source is empty");
	n.from = argv[1];
	if (!strncmp(n.from, "debian:", 7)) {
		const char *eq = strchr(n.from + 7, '=');

		n.debpkg = eq ? xstrndup(n.from + 7, (size_t)(eq - n.from - 7)) : xstrdup(n.from + 7);
		n.debversion = eq ? xstrdup(eq + 1) : NULL;
		if (!namevalid(n.debpkg) || (n.debversion && !*n.debversion)) {
			rc = cmdusage(&cmd_recipe_new, "'%s': write debian:PKG or debian:PKG=VERSION", n.from);
			goto out;
		}
	} else if (strstr(n.from, "://")) {
		if (!(n.file = urlfile(n.from))) {
			err("%s: the URL names no file", n.from);
			goto out;
		}
	} else {
		n.file = xstrdup(strrchr(n.from, '/') ? strrchr(n.from, '/') + 1 : n.from);
		if (!exists(n.from)) {
			err("%s: no such file", n.from);
			goto out;
		}
	}
	if (fetchcfgenv(&n.fc) < 0) {
		rc = EXIT_SYSTEM;
		goto out;
	}
	/* a Debian package's file is known once apt has listed it */
	if (!n.debpkg && (pickname(&n) < 0 || pickdest(&n, o) < 0))
		goto out;
	if (get(&n) < 0) {
		rc = EXIT_SYSTEM;
		goto out;
	}
	if (n.debpkg) {
		n.file = xstrdup(n.deb.file);
		if (pickname(&n) < 0 || pickdest(&n, o) < 0)
			goto out;
	}
	rc = draftfrom(&n);
out:
	if (n.workdir)
		rmtree(n.workdir);
	if (n.lockfd >= 0)
		close(n.lockfd);
	free(n.workdir);
	free(n.file);
	free(n.guessname);
	free(n.guessversion);
	free(n.dest);
	free(n.debpkg);
	free(n.debversion);
	free(n.path);
	free(n.deb.file);
	free(n.deb.version);
	free(n.deb.path);
	return rc;
}

static const struct {
	const char *verb;
	int (*run)(int, char **, const struct opts *);
	const struct cmd *cmd;
} verbs[] = {
	{"new", recipenew, &cmd_recipe_new},
};

static int
run(int argc, char **argv, const struct opts *o)
{
	size_t i;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		if (argc < 2)
			return cmdusage(&cmd_recipe, "name a verb");
		cmdhelp(&cmd_recipe);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].verb))
			return verbs[i].run(argc - 1, argv + 1, o);
	return cmdusage(&cmd_recipe, "unknown verb '%s'", argv[1]);
}

const struct cmd cmd_recipe = {
	"recipe", run, "new [OPTIONS] URL | FILE | debian:PKG[=VERSION]",
	"work on recipes: `recipe new` drafts one from a source archive",
	"Verbs:\n"
	"  new   draft recipes/NAME.recipe from a source archive: fetched and\n"
	"        hashed, name and version guessed from its file name, build\n"
	"        system and license from its tree (undistro recipe new --help)\n",
};
