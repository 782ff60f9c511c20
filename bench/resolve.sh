#!/bin/sh
# Time `undistro resolve` on a synthetic tree of N recipes (default 10,000;
# bench/genrecipes.py: a layered acyclic graph, 1-5 run-time deps each, hub
# libraries, build tools, flags, virtual names; a role installing 20%).
# The baseline is `undistro check` on the same tree (parsing and checking
# only), so resolve minus check is what libsolv, the build closure, the
# cycle check and the ordering cost; `cat` of the same files shows what
# merely reading them costs on this machine (the floor for any run that
# parses every recipe). Prints a markdown block for
# BENCHMARKS.md. Needs python3 and hyperfine. With INSTR=1 it also counts
# instructions under valgrind (slow, but independent of the machine's load).
# usage: sh bench/resolve.sh [N]      (UNDISTRO=binary, BENCHDIR=tree dir)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${UNDISTRO:-$top/undistro}
n=${1:-10000}
dir=${BENCHDIR:-${TMPDIR:-/tmp}/undistro-bench-resolve-$n}
command -v hyperfine >/dev/null || { echo "bench/resolve.sh: needs hyperfine (ci/install-deps)" >&2; exit 1; }
[ -x "$bin" ] || { echo "bench/resolve.sh: no binary at $bin (make undistro)" >&2; exit 1; }
if [ ! -f "$dir/.complete" ]; then
	rm -rf "$dir"
	python3 "$top/bench/genrecipes.py" "$dir" "$n" 1
	touch "$dir/.complete"
fi
summary=$("$bin" -C "$dir" resolve bench | tail -1)
hyperfine -N --warmup 3 --runs 20 --export-json "$dir/result.json" \
	-n check "$bin -C $dir check" \
	-n resolve "$bin -C $dir resolve bench" \
	-n "resolve --json" "$bin -C $dir resolve --json bench" \
	-n "cat (read only)" "find $dir/recipes -name *.recipe -exec cat {} +" >&2
instr=
if [ "${INSTR:-}" = 1 ] && command -v valgrind >/dev/null; then
	for c in check "resolve bench"; do
		# shellcheck disable=SC2086 # $c is a command and its operand
		k=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" -C "$dir" $c 2>&1 >/dev/null |
			sed -n 's/.*Collected : *\([0-9]*\).*/\1/p')
		instr="$instr${instr:+,}$k"
	done
fi
python3 - "$dir/result.json" "$n" "$summary" "$instr" <<'PY'
import json, os, sys
res = json.load(open(sys.argv[1]))["results"]
print("```")
print("$ sh bench/resolve.sh %s   # %d CPUs, load average %s" % (sys.argv[2], os.cpu_count(),
      open("/proc/loadavg").read().split()[0]))
print(sys.argv[3])
print("%-16s %18s %10s %10s" % ("command", "wall (mean ± σ)", "user", "system"))
for r in res:
    print("%-16s %11.3f ± %.3f s %8.3f s %8.3f s" % (r["command"], r["mean"], r["stddev"], r["user"], r["system"]))
c, s = res[0], res[1]
print("resolve - check: %.3f s wall, %.3f s CPU" % (s["mean"] - c["mean"],
      s["user"] + s["system"] - c["user"] - c["system"]))
if sys.argv[4]:
    ic, ir = (int(x) for x in sys.argv[4].split(","))
    print("instructions (valgrind): check %.0fM, resolve %.0fM, resolve - check %.0fM" %
          (ic / 1e6, ir / 1e6, (ir - ic) / 1e6))
print("```")
PY
