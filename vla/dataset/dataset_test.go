package dataset

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vstgo/vst/vla/normalize"
)

var testSpec = Spec{
	FPS: 10, RobotType: "panda", StateDim: 3, ActionDim: 2,
	ActionNames: []string{"dx", "grip"},
	Cameras:     []Camera{{Name: "agentview", Height: 6, Width: 8}, {Name: "wrist", Height: 4, Width: 4}},
}

var tasks = []string{"pick up the bowl", "open the drawer"}

func testImage(h, w, seed int) RGB {
	im := RGB{H: h, W: w, Pix: make([]uint8, h*w*3)}
	for i := range im.Pix {
		im.Pix[i] = uint8(i*7 + seed*13)
	}
	return im
}

// testFrame is frame i of episode e; episode 1 switches task half-way.
func testFrame(spec Spec, e, i int) Frame {
	f := Frame{
		State:     []float32{float32(e), float32(i), float32(e*i) / 3},
		Action:    []float32{float32(i)/10 - float32(e), float32(i % 2)},
		Timestamp: float32(i) / float32(spec.FPS),
		Task:      tasks[e%2],
		Images:    map[string]RGB{},
	}
	if e == 1 && i >= 2 {
		f.Task = tasks[0]
	}
	for _, c := range spec.Cameras {
		f.Images[c.Name] = testImage(c.Height, c.Width, 100*e+i+len(c.Name))
	}
	return f
}

var lengths = []int{4, 3, 5}

func writeTestSet(t *testing.T, dir string, cfg WriterConfig) *normalize.Set {
	t.Helper()
	w, err := New(dir, testSpec, cfg)
	require.NoError(t, err)
	for e, n := range lengths {
		for i := range n {
			require.NoError(t, w.AddFrame(testFrame(testSpec, e, i)))
		}
		require.NoError(t, w.EndEpisode(e != 1))
	}
	set, err := w.Stats()
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return set
}

// fakeVideo stores raw frames: a header of count, height, width, then pixels.
type fakeVideo struct {
	mu     sync.Mutex
	writes []string
}

func (v *fakeVideo) WriteVideo(path string, frames []RGB, fps float64) error {
	if fps != testSpec.FPS {
		return fmt.Errorf("fps %v", fps)
	}
	if !strings.HasSuffix(path, ".mp4") {
		return fmt.Errorf("path %s does not end in .mp4", path)
	}
	buf := binary.LittleEndian.AppendUint32(nil, uint32(len(frames)))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(frames[0].H))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(frames[0].W))
	for _, f := range frames {
		buf = append(buf, f.Pix...)
	}
	v.mu.Lock()
	v.writes = append(v.writes, path)
	v.mu.Unlock()
	return os.WriteFile(path, buf, 0o644)
}

func (v *fakeVideo) ReadFrame(path string, frame int) (RGB, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return RGB{}, err
	}
	n, h, w := int(binary.LittleEndian.Uint32(b)), int(binary.LittleEndian.Uint32(b[4:])), int(binary.LittleEndian.Uint32(b[8:]))
	if frame < 0 || frame >= n {
		return RGB{}, fmt.Errorf("frame %d of %d", frame, n)
	}
	size := h * w * 3
	return RGB{H: h, W: w, Pix: b[12+frame*size : 12+(frame+1)*size]}, nil
}

