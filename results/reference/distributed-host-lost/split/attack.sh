#!/bin/sh
# One trial's load, divided between 3 load hosts by clusterbench split
# (segments 0,1/3,2/3,1, as k6's execution segments divide a test):
# 1200 req/s in all for 10s, keep-alive off, to http://10.77.0.1:8080/
#
# On each load host:  sh attack.sh HOST [RESULTS]
#   HOST     its index, 0 to 2, or its name: 0, 1, 2
#   RESULTS  where vegeta writes its results (default: standard output)
# VEGETA names the vegeta program (default: vegeta, from PATH).
# Then, on the server's record:  clusterbench merge --plan plan.json SERVE_DIR RESULTS...
set -eu
vegeta=${VEGETA:-vegeta}
case "${1:-}" in
0) name=0 rate=400/1s workers=8 max_connections=0 ;; # segment 0:1/3
1) name=1 rate=400/1s workers=8 max_connections=0 ;; # segment 1/3:2/3
2) name=2 rate=400/1s workers=8 max_connections=0 ;; # segment 2/3:1
*) echo "attack.sh: no host '${1:-}' in this plan: give its index, 0 to 2, or its name" >&2; exit 2 ;;
esac
out=${2:-stdout}

# Every host starts at the same time on its own clock (2026-12-07T02:42:04.996Z),
# so the clocks must agree (chrony or NTP); merge reports how far the starts lie apart.
start=1796611324996251291
now=$(date +%s%N)
case $now in *[!0-9]*) now=$(date +%s)000000000 ;; esac
if [ "$now" -lt "$start" ]; then
	delay=$((start - now))
	sleep "$((delay / 1000000000)).$(printf %09d $((delay % 1000000000)))"
fi

# At maximum rate, exactly the concurrency in flight, as clusterbench run's
# closed loop; at a rate, vegeta adds attackers when requests take long.
attack() {
	printf '%s\n' 'GET http://10.77.0.1:8080/' | "$vegeta" attack -name="$name" -rate="$rate" \
		-workers="$workers" -max-connections="$max_connections" \
		-keepalive=false -timeout=10s -max-body=0 -redirects=-1 "$@"
}
# The warm-up: the workers count its requests apart, and its results are not kept.
attack -duration=1s -header='X-Clusterbench-Warmup: 1' >/dev/null
attack -duration=10s -output="$out"
