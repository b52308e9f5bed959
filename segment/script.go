package segment

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/template"
	"time"

	"clusterbench/internal/shellquote"
	"clusterbench/worker"
)

// ScriptFile is the script's name in the directory split writes.
const ScriptFile = "attack.sh"

// Script writes the POSIX shell script that runs one host's part of p
// with the vegeta command-line tool: `sh attack.sh HOST [RESULTS]`, HOST
// being the host's name or index. It waits for the plan's start, sends
// the warm-up with the header the workers count apart, then the measured
// attack, whose results go to RESULTS (standard output by default) in
// vegeta's own encoding, which keeps each response's headers.
func Script(w io.Writer, p *Plan) error {
	data := scriptData{Plan: p, Target: shellquote.Quote("GET " + p.URL), WarmupHeader: shellquote.Quote(worker.HeaderWarmup + ": 1")}
	for _, h := range p.Hosts {
		data.Cases = append(data.Cases, scriptCase{
			Patterns: casePatterns(h),
			Vars: fmt.Sprintf("name=%s rate=%s workers=%d max_connections=%d",
				shellquote.Quote(h.Name), rateFlag(h.Rate), h.Concurrency, h.MaxConnections),
			Segment: h.Segment,
		})
		data.Names = append(data.Names, h.Name)
	}
	if !p.Start.IsZero() {
		data.StartNanos = strconv.FormatInt(p.Start.UnixNano(), 10)
	}
	return scriptTemplate.Execute(w, data)
}

type scriptData struct {
	*Plan
	Target, WarmupHeader string
	Cases                []scriptCase
	Names                []string
	StartNanos           string
}

type scriptCase struct{ Patterns, Vars, Segment string }

// casePatterns are the words that pick h: its index, and its name.
func casePatterns(h Host) string {
	idx := strconv.Itoa(h.Index)
	if h.Name == idx {
		return idx
	}
	return idx + "|" + shellquote.Quote(h.Name)
}

// rateFlag is vegeta's -rate for a host: requests per second, or 0 for
// as fast as it can.
func rateFlag(rate int) string {
	if rate == 0 {
		return "0"
	}
	return strconv.Itoa(rate) + "/1s"
}

func duration(d Duration) string { return time.Duration(d).String() }

var scriptTemplate = template.Must(template.New("attack.sh").Funcs(template.FuncMap{
	"duration": duration,
	"join":     func(s []string) string { return strings.Join(s, ", ") },
	"last":     func(n int) int { return n - 1 },
}).Parse(`#!/bin/sh
# One trial's load, divided between {{len .Hosts}} load hosts by clusterbench split
# (segments {{.Sequence}}, as k6's execution segments divide a test):
# {{if .Rate}}{{.Rate}} req/s{{else}}as fast as they can, {{.Concurrency}} requests in flight{{end}} in all for {{duration .Duration}}, keep-alive {{if .KeepAlive}}on{{else}}off{{end}}, to {{.URL}}
#
# On each load host:  sh attack.sh HOST [RESULTS]
#   HOST     its index, 0 to {{last (len .Hosts)}}, or its name: {{join .Names}}
#   RESULTS  where vegeta writes its results (default: standard output)
# VEGETA names the vegeta program (default: vegeta, from PATH).
# Then, on the server's record:  clusterbench merge --plan plan.json SERVE_DIR RESULTS...
set -eu
vegeta=${VEGETA:-vegeta}
case "${1:-}" in
{{- range .Cases}}
{{.Patterns}}) {{.Vars}} ;; # segment {{.Segment}}
{{- end}}
*) echo "attack.sh: no host '${1:-}' in this plan: give its index, 0 to {{last (len .Hosts)}}, or its name" >&2; exit 2 ;;
esac
out=${2:-stdout}
{{- if .StartNanos}}

# Every host starts at the same time on its own clock ({{.Start.UTC.Format "2006-01-02T15:04:05.000Z07:00"}}),
# so the clocks must agree (chrony or NTP); merge reports how far the starts lie apart.
start={{.StartNanos}}
now=$(date +%s%N)
case $now in *[!0-9]*) now=$(date +%s)000000000 ;; esac
if [ "$now" -lt "$start" ]; then
	delay=$((start - now))
	sleep "$((delay / 1000000000)).$(printf %09d $((delay % 1000000000)))"
fi
{{- end}}

# At maximum rate, exactly the concurrency in flight, as clusterbench run's
# closed loop; at a rate, vegeta adds attackers when requests take long.
attack() {
	printf '%s\n' {{.Target}} | "$vegeta" attack -name="$name" -rate="$rate" \
		-workers="$workers"{{if not .Rate}} -max-workers="$workers"{{end}} -max-connections="$max_connections" \
		-keepalive={{.KeepAlive}} -timeout={{duration .Timeout}} -max-body=0 -redirects=-1 "$@"
}
{{- if .Warmup}}
# The warm-up: the workers count its requests apart, and its results are not kept.
attack -duration={{duration .Warmup}} -header={{.WarmupHeader}} >/dev/null
{{- end}}
attack -duration={{duration .Duration}} -output="$out"
`))