func checkRoundTrip(t *testing.T, d *Dataset) {
	t.Helper()
	assert.Equal(t, 12, d.Len())
	assert.Equal(t, tasks[:2], d.Tasks)
	assert.Equal(t, []string{"agentview", "wrist"}, d.Cameras)
	require.Len(t, d.Episodes, 3)
	from := 0
	for e, ep := range d.Episodes {
		assert.Equal(t, e, ep.Index)
		assert.Equal(t, lengths[e], ep.Length)
		assert.Equal(t, from, ep.From)
		assert.Equal(t, from+lengths[e], ep.To)
		assert.Equal(t, e != 1, ep.Success)
		from += lengths[e]
	}
	assert.Equal(t, []string{tasks[1], tasks[0]}, d.Episodes[1].Tasks)
	assert.Equal(t, []string{tasks[0]}, d.Episodes[2].Tasks)
	g := 0
	for e, n := range lengths {
		for i := range n {
			s, err := d.Sample(g)
			require.NoError(t, err)
			want := testFrame(testSpec, e, i)
			assert.Equal(t, want, s.Frame, "frame %d", g)
			assert.Equal(t, Sample{Frame: s.Frame, Index: g, EpisodeIndex: e, FrameIndex: i, TaskIndex: indexOf(tasks, want.Task)}, *s)
			num, err := d.Numeric(g)
			require.NoError(t, err)
			s.Images = map[string]RGB{}
			assert.Equal(t, s, num, "Numeric is Sample without images")
			g++
		}
	}
	_, err := d.Sample(12)
	assert.ErrorContains(t, err, "frame 12 is outside 0..11")
	_, err = d.Numeric(-1)
	assert.ErrorContains(t, err, "frame -1 is outside 0..11")
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func TestRoundTripImagesInParquet(t *testing.T) {
	dir := t.TempDir()
	set := writeTestSet(t, dir, WriterConfig{ImagesInParquet: true, PassThroughActionDims: []int{1}})
	d, err := Open(dir, ReaderConfig{})
	require.NoError(t, err)
	defer d.Close()
	checkRoundTrip(t, d)

	// info.json bookkeeping.
	assert.Equal(t, "v3.0", d.Info.CodebaseVersion)
	assert.Equal(t, 3, d.Info.TotalEpisodes)
	assert.Equal(t, 12, d.Info.TotalFrames)
	assert.Equal(t, 2, d.Info.TotalTasks)
	assert.Equal(t, 1000, d.Info.ChunksSize)
	assert.Nil(t, d.Info.VideoPath)
	assert.Equal(t, "image", d.Info.Features["observation.images.agentview"].DType)
	assert.Equal(t, []int{6, 8, 3}, d.Info.Features["observation.images.agentview"].Shape)
	assert.JSONEq(t, `["dx", "grip"]`, string(d.Info.Features["action"].Names))
	assert.Equal(t, map[string]string{"train": "0:3"}, d.Info.Splits)
	assert.FileExists(t, filepath.Join(dir, "data", "chunk-000", "file-000.parquet"))
	assert.FileExists(t, filepath.Join(dir, "meta", "episodes", "chunk-000", "file-000.parquet"))
	assert.NoDirExists(t, filepath.Join(dir, "videos"))

	// stats.json equals a direct computation over all frames.
	acc, _ := normalize.NewAccumulator(2)
	sacc, _ := normalize.NewAccumulator(3)
	for e, n := range lengths {
		for i := range n {
			f := testFrame(testSpec, e, i)
			require.NoError(t, acc.Add(f.Action))
			require.NoError(t, sacc.Add(f.State))
		}
	}
	act, err := acc.Stats(normalize.StatsOptions{PassThroughDims: []int{1}})
	require.NoError(t, err)
	st, err := sacc.Stats(normalize.StatsOptions{})
	require.NoError(t, err)
	assert.Equal(t, act, set.Features[normalize.Action])
	act.Mask, st.Mask = nil, nil // LeRobot's stats.json has no mask
	assert.Equal(t, act, d.Stats.Features[normalize.Action])
	assert.Equal(t, st, d.Stats.Features[normalize.State])
	assert.Equal(t, int64(12), set.NumTransitions)
	assert.Equal(t, int64(3), set.NumTrajectories)
}

func TestRoundTripVideo(t *testing.T) {
	dir := t.TempDir()
	enc := &fakeVideo{}
	writeTestSet(t, dir, WriterConfig{Video: enc})
	assert.Len(t, enc.writes, 6)
	for _, p := range enc.writes {
		assert.True(t, strings.HasPrefix(filepath.Base(p), "."), "encoder writes a hidden temporary file: %s", p)
	}
	d, err := Open(dir, ReaderConfig{Video: enc})
	require.NoError(t, err)
	defer d.Close()
	checkRoundTrip(t, d)
	assert.Equal(t, "video", d.Info.Features["observation.images.wrist"].DType)
	require.NotNil(t, d.Info.VideoPath)
	ref := d.Episodes[2].Videos["wrist"]
	assert.Equal(t, filepath.Join(dir, "videos", "observation.images.wrist", "chunk-000", "file-002.mp4"), ref.Path)
	assert.Equal(t, 0.0, ref.From)
	assert.Equal(t, 0.5, ref.To)

	// Concurrent random access.
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range d.Len() {
				s, err := d.Sample((i + g*3) % d.Len())
				assert.NoError(t, err)
				assert.Len(t, s.Images, 2)
			}
		})
	}
	wg.Wait()

	noDec, err := Open(dir, ReaderConfig{})
	require.NoError(t, err)
	defer noDec.Close()
	_, err = noDec.Sample(0)
	assert.ErrorContains(t, err, "no VideoDecoder")
}

