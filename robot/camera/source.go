package camera

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"gocv.io/x/gocv"
)

// capture is what a camera reads frames from: gocv's VideoCapture, or a
// test double.
type capture interface {
	// Read decodes the next frame into m; false means none came.
	Read(m *gocv.Mat) bool
	// Close releases the source.
	Close() error
}

// kind is the family of a source string.
type kind int

const (
	kindFile   kind = iota // a video file or a printf image sequence: ends
	kindDevice             // a camera index: live
	kindStream             // a URL or a GStreamer pipeline: live
)

func (k kind) live() bool { return k != kindFile }

// classify tells what kind of source s names; for a device it also returns
// the index.
func classify(s string) (kind, int) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && strings.Trim(s, "0123456789") == "" {
		return kindDevice, n
	}
	if strings.Contains(s, "://") || strings.Contains(s, "appsink") {
		return kindStream, 0
	}
	return kindFile, 0
}

// openCapture opens source and returns it with the frame rate it reports
// (0 when it reports none).
func openCapture(source string) (*gocv.VideoCapture, float64, error) {
	k, dev := classify(source)
	if k == kindFile && !strings.Contains(source, "%") {
		// OpenCV's own message for a missing file is just "Error opening
		// file"; the OS says why.
		st, err := os.Stat(source)
		if err != nil {
			return nil, 0, err
		}
		if st.IsDir() {
			return nil, 0, errors.New("is a directory")
		}
	}
	var vc *gocv.VideoCapture
	var err error
	if k == kindDevice {
		vc, err = gocv.VideoCaptureDevice(dev)
	} else {
		vc, err = gocv.VideoCaptureFile(source)
	}
	if err != nil || !vc.IsOpened() {
		if vc != nil {
			vc.Close()
		}
		switch k {
		case kindDevice:
			return nil, 0, fmt.Errorf("no camera at index %d that OpenCV can open", dev)
		case kindStream:
			return nil, 0, errors.New("OpenCV cannot open the stream (unreachable, or no backend for it)")
		}
		return nil, 0, errors.New("OpenCV cannot decode it (not a video or image sequence it knows, or no frame matches the pattern)")
	}
	return vc, vc.Get(gocv.VideoCaptureFPS), nil
}
