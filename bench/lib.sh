# shellcheck shell=sh
# shellcheck disable=SC2154 # top, undistro and t are set by the benchmark that sources this
# Shared by the benchmarks that boot images (sourced): set top, undistro and
# t (a scratch directory) first.
# benchready OUT [run options...]: seconds from starting qemu on OUT/disk.raw
# to base's ready line on the serial console
benchready() {
	out=$1
	shift
	: >"$t/serial"
	s=$(date +%s.%N)
	setsid "$undistro" -q -C "$top" run -o "$out" --serial-log "$t/serial" --timeout 600 "$@" base >/dev/null 2>&1 &
	q=$!
	until grep -q 'undistro: role base ready' "$t/serial" 2>/dev/null; do
		sleep 0.05
		kill -0 $q 2>/dev/null || { echo "${0##*/}: no ready line ($*)" >&2; tail "$t/serial" >&2; exit 1; }
	done
	e=$(date +%s.%N)
	kill -TERM -$q 2>/dev/null || true
	wait $q 2>/dev/null || true
	echo "$e - $s" | bc
}
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