func TestDataFileRotationAndCrash(t *testing.T) {
	dir := t.TempDir()
	spec := Spec{FPS: 10, ActionDim: 1, Cameras: []Camera{{Name: "cam", Height: 128, Width: 128}}}
	w, err := New(dir, spec, WriterConfig{ImagesInParquet: true, DataFileSizeMB: 1})
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	noise := func() RGB {
		im := RGB{H: 128, W: 128, Pix: make([]uint8, 128*128*3)}
		for i := range im.Pix {
			im.Pix[i] = uint8(rng.Uint32())
		}
		return im
	}
	for e := range 3 {
		for i := range 25 {
			require.NoError(t, w.AddFrame(Frame{Action: []float32{float32(e)}, Timestamp: float32(i) / 10, Task: "t",
				Images: map[string]RGB{"cam": noise()}}))
		}
		require.NoError(t, w.EndEpisode(true))
		// Each finished file is in place before Close; the data set is not.
		assert.FileExists(t, filepath.Join(dir, "data", "chunk-000", fmt.Sprintf("file-%03d.parquet", e)))
		assert.NoFileExists(t, filepath.Join(dir, "meta", "info.json"))
	}
	_, err = Open(dir, ReaderConfig{})
	assert.ErrorContains(t, err, "info.json")
	require.NoError(t, w.Close())
	d, err := Open(dir, ReaderConfig{})
	require.NoError(t, err)
	defer d.Close()
	assert.Equal(t, 75, d.Len())
	for e, ep := range d.Episodes {
		assert.Equal(t, e, ep.dataFile)
	}
	s, err := d.Sample(60)
	require.NoError(t, err)
	assert.Equal(t, []float32{2}, s.Action)
	assert.Equal(t, 10, s.FrameIndex)
	entries, err := filepath.Glob(filepath.Join(dir, "data", "chunk-000", ".*"))
	require.NoError(t, err)
	assert.Empty(t, entries, "no temporary files left")
}

