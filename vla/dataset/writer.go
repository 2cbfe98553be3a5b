package dataset

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/vstgo/vst/vla/normalize"
)

// VideoEncoder writes one camera's frames of one episode as a video file
// (mp4 at path, fps frames per second). The robot layer implements it.
type VideoEncoder interface {
	WriteVideo(path string, frames []RGB, fps float64) error
}

// Camera names one camera and its frame size.
type Camera struct {
	// Name is the short name ("agentview", "wrist"); the feature is
	// observation.images.<Name>.
	Name string
	// Height and Width are the frame size in pixels.
	Height, Width int
}

// Spec describes what a data set records.
type Spec struct {
	// FPS is the control/recording rate.
	FPS float64
	// RobotType names the embodiment (info.json's robot_type).
	RobotType string
	// StateDim and ActionDim are the lengths of observation.state and
	// action. StateDim 0 records no state.
	StateDim, ActionDim int
	// StateNames and ActionNames optionally name the dimensions.
	StateNames, ActionNames []string
	// Cameras lists the image streams.
	Cameras []Camera
}

// WriterConfig configures a Writer.
type WriterConfig struct {
	// ImagesInParquet stores frames as PNG bytes in the data files
	// ({bytes, path} struct columns, dtype "image") instead of mp4 files.
	// It defaults to false (videos through Video).
	ImagesInParquet bool
	// Video encodes mp4 files; required when there are cameras and
	// ImagesInParquet is false.
	Video VideoEncoder
	// VideoCodec is recorded in the video features' info. It defaults to
	// "h264".
	VideoCodec string
	// DataFileSizeMB starts a new data file once the current one exceeds
	// it (at an episode boundary). It defaults to 100 (LeRobot's value).
	DataFileSizeMB int
	// ChunksSize is the number of files per chunk folder. It defaults to
	// 1000.
	ChunksSize int
	// PassThroughActionDims are action dimensions whose stats mask is
	// false (e.g. the gripper). It defaults to none. LeRobot's stats.json
	// has no mask, so this only matters to callers that keep the computed
	// normalize.Set.
	PassThroughActionDims []int
}

// Frame is one recorded time step.
type Frame struct {
	// Images maps camera names (Camera.Name) to frames.
	Images map[string]RGB
	// State and Action are the proprioceptive state and the action taken.
	State, Action []float32
	// Timestamp is the time since the episode start, in seconds.
	Timestamp float32
	// Task is the language instruction.
	Task string
}

// episodeRec is one finished episode's bookkeeping.
type episodeRec struct {
	index, length int
	tasks         []string
	chunk, file   int
	from, to      int
	videoChunk    int
	videoFile     int
	videoTo       float64
	success       bool
}

// Writer records episodes into a new data set folder. Finished data and
// video files are renamed into place atomically and never touched again;
// the meta files (info.json last) are written by Close, so a data set is
// complete exactly when meta/info.json exists. Memory: the current
// episode's frames (in video mode every raw image, H·W·3 bytes each, until
// EndEpisode encodes them) plus 4·(StateDim+ActionDim) bytes per frame for
// exact stats. It is not safe for concurrent use.
type Writer struct {
	dir    string
	spec   Spec
	cfg    WriterConfig
	schema *parquet.Schema

	tasks     map[string]int
	taskNames []string
	episodes  []episodeRec
	total     int
	stateAcc  *normalize.Accumulator
	actionAcc *normalize.Accumulator

	cur      []Frame
	curPNG   []map[string][]byte
	data     *parquet.Writer
	dataTmp  *os.File
	dataFile int // global file number of the open data file
	closed   bool
}

