#!/usr/bin/env python3
"""Write a synthetic recipe tree for benchmarks and tests.

usage: genrecipes.py DIR [N] [SEED]

DIR/recipes/ gets N recipes (default 10000) with a realistic acyclic shape:
packages sit in 25 layers and depend only on lower layers; most have 1-5
run-time dependencies; a few hubs (musl, zlib, openssl-like libraries) are
needed by many; every package build-depends on the stage2 toolchain (musl,
linux-headers), on its libraries and on 0-3 build tools; some use versioned
dependencies, virtual names (provides) and flags that add dependencies.
DIR/recipes/roles/bench.role installs a random 20% of the packages, with a
few flags set. The same SEED gives the same tree.
"""
import os
import random
import sys

LAYERS = 25
NHUBS = 40
NTOOLS = 150


def recipe(name, version, desc, deps, bdeps, provides=(), flags=(), host=False):
    sha = "%064x" % random.getrandbits(256)
    lines = [
        "# synthetic recipe for bench/resolve.sh",
        "name     = %s" % name,
        "version  = %s" % version,
        "release  = 1",
        "desc     = %s" % desc,
        "homepage = https://example.org/%s/" % name,
        "license  = MIT OR Apache-2.0",
    ]
    if host:
        lines.append("toolchain = host")
    if deps:
        lines.append("depends  = " + ", ".join(deps))
    if bdeps:
        lines.append("build-depends = " + ", ".join(bdeps))
    if provides:
        lines.append("provides = " + ", ".join(provides))
    lines += [
        "",
        "source {",
        "\turl    = https://example.org/releases/%s-%s.tar.gz" % (name, version),
        "\tsha256 = %s" % sha,
        "}",
        "",
    ]
    for fname, fdeps in flags:
        lines += [
            "flag %s {" % fname,
            "\tdefault   = no",
            "\tdesc      = build with %s support" % fname,
            "\tconfigure = --enable-%s" % fname,
        ]
        if fdeps:
            lines.append("\tdepends   = " + ", ".join(fdeps))
        lines += ["}", ""]
    lines += [
        "build <<EOF",
        './configure --prefix="$PREFIX" --host="$TARGET" $CONFIGURE_FLAGS',
        'make -j"$JOBS" $MAKE_FLAGS',
        "EOF",
        "",
        "install <<EOF",
        'make DESTDIR="$DESTDIR" install',
        "EOF",
        "",
        "test <<EOF",
        '"$DESTDIR/usr/bin/%s" --version' % name,
        "EOF",
    ]
    return "\n".join(lines) + "\n"


CONS = "bcdfghjklmnprstvwxz"
VOWELS = "aeiou"
PREFIXES = ["", "", "", "", "lib", "lib", "python3-", "perl-", "golang-", "r-cran-", "node-", "xfonts-"]
SUFFIXES = ["", "", "", "", "", "-utils", "-tools", "-common", "-data", "2", "3", "-bin", "-doc"]


def pkgname(taken):
    """A new name shaped like a distribution's: prefix, 2-3 syllables, suffix."""
    while True:
        word = "".join(random.choice(CONS) + random.choice(VOWELS) for _ in range(random.randint(2, 3)))
        nm = random.choice(PREFIXES) + word + random.choice(SUFFIXES)
        if nm not in taken:
            taken.add(nm)
            return nm


def main():
    top = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    random.seed(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    rdir = os.path.join(top, "recipes")
    os.makedirs(os.path.join(rdir, "roles"), exist_ok=True)

    # layer 0: the toolchain; layers 1-3: hubs and build tools; the rest
    # spread over the upper layers, densest in the middle
    names = ["musl", "linux-headers"]
    layer = {"musl": 0, "linux-headers": 0}
    for i in range(NHUBS):
        names.append("lib%02d" % i)
        layer[names[-1]] = 1 + i % 3
    for i in range(NTOOLS):
        names.append("tool%03d" % i)
        layer[names[-1]] = 1 + i % 5
    taken = set(names)
    while len(names) < n:
        nm = pkgname(taken)
        names.append(nm)
        layer[nm] = max(4, min(LAYERS, int(random.triangular(4, LAYERS, LAYERS / 2))))
    bylayer = [[] for _ in range(LAYERS + 1)]
    for nm in names:
        bylayer[layer[nm]].append(nm)
    hubs = names[2:2 + NHUBS]
    tools = names[2 + NHUBS:2 + NHUBS + NTOOLS]
    version = {nm: "%d.%d.%d" % (random.randint(0, 9), random.randint(0, 30), random.randint(0, 9))
               for nm in names}
    virtual = {}   # virtual name -> provider

    tooltab = set(tools)
    # what a package may need at run time: anything below it but the build
    # tools (make, pkgconf, perl, ... in a real tree), which are build-only
    below_cache = {}

    def below(nm):
        lv = layer[nm]
        if lv not in below_cache:
            below_cache[lv] = [x for k in range(1, lv) for x in bylayer[k] if x not in tooltab]
        return below_cache[lv]

    for nm in names:
        path = os.path.join(rdir, nm + ".recipe")
        if layer[nm] == 0:
            prov = ["libc = 1.2.3"] if nm == "musl" else []
            text = recipe(nm, version[nm], "toolchain package " + nm, [], [], prov, host=True)
            open(path, "w").write(text)
            continue
        pool = below(nm)
        k = random.choices([0, 1, 2, 3, 4, 5], [5, 25, 30, 20, 12, 8])[0]
        deps = set()
        for _ in range(k):
            if pool and random.random() > 0.35:
                deps.add(random.choice(pool))
            else:
                cand = [h for h in hubs if layer[h] < layer[nm]]
                if cand:
                    deps.add(random.choice(cand))
        deps = sorted(deps)
        out = ["musl"]
        for d in deps:
            if random.random() < 0.05:
                out.append("%s >= %s" % (d, version[d]))
            elif d in virtual.values() and random.random() < 0.3:
                out.append([v for v, p in virtual.items() if p == d][0])
            else:
                out.append(d)
        ntools = random.choices([0, 1, 2, 3], [40, 35, 17, 8])[0]
        btools = sorted({random.choice(tools) for _ in range(ntools)} - {nm})
        btools = [t for t in btools if layer[t] < layer[nm]]
        bdeps = ["musl", "linux-headers"] + deps + btools
        prov = []
        if random.random() < 0.02:
            v = "virt-" + nm
            virtual[v] = nm
            prov = [v]
        flags = []
        if pool and random.random() < 0.1:
            flags.append(("extra", [random.choice(pool)]))
        text = recipe(nm, version[nm], "synthetic package " + nm, out, bdeps, prov, flags)
        open(path, "w").write(text)

    chosen = sorted(random.sample(names[2:], len(names) // 5))
    role = ["# synthetic role for bench/resolve.sh: 20% of the packages",
            "name = bench", "desc = a big synthetic role",
            "packages = " + ", ".join(chosen)]
    with_flags = [nm for nm in chosen if "flag extra" in open(os.path.join(rdir, nm + ".recipe")).read()]
    for nm in with_flags[: len(with_flags) // 2]:
        role += ["", "package %s {" % nm, "\textra = yes", "}"]
    open(os.path.join(rdir, "roles", "bench.role"), "w").write("\n".join(role) + "\n")


main()