func TestWriterErrors(t *testing.T) {
	good := testFrame(testSpec, 0, 0)
	tests := []struct {
		name  string
		frame func(f Frame) Frame
		want  string
	}{
		{"action length", func(f Frame) Frame { f.Action = f.Action[:1]; return f }, "action has 1 values, want 2"},
		{"state length", func(f Frame) Frame { f.State = nil; return f }, "state has 0 values, want 3"},
		{"nan", func(f Frame) Frame { f.Action = []float32{float32(math.NaN()), 0}; return f }, "not finite"},
		{"task", func(f Frame) Frame { f.Task = ""; return f }, "task is empty"},
		{"timestamp", func(f Frame) Frame { f.Timestamp = -1; return f }, "timestamp"},
		{"missing camera", func(f Frame) Frame {
			f.Images = map[string]RGB{"agentview": f.Images["agentview"], "x": f.Images["wrist"]}
			return f
		}, `lacks camera "wrist"`},
		{"image count", func(f Frame) Frame { f.Images = nil; return f }, "0 images, want 2"},
		{"image size", func(f Frame) Frame {
			f.Images = map[string]RGB{"agentview": testImage(4, 4, 0), "wrist": f.Images["wrist"]}
			return f
		}, `"agentview" frame is 4x4, want 8x6`},
		{"bad image", func(f Frame) Frame {
			f.Images = map[string]RGB{"agentview": {H: 6, W: 8}, "wrist": f.Images["wrist"]}
			return f
		}, "RGB bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := New(t.TempDir(), testSpec, WriterConfig{ImagesInParquet: true})
			require.NoError(t, err)
			assert.ErrorContains(t, w.AddFrame(tt.frame(testFrame(testSpec, 0, 0))), tt.want)
			assert.Equal(t, 0, w.EpisodeLen())
		})
	}
	dir := t.TempDir()
	w, err := New(dir, testSpec, WriterConfig{ImagesInParquet: true})
	require.NoError(t, err)
	assert.ErrorContains(t, w.EndEpisode(true), "no frames")
	assert.ErrorContains(t, w.Close(), "no episodes")
	require.NoError(t, w.AddFrame(good))
	later := testFrame(testSpec, 0, 0)
	later.Timestamp = -0.5
	assert.Error(t, w.AddFrame(later))
	assert.ErrorContains(t, w.Close(), "episode of 1 frames is in progress")
	w.DiscardEpisode()
	require.NoError(t, w.AddFrame(good))
	require.NoError(t, w.EndEpisode(true))
	require.NoError(t, w.Close())
	assert.ErrorContains(t, w.AddFrame(good), "closed")
	_, err = New(dir, testSpec, WriterConfig{ImagesInParquet: true})
	assert.ErrorContains(t, err, "already holds a data set")

	specErrs := []struct {
		spec Spec
		cfg  WriterConfig
		want string
	}{
		{Spec{ActionDim: 1}, WriterConfig{}, "fps"},
		{Spec{FPS: 1}, WriterConfig{}, "action dimension 0"},
		{Spec{FPS: 1, ActionDim: 1, ActionNames: []string{"a", "b"}}, WriterConfig{}, "2 action names"},
		{Spec{FPS: 1, ActionDim: 1, Cameras: []Camera{{Name: "a", Height: 1, Width: 1}, {Name: "a", Height: 1, Width: 1}}}, WriterConfig{ImagesInParquet: true}, "unique name"},
		{Spec{FPS: 1, ActionDim: 1, Cameras: []Camera{{Name: "a", Height: 1, Width: 1}}}, WriterConfig{}, "VideoEncoder"},
	}
	for _, tt := range specErrs {
		_, err := New(t.TempDir(), tt.spec, tt.cfg)
		assert.ErrorContains(t, err, tt.want)
	}
}

func goodInfo() map[string]any {
	return map[string]any{
		"codebase_version": "v3.0", "fps": 10, "chunks_size": 1000, "total_episodes": 1, "total_frames": 2, "total_tasks": 1,
		"data_path":  DefaultDataPath,
		"video_path": DefaultVideoPath,
		"features": map[string]any{
			"action":                  map[string]any{"dtype": "float32", "shape": []int{7}, "names": nil},
			"episode_index":           map[string]any{"dtype": "int64", "shape": []int{1}},
			"index":                   map[string]any{"dtype": "int64", "shape": []int{1}},
			"observation.images.cam":  map[string]any{"dtype": "video", "shape": []int{256, 256, 3}},
			"observation.state":       map[string]any{"dtype": "float32", "shape": []int{8}},
			"observation.images.cam2": map[string]any{"dtype": "image", "shape": []int{3, 64, 64}},
		},
	}
}

