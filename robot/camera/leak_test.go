//go:build !matprofile

package camera

// checkMatLeaks is the hook for gocv's Mat profile, which exists only in
// builds with -tags matprofile (see leak_matprofile_test.go); without it
// there is nothing to count, and the pipeline tests check that every Mat
// the pipeline owns is released.
func checkMatLeaks() int { return 0 }
