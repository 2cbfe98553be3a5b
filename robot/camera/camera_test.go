package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/vstgo/vst/policy"
)

// colorOf is the RGB colour of frame i of the test clips; neighbours differ
// by far more than the codecs' error.
func colorOf(i int) [3]uint8 {
	return [3]uint8{uint8(30 + 40*(i%6)), uint8(220 - 50*(i%4)), uint8(60 + 90*(i%3))}
}

// solid returns a w×h BGR Mat filled with rgb. The caller closes it.
func solid(rgb [3]uint8, w, h int) gocv.Mat {
	return gocv.NewMatWithSizeFromScalar(gocv.NewScalar(float64(rgb[2]), float64(rgb[1]), float64(rgb[0]), 0), h, w, gocv.MatTypeCV8UC3)
}

// writeClip writes n solid frames (frame i in colorOf(i)) with OpenCV's
// own writer, as a camera test fixture.
func writeClip(t testing.TB, path, codec string, n, w, h int, fps float64) {
	t.Helper()
	vw, err := gocv.VideoWriterFile(path, codec, fps, w, h, true)
	require.NoError(t, err)
	defer vw.Close()
	require.True(t, vw.IsOpened(), "writer for %s", path)
	for i := range n {
		m := solid(colorOf(i), w, h)
		err := vw.Write(m)
		m.Close()
		require.NoError(t, err)
	}
}

// pixel returns the RGB pixel at (x, y).
func pixel(im policy.Image, x, y int) [3]uint8 {
	o := (y*im.W + x) * 3
	return [3]uint8{im.Pix[o], im.Pix[o+1], im.Pix[o+2]}
}

// near asserts that got is within tol of want in every channel.
func near(t *testing.T, want, got [3]uint8, tol int, msg string, args ...any) {
	t.Helper()
	for c := range 3 {
		if d := int(want[c]) - int(got[c]); d > tol || d < -tol {
			assert.Failf(t, "colour differs", "%s: want %v, got %v", fmt.Sprintf(msg, args...), want, got)
			return
		}
	}
}

// noGoroutineLeak fails when the goroutine count does not come back to
// what it was when it was called.
func noGoroutineLeak(t *testing.T) func() {
	base := runtime.NumGoroutine()
	return func() {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		assert.LessOrEqual(t, runtime.NumGoroutine(), base, "goroutines")
	}
}

func start(t *testing.T, cfg Config) *Camera {
	t.Helper()
	c, err := New(cfg)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background()))
	return c
}

// drain takes frames with Next until the camera ends.
func drain(t *testing.T, c *Camera) ([]Frame, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []Frame
	for {
		f, err := c.Next(ctx)
		if err != nil {
			return got, err
		}
		got = append(got, f)
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		err  string
	}{
		{"defaults", Config{Source: "clip.mp4"}, ""},
		{"no source", Config{}, "camera: Source is empty"},
		{"negative size", Config{Source: "0", Width: -1}, "camera: size -1x0 is negative"},
		{"bad fit", Config{Source: "0", Fit: 7}, "camera: unknown Fit(7)"},
		{"NaN fps", Config{Source: "0", FPS: math.NaN()}, "camera: FPS is NaN"},
		{"negative delay", Config{Source: "0", ReconnectDelay: -time.Second}, "camera: negative reconnect delay -1s, max 0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.cfg)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, 224, c.cfg.Width)
			assert.Equal(t, 224, c.cfg.Height)
			assert.Equal(t, 500*time.Millisecond, c.cfg.ReconnectDelay)
			assert.Equal(t, 5*time.Second, c.cfg.MaxReconnectDelay)
			require.NoError(t, c.Close())
		})
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		src  string
		kind kind
		dev  int
	}{
		{"0", kindDevice, 0},
		{"12", kindDevice, 12},
		{"-1", kindFile, 0},
		{"+1", kindFile, 0},
		{"rtsp://cam.local:554/stream", kindStream, 0},
		{"http://10.0.0.2:8080/video.mjpg", kindStream, 0},
		{"videotestsrc ! videoconvert ! appsink", kindStream, 0},
		{"/data/clip.mp4", kindFile, 0},
		{"frames/frame_%03d.png", kindFile, 0},
	} {
		t.Run(tc.src, func(t *testing.T) {
			k, dev := classify(tc.src)
			assert.Equal(t, tc.kind, k)
			assert.Equal(t, tc.dev, dev)
		})
	}
}

