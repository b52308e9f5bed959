package modes

import (
	"image/color"
	"math"
	"testing"
)

// Every mode with each policy has a colour of its own in the table, far
// enough from every other to tell apart: a report draws each label in its
// colour whatever else ran.
func TestColours(t *testing.T) {
	specs := Specs()
	if len(specs) < 2 {
		t.Fatalf("%d specs registered", len(specs))
	}
	for i, a := range specs {
		ca, na := Look(a.String())
		if na >= len(looks) {
			t.Errorf("%s has no colour in the table (it gets a spare one)", a)
		}
		for _, b := range specs[i+1:] {
			cb, nb := Look(b.String())
			if d := distance(ca, cb); d < 40 {
				t.Errorf("%s and %s look alike: colours %v and %v, %.0f apart", a, b, ca, cb, d)
			}
			if na == nb {
				t.Errorf("%s and %s share the marker number %d", a, b, na)
			}
		}
	}
	// Spare colours stay clear of the table's too.
	for _, s := range spareColours {
		for _, l := range looks {
			if d := distance(s, l.colour); d < 40 {
				t.Errorf("spare colour %v is %.0f from %s's", s, d, l.label)
			}
		}
	}
}

// Labels of older records look like what they name today, and a label
// the table does not know gets a spare colour, the same every time.
func TestColourOfOlderAndUnknownLabels(t *testing.T) {
	for old, now := range olderLabels {
		co, no := Look(old)
		cn, nn := Look(now)
		if co != cn || no != nn || nn >= len(looks) {
			t.Errorf("Look(%q) = %v, %d; want %q's %v, %d from the table", old, co, no, now, cn, nn)
		}
	}
	c1, n1 := Look("gone:mode")
	c2, n2 := Look("gone:mode")
	if c1 != c2 || n1 != n2 {
		t.Errorf("an unknown label looks different twice: %v %d, then %v %d", c1, n1, c2, n2)
	}
	if n1 < len(looks) {
		t.Errorf("unknown label got marker %d, one of the table's", n1)
	}
	spare := false
	for _, s := range spareColours {
		spare = spare || s == c1
	}
	if !spare {
		t.Errorf("unknown label's colour %v is not a spare one", c1)
	}
}

func distance(a, b color.RGBA) float64 {
	dr, dg, db := float64(a.R)-float64(b.R), float64(a.G)-float64(b.G), float64(a.B)-float64(b.B)
	return math.Sqrt(dr*dr + dg*dg + db*db)
}
