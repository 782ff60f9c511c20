#ifndef UNDISTRO_SBOM_H
#define UNDISTRO_SBOM_H
/* The SBOM: a role's software bill of materials as an SPDX 2.3 JSON document
 * (out/ROLE/sbom.spdx.json), written after the image so that it can carry
 * the image's checksum.
 *
 * Contents, in this order (so the file is a plain function of its inputs and
 * byte-reproducible: no random UUID, no wall-clock time):
 *  - the document: spdxVersion SPDX-2.3, dataLicense CC0-1.0, name
 *    undistro-ROLE, documentNamespace
 *    https://undistro.invalid/spdx/ROLE/COMMIT/CONTENT (.invalid: a URI
 *    that names, and never resolves; CONTENT is the sha256 of the role name,
 *    every package's name, version-release, store key and kind, and the
 *    image's sha256, so any change of contents gives a new namespace),
 *    creationInfo.created = epoch (SOURCE_DATE_EPOCH) in ISO 8601 UTC,
 *    creators "Tool: undistro-0.1";
 *  - one package for the image (SPDXRef-Image, primaryPackagePurpose
 *    OPERATING-SYSTEM) with the SHA256 of disk.raw when known;
 *  - one package per package of the plan (SPDXRef-Package-NAME; characters
 *    SPDX ids do not allow become .HH hex): version, the recipe's license as
 *    licenseDeclared and licenseConcluded, the first source's URL as
 *    downloadLocation (NOASSERTION when there is no source) and its SHA256 as
 *    the package checksum, every source and patch with its sha256 in
 *    sourceInfo, and in comment the release, the store key, runtime or
 *    build-only and the flag values. An in-tree source (dir) has no
 *    location or file checksum: downloadLocation NOASSERTION when it is the
 *    first, no package checksum then, "in-tree: PATH" with its content hash
 *    (srcdir.h) in sourceInfo and "in-tree: PATH" in comment. Build-only packages (compilers, headers:
 *    not in the image) are listed too, because they shaped the image's bytes;
 *    the image does not CONTAIN them;
 *  - hasExtractedLicensingInfos for every LicenseRef-* a recipe names (SPDX
 *    requires one per LicenseRef used in the document);
 *  - relationships: DOCUMENT DESCRIBES the image; the image CONTAINS each
 *    runtime package; each package DEPENDS_ON its run-time dependencies; each
 *    build dependency is BUILD_DEPENDENCY_OF the package that needs it.
 * License expressions are copied from the recipes as they are: recipe.c
 * checks their syntax, and tests/e2e/80-sbom.sh checks every id against the
 * SPDX license list. */

struct plan;
struct role;

/* The version in creationInfo.creators. */
#define SBOMTOOL "undistro-0.1"

/* Write the SBOM of the flattened role flat and its plan to path, atomically.
 * keys are the plan's store keys (plan order; NULL: none); imagesha256 the
 * hex sha256 of disk.raw, or NULL; epoch the creation time; commit the
 * tree's commit, or NULL ("unknown" in the namespace). Returns 0 or -1
 * (reported). */
int sbomwrite(const char *path, const struct role *flat, const struct plan *pl, char (*keys)[65],
              const char *imagesha256, long long epoch, const char *commit);
/* The commit of the recipe tree at top: $UNDISTRO_COMMIT when set, else
 * `git rev-parse HEAD` when top is a git work tree, else NULL. malloc'd. */
char *sbomcommit(const char *top);
/* The pipeline's SBOM step: outdir/sbom.spdx.json for the role, with the
 * sha256 of outdir/disk.raw when it exists and sbomcommit(top). Returns 0 or
 * -1 (reported). */
int sbomrole(const char *outdir, const char *top, const struct role *flat, const struct plan *pl,
             char (*keys)[65], long long epoch);
#endif