// TestFileSource reads a clip through a Camera: every frame it hands out is
// the right colour, in RGB order, padded to 224×224, in order, stamped with
// increasing times, and the counters add up.
func TestFileSource(t *testing.T) {
	defer noGoroutineLeak(t)()
	path := filepath.Join(t.TempDir(), "clip.avi")
	const n = 10
	writeClip(t, path, "MJPG", n, 320, 240, 10)

	c := start(t, Config{Source: path, FPS: -1})
	defer c.Close()
	got, err := drain(t, c)
	require.ErrorIs(t, err, io.EOF)
	require.NotEmpty(t, got)

	// 320×240 padded to 224×224: 224×168 of picture, 28 black rows on top.
	for i, f := range got {
		require.NoError(t, f.Validate())
		require.Equal(t, 224, f.W)
		require.Equal(t, 224, f.H)
		near(t, colorOf(int(f.Seq)-1), pixel(f.Image, 112, 112), 8, "frame %d centre", f.Seq)
		near(t, [3]uint8{}, pixel(f.Image, 112, 27), 0, "frame %d padding", f.Seq)
		near(t, colorOf(int(f.Seq)-1), pixel(f.Image, 0, 28), 8, "frame %d first row", f.Seq)
		if i > 0 {
			assert.Greater(t, f.Seq, got[i-1].Seq)
			assert.True(t, f.Time.After(got[i-1].Time), "times increase")
		}
	}
	st := c.Stats()
	assert.Equal(t, uint64(n), st.FramesRead)
	assert.Equal(t, uint64(n), uint64(len(got))+st.FramesDropped, "handed out + dropped")
	assert.Equal(t, uint64(n), got[len(got)-1].Seq, "last frame handed out")
	assert.Zero(t, st.ReadErrors)
	assert.Zero(t, st.Reconnects)
	assert.False(t, st.Connected)
	last, ok := c.Latest()
	assert.True(t, ok)
	assert.Equal(t, uint64(n), last.Seq)
}

// TestPacing plays a file at its own frame rate.
func TestPacing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clip.avi")
	writeClip(t, path, "MJPG", 6, 64, 48, 50)
	c := start(t, Config{Source: path, Width: 32, Height: 24})
	defer c.Close()
	t0 := time.Now()
	got, err := drain(t, c)
	require.ErrorIs(t, err, io.EOF)
	assert.GreaterOrEqual(t, time.Since(t0), 90*time.Millisecond, "5 intervals of 20 ms")
	assert.Equal(t, uint64(6), c.Stats().FramesRead)
	require.NotEmpty(t, got)
	if len(got) > 1 {
		assert.GreaterOrEqual(t, got[len(got)-1].Time.Sub(got[0].Time), 15*time.Millisecond*time.Duration(got[len(got)-1].Seq-got[0].Seq))
	}
}

// TestImageSequence reads a printf image sequence, cropped and rotated.
func TestImageSequence(t *testing.T) {
	dir := t.TempDir()
	top, bottom := [3]uint8{250, 0, 0}, [3]uint8{0, 0, 250}
	for i := range 5 {
		m := solid(top, 64, 32)
		low := m.RowRange(16, 32)
		low.SetTo(gocv.NewScalar(float64(bottom[2]), float64(bottom[1]), float64(bottom[0]), 0))
		low.Close()
		ok := gocv.IMWrite(filepath.Join(dir, fmt.Sprintf("frame_%03d.png", i)), m)
		m.Close()
		require.True(t, ok)
	}
	c := start(t, Config{Source: filepath.Join(dir, "frame_%03d.png"), Width: 16, Height: 16, Fit: FitCrop, Rotate180: true, FPS: -1})
	defer c.Close()
	got, err := drain(t, c)
	require.ErrorIs(t, err, io.EOF)
	assert.Equal(t, uint64(5), c.Stats().FramesRead)
	require.NotEmpty(t, got)
	for _, f := range got {
		require.Equal(t, 16, f.W)
		require.Equal(t, 16, f.H)
		near(t, bottom, pixel(f.Image, 8, 2), 0, "rotated: the bottom colour is on top")
		near(t, top, pixel(f.Image, 8, 13), 0, "rotated: the top colour is below")
	}
}

// TestLoop restarts a file at its end and keeps numbering frames.
func TestLoop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clip.avi")
	writeClip(t, path, "MJPG", 3, 64, 48, 10)
	c := start(t, Config{Source: path, Loop: true, FPS: -1, Width: 32, Height: 24})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		f, err := c.Next(ctx)
		require.NoError(t, err)
		near(t, colorOf(int(f.Seq-1)%3), pixel(f.Image, 16, 12), 8, "frame %d", f.Seq)
		if f.Seq > 9 {
			break
		}
	}
	st := c.Stats()
	assert.Zero(t, st.Reconnects)
	assert.Zero(t, st.ReadErrors)
}

