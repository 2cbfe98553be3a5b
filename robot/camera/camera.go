// Package camera captures frames for a policy through OpenCV (gocv): from a
// camera index ("0"), an RTSP/HTTP URL, a video file or a printf image
// sequence ("frames/%04d.png"). A Camera reads in its own goroutine and
// keeps only the newest frame, converted to RGB at the model's size, so a
// control loop never waits on a slow camera; it reconnects when a live
// source drops. ReadVideo and WriteVideo decode and encode whole clips.
//
// Every native OpenCV object (Mats, captures, writers) is freed explicitly
// by the code that creates it; nothing relies on finalizers. Build the tests
// with -tags matprofile to have them count leaked Mats.
package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/vstgo/vst/policy"
)

// ErrClosed is what Next returns once the camera has been closed.
var ErrClosed = errors.New("camera: closed")

// Config configures a Camera.
type Config struct {
	// Source is a camera index ("0"), a URL (rtsp://, http://…), a
	// GStreamer pipeline ending in appsink, a video file (mp4, avi… through
	// Debian's FFmpeg backend) or a printf pattern of an image sequence
	// ("frames/frame_%03d.png"). Required.
	Source string
	// Width and Height are the size of the frames handed out, the model's
	// input size. They default to 224 each.
	Width, Height int
	// Fit says how frames of another aspect ratio are brought to that
	// size. It defaults to FitPad, openpi's resize_with_pad.
	Fit Fit
	// Rotate180 turns every frame by 180°, the LIBERO convention for
	// simulator renders (openpi's LIBERO client does img[::-1, ::-1]). It
	// defaults to false.
	Rotate180 bool
	// FPS is the rate at which a video file or image sequence is played. It
	// defaults to the file's own frame rate (30 when it has none); a
	// negative FPS reads as fast as frames decode. Devices and streams are
	// always read as fast as they deliver, since reading slower makes
	// OpenCV hand out stale buffered frames.
	FPS float64
	// Loop restarts a video file or image sequence at its end (demos). It
	// defaults to false: the camera ends, and Next returns io.EOF.
	Loop bool
	// WaitForSource makes Start succeed when the source cannot be opened
	// yet; the capture goroutine keeps trying (see ReconnectDelay). It
	// defaults to false: Start returns the open error, so a mistyped source
	// fails fast.
	WaitForSource bool
	// ReconnectDelay is the wait before reopening a source that dropped
	// (a failed read of a device or stream, a file that yields no frame) or
	// could not be opened; it doubles after each failed try up to
	// MaxReconnectDelay and resets once a frame is read. It defaults to
	// 500 ms.
	ReconnectDelay time.Duration
	// MaxReconnectDelay caps the backoff. It defaults to 5 s (or
	// ReconnectDelay, if that is longer).
	MaxReconnectDelay time.Duration
}

// Frame is one preprocessed frame.
type Frame struct {
	// Image is the frame in RGB, Config.Width × Config.Height. Its Pix is
	// shared by every caller that receives this frame: do not modify it.
	policy.Image
	// Seq numbers the frames read since Start, from 1. A gap between two
	// frames a consumer received is the number of frames it missed.
	Seq uint64
	// Time is when the frame was read from the source (time.Now right
	// after the read returned); it carries Go's monotonic clock reading,
	// so Time.Sub and time.Since are immune to wall-clock steps.
	Time time.Time
}

// Stats counts what a Camera did since Start.
type Stats struct {
	// FramesRead is the number of frames read and converted.
	FramesRead uint64
	// FramesDropped is the number of frames replaced by a newer one
	// before Latest or Next handed them out.
	FramesDropped uint64
	// Reconnects is the number of times the source was opened again after
	// it dropped or failed to open (restarts of a looping file excluded).
	Reconnects uint64
	// ReadErrors is the number of failed reads (the normal end of a file
	// excluded) and of frames that could not be converted.
	ReadErrors uint64
	// OpenErrors is the number of failed attempts to open the source.
	OpenErrors uint64
	// Connected says whether the source is open now.
	Connected bool
	// LastError describes the latest read or open error; empty if none.
	LastError string
}

// Camera reads frames from a source in a goroutine and keeps the newest.
// Its methods are safe for concurrent use.
type Camera struct {
	cfg  Config
	kind kind
	// open opens the source; tests replace it.
	open func() (capture, float64, error)

	mu      sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelCauseFunc
	done    chan struct{}
	latest  Frame
	fresh   bool          // latest has not been handed out
	notify  chan struct{} // closed and replaced on every change
	end     error         // why capture stopped; nil while it runs
	stats   Stats
}