// New creates a writer for a new data set in dir, which must not already
// hold one.
func New(dir string, spec Spec, cfg WriterConfig) (*Writer, error) {
	if !(spec.FPS > 0) {
		return nil, fmt.Errorf("dataset: fps %v is not positive", spec.FPS)
	}
	if spec.ActionDim <= 0 || spec.StateDim < 0 {
		return nil, fmt.Errorf("dataset: action dimension %d must be positive and state dimension %d non-negative", spec.ActionDim, spec.StateDim)
	}
	if spec.StateNames != nil && len(spec.StateNames) != spec.StateDim {
		return nil, fmt.Errorf("dataset: %d state names for %d dimensions", len(spec.StateNames), spec.StateDim)
	}
	if spec.ActionNames != nil && len(spec.ActionNames) != spec.ActionDim {
		return nil, fmt.Errorf("dataset: %d action names for %d dimensions", len(spec.ActionNames), spec.ActionDim)
	}
	seen := map[string]bool{}
	for _, c := range spec.Cameras {
		if c.Name == "" || seen[c.Name] || c.Height <= 0 || c.Width <= 0 {
			return nil, fmt.Errorf("dataset: camera %q (%dx%d) needs a unique name and a positive size", c.Name, c.Width, c.Height)
		}
		seen[c.Name] = true
	}
	if len(spec.Cameras) > 0 && !cfg.ImagesInParquet && cfg.Video == nil {
		return nil, fmt.Errorf("dataset: cameras need a VideoEncoder or ImagesInParquet")
	}
	if cfg.VideoCodec == "" {
		cfg.VideoCodec = "h264"
	}
	if cfg.DataFileSizeMB <= 0 {
		cfg.DataFileSizeMB = 100
	}
	if cfg.ChunksSize <= 0 {
		cfg.ChunksSize = 1000
	}
	if _, err := os.Stat(filepath.Join(dir, "meta", "info.json")); err == nil {
		return nil, fmt.Errorf("dataset: %s already holds a data set", dir)
	}
	w := &Writer{dir: dir, spec: spec, cfg: cfg, tasks: map[string]int{}}
	var err error
	if w.actionAcc, err = normalize.NewAccumulator(spec.ActionDim); err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if spec.StateDim > 0 {
		if w.stateAcc, err = normalize.NewAccumulator(spec.StateDim); err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
	}
	group := parquet.Group{
		"action":        parquet.List(parquet.Leaf(parquet.FloatType)),
		"timestamp":     parquet.Leaf(parquet.FloatType),
		"frame_index":   parquet.Leaf(parquet.Int64Type),
		"episode_index": parquet.Leaf(parquet.Int64Type),
		"index":         parquet.Leaf(parquet.Int64Type),
		"task_index":    parquet.Leaf(parquet.Int64Type),
	}
	if spec.StateDim > 0 {
		group[normalize.State] = parquet.List(parquet.Leaf(parquet.FloatType))
	}
	if cfg.ImagesInParquet {
		for _, c := range spec.Cameras {
			group[ImagePrefix+c.Name] = parquet.Group{
				"bytes": parquet.Leaf(parquet.ByteArrayType),
				"path":  parquet.String(),
			}
		}
	}
	w.schema = parquet.NewSchema("frame", group)
	return w, nil
}

// AddFrame appends a frame to the current episode (starting one if
// needed).
func (w *Writer) AddFrame(f Frame) error {
	if w.closed {
		return fmt.Errorf("dataset: writer is closed")
	}
	if len(f.Action) != w.spec.ActionDim {
		return fmt.Errorf("dataset: frame action has %d values, want %d", len(f.Action), w.spec.ActionDim)
	}
	if len(f.State) != w.spec.StateDim {
		return fmt.Errorf("dataset: frame state has %d values, want %d", len(f.State), w.spec.StateDim)
	}
	for _, v := range slices.Concat(f.Action, f.State) {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("dataset: frame state/action value %v is not finite", v)
		}
	}
	if f.Task == "" {
		return fmt.Errorf("dataset: frame task is empty")
	}
	ts := float64(f.Timestamp)
	if math.IsNaN(ts) || math.IsInf(ts, 0) || ts < 0 || (len(w.cur) > 0 && f.Timestamp < w.cur[len(w.cur)-1].Timestamp) {
		return fmt.Errorf("dataset: frame timestamp %v is negative, not finite or earlier than the previous frame's", f.Timestamp)
	}
	if len(f.Images) != len(w.spec.Cameras) {
		return fmt.Errorf("dataset: frame has %d images, want %d cameras", len(f.Images), len(w.spec.Cameras))
	}
	pngs := map[string][]byte{}
	images := make(map[string]RGB, len(f.Images))
	for _, c := range w.spec.Cameras {
		im, ok := f.Images[c.Name]
		if !ok {
			return fmt.Errorf("dataset: frame lacks camera %q", c.Name)
		}
		if err := im.Validate(); err != nil {
			return fmt.Errorf("dataset: camera %q: %w", c.Name, err)
		}
		if im.H != c.Height || im.W != c.Width {
			return fmt.Errorf("dataset: camera %q frame is %dx%d, want %dx%d", c.Name, im.W, im.H, c.Width, c.Height)
		}
		if w.cfg.ImagesInParquet {
			b, err := encodePNG(im)
			if err != nil {
				return fmt.Errorf("dataset: camera %q: %w", c.Name, err)
			}
			pngs[c.Name] = b
		} else {
			images[c.Name] = RGB{Pix: slices.Clone(im.Pix), H: im.H, W: im.W}
		}
	}
	f.Images = images
	f.State, f.Action = slices.Clone(f.State), slices.Clone(f.Action)
	w.cur = append(w.cur, f)
	w.curPNG = append(w.curPNG, pngs)
	return nil
}