// TestWaitForSource starts on a file that does not exist yet and picks it up
// once it appears.
func TestWaitForSource(t *testing.T) {
	defer noGoroutineLeak(t)()
	dir := t.TempDir()
	path := filepath.Join(dir, "late.avi")
	c := start(t, Config{Source: path, WaitForSource: true, ReconnectDelay: 5 * time.Millisecond, MaxReconnectDelay: 20 * time.Millisecond, FPS: -1})
	defer c.Close()
	_, ok := c.Latest()
	assert.False(t, ok, "no frame yet")
	st := c.Stats()
	assert.False(t, st.Connected)
	assert.GreaterOrEqual(t, st.OpenErrors, uint64(1))
	assert.Contains(t, st.LastError, "no such file or directory")

	tmp := filepath.Join(dir, "writing.avi")
	writeClip(t, tmp, "MJPG", 4, 64, 48, 10)
	require.NoError(t, os.Rename(tmp, path))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, err := c.Next(ctx)
	require.NoError(t, err)
	near(t, colorOf(int(f.Seq)-1), pixel(f.Image, 112, 112), 8, "frame %d", f.Seq)
	assert.Equal(t, uint64(1), c.Stats().Reconnects)
}

// flaky wraps a real capture and fails every read after the first ok.
type flaky struct {
	capture
	ok int
}

func (f *flaky) Read(m *gocv.Mat) bool {
	if f.ok == 0 {
		return false
	}
	f.ok--
	return f.capture.Read(m)
}

// TestReconnect drops a live source mid-stream, fails to reopen it twice,
// then gets it back: the camera backs off, reconnects and goes on.
func TestReconnect(t *testing.T) {
	defer noGoroutineLeak(t)()
	path := filepath.Join(t.TempDir(), "clip.avi")
	writeClip(t, path, "MJPG", 8, 64, 48, 10)
	c, err := New(Config{Source: "rtsp://camera.invalid/stream", ReconnectDelay: 2 * time.Millisecond, Width: 32, Height: 24})
	require.NoError(t, err)
	attempts := 0
	c.open = func() (capture, float64, error) {
		attempts++
		switch attempts {
		case 2, 3:
			return nil, 0, errors.New("connection refused")
		}
		vc, fps, err := openCapture(path)
		if err != nil {
			return nil, 0, err
		}
		return &flaky{capture: vc, ok: 2}, fps, nil
	}
	require.NoError(t, c.Start(context.Background()))
	defer c.Close()
	require.Eventually(t, func() bool { return c.Stats().FramesRead >= 4 }, 5*time.Second, time.Millisecond)
	require.NoError(t, c.Close())
	st := c.Stats()
	assert.GreaterOrEqual(t, st.Reconnects, uint64(1))
	assert.GreaterOrEqual(t, st.OpenErrors, uint64(2))
	assert.GreaterOrEqual(t, st.ReadErrors, uint64(2))
	assert.False(t, st.Connected)
	assert.NotEmpty(t, st.LastError)
	f, ok := c.Latest()
	require.True(t, ok)
	near(t, colorOf(int(f.Seq-1)%2), pixel(f.Image, 16, 12), 8, "frame %d: each session reads frames 0 and 1", f.Seq)
}

func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.mp4")
	require.NoError(t, os.WriteFile(junk, []byte("not a video"), 0o644))
	for _, tc := range []struct {
		name, src, err string
	}{
		{"missing file", filepath.Join(dir, "nope.mp4"), "no such file or directory"},
		{"directory", dir, "is a directory"},
		{"not a video", junk, "OpenCV cannot decode it"},
		{"empty sequence", filepath.Join(dir, "f_%03d.png"), "OpenCV cannot decode it"},
		{"no camera", "99", "no camera at index 99"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer noGoroutineLeak(t)()
			c, err := New(Config{Source: tc.src})
			require.NoError(t, err)
			err = c.Start(context.Background())
			require.Error(t, err)
			assert.Contains(t, err.Error(), fmt.Sprintf("camera: open %q: ", tc.src))
			assert.Contains(t, err.Error(), tc.err)
			require.NoError(t, c.Close())
		})
	}
}

