#!/usr/bin/env python3
"""Tarballs for tests/unit/test_unpack.c: one per attack, each in every
compression (.tar, .tar.gz, .tar.bz2, .tar.xz, .tar.zst), plus good ones.

Usage: hostile.py OUTDIR OUTSIDE
OUTSIDE is an absolute directory holding a file 'victim' that absolute
entries aim at. Every archive starts with an honest pkg/ directory and
pkg/README, so refusals are not just about the first entry.
"""
import io
import os
import subprocess
import sys
import tarfile

OUT, OUTSIDE = sys.argv[1], sys.argv[2]


def entry(name, kind=tarfile.REGTYPE, data=b"", mode=0o644, link="", major=0, minor=0):
    t = tarfile.TarInfo(name)
    t.type, t.mode, t.linkname, t.mtime = kind, mode, link, 1700000000
    t.devmajor, t.devminor = major, minor
    if kind == tarfile.REGTYPE:
        t.size = len(data)
    if kind == tarfile.DIRTYPE:
        t.mode = mode if mode != 0o644 else 0o755
    return t, data


def honest():
    return [entry("pkg/", tarfile.DIRTYPE), entry("pkg/README", data=b"hello\n")]


SYM, LNK, DIR = tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE
# Symlinks each harmless on its text, leading out as a chain, with the
# destination at WORK/build/CASE/src: x/d -> dest, e -> WORK/build/CASE,
# x/f -> WORK/build, x/g -> WORK (which holds outside/victim).
CHAIN = [entry("pkg/x/", DIR), entry("pkg/x/d", SYM, link=".."), entry("pkg/e", SYM, link="x/d/.."),
         entry("pkg/x/f", SYM, link="../e/.."), entry("pkg/x/g", SYM, link="../x/f/..")]
ARCHIVES = {
    "dotdot": honest() + [entry("../evil", data=b"evil\n")],
    "absolute": honest() + [entry(OUTSIDE + "/evil", data=b"evil\n")],
    "symlink-abs": honest() + [entry("pkg/link", SYM, link=OUTSIDE), entry("pkg/link/evil", data=b"evil\n")],
    "symlink-rel": honest() + [entry("pkg/link", SYM, link="../../outside"),
                               entry("pkg/link/evil", data=b"evil\n")],
    "symlink-chain": honest() + CHAIN,
    "hardlink-abs": honest() + [entry("pkg/h", LNK, link=OUTSIDE + "/victim")],
    "hardlink-rel": honest() + [entry("pkg/h", LNK, link="pkg/../../outside/victim")],
    "hardlink-symlink": honest() + CHAIN + [entry("pkg/h", LNK, link="pkg/x/g/outside/victim")],
    "symlink-chain-write": honest() + CHAIN + [entry("pkg/x/g/outside/evil", data=b"evil\n")],
    "chardev": honest() + [entry("pkg/null", tarfile.CHRTYPE, mode=0o666, major=1, minor=3)],
    "blockdev": honest() + [entry("pkg/sda", tarfile.BLKTYPE, mode=0o660, major=8, minor=0)],
    "fifo": honest() + [entry("pkg/fifo", tarfile.FIFOTYPE)],
    "setuid": honest() + [entry("pkg/su", data=b"#!/bin/sh\n", mode=0o4755)],
    "setgid": honest() + [entry("pkg/sg", data=b"#!/bin/sh\n", mode=0o2755)],
    "bomb-entries": honest() + [entry("pkg/f%03d" % i, data=b"x") for i in range(200)],
    "bomb-bytes": honest() + [entry("pkg/z%d" % i, data=bytes(1 << 20)) for i in range(3)],
    "notop": [entry("a.txt", data=b"a\n"), entry("b/", DIR), entry("b/c.txt", data=b"c\n")],
    "twotops": [entry("one/", DIR), entry("one/a", data=b"a\n"), entry("two/", DIR), entry("two/b", data=b"b\n")],
    "good": [entry("pkg/", DIR, mode=0o2755), entry("pkg/README", data=b"hello\n"),
             entry("pkg/bin/", DIR), entry("pkg/bin/run.sh", data=b"#!/bin/sh\necho run\n", mode=0o755),
             entry("pkg/sub/deep/", DIR), entry("pkg/sub/deep/f", data=b"deep\n"),
             entry("pkg/bin/readme", SYM, link="../README"), entry("pkg/dirlink", SYM, link="sub/deep"),
             entry("pkg/hard", LNK, link="pkg/README"), entry("./pkg/./sub//g", data=b"g\n")],
}


def write(name, entries):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for info, data in entries:
            t.addfile(info, io.BytesIO(data) if data else None)
    raw = raw.getvalue()
    base = os.path.join(OUT, name + ".tar")
    with open(base, "wb") as f:
        f.write(raw)
    for ext, cmd in (("gz", ["gzip", "-n", "-c"]), ("bz2", ["bzip2", "-c"]), ("xz", ["xz", "-c"]),
                     ("zst", ["zstd", "-q", "-c"])):
        with open(base + "." + ext, "wb") as f:
            subprocess.run(cmd, input=raw, stdout=f, check=True)


def huge():
    """A header claiming a 5 GiB file and no data: the default byte limit
    must refuse it before reading anything."""
    t = tarfile.TarInfo("pkg/huge")
    t.size, t.mtime = 5 << 30, 1700000000
    hdr = b"".join(i.tobuf(tarfile.PAX_FORMAT) for i, _ in honest()[:1])
    readme, data = honest()[1]
    hdr += readme.tobuf(tarfile.PAX_FORMAT) + data + bytes(512 - len(data))
    return hdr + t.tobuf(tarfile.PAX_FORMAT)


for n, e in ARCHIVES.items():
    write(n, e)
raw = huge()
base = os.path.join(OUT, "bomb-huge.tar")
with open(base, "wb") as f:
    f.write(raw)
for ext, cmd in (("gz", ["gzip", "-n", "-c"]), ("bz2", ["bzip2", "-c"]), ("xz", ["xz", "-c"]),
                 ("zst", ["zstd", "-q", "-c"])):
    with open(base + "." + ext, "wb") as f:
        subprocess.run(cmd, input=raw, stdout=f, check=True)
