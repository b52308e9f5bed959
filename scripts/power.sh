#!/bin/sh
# scripts/power.sh: the measured power and false-alarm rate of the A/B job.
#
#   scripts/power.sh [REGRESSED [IDENTICAL [X]]]     (defaults: 10 20 1ms)
#
# Runs the job's measurement and verdict (what ci/ab.sh runs once the two
# builds exist: `clusterbench run scenarios/ab.yaml` with two variants, then
# `clusterbench compare DIR`) REGRESSED times with the Go worker's handler
# at X of CPU per request in base and 1.10 X in head (a 10% slower handler),
# counting the runs that report a regression (exit 1), and IDENTICAL times
# with two identical variants, counting false alarms. It prints, per run,
# its duration, compare's exit code and the estimated change of CPU per
# request at each point, then the counts. Building is left out: both
# variants are this build (bin/clusterbench, or $CLUSTERBENCH), told apart
# only by their handler. Runs go to ${POWER_DIR:-/tmp/power}, removed
# at the end unless POWER_KEEP=1.
set -eu
command -v jq >/dev/null || { echo "power.sh: needs jq to read compare's JSON (apt-get install jq)" >&2; exit 2; }

regressed=${1:-10}
identical=${2:-20}
x=${3:-1ms}
cb=${CLUSTERBENCH:-bin/clusterbench}
dir=${POWER_DIR:-/tmp/power}
here=$(cd "$(dirname "$0")/.." && pwd)

# X and 1.10 X in microseconds, as Go durations.
x_us=$(python3 -c "import sys,re; v,u=re.fullmatch(r'([0-9.]+)(us|µs|ms|s)',sys.argv[1]).groups(); print(float(v)*{'us':1,'µs':1,'ms':1e3,'s':1e6}[u])" "$x")
slow_us=$(python3 -c "import sys; print(round(float(sys.argv[1])*1.10, 3))" "$x_us")

mkdir -p "$dir"
# scenario KIND: scenarios/ab.yaml with its variants for KIND.
scenario() {
	case $1 in
	regressed) variants="  base: {handler: {cpu: ${x_us}us}}
  head: {handler: {cpu: ${slow_us}us}}" ;;
	identical) variants="  base: {handler: {cpu: ${x_us}us}}
  head: {handler: {cpu: ${x_us}us}}" ;;
	esac
	awk -v variants="$variants" '
		/^variants:/ { print; print variants; skip = 1; next }
		skip && /^  / { next }
		{ skip = 0; print }' "$here/scenarios/ab.yaml" >"$dir/$1.yaml"
}

alarms_regressed=0
alarms_identical=0
echo "kind       run  seconds  exit  CPU/request change per point (estimate [95% interval])"
for kind in regressed identical; do
	scenario $kind
	n=$regressed
	[ $kind = identical ] && n=$identical
	i=1
	while [ "$i" -le "$n" ]; do
		out=$dir/$kind-$i
		rm -rf "$out"
		start=$(date +%s)
		"$cb" run -o "$out" "$dir/$kind.yaml" >"$out.log" 2>&1 || { echo "$kind $i: run failed (exit $?), see $out.log" >&2; exit 3; }
		code=0
		"$cb" compare --export-json "$out.json" "$out" >"$out.compare" 2>&1 || code=$?
		seconds=$(($(date +%s) - start))
		changes=$(jq -r '[.paired[] | select(.metric == "cpu_per_request") |
			"\(.condition | split(",")[0]): \((.change * 1000 | round) / 10)% [\(((.lo - 1) * 1000 | round) / 10)%, \(((.hi - 1) * 1000 | round) / 10)%]"] | join("; ")' "$out.json" 2>/dev/null || echo "no verdict")
		printf '%-10s %3d  %7d  %4d  %s\n' $kind "$i" "$seconds" "$code" "$changes"
		if [ "$code" = 1 ]; then
			eval "alarms_$kind=\$((alarms_$kind + 1))"
		elif [ "$code" != 0 ]; then
			echo "$kind $i: compare exit $code, see $out.compare" >&2
		fi
		i=$((i + 1))
	done
done
echo
echo "handler ${x_us}µs against ${slow_us}µs: a regression in $alarms_regressed of $regressed runs"
echo "two identical variants (${x_us}µs): a regression in $alarms_identical of $identical runs"
if [ "${POWER_KEEP:-}" != 1 ]; then rm -rf "$dir"; fi
