package main

import (
	"flag"
	"strings"

	"clusterbench/scenarios"
)

// variantFlags name the two builds a run compares, base and head; with a
// scenario file they replace what its variants section says.
type variantFlags struct {
	app, dir, bin, listen [2]string // base, head
}

var variantSides = [2]string{scenarios.Base, scenarios.Head}

func (v *variantFlags) register(fs *flag.FlagSet) {
	for i, side := range variantSides {
		fs.StringVar(&v.app[i], side+"-app", "", "compare two builds: the "+side+"'s worker app as one shell `COMMAND`, e.g. './server --port $PORT' (run in --"+side+"-dir)")
		fs.StringVar(&v.dir[i], side+"-dir", "", "compare two builds: the `DIR` the "+side+"'s app runs in (its --"+side+"-app, or --worker-command)")
		fs.StringVar(&v.bin[i], side+"-bin", "", "compare two builds of clusterbench: the "+side+"'s clusterbench `EXECUTABLE`, which measures with its own Go worker")
		fs.StringVar(&v.listen[i], side+"-listen", "", "how the "+side+"'s app gets its socket: fd or port (default fd)")
	}
}

func isVariantFlag(name string) bool {
	side, _, ok := strings.Cut(name, "-")
	return ok && (side == scenarios.Base || side == scenarios.Head) && name != side+"-"
}

// apply gives file the variants the flags name, if any, on top of its own.
func (v *variantFlags) apply(fs *flag.FlagSet, file *scenarios.File) error {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || isVariantFlag(f.Name) })
	if !given {
		return nil
	}
	vs := scenarios.Variants{}
	if file.Variants != nil {
		vs = *file.Variants
	}
	for i, target := range []*scenarios.Variant{&vs.Base, &vs.Head} {
		side := variantSides[i]
		set := func(name, value string, field *string) {
			if anyFlag(fs, side+"-"+name) {
				*field = value
			}
		}
		set("app", v.app[i], &target.App)
		set("dir", v.dir[i], &target.Dir)
		set("bin", v.bin[i], &target.Bin)
		set("listen", v.listen[i], &target.Listen)
	}
	return file.SetVariants(&vs)
}
