// Command vla is the single command-line entry point of vst-go: it runs,
// serves, benchmarks and fine-tunes vision-language-action policies built on
// the VST spatial backbone.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "vla:", err)
		os.Exit(1)
	}
}
