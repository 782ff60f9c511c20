#ifndef UNDISTRO_DIFF_H
#define UNDISTRO_DIFF_H
/* Two builds' outputs side by side (`undistro diff A B`): A and B are
 * output directories (out/ARCH/ROLE), read, never written:
 *  - packages (sbom.spdx.json, every package of the plan): added, removed,
 *    changed (version-release, store key, runtime or build-only, flags);
 *  - files (manifest, rootfs.h's format): added and removed (largest first),
 *    grown and shrunk (largest change first), changed at the same size
 *    (contents, mode, owner, symlink target);
 *  - bytes: the root file system's files, and each image output's size;
 *  - cost figures and their deltas when both hold a cost.json measured on
 *    their disk.raw (cost.h; one measured on another image is left out
 *    with a warning).
 * A missing manifest or SBOM is an error; a missing image or cost.json
 * only leaves its part out. */

struct buf;

/* Rows of a text section past this are summed up in one line ("... N
 * more"); --json lists every row. */
#define DIFFTEXTROWS 40

/* Append the comparison of a and b to out: text, or with json a JSON
 * document (docs/recipes.md, "Cost"). Returns 0, or -1 after reporting
 * what could not be read. */
int diffoutputs(const char *a, const char *b, int json, struct buf *out);
#endif