// New validates cfg, fills in its defaults and returns a camera that has
// not opened its source yet.
func New(cfg Config) (*Camera, error) {
	if cfg.Source == "" {
		return nil, errors.New("camera: Source is empty")
	}
	if cfg.Width < 0 || cfg.Height < 0 {
		return nil, fmt.Errorf("camera: size %dx%d is negative", cfg.Width, cfg.Height)
	}
	if !cfg.Fit.valid() {
		return nil, fmt.Errorf("camera: unknown %v", cfg.Fit)
	}
	if math.IsNaN(cfg.FPS) || math.IsInf(cfg.FPS, 0) {
		return nil, fmt.Errorf("camera: FPS is %v", cfg.FPS)
	}
	if cfg.ReconnectDelay < 0 || cfg.MaxReconnectDelay < 0 {
		return nil, fmt.Errorf("camera: negative reconnect delay %v, max %v", cfg.ReconnectDelay, cfg.MaxReconnectDelay)
	}
	if cfg.Width == 0 {
		cfg.Width = 224
	}
	if cfg.Height == 0 {
		cfg.Height = 224
	}
	if cfg.ReconnectDelay == 0 {
		cfg.ReconnectDelay = 500 * time.Millisecond
	}
	if cfg.MaxReconnectDelay == 0 {
		cfg.MaxReconnectDelay = 5 * time.Second
	}
	cfg.MaxReconnectDelay = max(cfg.MaxReconnectDelay, cfg.ReconnectDelay)
	k, _ := classify(cfg.Source)
	c := &Camera{cfg: cfg, kind: k, notify: make(chan struct{})}
	c.open = func() (capture, float64, error) {
		vc, fps, err := openCapture(cfg.Source)
		if err != nil {
			return nil, 0, err
		}
		return vc, fps, nil
	}
	return c, nil
}

// Start opens the source and starts the capture goroutine, which runs until
// ctx is done or Close is called. Opening a stream can block for the
// backend's own timeout. Without Config.WaitForSource, a source that cannot
// be opened is an error, and Start may be called again.
func (c *Camera) Start(ctx context.Context) error {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return ErrClosed
	case c.started:
		c.mu.Unlock()
		return errors.New("camera: already started")
	}
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	c.started, c.cancel, c.done = true, cancel, done
	c.mu.Unlock()

	// Opening can block (a stream's connect timeout): not under the lock,
	// so Stats, Latest and Close stay responsive.
	src, fps, err := c.open()
	if err != nil {
		err = fmt.Errorf("camera: open %q: %w", c.cfg.Source, err)
		if !c.cfg.WaitForSource {
			cancel(err)
			c.mu.Lock()
			c.started = false
			if c.closed { // Close came during the open
				c.finishLocked(ErrClosed)
			}
			c.mu.Unlock()
			close(done)
			return err
		}
		c.failed(&c.stats.OpenErrors, err)
	} else {
		c.setConnected(true)
	}
	go c.run(ctx, done, src, fps)
	return nil
}

// Close stops the capture goroutine, waits for it (an in-flight read of a
// stream can take as long as the backend's timeout) and frees every native
// resource. It is safe to call more than once, and without Start.
func (c *Camera) Close() error {
	c.mu.Lock()
	started, cancel, done := c.started, c.cancel, c.done
	c.closed = true
	if !started {
		c.finishLocked(ErrClosed)
	}
	c.mu.Unlock()
	if started {
		cancel(ErrClosed)
		<-done
	}
	return nil
}

// Latest returns the newest frame without waiting; false means no frame
// has been read yet. The same frame is returned until a newer one comes.
func (c *Camera) Latest() (Frame, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fresh = false
	return c.latest, c.latest.Seq > 0
}

// Next waits for a frame newer than the last one Latest or Next handed out
// and returns it. When capture has stopped and no such frame is left it
// returns io.EOF (a file ended), ErrClosed (Close) or the cause of the
// context given to Start; it returns ctx's error when ctx is done first.
func (c *Camera) Next(ctx context.Context) (Frame, error) {
	for {
		c.mu.Lock()
		if c.fresh {
			c.fresh = false
			f := c.latest
			c.mu.Unlock()
			return f, nil
		}
		if c.end != nil {
			err := c.end
			c.mu.Unlock()
			return Frame{}, err
		}
		wait := c.notify
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return Frame{}, ctx.Err()
		case <-wait:
		}
	}
}