func TestParseInfoErrors(t *testing.T) {
	feature := func(m map[string]any, name string) map[string]any {
		return m["features"].(map[string]any)[name].(map[string]any)
	}
	tests := []struct {
		name   string
		modify func(m map[string]any)
		want   string
	}{
		{"version", func(m map[string]any) { m["codebase_version"] = "v2.1" }, `codebase_version "v2.1" is not v3.x`},
		{"fps", func(m map[string]any) { m["fps"] = 0 }, "fps 0 is not positive"},
		{"fps type", func(m map[string]any) { m["fps"] = "ten" }, "fps"},
		{"totals", func(m map[string]any) { m["total_frames"] = -1 }, "total_frames"},
		{"chunks", func(m map[string]any) { delete(m, "chunks_size") }, "chunks_size 0"},
		{"data path missing", func(m map[string]any) { delete(m, "data_path") }, "data_path: template is empty"},
		{"data path field", func(m map[string]any) { m["data_path"] = "data/{episode_chunk}.parquet" }, "data_path: template"},
		{"data path escape", func(m map[string]any) { m["data_path"] = "../{chunk_index}/{file_index}.parquet" }, "leaves the data set folder"},
		{"data path spec", func(m map[string]any) { m["data_path"] = "{chunk_index:x}/{file_index}" }, `format spec "x"`},
		{"video path null", func(m map[string]any) { m["video_path"] = nil }, `video_path is null but features["observation.images.cam"]`},
		{"no features", func(m map[string]any) { m["features"] = map[string]any{} }, "features is empty"},
		{"no action", func(m map[string]any) { delete(m["features"].(map[string]any), "action") }, `features lacks "action"`},
		{"dtype", func(m map[string]any) { feature(m, "index")["dtype"] = "complex" }, `features["index"].dtype "complex"`},
		{"dtype missing", func(m map[string]any) { delete(feature(m, "index"), "dtype") }, `features["index"].dtype is missing`},
		{"shape", func(m map[string]any) { feature(m, "index")["shape"] = []int{0} }, `features["index"].shape [0]`},
		{"image shape", func(m map[string]any) { feature(m, "observation.images.cam")["shape"] = []int{4, 4} }, `features["observation.images.cam"].shape [4 4] is not an [H, W, 3] image`},
		{"action shape", func(m map[string]any) { feature(m, "action")["shape"] = []int{2, 3} }, `features["action"] must be a float32 or float64 vector`},
		{"not json", nil, "info.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := goodInfo()
			data := []byte("{")
			if tt.modify != nil {
				tt.modify(m)
				data, _ = json.Marshal(m)
			}
			_, err := ParseInfo(data)
			assert.ErrorContains(t, err, tt.want)
		})
	}
	data, _ := json.Marshal(goodInfo())
	info, err := ParseInfo(data)
	require.NoError(t, err)
	assert.Equal(t, []string{"observation.images.cam", "observation.images.cam2"}, info.cameras())
}

func TestExpandPath(t *testing.T) {
	p, err := expandPath(DefaultVideoPath, "observation.images.wrist", 1, 23)
	require.NoError(t, err)
	assert.Equal(t, filepath.FromSlash("videos/observation.images.wrist/chunk-001/file-023.mp4"), p)
	p, err = expandPath("d/{chunk_index}/{file_index:d}.parquet", "", 12, 3)
	require.NoError(t, err)
	assert.Equal(t, filepath.FromSlash("d/12/3.parquet"), p)
	for _, bad := range []string{"{chunk_index}", "a}{chunk_index}{file_index}", "{chunk_index}{file_index", "/abs/{chunk_index}{file_index}", "{video_key:03d}{chunk_index}{file_index}"} {
		_, err := expandPath(bad, "k", 0, 0)
		assert.Error(t, err, bad)
	}
}

type liberoImage struct {
	Bytes []byte `parquet:"bytes"`
	Path  string `parquet:"path"`
}

type liberoRow struct {
	Image   liberoImage `parquet:"image"`
	Wrist   []byte      `parquet:"wrist_image"`
	State   []float64   `parquet:"state,list"`
	Actions []float32   `parquet:"actions,list"`
	Task    string      `parquet:"language_instruction"`
	Episode int64       `parquet:"episode_index"`
}

