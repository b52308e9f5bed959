#!/usr/bin/env bash
# A distributed run on one machine, as docs/distributed.md runs one on many: a server and three
# load hosts, each a network namespace with an address of its own on one LAN (a bridge), the
# server running `clusterbench serve -o`, each load host its part of `clusterbench split`'s
# attack.sh with the vegeta tool, then `clusterbench merge`.
#
#   scripts/distributed.sh OUT [KILL_AFTER]
#
# OUT gets split/ (the plan, attack.sh, job.yaml), serve/ (serve's record of the server's side),
# results/ (each load host's vegeta results) and merged/ (the merged run). With KILL_AFTER (e.g. 6s), load host 1 and everything it runs is
# killed that long after it started, as a machine that fails mid-trial.
#
# Needs root, ip (iproute2), nsenter and setpriv (util-linux), bin/clusterbench (make build) and
# go, to build vegeta. Every namespace and process it starts ends with it, however it ends: each
# is killed when this script dies (setpriv --pdeathsig), and the LAN goes with its namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:?usage: scripts/distributed.sh OUT [KILL_AFTER]}
kill_after=${2:-}
hosts=3
port=8080
server=10.77.0.1
[ "$(id -u)" = 0 ] || { echo "distributed.sh: needs root, to make network namespaces" >&2; exit 2; }
for prog in ip nsenter setpriv unshare go bin/clusterbench; do
	command -v "$prog" >/dev/null || { echo "distributed.sh: needs $prog" >&2; exit 2; }
done
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
	echo "distributed.sh: $out is not empty" >&2
	exit 2
fi

# Its own files (the vegeta tool it builds, the logs) are inside OUT, so that nothing is left
# elsewhere even if it is killed before it can remove them.
mkdir -p "$out/results"
tmp=$(cd "$out" && pwd)/.work
mkdir "$tmp"
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The vegeta command-line tool of the version clusterbench links.
GOBIN=$tmp go install "github.com/tsenart/vegeta/v12@$(go list -m -f '{{.Version}}' github.com/tsenart/vegeta/v12)"
export VEGETA=$tmp/vegeta

# holder NAME: a process whose network namespace is a machine of the LAN.
holder() {
	setpriv --pdeathsig KILL -- unshare --net -- sleep infinity &
	pids+=($!)
	eval "$1=$!"
	until [ "$(readlink /proc/$!/ns/net)" != "$(readlink /proc/$$/ns/net)" ]; do sleep 0.01; done
}
# in_net PID CMD...: a short CMD, such as ip, in PID's network namespace. The long-running ones
# below run there as PID 1 of a PID namespace of their own, so that when one dies, or this script
# does, everything it started dies too (unshare --kill-child).
in_net() {
	local pid=$1
	shift
	setpriv --pdeathsig KILL -- nsenter --net=/proc/"$pid"/ns/net -- "$@"
}

holder srv
in_net "$srv" ip link set lo up
in_net "$srv" ip link add lan type bridge
in_net "$srv" ip addr add "$server/24" dev lan
in_net "$srv" ip link set lan up
load=()
for i in $(seq 0 $((hosts - 1))); do
	holder h
	load+=("$h")
	in_net "$h" ip link set lo up
	in_net "$srv" ip link add "veth$i" type veth peer name eth0 netns "$h"
	in_net "$srv" ip link set "veth$i" master lan
	in_net "$srv" ip link set "veth$i" up
	in_net "$h" ip addr add "10.77.0.$((11 + i))/24" dev eth0
	in_net "$h" ip link set eth0 up
done

# The server: 8 workers sharing one socket, every one racing to accept, as Node's SCHED_NONE.
# (In the background, not through a function: a function in the background is a shell of its own,
# which a signal would stop at; in a session of its own, whose group Ctrl-C is sent to.)
setpriv --pdeathsig KILL -- setsid nsenter --net=/proc/"$srv"/ns/net -- unshare --pid --fork --kill-child --mount-proc -- \
	bin/clusterbench serve --mode shared --workers 8 --addr "0.0.0.0:$port" -o "$out/serve" >"$tmp/serve.out" 2>"$tmp/serve.err" &
serve=$!
pids+=("$serve")
until grep -q '^serving ' "$tmp/serve.err"; do
	kill -0 "$serve" 2>/dev/null || { cat "$tmp/serve.err" >&2; exit 3; }
	sleep 0.05
done

# 1200 req/s in all for 10 s after a second of warm-up, each on a new connection (keep-alive
# off, so that each is a new placement by the accept race): each host 400 req/s, all
# three starting together 3 s from now.
bin/clusterbench split --hosts "$hosts" --url "http://$server:$port/" --rate 1200 --duration 10s \
	--warmup 1s --concurrency 24 --keepalive=false --start +3s --image registry.example/vegeta:12.12.0 -o "$out/split"

attackers=()
for i in "${!load[@]}"; do
	setpriv --pdeathsig KILL -- nsenter --net=/proc/"${load[$i]}"/ns/net -- unshare --pid --fork --kill-child --mount-proc -- \
		sh "$out/split/attack.sh" "$i" "$out/results/$i.bin" 2>"$tmp/attack-$i.err" &
	attackers+=($!)
	pids+=($!)
done
if [ -n "$kill_after" ]; then
	sleep "$kill_after"
	kill -KILL "${attackers[1]}" # the host, and with it everything it runs
	echo "killed load host 1 after $kill_after"
fi
for i in "${!attackers[@]}"; do
	if ! wait "${attackers[$i]}"; then
		[ -n "$kill_after" ] && [ "$i" = 1 ] && continue # the host killed on purpose
		cat "$tmp/attack-$i.err" >&2
		exit 3
	fi
done

kill -INT -- "-$serve" # to its process group: unshare leaves SIGINT to serve
wait "$serve" || { cat "$tmp/serve.err" >&2; exit 3; }
cat "$tmp/serve.out"

status=0
bin/clusterbench merge --plan "$out/split" -o "$out/merged" "$out/serve" "$out"/results/*.bin || status=$?
exit "$status"