func TestLifecycle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clip.avi")
	writeClip(t, path, "MJPG", 3, 64, 48, 10)

	t.Run("close stops a playing camera promptly", func(t *testing.T) {
		defer noGoroutineLeak(t)()
		c := start(t, Config{Source: path, Loop: true, FPS: 20})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := c.Next(ctx)
		require.NoError(t, err)
		t0 := time.Now()
		require.NoError(t, c.Close())
		assert.Less(t, time.Since(t0), 500*time.Millisecond)
		_, err = c.Next(ctx)
		assert.ErrorIs(t, err, ErrClosed)
		require.NoError(t, c.Close(), "twice")
		assert.ErrorIs(t, c.Start(ctx), ErrClosed)
	})
	t.Run("close stops a camera waiting to reconnect", func(t *testing.T) {
		defer noGoroutineLeak(t)()
		c := start(t, Config{Source: path + ".missing", WaitForSource: true, ReconnectDelay: time.Hour})
		t0 := time.Now()
		require.NoError(t, c.Close())
		assert.Less(t, time.Since(t0), 500*time.Millisecond)
	})
	t.Run("cancelling the start context ends capture", func(t *testing.T) {
		defer noGoroutineLeak(t)()
		c, err := New(Config{Source: path, Loop: true, FPS: 20})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		require.NoError(t, c.Start(ctx))
		cancel()
		next, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		_, err = c.Next(next)
		for err == nil {
			_, err = c.Next(next)
		}
		assert.ErrorIs(t, err, context.Canceled)
		require.NoError(t, c.Close())
	})
	t.Run("start twice", func(t *testing.T) {
		c := start(t, Config{Source: path})
		defer c.Close()
		assert.EqualError(t, c.Start(context.Background()), "camera: already started")
	})
	t.Run("next honours its context", func(t *testing.T) {
		c := start(t, Config{Source: path + ".missing", WaitForSource: true, ReconnectDelay: time.Hour})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, err := c.Next(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("stats and close while opening", func(t *testing.T) {
		defer noGoroutineLeak(t)()
		c, err := New(Config{Source: "rtsp://slow.invalid/stream"})
		require.NoError(t, err)
		opening, release := make(chan struct{}), make(chan struct{})
		c.open = func() (capture, float64, error) {
			close(opening)
			<-release
			return nil, 0, errors.New("timed out")
		}
		started := make(chan error)
		go func() { started <- c.Start(context.Background()) }()
		<-opening
		assert.False(t, c.Stats().Connected, "Stats does not wait for the open")
		closed := make(chan struct{})
		go func() { _ = c.Close(); close(closed) }()
		close(release)
		require.ErrorContains(t, <-started, "timed out")
		<-closed
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = c.Next(ctx)
		assert.ErrorIs(t, err, ErrClosed)
	})
	t.Run("retry start after a failed open", func(t *testing.T) {
		missing := path + ".later"
		c, err := New(Config{Source: missing, FPS: -1})
		require.NoError(t, err)
		defer c.Close()
		require.ErrorContains(t, c.Start(context.Background()), "no such file")
		require.NoError(t, os.Link(path, missing))
		require.NoError(t, c.Start(context.Background()))
		_, err = drain(t, c)
		assert.ErrorIs(t, err, io.EOF)
	})
	t.Run("concurrent readers", func(t *testing.T) {
		defer noGoroutineLeak(t)()
		c := start(t, Config{Source: path, Loop: true, FPS: -1, Width: 32, Height: 24})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				for range 50 {
					if f, ok := c.Latest(); ok {
						assert.NoError(t, f.Validate())
					}
					_ = c.Stats()
					_, err := c.Next(ctx)
					assert.NoError(t, err)
				}
			})
		}
		wg.Wait()
		require.NoError(t, c.Close())
		st := c.Stats()
		assert.GreaterOrEqual(t, st.FramesRead, uint64(50))
	})
	t.Run("close without start", func(t *testing.T) {
		c, err := New(Config{Source: path})
		require.NoError(t, err)
		require.NoError(t, c.Close())
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = c.Next(ctx)
		assert.ErrorIs(t, err, ErrClosed)
	})
}

// TestSolidHelper guards the fixture: solid takes RGB and stores BGR.
func TestSolidHelper(t *testing.T) {
	m := solid([3]uint8{1, 2, 3}, 2, 2)
	defer m.Close()
	v := m.GetVecbAt(0, 0)
	assert.Equal(t, []uint8{3, 2, 1}, []uint8{v[0], v[1], v[2]})
}