func TestOpenLIBERO(t *testing.T) {
	dir := t.TempDir()
	var rows []liberoRow
	for g := range 7 {
		img, err := encodePNG(testImage(4, 5, g))
		require.NoError(t, err)
		wrist, err := encodePNG(testImage(2, 2, g))
		require.NoError(t, err)
		rows = append(rows, liberoRow{Image: liberoImage{Bytes: img}, Wrist: wrist,
			State: []float64{float64(g), 0.5}, Actions: []float32{float32(g), -1, 1},
			Task: tasks[g/4], Episode: int64(g / 4)})
	}
	require.NoError(t, parquet.WriteFile(filepath.Join(dir, "part-000.parquet"), rows[:5]))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, parquet.WriteFile(filepath.Join(dir, "sub", "part-001.parquet"), rows[5:]))
	d, err := OpenLIBERO(dir)
	require.NoError(t, err)
	defer d.Close()
	assert.Equal(t, 7, d.Len())
	assert.Equal(t, []string{"image", "wrist_image"}, d.Cameras)
	assert.Equal(t, tasks, d.Tasks)
	require.Len(t, d.Episodes, 2)
	assert.Equal(t, Episode{Index: 1, Length: 3, Tasks: tasks[1:], From: 4, To: 7}, d.Episodes[1])
	for g := range 7 {
		s, err := d.Sample(g)
		require.NoError(t, err)
		assert.Equal(t, []float32{float32(g), 0.5}, s.State)
		assert.Equal(t, []float32{float32(g), -1, 1}, s.Action)
		assert.Equal(t, testImage(4, 5, g), s.Images["image"])
		assert.Equal(t, testImage(2, 2, g), s.Images["wrist_image"])
		assert.Equal(t, g/4, s.EpisodeIndex)
		assert.Equal(t, tasks[g/4], s.Task)
	}
	s, err := d.Sample(6)
	require.NoError(t, err)
	assert.Equal(t, 1, s.FrameIndex, "row position within the second file")
	assert.InDelta(t, 0.1, s.Timestamp, 1e-7)

	_, err = OpenLIBERO(t.TempDir())
	assert.ErrorContains(t, err, "no .parquet files")
	bad := t.TempDir()
	require.NoError(t, parquet.WriteFile(filepath.Join(bad, "x.parquet"), []struct {
		A int64 `parquet:"a"`
	}{{1}}))
	_, err = OpenLIBERO(bad)
	assert.ErrorContains(t, err, "no action column (want one of actions, action)")
	require.NoError(t, os.WriteFile(filepath.Join(bad, "y.parquet"), []byte("not parquet"), 0o644))
	_, err = OpenLIBERO(bad)
	assert.Error(t, err)
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	writeTestSet(t, dir, WriterConfig{ImagesInParquet: true})
	infoPath := filepath.Join(dir, "meta", "info.json")
	raw, err := os.ReadFile(infoPath)
	require.NoError(t, err)
	tests := []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"frames", func(m map[string]any) { m["total_frames"] = 13 }, "total_frames is 13, the data files hold 12"},
		{"episodes", func(m map[string]any) { m["total_episodes"] = 2 }, "total_episodes is 2"},
		{"tasks", func(m map[string]any) { m["total_tasks"] = 5 }, "total_tasks is 5"},
		{"action dim", func(m map[string]any) {
			m["features"].(map[string]any)["action"].(map[string]any)["shape"] = []int{3}
		}, "values, want 3"},
		{"data path", func(m map[string]any) { m["data_path"] = "x/{chunk_index}/{file_index}.parquet" }, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			require.NoError(t, json.Unmarshal(raw, &m))
			tt.edit(m)
			b, _ := json.Marshal(m)
			require.NoError(t, os.WriteFile(infoPath, b, 0o644))
			_, err := Open(dir, ReaderConfig{})
			assert.ErrorContains(t, err, tt.want)
		})
	}
}
