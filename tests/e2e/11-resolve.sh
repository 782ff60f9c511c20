#!/bin/sh
# undistro resolve / graph beyond the golden cases: JSON validity and plan
# invariants on a generated 600-package tree, DOT structure, -C paths, huge
# cycles and deep chains (iterative Tarjan), write errors, an unprivileged
# run, and the real tree's web role once its recipes exist.
set -eu
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${UNDISTRO:-$top/undistro}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# --help for each command, and the global help lists them with exit codes
"$bin" resolve --help | grep -q -- '--json' || fail "resolve --help"
"$bin" graph --help | grep -q 'DOT' || fail "graph --help"
"$bin" --help | grep -q '^  resolve ' || fail "--help does not list resolve"
"$bin" --help | grep -q '^  graph ' || fail "--help does not list graph"
"$bin" --help | grep -q '4  system failure' || fail "--help does not document exit codes"

# JSON: valid, and the plan's invariants hold on a generated tree
python3 "$top/bench/genrecipes.py" "$tmp/gen" 600 7
"$bin" -C "$tmp/gen" resolve --json bench >"$tmp/plan.json" || fail "resolve --json on the generated tree"
python3 -m json.tool "$tmp/plan.json" >/dev/null || fail "resolve --json is not valid JSON"
python3 - "$tmp/plan.json" <<'PY' || fail "plan invariants"
import json, sys
plan = json.load(open(sys.argv[1]))
pk = {p["name"]: p for p in plan["packages"]}
order = [p["name"] for p in plan["packages"]]
assert order == sorted(order, key=lambda n: (pk[n]["wave"], n)), "not in (wave, name) order"
assert plan["waves"] == max(p["wave"] for p in plan["packages"]), "waves count"
for p in plan["packages"]:
    for d in p["depends"] + p["build_depends"] + p["sysroot"]:
        assert pk[d]["wave"] < p["wave"], "%s needs %s from a later wave" % (p["name"], d)
    assert set(p["build_depends"]) <= set(p["sysroot"]), p["name"]
    for d in p["sysroot"]:   # the sysroot is closed under run-time deps
        assert set(pk[d]["depends"]) <= set(p["sysroot"]), (p["name"], d)
    if p["runtime"]:         # so is the image
        assert all(pk[d]["runtime"] for d in p["depends"]), p["name"]
    assert p["wave"] == 1 + max([pk[d]["wave"] for d in p["depends"] + p["build_depends"]] + [0]), \
        "%s is not in its earliest wave" % p["name"]
assert any(not p["runtime"] for p in plan["packages"]), "no build-only package"
PY
"$bin" -C "$tmp/gen" resolve bench >"$tmp/plan.txt"
[ "$(grep -c -E '^[0-9]+ ' "$tmp/plan.txt")" -eq "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["packages"]))' "$tmp/plan.json")" ] ||
	fail "table and JSON list different packages"

# DOT: one digraph, every edge between declared nodes, run and build edges
"$bin" -C "$tmp/gen" graph bench >"$tmp/g.dot" || fail "graph"
python3 - "$tmp/g.dot" <<'PY' || fail "DOT structure"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
assert re.fullmatch(r'digraph "bench" \{', lines[0]) and lines[-1] == "}", "not one digraph"
nodes, edges = set(), []
for l in lines[1:-1]:
    l = l.strip()
    if not l or l.startswith("//") or re.fullmatch(r"(rankdir|node) ?[=\[].*;", l):
        continue
    m = re.fullmatch(r'"([^"]+)" -> "([^"]+)"( \[style=dashed\])?;', l)
    if m:
        edges.append(m.groups())
        continue
    m = re.fullmatch(r'"([^"]+)" \[label="[^"]*"(, [a-z]+=[a-z]+)*\];', l)
    assert m, "bad line: " + l
    nodes.add(m.group(1))
assert edges and all(a in nodes and b in nodes for a, b, _ in edges), "edge to an undeclared node"
assert any(d for _, _, d in edges) and any(not d for _, _, d in edges), "needs run and build edges"
PY
if command -v dot >/dev/null; then dot -Tsvg "$tmp/g.dot" >/dev/null || fail "dot rejects the graph"; fi

# -C DIR: messages name the files under DIR; nothing on stdout on errors
g="$top/tests/golden"
if "$bin" -C "$g/cycle2" resolve cyc >"$tmp/out" 2>"$tmp/err"; then fail "a cycle resolved"; fi
[ ! -s "$tmp/out" ] || fail "output on stdout despite an error"
grep -q "^undistro: $g/cycle2/recipes/a.recipe:6:17: dependency cycle: a -> b -> a" "$tmp/err" || {
	cat "$tmp/err"; fail "-C paths in messages"; }

# a huge cycle and a deep chain: no recursion limit, every member named
n=3000
python3 - "$tmp/big" $n <<'PY'
import os, sys
top, n = sys.argv[1], int(sys.argv[2])
os.makedirs(top + "/recipes/roles")
for i in range(n):
    open("%s/recipes/p%04d.recipe" % (top, i), "w").write(
        "name = p%04d\nversion = 1\nrelease = 1\ndesc = d\nlicense = MIT\n"
        "depends = p%04d\ninstall <<EOF\ntrue\nEOF\n" % (i, (i + n - 1) % n))
open(top + "/recipes/roles/r.role", "w").write("name = r\npackages = p%04d\n" % (n - 1))
PY
set +e
"$bin" -C "$tmp/big" resolve r >/dev/null 2>"$tmp/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "huge cycle: exit $rc"
[ "$(grep -o 'p[0-9]\{4\}' "$tmp/err" | sort -u | wc -l)" -eq $n ] || fail "huge cycle: not every member named"
sed -i 's/^depends = p2999$//' "$tmp/big/recipes/p0000.recipe"
"$bin" -C "$tmp/big" resolve r >"$tmp/out" || fail "deep chain"
tail -1 "$tmp/out" | grep -q "$n packages in $n waves" || fail "deep chain waves: $(tail -1 "$tmp/out")"

# a write error is a system failure (exit 4), reported
if [ -w /dev/full ]; then
	set +e
	"$bin" -C "$g/web" resolve web >/dev/full 2>"$tmp/err"
	rc=$?
	set -e
	[ $rc -eq 4 ] || fail "write error: exit $rc"
	grep -q "cannot write" "$tmp/err" || fail "write error not reported"
fi

# unprivileged: resolving reads only
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	cp -r "$g/web" "$tmp/web" && chmod -R a+rX "$tmp"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" -C "$tmp/web" resolve web >/dev/null ||
		fail "resolve as nobody"
fi

# the real tree: musl before busybox, build-only packages marked, waves
if [ -f "$top/recipes/roles/web.role" ] && "$bin" -C "$top" check >/dev/null 2>&1; then
	"$bin" -C "$top" resolve web >"$tmp/web.txt" || fail "resolve web on the real tree"
	awk '$2 == "musl" { m = NR } $2 == "busybox" { b = NR } END { exit !(m && b && m < b) }' "$tmp/web.txt" ||
		fail "musl is not before busybox"
	grep -q ' build-only' "$tmp/web.txt" || fail "no build-only package in web"
	awk 'NR > 1 && /^[0-9]/ { if ($1 < w) exit 1; w = $1 }' "$tmp/web.txt" || fail "waves out of order"
else
	echo "note: the real tree does not check yet; its web role was not resolved"
fi
echo "ok"
