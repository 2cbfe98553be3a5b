package mujoco

/*
#cgo LDFLAGS: -lOSMesa
#include <stdlib.h>
#include <GL/osmesa.h>
#include <mujoco/mujoco.h>

typedef struct {
	OSMesaContext ctx;
	void* buf;
	int w, h;
	mjvScene scn;
	mjrContext con;
	mjvOption opt;
	mjvCamera cam;
} vstRenderer;

// vstRendererNew creates an OSMesa context current on the calling thread and
// MuJoCo's rendering context for m. It returns NULL and a message on failure.
static vstRenderer* vstRendererNew(const mjModel* m, int w, int h, int shadows, const char** msg) {
	vstRenderer* r = (vstRenderer*)calloc(1, sizeof(vstRenderer));
	if (!r) { *msg = "out of memory"; return NULL; }
	r->w = w; r->h = h;
	r->ctx = OSMesaCreateContextExt(OSMESA_RGBA, 24, 8, 0, NULL);
	if (!r->ctx) { free(r); *msg = "OSMesaCreateContextExt failed"; return NULL; }
	r->buf = malloc((size_t)w * h * 4);
	if (!r->buf) { OSMesaDestroyContext(r->ctx); free(r); *msg = "out of memory"; return NULL; }
	if (!OSMesaMakeCurrent(r->ctx, r->buf, GL_UNSIGNED_BYTE, w, h)) {
		OSMesaDestroyContext(r->ctx); free(r->buf); free(r);
		*msg = "OSMesaMakeCurrent failed";
		return NULL;
	}
	mjv_defaultScene(&r->scn);
	mjv_makeScene(m, &r->scn, 2000);
	mjv_defaultOption(&r->opt);
	mjv_defaultCamera(&r->cam);
	r->cam.type = mjCAMERA_FIXED;
	mjr_defaultContext(&r->con);
	mjr_makeContext(m, &r->con, mjFONTSCALE_100);
	mjr_setBuffer(mjFB_OFFSCREEN, &r->con);
	if (r->con.currentBuffer != mjFB_OFFSCREEN) {
		mjr_freeContext(&r->con); mjv_freeScene(&r->scn);
		OSMesaDestroyContext(r->ctx); free(r->buf); free(r);
		*msg = "offscreen framebuffer not supported";
		return NULL;
	}
	r->scn.flags[mjRND_SHADOW] = shadows ? 1 : 0;
	r->scn.flags[mjRND_SKYBOX] = 0;
	// Sites are markers and regions, drawn as fully transparent boxes:
	// skip them.
	for (int i = 0; i < mjNGROUP; i++) r->opt.sitegroup[i] = 0;
	return r;
}

// vstRendererRender2 draws camera cam0 and, when cam1 >= 0, camera cam1
// from one scene update: the geometry is collected once and only the
// camera (and the headlight that follows it) changes for the second image.
// Null rgb or depth pointers skip that readback.
static void vstRendererRender2(vstRenderer* r, const mjModel* m, mjData* d,
                               int cam0, unsigned char* rgb0, float* depth0,
                               int cam1, unsigned char* rgb1, float* depth1) {
	mjrRect vp = {0, 0, r->w, r->h};
	r->cam.fixedcamid = cam0;
	// The headlight follows scn->camera, which mjv_updateScene sets after
	// making the lights: place the camera first so the light matches it.
	mjv_updateCamera(m, d, &r->cam, &r->scn);
	mjv_updateScene(m, d, &r->opt, NULL, &r->cam, mjCAT_ALL, &r->scn);
	mjr_render(vp, &r->scn, &r->con);
	if (rgb0 || depth0) mjr_readPixels(rgb0, depth0, vp, &r->con);
	if (cam1 < 0) return;
	r->cam.fixedcamid = cam1;
	mjv_updateCamera(m, d, &r->cam, &r->scn);
	mjv_makeLights(m, d, &r->scn);
	mjr_render(vp, &r->scn, &r->con);
	if (rgb1 || depth1) mjr_readPixels(rgb1, depth1, vp, &r->con);
}

static void vstRendererFree(vstRenderer* r) {
	mjr_freeContext(&r->con);
	mjv_freeScene(&r->scn);
	OSMesaDestroyContext(r->ctx);
	free(r->buf);
	free(r);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"sync"
	"unsafe"
)

// singleThreadLLVMpipe makes Mesa's llvmpipe rasterize on the thread that
// draws (LP_NUM_THREADS=0) unless the user chose a thread count. Mesa reads
// the variable once, when the process's first OSMesa context is created.
// Small images render faster without the hand-off to llvmpipe's worker
// threads (about 5% more steps/s at 128×128 on a 2-core machine), and
// parallel environments, one per worker, already keep every core busy.
var singleThreadLLVMpipe = sync.OnceValue(func() error {
	if _, ok := os.LookupEnv("LP_NUM_THREADS"); ok {
		return nil
	}
	if err := os.Setenv("LP_NUM_THREADS", "0"); err != nil {
		return fmt.Errorf("mujoco: set LP_NUM_THREADS: %w", err)
	}
	return nil
})

// RendererConfig configures an offscreen Renderer.
type RendererConfig struct {
	// Width and Height are the image size in pixels. They default to 128
	// and must not exceed the model's offscreen buffer
	// (<visual><global offwidth offheight/>).
	Width, Height int
	// Shadows turns on shadow mapping (about twice the cost per image). It
	// defaults to false.
	Shadows bool
}

// Renderer draws a model's fixed cameras offscreen on the CPU through OSMesa.
// OpenGL contexts belong to one OS thread, so a Renderer owns a goroutine
// locked to its own thread and runs every GL call there; its methods may be
// called from any goroutine, one at a time.
type Renderer struct {
	m      *Model
	w, h   int
	reqs   chan func()
	done   chan struct{}
	ack    chan struct{}
	closed bool
	r      *C.vstRenderer
	rowBuf []uint8
}

// NewRenderer creates the GL and MuJoCo rendering contexts for m. The
// first call in a process sets LP_NUM_THREADS=0 (llvmpipe rasterizes on the
// render thread) unless LP_NUM_THREADS is already set.
func NewRenderer(m *Model, cfg RendererConfig) (*Renderer, error) {
	if m == nil || m.m == nil {
		return nil, ErrClosed
	}
	if cfg.Width == 0 {
		cfg.Width = 128
	}
	if cfg.Height == 0 {
		cfg.Height = 128
	}
	ow, oh := m.OffscreenSize()
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > ow || cfg.Height > oh {
		return nil, fmt.Errorf("mujoco: render size %dx%d outside 1x1..%dx%d (the model's offscreen buffer)", cfg.Width, cfg.Height, ow, oh)
	}
	if err := singleThreadLLVMpipe(); err != nil {
		return nil, err
	}
	r := &Renderer{m: m, w: cfg.Width, h: cfg.Height, reqs: make(chan func()), ack: make(chan struct{}), done: make(chan struct{})}
	started := make(chan error)
	go r.loop(cfg.Shadows, started)
	if err := <-started; err != nil {
		return nil, err
	}
	r.rowBuf = make([]uint8, 3*r.w)
	return r, nil
}

func (r *Renderer) loop(shadows bool, started chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(r.done)
	sh := C.int(0)
	if shadows {
		sh = 1
	}
	var msg *C.char
	r.r = C.vstRendererNew(r.m.m, C.int(r.w), C.int(r.h), sh, &msg)
	if r.r == nil {
		started <- fmt.Errorf("mujoco: create renderer: %s", C.GoString(msg))
		return
	}
	started <- nil
	for f := range r.reqs {
		f()
		r.ack <- struct{}{}
	}
	C.vstRendererFree(r.r)
	r.r = nil
}

// Size returns the image width and height.
func (r *Renderer) Size() (w, h int) { return r.w, r.h }

// Render draws camera id with the state in d. rgb, when non-nil, receives
// H·W·3 bytes of RGB in row-major order, top row first; depth, when
// non-nil, receives H·W distances along the optical axis in metres.
func (r *Renderer) Render(d *Data, camera int, rgb []uint8, depth []float32) error {
	return r.RenderCameras(d, []Frame{{Camera: camera, RGB: rgb, Depth: depth}})
}

// Frame is one image request for RenderCameras.
type Frame struct {
	// Camera is the fixed camera id.
	Camera int
	// RGB, when non-nil, receives H·W·3 bytes (see Render); Depth, when
	// non-nil, H·W metric depths.
	RGB   []uint8
	Depth []float32
}

// RenderCameras draws several cameras of the same state, collecting the
// scene once and running one request on the render thread per pair of
// cameras; it is cheaper than one Render per camera.
func (r *Renderer) RenderCameras(d *Data, frames []Frame) error {
	if r.closed {
		return ErrClosed
	}
	if d == nil || !d.ok() {
		return ErrClosed
	}
	if d.m != r.m {
		return errors.New("mujoco: data belongs to another model than the renderer")
	}
	for _, f := range frames {
		if !inRange(f.Camera, r.m.NCamera()) {
			return fmt.Errorf("mujoco: camera id %d out of range [0,%d)", f.Camera, r.m.NCamera())
		}
		if f.RGB != nil && len(f.RGB) != 3*r.w*r.h {
			return fmt.Errorf("mujoco: rgb buffer needs %d bytes, has %d", 3*r.w*r.h, len(f.RGB))
		}
		if f.Depth != nil && len(f.Depth) != r.w*r.h {
			return fmt.Errorf("mujoco: depth buffer needs %d values, has %d", r.w*r.h, len(f.Depth))
		}
	}
	ptrs := func(f Frame) (*C.uchar, *C.float) {
		var prgb *C.uchar
		var pz *C.float
		if f.RGB != nil {
			prgb = (*C.uchar)(unsafe.Pointer(&f.RGB[0]))
		}
		if f.Depth != nil {
			pz = (*C.float)(unsafe.Pointer(&f.Depth[0]))
		}
		return prgb, pz
	}
	for i := 0; i < len(frames); i += 2 {
		f0 := frames[i]
		f1 := Frame{Camera: -1}
		if i+1 < len(frames) {
			f1 = frames[i+1]
		}
		rgb0, z0 := ptrs(f0)
		rgb1, z1 := ptrs(f1)
		r.reqs <- func() {
			C.vstRendererRender2(r.r, r.m.m, d.d, C.int(f0.Camera), rgb0, z0, C.int(f1.Camera), rgb1, z1)
		}
		<-r.ack
	}
	for _, f := range frames {
		r.finish(f.RGB, f.Depth)
	}
	return nil
}

// finish turns OpenGL's bottom-up readback into top-down images, in place,
// and depth-buffer values into metres.
func (r *Renderer) finish(rgb []uint8, depth []float32) {
	if rgb != nil {
		row := 3 * r.w
		tmp := r.rowBuf[:row]
		for y := 0; y < r.h/2; y++ {
			a, b := rgb[y*row:(y+1)*row], rgb[(r.h-1-y)*row:(r.h-y)*row]
			copy(tmp, a)
			copy(a, b)
			copy(b, tmp)
		}
	}
	if depth != nil {
		zn, zf := r.m.ClipPlanes()
		k := 1 - zn/zf
		for y := 0; y < (r.h+1)/2; y++ {
			a, b := depth[y*r.w:(y+1)*r.w], depth[(r.h-1-y)*r.w:(r.h-y)*r.w]
			for x := range a {
				za := float32(zn / (1 - float64(a[x])*k))
				zb := float32(zn / (1 - float64(b[x])*k))
				a[x], b[x] = zb, za
			}
		}
	}
}

// Close frees the GL and MuJoCo rendering contexts and stops the render
// thread. It is idempotent. Close it before the model.
func (r *Renderer) Close() {
	if r.closed {
		return
	}
	r.closed = true
	close(r.reqs)
	<-r.done // the loop frees the contexts on its own thread
}

// Intrinsics are a pinhole camera's parameters in pixels, for an image whose
// origin is the top-left pixel corner.
type Intrinsics struct {
	// Fx and Fy are the focal lengths; Cx and Cy the principal point.
	Fx, Fy, Cx, Cy float64
	// Width and Height are the image size.
	Width, Height int
}

// CameraIntrinsics returns the intrinsics of a camera with vertical field
// of view fovyDeg (degrees, as MJCF's fovy) rendering w×h images; MuJoCo
// uses square pixels, so Fx = Fy.
func CameraIntrinsics(fovyDeg float64, w, h int) Intrinsics {
	f := 0.5 * float64(h) / math.Tan(0.5*fovyDeg*math.Pi/180)
	return Intrinsics{Fx: f, Fy: f, Cx: 0.5 * float64(w), Cy: 0.5 * float64(h), Width: w, Height: h}
}