// DiscardEpisode drops the current episode's frames.
func (w *Writer) DiscardEpisode() { w.cur, w.curPNG = nil, nil }

// EpisodeLen returns the number of frames in the current episode.
func (w *Writer) EpisodeLen() int { return len(w.cur) }

func (w *Writer) chunkFile(n int) (chunk, file int) {
	return n / w.cfg.ChunksSize, n % w.cfg.ChunksSize
}

// EndEpisode finishes the current episode: its videos are encoded and
// renamed into place, its rows appended to the data file (a new file once
// the current one is over DataFileSizeMB), and success is recorded in the
// episodes table.
func (w *Writer) EndEpisode(success bool) error {
	if w.closed {
		return fmt.Errorf("dataset: writer is closed")
	}
	if len(w.cur) == 0 {
		return fmt.Errorf("dataset: episode has no frames")
	}
	ep := episodeRec{index: len(w.episodes), length: len(w.cur), from: w.total, to: w.total + len(w.cur), success: success}
	ep.chunk, ep.file = w.chunkFile(w.dataFile)
	ep.videoChunk, ep.videoFile = w.chunkFile(ep.index)
	ep.videoTo = float64(len(w.cur)) / w.spec.FPS
	if !w.cfg.ImagesInParquet {
		for _, c := range w.spec.Cameras {
			frames := make([]RGB, len(w.cur))
			for i, f := range w.cur {
				frames[i] = f.Images[c.Name]
			}
			rel, err := expandPath(DefaultVideoPath, ImagePrefix+c.Name, ep.videoChunk, ep.videoFile)
			if err != nil {
				return fmt.Errorf("dataset: %w", err)
			}
			if err := w.writeVideo(filepath.Join(w.dir, rel), frames); err != nil {
				return err
			}
		}
	}
	if w.data == nil {
		if err := w.openData(); err != nil {
			return err
		}
	}
	for i, f := range w.cur {
		task, ok := w.tasks[f.Task]
		if !ok {
			task = len(w.taskNames)
			w.tasks[f.Task] = task
			w.taskNames = append(w.taskNames, f.Task)
		}
		if !slices.Contains(ep.tasks, f.Task) {
			ep.tasks = append(ep.tasks, f.Task)
		}
		row := map[string]any{
			"action": f.Action, "timestamp": f.Timestamp, "frame_index": int64(i),
			"episode_index": int64(ep.index), "index": int64(w.total + i), "task_index": int64(task),
		}
		if w.spec.StateDim > 0 {
			row[normalize.State] = f.State
		}
		for name, b := range w.curPNG[i] {
			row[ImagePrefix+name] = map[string]any{"bytes": b, "path": fmt.Sprintf("episode_%06d/frame_%06d.png", ep.index, i)}
		}
		if err := w.data.Write(row); err != nil {
			return fmt.Errorf("dataset: write data row: %w", err)
		}
		if err := w.actionAcc.Add(f.Action); err != nil {
			return fmt.Errorf("dataset: %w", err)
		}
		if w.stateAcc != nil {
			if err := w.stateAcc.Add(f.State); err != nil {
				return fmt.Errorf("dataset: %w", err)
			}
		}
	}
	if err := w.data.Flush(); err != nil {
		return fmt.Errorf("dataset: write data: %w", err)
	}
	w.episodes = append(w.episodes, ep)
	w.total += len(w.cur)
	w.cur, w.curPNG = nil, nil
	if st, err := w.dataTmp.Stat(); err == nil && st.Size() >= int64(w.cfg.DataFileSizeMB)<<20 {
		return w.finishData()
	}
	return nil
}

// writeVideo encodes to a hidden temporary .mp4 beside path, then renames.
func (w *Writer) writeVideo(path string, frames []RGB) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err := w.cfg.Video.WriteVideo(tmp, frames, w.spec.FPS); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("dataset: encode %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	return nil
}

func (w *Writer) dataPath() string {
	c, f := w.chunkFile(w.dataFile)
	rel, _ := expandPath(DefaultDataPath, "", c, f) // the default template always expands
	return filepath.Join(w.dir, rel)
}

func (w *Writer) openData() error {
	path := w.dataPath()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"*")
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	w.dataTmp = tmp
	w.data = parquet.NewWriter(tmp, w.schema, parquet.Compression(&snappy.Codec{}))
	return nil
}

