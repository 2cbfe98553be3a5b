package camera

import (
	"os"
	"testing"
)

// TestMain runs the tests, then the Mat leak check (a real one only with
// -tags matprofile). OpenCV's warnings about the broken sources the tests
// open on purpose show with -v; OPENCV_LOG_LEVEL=FATAL in the environment
// silences them (OpenCV reads it before TestMain runs).
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		code = checkMatLeaks()
	}
	os.Exit(code)
}
