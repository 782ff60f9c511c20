#!/bin/sh
# Replay the parser's fuzz corpus under ASan/UBSan (libFuzzer, -runs=0 only
# executes the corpus): every input must be parsed or rejected without a
# crash, leak or hang. The corpus holds the seeds plus what 10 minutes of
# fuzzing found, minimized with -merge=1.
set -eu
cd "$TOP"
make -s o/fuzz-recipe
n=$(find tests/fuzz/corpus -type f | wc -l)
[ "$n" -gt 100 ] || { echo "corpus has only $n inputs"; exit 1; }
./o/fuzz-recipe -runs=0 -timeout=5 tests/fuzz/corpus
echo "replayed $n inputs"
