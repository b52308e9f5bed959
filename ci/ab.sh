#!/bin/sh
# ci/ab.sh: the A/B performance-regression job that action.yml runs, as a
# script so that it can be run and tested outside GitHub Actions.
#
# It checks out the base into a git worktree, runs the build command in the
# base and in the head (the current checkout), measures both builds in one
# clusterbench run, interleaved, and judges head against base with
# `clusterbench compare DIR`. It exits with compare's code: 0 no
# regression, 1 a regression, 2 nothing to compare (or bad input), 3 a run
# that could not complete.
#
# Inputs, from the environment:
#   CLUSTERBENCH    the clusterbench executable (default: clusterbench on PATH)
#   AB_BUILD        command run in each checkout to build it (sh -c); may be empty
#   AB_WORKER       your worker app, one shell command run in each checkout, e.g.
#                   './server --port $PORT'; empty: two builds of clusterbench
#   AB_LISTEN       how your app gets its socket: fd or port (default fd)
#   AB_BIN          with AB_WORKER empty: the clusterbench each build makes,
#                   relative to its checkout (default bin/clusterbench)
#   AB_SCENARIO     the scenario (default: scenarios/ab.yaml beside this script, or
#                   ab-port.yaml for an app that listens on a port)
#   AB_MODES        comma-separated modes replacing the scenario's (every
#                   experiment's one-line modes: list), e.g. reuseport,nginx
#   AB_BASE_REF     the commit to compare against (default: origin/$GITHUB_BASE_REF)
#   AB_OUT          where the run, base checkout and verdict go (default perf)
#   AB_RUN_AS       sudo: run clusterbench as root, for private network namespaces
#                   (with this PATH); default: as the current user
# Writes AB_OUT/run (the run), AB_OUT/compare.md and compare.json; appends
# compare.md to $GITHUB_STEP_SUMMARY and exit=N to $GITHUB_OUTPUT when set.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
cb=${CLUSTERBENCH:-clusterbench}
out=${AB_OUT:-perf}
listen=${AB_LISTEN:-fd}
default_scenario=$here/scenarios/ab.yaml
if [ "$listen" = port ]; then default_scenario=$here/scenarios/ab-port.yaml; fi
scenario=${AB_SCENARIO:-$default_scenario}
bin=${AB_BIN:-bin/clusterbench}
base_ref=${AB_BASE_REF:-}
if [ -z "$base_ref" ]; then
	if [ -z "${GITHUB_BASE_REF:-}" ]; then
		echo "ab: no base: set AB_BASE_REF (or run on a pull request, where GITHUB_BASE_REF names it)" >&2
		exit 2
	fi
	base_ref=origin/$GITHUB_BASE_REF
fi

head_dir=$(pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -n "${AB_MODES:-}" ]; then
	sed "s/^\([[:space:]-]*modes:\).*/\1 [$AB_MODES]/" "$scenario" >"$out/scenario.yaml"
	scenario=$out/scenario.yaml
fi
base_dir=$out/base-src
if ! git rev-parse --verify --quiet "$base_ref^{commit}" >/dev/null; then
	case $base_ref in
	origin/*) git fetch --quiet --no-tags origin "+refs/heads/${base_ref#origin/}:refs/remotes/$base_ref" ;;
	*)
		echo "ab: base $base_ref is not a commit here (check out with fetch-depth: 0)" >&2
		exit 2
		;;
	esac
fi
rm -rf "$out/run" "$out/compare.md" "$out/compare.json"
git worktree remove --force "$base_dir" 2>/dev/null || rm -rf "$base_dir"
git worktree add --quiet --detach "$base_dir" "$base_ref"
cleanup() { git -C "$head_dir" worktree remove --force "$base_dir" 2>/dev/null || true; }
trap cleanup EXIT

echo "ab: base $(git -C "$base_dir" rev-parse --short HEAD) ($base_ref), head $(git -C "$head_dir" rev-parse --short HEAD)"
if [ -n "${AB_BUILD:-}" ]; then
	for dir in "$base_dir" "$head_dir"; do
		echo "ab: building in $dir: $AB_BUILD"
		(cd "$dir" && sh -c "$AB_BUILD")
	done
fi

if [ -n "${AB_WORKER:-}" ]; then
	set -- --base-app "$AB_WORKER" --head-app "$AB_WORKER" --base-dir "$base_dir" --head-dir "$head_dir" \
		--base-listen "$listen" --head-listen "$listen"
else
	set -- --base-bin "$base_dir/$bin" --head-bin "$head_dir/$bin"
fi
as_runner() {
	if [ "${AB_RUN_AS:-}" = sudo ] && [ "$(id -u)" != 0 ]; then
		sudo env "PATH=$PATH" "$@"
	else
		"$@"
	fi
}
run=0
as_runner "$cb" run "$@" -o "$out/run" "$scenario" || run=$?
if [ ! -f "$out/run/results.json" ]; then
	echo "ab: the run wrote no record (exit $run)" >&2
	exit "$run"
fi
verdict=0
"$cb" compare --export-markdown "$out/compare.md" --export-json "$out/compare.json" "$out/run" || verdict=$?
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$out/compare.md" ]; then
	cat "$out/compare.md" >>"$GITHUB_STEP_SUMMARY"
fi
if [ "$verdict" = 0 ] && [ "$run" != 0 ]; then
	echo "ab: the run did not complete (exit $run): no verdict can pass it" >&2
	verdict=$run
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
	echo "exit=$verdict" >>"$GITHUB_OUTPUT"
fi
exit "$verdict"