// finishData closes, syncs and renames the open data file.
func (w *Writer) finishData() error {
	if w.data == nil {
		return nil
	}
	path := w.dataPath()
	err := w.data.Close()
	if err == nil {
		err = w.dataTmp.Sync()
	}
	if cerr := w.dataTmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.dataTmp.Name(), path)
	}
	if err != nil {
		os.Remove(w.dataTmp.Name())
		return fmt.Errorf("dataset: finish %s: %w", path, err)
	}
	w.data, w.dataTmp = nil, nil
	w.dataFile++
	return nil
}

// Close finishes the data file and writes meta/tasks.parquet,
// meta/episodes/chunk-000/file-000.parquet, meta/stats.json (observation.state
// and action only; image and index stats are left out) and, last,
// meta/info.json. An episode still in progress is an error (call EndEpisode
// or DiscardEpisode first) and leaves the writer open.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	if len(w.cur) > 0 {
		return fmt.Errorf("dataset: close: an episode of %d frames is in progress", len(w.cur))
	}
	if len(w.episodes) == 0 {
		return fmt.Errorf("dataset: close: no episodes recorded")
	}
	w.closed = true
	if err := w.finishData(); err != nil {
		return err
	}
	if err := w.writeTasks(); err != nil {
		return err
	}
	if err := w.writeEpisodes(); err != nil {
		return err
	}
	set, err := w.Stats()
	if err != nil {
		return err
	}
	stats, err := set.MarshalLeRobot()
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	if err := normalize.WriteFile(filepath.Join(w.dir, "meta", "stats.json"), stats); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	info, err := json.MarshalIndent(w.info(), "", "  ")
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	if err := normalize.WriteFile(filepath.Join(w.dir, "meta", "info.json"), info); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	return nil
}

// Stats returns the statistics of the finished episodes' state and action.
func (w *Writer) Stats() (*normalize.Set, error) {
	act, err := w.actionAcc.Stats(normalize.StatsOptions{PassThroughDims: w.cfg.PassThroughActionDims})
	if err != nil {
		return nil, fmt.Errorf("dataset: action stats: %w", err)
	}
	set := &normalize.Set{Features: map[string]*normalize.Stats{normalize.Action: act},
		NumTransitions: int64(w.total), NumTrajectories: int64(len(w.episodes))}
	if w.stateAcc != nil {
		st, err := w.stateAcc.Stats(normalize.StatsOptions{})
		if err != nil {
			return nil, fmt.Errorf("dataset: state stats: %w", err)
		}
		set.Features[normalize.State] = st
	}
	return set, nil
}

func namesJSON(names []string) json.RawMessage {
	if names == nil {
		return json.RawMessage("null")
	}
	b, _ := json.Marshal(names) // a []string always marshals
	return b
}

func (w *Writer) info() *Info {
	scalar := func(dtype string) Feature {
		return Feature{DType: dtype, Shape: []int{1}, Names: json.RawMessage("null")}
	}
	in := &Info{
		CodebaseVersion: CodebaseVersion, RobotType: w.spec.RobotType,
		TotalEpisodes: len(w.episodes), TotalFrames: w.total, TotalTasks: len(w.taskNames),
		ChunksSize: w.cfg.ChunksSize, DataFilesSizeInMB: w.cfg.DataFileSizeMB, VideoFilesSizeInMB: 200,
		FPS: w.spec.FPS, Splits: map[string]string{"train": fmt.Sprintf("0:%d", len(w.episodes))},
		DataPath: DefaultDataPath,
		Features: map[string]Feature{
			"action":        {DType: "float32", Shape: []int{w.spec.ActionDim}, Names: namesJSON(w.spec.ActionNames)},
			"timestamp":     scalar("float32"),
			"frame_index":   scalar("int64"),
			"episode_index": scalar("int64"),
			"index":         scalar("int64"),
			"task_index":    scalar("int64"),
		},
	}
	if w.spec.StateDim > 0 {
		in.Features[normalize.State] = Feature{DType: "float32", Shape: []int{w.spec.StateDim}, Names: namesJSON(w.spec.StateNames)}
	}
	hasVideo := false
	for _, c := range w.spec.Cameras {
		f := Feature{DType: "image", Shape: []int{c.Height, c.Width, 3}, Names: namesJSON([]string{"height", "width", "channels"})}
		if !w.cfg.ImagesInParquet {
			hasVideo = true
			f.DType = "video"
			f.Info = map[string]any{
				"video.height": c.Height, "video.width": c.Width, "video.codec": w.cfg.VideoCodec,
				"video.pix_fmt": "yuv420p", "video.is_depth_map": false, "video.fps": w.spec.FPS,
				"video.channels": 3, "has_audio": false,
			}
		}
		in.Features[ImagePrefix+c.Name] = f
	}
	if hasVideo {
		vp := DefaultVideoPath
		in.VideoPath = &vp
	}
	return in
}

