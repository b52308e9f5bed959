package modes

import (
	"hash/fnv"
	"image/color"
)

// looks gives every mode with each of its policies, as reports label them
// ("mode" or "mode:policy"), its colour, so that a mode looks the same in
// every report whatever else ran beside it. A mode's policies share a hue,
// It is a plain table, not a field of Info, because
// reports read it and must not start processes: Node's Info asks node for
// its version. TestColours keeps it complete for Specs.
var looks = []struct {
	label  string
	colour color.RGBA
}{
	{"shared:race", rgb(0x4e79a7)},
	{"shared:exclusive", rgb(0xa0cbe8)},
	{"shared:blocking", rgb(0x1c3d66)},
	{"reuseport", rgb(0xf28e2b)},
	{"reuseport:migrate", rgb(0xffbe7d)},
	{"roundrobin:free", rgb(0xe15759)},
	{"roundrobin:rotate", rgb(0xff9d9a)},
	{"iptables:nth", rgb(0x59a14f)},
	{"iptables:random", rgb(0x8cd17d)},
	{"nginx:round-robin", rgb(0xb6992d)},
	{"nginx:least_conn", rgb(0xdbdb8d)},
	{"haproxy:roundrobin", rgb(0x17becf)},
	{"haproxy:leastconn", rgb(0x86bcb6)},
	{"node-rr", rgb(0xb07aa1)},
	{"node-none", rgb(0xd4a6c8)},
	{"single", rgb(0x9d7660)},
}

// olderLabels are labels of records from before a mode had policies: they
// name what is now its default, so they look like it.
var olderLabels = map[string]string{
	"shared":     "shared:race",
	"roundrobin": "roundrobin:free",
	"iptables":   "iptables:nth",
	"nginx":      "nginx:round-robin",
	"haproxy":    "haproxy:roundrobin",
}

// spareColours are for labels the table does not know (a mode since
// removed): a hash of the label picks one, so they too are stable.
var spareColours = []color.RGBA{rgb(0xe377c2), rgb(0x7f7f7f), rgb(0x7b4173), rgb(0x637939), rgb(0x8c564b)}

// Look returns the colour of a mode label and a number that tells it
// apart from the other labels, for a marker: its place in the table, or
// past the table's end for a label it does not know.
func Look(label string) (color.RGBA, int) {
	if newer, ok := olderLabels[label]; ok {
		label = newer
	}
	for i, l := range looks {
		if l.label == label {
			return l.colour, i
		}
	}
	h := fnv.New32a()
	h.Write([]byte(label))
	sum := int(h.Sum32() % (1 << 16))
	return spareColours[sum%len(spareColours)], len(looks) + sum
}

func rgb(hex uint32) color.RGBA {
	return color.RGBA{R: uint8(hex >> 16), G: uint8(hex >> 8), B: uint8(hex), A: 0xff}
}

// Known is how many labels the table knows: Look numbers them below it.
func Known() int { return len(looks) }
