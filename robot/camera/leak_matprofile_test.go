//go:build matprofile

package camera

import (
	"fmt"
	"os"
	"strings"

	"gocv.io/x/gocv"
)

// checkMatLeaks fails the run when a Mat created by any test (or by the
// code under test) is still open after every test has finished, and prints
// where each was created.
func checkMatLeaks() int {
	n := gocv.MatProfile.Count()
	if n == 0 {
		fmt.Println("matprofile: no Mat left open")
		return 0
	}
	var b strings.Builder
	if err := gocv.MatProfile.WriteTo(&b, 1); err != nil {
		fmt.Fprintln(os.Stderr, "matprofile:", err)
	}
	fmt.Fprintf(os.Stderr, "matprofile: %d Mats left open:\n%s", n, b.String())
	return 1
}