// writeParquet writes rows atomically to dir/rel.
func (w *Writer) writeParquet(rel string, schema *parquet.Schema, rows []map[string]any, opts ...parquet.WriterOption) error {
	path := filepath.Join(w.dir, rel)
	return writeAtomic(path, func(out io.Writer) error {
		pw := parquet.NewWriter(out, append([]parquet.WriterOption{schema, parquet.Compression(&snappy.Codec{})}, opts...)...)
		for _, r := range rows {
			if err := pw.Write(r); err != nil {
				return err
			}
		}
		return pw.Close()
	})
}

// tasksPandasMeta marks the "task" column as the pandas index, as
// LeRobot's tasks DataFrame (index = task string) has it.
const tasksPandasMeta = `{"index_columns": ["task"], "column_indexes": [], "columns": [` +
	`{"name": "task_index", "field_name": "task_index", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}, ` +
	`{"name": "task", "field_name": "task", "pandas_type": "unicode", "numpy_type": "object", "metadata": null}], ` +
	`"creator": {"library": "vst-go", "version": "1"}, "pandas_version": "2.2.3"}`

func (w *Writer) writeTasks() error {
	schema := parquet.NewSchema("task", parquet.Group{
		"task_index": parquet.Leaf(parquet.Int64Type),
		"task":       parquet.String(),
	})
	rows := make([]map[string]any, len(w.taskNames))
	for i, t := range w.taskNames {
		rows[i] = map[string]any{"task_index": int64(i), "task": t}
	}
	if err := w.writeParquet(filepath.Join("meta", "tasks.parquet"), schema, rows,
		parquet.KeyValueMetadata("pandas", tasksPandasMeta)); err != nil {
		return fmt.Errorf("dataset: write tasks: %w", err)
	}
	return nil
}

func (w *Writer) writeEpisodes() error {
	i64 := parquet.Leaf(parquet.Int64Type)
	group := parquet.Group{
		"episode_index": i64, "length": i64, "tasks": parquet.List(parquet.String()),
		"data/chunk_index": i64, "data/file_index": i64,
		"dataset_from_index": i64, "dataset_to_index": i64,
		"meta/episodes/chunk_index": i64, "meta/episodes/file_index": i64,
		"success": parquet.Leaf(parquet.BooleanType),
	}
	if !w.cfg.ImagesInParquet {
		for _, c := range w.spec.Cameras {
			k := "videos/" + ImagePrefix + c.Name + "/"
			group[k+"chunk_index"], group[k+"file_index"] = i64, i64
			group[k+"from_timestamp"] = parquet.Leaf(parquet.DoubleType)
			group[k+"to_timestamp"] = parquet.Leaf(parquet.DoubleType)
		}
	}
	rows := make([]map[string]any, len(w.episodes))
	for i, ep := range w.episodes {
		r := map[string]any{
			"episode_index": int64(ep.index), "length": int64(ep.length), "tasks": ep.tasks,
			"data/chunk_index": int64(ep.chunk), "data/file_index": int64(ep.file),
			"dataset_from_index": int64(ep.from), "dataset_to_index": int64(ep.to),
			"meta/episodes/chunk_index": int64(0), "meta/episodes/file_index": int64(0),
			"success": ep.success,
		}
		if !w.cfg.ImagesInParquet {
			for _, c := range w.spec.Cameras {
				k := "videos/" + ImagePrefix + c.Name + "/"
				r[k+"chunk_index"], r[k+"file_index"] = int64(ep.videoChunk), int64(ep.videoFile)
				r[k+"from_timestamp"], r[k+"to_timestamp"] = 0.0, ep.videoTo
			}
		}
		rows[i] = r
	}
	rel := filepath.Join("meta", "episodes", "chunk-000", "file-000.parquet")
	if err := w.writeParquet(rel, parquet.NewSchema("episode", group), rows); err != nil {
		return fmt.Errorf("dataset: write episodes: %w", err)
	}
	return nil
}

// writeAtomic writes path through a synced temporary file and a rename.
func writeAtomic(path string, fill func(io.Writer) error) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = fill(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
