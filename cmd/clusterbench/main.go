// Command clusterbench measures how multi-process servers should spread
// connections across their workers: it runs the same worker app under every
// distribution mode, drives it with vegeta, and reports throughput, latency
// and each worker's share of the load.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