// Stats returns a snapshot of the counters.
func (c *Camera) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// run is the capture goroutine; it closes done when it returns. It owns
// src, the pipeline and the raw frame Mat, and frees them before that.
func (c *Camera) run(ctx context.Context, done chan<- struct{}, src capture, fps float64) {
	defer close(done)
	pipe := newPipeline(c.cfg.Width, c.cfg.Height, c.cfg.Fit, c.cfg.Rotate180)
	defer pipe.Close()
	raw := gocv.NewMat()
	defer raw.Close()
	defer func() {
		if src != nil {
			src.Close()
		}
		c.mu.Lock()
		c.stats.Connected = false
		c.finishLocked(context.Cause(ctx))
		c.mu.Unlock()
	}()

	delay := c.cfg.ReconnectDelay
	var pace pacer
	pace.period = c.period(fps)
	var seq uint64
	var inSession int // frames read since src was opened
	for ctx.Err() == nil {
		if src == nil {
			if !sleep(ctx, delay) {
				return
			}
			delay = min(2*delay, c.cfg.MaxReconnectDelay)
			var err error
			if src, fps, err = c.open(); err != nil {
				c.failed(&c.stats.OpenErrors, fmt.Errorf("camera: open %q: %w", c.cfg.Source, err))
				continue
			}
			c.reopened(true)
			pace.period, inSession = c.period(fps), 0
		}
		if !pace.wait(ctx) {
			return
		}
		ok := src.Read(&raw)
		now := time.Now()
		if !ok || raw.Empty() {
			src.Close()
			src = nil
			c.setConnected(false)
			if !c.kind.live() && inSession > 0 {
				// The normal end of a file.
				if !c.cfg.Loop {
					c.mu.Lock()
					c.finishLocked(io.EOF)
					c.mu.Unlock()
					return
				}
				var err error
				if src, fps, err = c.open(); err != nil {
					c.failed(&c.stats.OpenErrors, fmt.Errorf("camera: reopen %q: %w", c.cfg.Source, err))
					continue
				}
				c.reopened(false)
				pace.period, inSession = c.period(fps), 0
				continue
			}
			c.failed(&c.stats.ReadErrors, fmt.Errorf("camera: read %q: no frame", c.cfg.Source))
			continue
		}
		img, err := pipe.process(raw)
		if err != nil {
			c.failed(&c.stats.ReadErrors, fmt.Errorf("camera: frame from %q: %w", c.cfg.Source, err))
			continue
		}
		inSession++
		delay = c.cfg.ReconnectDelay
		seq++
		c.publish(Frame{Image: img, Seq: seq, Time: now})
	}
}

// period is the pause between reads of a source that reports fps.
func (c *Camera) period(fps float64) time.Duration {
	if c.kind.live() || c.cfg.FPS < 0 {
		return 0
	}
	rate := c.cfg.FPS
	if rate == 0 {
		rate = fps
	}
	if !(rate > 0 && rate < 1e6) { // NaN, 0 or nonsense from the container
		rate = 30
	}
	return time.Duration(float64(time.Second) / rate)
}

func (c *Camera) publish(f Frame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fresh {
		c.stats.FramesDropped++
	}
	c.stats.FramesRead++
	c.latest, c.fresh = f, true
	c.signalLocked()
}

func (c *Camera) failed(counter *uint64, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	*counter++
	c.stats.LastError = err.Error()
}

func (c *Camera) reopened(reconnect bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if reconnect {
		c.stats.Reconnects++
	}
	c.stats.Connected = true
}

func (c *Camera) setConnected(v bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Connected = v
}

// finishLocked records why capture stopped (the first reason wins) and
// wakes Next.
func (c *Camera) finishLocked(err error) {
	if c.end == nil {
		c.end = err
		c.signalLocked()
	}
}

func (c *Camera) signalLocked() {
	close(c.notify)
	c.notify = make(chan struct{})
}

// pacer spaces reads period apart, without drift while it keeps up.
type pacer struct {
	period time.Duration
	next   time.Time
}

// wait sleeps until the next read is due; false means ctx ended first.
func (p *pacer) wait(ctx context.Context) bool {
	if p.period <= 0 {
		return true
	}
	now := time.Now()
	if p.next.After(now) {
		if !sleep(ctx, p.next.Sub(now)) {
			return false
		}
		now = p.next
	}
	p.next = now.Add(p.period)
	return true
}

// sleep waits d or until ctx is done; false means ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
