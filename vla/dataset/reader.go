package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vstgo/vst/vla/normalize"
)

// VideoDecoder reads one frame (0-based, counted from the start of the
// file) of a video file. Implementations may cache decoded files; the
// data set calls it concurrently when its caller does.
type VideoDecoder interface {
	ReadFrame(path string, frame int) (RGB, error)
}

// ReaderConfig configures Open.
type ReaderConfig struct {
	// Video decodes mp4 frames; required to read images of "video"
	// features (Sample fails without it), unused otherwise.
	Video VideoDecoder
}

// VideoRef locates one episode's frames of one camera.
type VideoRef struct {
	// Path is the video file's path.
	Path string
	// From and To are the episode's start and end times in the file, in
	// seconds.
	From, To float64
}

// Episode is one episode's bookkeeping.
type Episode struct {
	// Index is the episode index; Length its number of frames.
	Index, Length int
	// Tasks lists the episode's distinct tasks in order of appearance.
	Tasks []string
	// From and To are its global frame indices [From, To).
	From, To int
	// Success is the recorded outcome (false when not recorded).
	Success bool
	// Videos maps camera names to the episode's video segments (video
	// features only).
	Videos map[string]VideoRef

	dataChunk, dataFile int
}

// Sample is one frame read back, with its indices.
type Sample struct {
	Frame
	// Index is the global frame index; EpisodeIndex, FrameIndex (within
	// the episode) and TaskIndex locate it.
	Index, EpisodeIndex, FrameIndex, TaskIndex int
}

// Dataset is an opened data set. Numeric columns live in memory (about
// 4·(StateDim+ActionDim)+40 bytes per frame); images are read on demand,
// so Sample is a random access by global frame index (what a shuffling
// trainer needs). Sample is safe for concurrent use.
type Dataset struct {
	// Dir is the data set folder.
	Dir string
	// Info is meta/info.json (synthesized for LIBERO-style parquet).
	Info *Info
	// Tasks lists the task strings by task index.
	Tasks []string
	// Episodes lists the episodes in order.
	Episodes []Episode
	// Stats is meta/stats.json, or nil when the data set has none.
	Stats *normalize.Set
	// Cameras lists the camera names Sample returns images for.
	Cameras []string

	video    VideoDecoder
	files    []*pqFile
	imageCol map[string]string // camera → parquet column (images in parquet)
	videoKey map[string]string // camera → feature name (videos)
	state    [][]float32
	action   [][]float32
	ts       []float32
	frameIdx []int32
	epIdx    []int32
	taskIdx  []int32
	fileOf   []int32
	rowOf    []int32
}

// Len returns the number of frames.
func (d *Dataset) Len() int { return len(d.action) }

// Close closes the data files.
func (d *Dataset) Close() error {
	var errs []error
	for _, f := range d.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// Open reads a LeRobotDataset v3 folder: it validates meta/info.json,
// reads the tasks, episodes and (when present) stats, and loads the data
// files' numeric columns.
func Open(dir string, cfg ReaderConfig) (*Dataset, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "meta", "info.json"))
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	info, err := ParseInfo(raw)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", dir, err)
	}
	d := &Dataset{Dir: dir, Info: info, video: cfg.Video, imageCol: map[string]string{}, videoKey: map[string]string{}}
	if err := d.open(); err != nil {
		d.Close()
		return nil, fmt.Errorf("dataset %s: %w", dir, err)
	}
	return d, nil
}

func (d *Dataset) open() error {
	info := d.Info
	for _, key := range info.cameras() {
		cam := strings.TrimPrefix(key, ImagePrefix)
		d.Cameras = append(d.Cameras, cam)
		if info.Features[key].DType == "video" {
			d.videoKey[cam] = key
		} else {
			d.imageCol[cam] = key
		}
	}
	if err := d.readTasks(); err != nil {
		return err
	}
	if err := d.readEpisodes(); err != nil {
		return err
	}
	if len(d.Episodes) != info.TotalEpisodes {
		return fmt.Errorf("info.json: total_episodes is %d, the episodes table has %d", info.TotalEpisodes, len(d.Episodes))
	}
	type loc struct{ chunk, file int }
	var order []loc
	for _, ep := range d.Episodes {
		l := loc{ep.dataChunk, ep.dataFile}
		if !slices.Contains(order, l) {
			order = append(order, l)
		}
	}
	for _, l := range order {
		rel, err := expandPath(info.DataPath, "", l.chunk, l.file)
		if err != nil {
			return fmt.Errorf("info.json: data_path: %w", err)
		}
		if err := d.loadFile(filepath.Join(d.Dir, rel), lerobotColumns(info)); err != nil {
			return err
		}
	}
	if d.Len() != info.TotalFrames {
		return fmt.Errorf("info.json: total_frames is %d, the data files hold %d", info.TotalFrames, d.Len())
	}
	for _, ep := range d.Episodes {
		if ep.From < 0 || ep.To > d.Len() || ep.To-ep.From != ep.Length {
			return fmt.Errorf("episode %d: frames [%d, %d) do not match its length %d within %d frames", ep.Index, ep.From, ep.To, ep.Length, d.Len())
		}
		for j := ep.From; j < ep.To; j++ {
			if int(d.epIdx[j]) != ep.Index {
				return fmt.Errorf("episode %d: frame %d belongs to episode %d", ep.Index, j, d.epIdx[j])
			}
		}
	}
	if raw, err := os.ReadFile(filepath.Join(d.Dir, "meta", "stats.json")); err == nil {
		if d.Stats, err = normalize.ParseLeRobot(raw); err != nil {
			return fmt.Errorf("meta/stats.json: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// columns names the parquet columns a loader reads; "" means absent.
type columns struct {
	state, action, ts, frame, episode, index, task, taskText string
	images                                                   map[string]string
	stateDim, actionDim                                      int
}

func lerobotColumns(info *Info) columns {
	c := columns{action: "action", ts: "timestamp", frame: "frame_index", episode: "episode_index", index: "index",
		actionDim: info.dim("action"), stateDim: info.dim(normalize.State), images: map[string]string{}}
	if c.stateDim > 0 {
		c.state = normalize.State
	}
	if _, ok := info.Features["task_index"]; ok {
		c.task = "task_index"
	}
	for _, key := range info.cameras() {
		if info.Features[key].DType == "image" {
			c.images[strings.TrimPrefix(key, ImagePrefix)] = key
		}
	}
	return c
}

// loadFile appends one data file's rows.
func (d *Dataset) loadFile(path string, c columns) error {
	p, err := openParquet(path)
	if err != nil {
		return err
	}
	d.files = append(d.files, p)
	n := p.numRows()
	base := d.Len()
	if c.state != "" {
		v, err := p.vectors(c.state, c.stateDim)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		d.state = append(d.state, v...)
	}
	v, err := p.vectors(c.action, c.actionDim)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	d.action = append(d.action, v...)
	ints := func(col string, dst *[]int32, def func(i int) int) error {
		if col == "" {
			for i := range n {
				*dst = append(*dst, int32(def(i)))
			}
			return nil
		}
		vals, err := p.scalars(col)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for i, x := range vals {
			if x < 0 || x > math.MaxInt32 || x != math.Trunc(x) {
				return fmt.Errorf("%s: column %q row %d is %v, not an index", path, col, i, x)
			}
			*dst = append(*dst, int32(x))
		}
		return nil
	}
	if err := ints(c.frame, &d.frameIdx, func(i int) int { return i }); err != nil {
		return err
	}
	if err := ints(c.episode, &d.epIdx, func(int) int { return len(d.files) - 1 }); err != nil {
		return err
	}
	if c.task != "" {
		if err := ints(c.task, &d.taskIdx, nil); err != nil {
			return err
		}
	} else {
		if err := d.textTasks(p, c.taskText); err != nil {
			return err
		}
	}
	if c.index != "" {
		idx, err := p.scalars(c.index)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for i, x := range idx {
			if int(x) != base+i {
				return fmt.Errorf("%s: column \"index\" row %d is %v, want %d (frames must be stored in index order)", path, i, x, base+i)
			}
		}
	}
	if c.ts != "" {
		ts, err := p.scalars(c.ts)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, x := range ts {
			d.ts = append(d.ts, float32(x))
		}
	} else {
		for i := range n {
			d.ts = append(d.ts, float32(float64(d.frameIdx[base+i])/d.Info.FPS))
		}
	}
	for cam, col := range c.images {
		if !p.has(col) {
			return fmt.Errorf("%s: no image column %q", path, col)
		}
		d.imageCol[cam] = col
	}
	for i := range n {
		d.fileOf = append(d.fileOf, int32(len(d.files)-1))
		d.rowOf = append(d.rowOf, int32(i))
	}
	for i, t := range d.taskIdx[base:] {
		if int(t) >= len(d.Tasks) {
			return fmt.Errorf("%s: row %d has task_index %d, but there are %d tasks", path, i, t, len(d.Tasks))
		}
	}
	return nil
}

// textTasks fills task indices from a string column (or "" when absent).
func (d *Dataset) textTasks(p *pqFile, col string) error {
	texts := make([]string, p.numRows())
	if col != "" {
		s, err := p.strs(col)
		if err != nil {
			return fmt.Errorf("%s: %w", p.path, err)
		}
		for i, v := range s {
			texts[i] = strings.Join(v, " ")
		}
	}
	for _, t := range texts {
		i := slices.Index(d.Tasks, t)
		if i < 0 {
			i = len(d.Tasks)
			d.Tasks = append(d.Tasks, t)
		}
		d.taskIdx = append(d.taskIdx, int32(i))
	}
	return nil
}

func (d *Dataset) readTasks() error {
	p, err := openParquet(filepath.Join(d.Dir, "meta", "tasks.parquet"))
	if err != nil {
		return fmt.Errorf("meta/tasks.parquet: %w", err)
	}
	defer p.Close()
	col := "task"
	if !p.has(col) {
		col = "__index_level_0__"
	}
	names, err := p.strs(col)
	if err != nil {
		return fmt.Errorf("meta/tasks.parquet: %w", err)
	}
	idx, err := p.scalars("task_index")
	if err != nil {
		return fmt.Errorf("meta/tasks.parquet: %w", err)
	}
	d.Tasks = make([]string, len(names))
	for i, x := range idx {
		if x < 0 || int(x) >= len(names) || len(names[i]) != 1 || d.Tasks[int(x)] != "" {
			return fmt.Errorf("meta/tasks.parquet: row %d (task_index %v) is not a unique task index below %d with one task", i, x, len(names))
		}
		d.Tasks[int(x)] = names[i][0]
	}
	if len(d.Tasks) != d.Info.TotalTasks {
		return fmt.Errorf("info.json: total_tasks is %d, meta/tasks.parquet has %d", d.Info.TotalTasks, len(d.Tasks))
	}
	return nil
}

func (d *Dataset) readEpisodes() error {
	files, err := filepath.Glob(filepath.Join(d.Dir, "meta", "episodes", "chunk-*", "file-*.parquet"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("meta/episodes: no episode files")
	}
	slices.Sort(files)
	for _, path := range files {
		if err := d.readEpisodeFile(path); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	for i, ep := range d.Episodes {
		if ep.Index != i {
			return fmt.Errorf("meta/episodes: row %d has episode_index %d", i, ep.Index)
		}
	}
	return nil
}

func (d *Dataset) readEpisodeFile(path string) error {
	p, err := openParquet(path)
	if err != nil {
		return err
	}
	defer p.Close()
	cols := map[string][]float64{}
	need := []string{"episode_index", "length", "dataset_from_index", "dataset_to_index", "data/chunk_index", "data/file_index"}
	for _, key := range d.videoKey {
		for _, f := range []string{"chunk_index", "file_index", "from_timestamp", "to_timestamp"} {
			need = append(need, "videos/"+key+"/"+f)
		}
	}
	if p.has("success") {
		need = append(need, "success")
	}
	for _, c := range need {
		if cols[c], err = p.scalars(c); err != nil {
			return err
		}
	}
	tasks, err := p.strs("tasks")
	if err != nil {
		return err
	}
	for i := range p.numRows() {
		ep := Episode{
			Index: int(cols["episode_index"][i]), Length: int(cols["length"][i]), Tasks: tasks[i],
			From: int(cols["dataset_from_index"][i]), To: int(cols["dataset_to_index"][i]),
			dataChunk: int(cols["data/chunk_index"][i]), dataFile: int(cols["data/file_index"][i]),
		}
		if s := cols["success"]; s != nil {
			ep.Success = s[i] != 0
		}
		if len(d.videoKey) > 0 {
			ep.Videos = map[string]VideoRef{}
		}
		for cam, key := range d.videoKey {
			k := "videos/" + key + "/"
			rel, err := expandPath(*d.Info.VideoPath, key, int(cols[k+"chunk_index"][i]), int(cols[k+"file_index"][i]))
			if err != nil {
				return fmt.Errorf("info.json: video_path: %w", err)
			}
			ep.Videos[cam] = VideoRef{Path: filepath.Join(d.Dir, rel), From: cols[k+"from_timestamp"][i], To: cols[k+"to_timestamp"][i]}
		}
		d.Episodes = append(d.Episodes, ep)
	}
	return nil
}

// Numeric returns frame i (0 ≤ i < Len) without its images (an empty
// Images map): the action, state, timestamp, task and indices, all held in
// memory, so it costs no I/O.
func (d *Dataset) Numeric(i int) (*Sample, error) {
	if i < 0 || i >= d.Len() {
		return nil, fmt.Errorf("dataset: frame %d is outside 0..%d", i, d.Len()-1)
	}
	s := &Sample{
		Frame: Frame{Action: slices.Clone(d.action[i]), Timestamp: d.ts[i], Images: map[string]RGB{}},
		Index: i, EpisodeIndex: int(d.epIdx[i]), FrameIndex: int(d.frameIdx[i]), TaskIndex: int(d.taskIdx[i]),
	}
	s.Task = d.Tasks[s.TaskIndex]
	if d.state != nil {
		s.State = slices.Clone(d.state[i])
	}
	return s, nil
}

// Sample returns frame i (0 ≤ i < Len) with its images decoded.
func (d *Dataset) Sample(i int) (*Sample, error) {
	s, err := d.Numeric(i)
	if err != nil {
		return nil, err
	}
	for cam, col := range d.imageCol {
		b, err := d.files[d.fileOf[i]].bytesAt(col, int(d.rowOf[i]))
		if err != nil {
			return nil, fmt.Errorf("dataset: frame %d: %w", i, err)
		}
		if s.Images[cam], err = decodeImage(b); err != nil {
			return nil, fmt.Errorf("dataset: frame %d camera %q: %w", i, cam, err)
		}
	}
	for cam := range d.videoKey {
		if d.video == nil {
			return nil, fmt.Errorf("dataset: frame %d: camera %q is a video and no VideoDecoder was given", i, cam)
		}
		if s.EpisodeIndex >= len(d.Episodes) {
			return nil, fmt.Errorf("dataset: frame %d: episode %d has no video", i, s.EpisodeIndex)
		}
		ref := d.Episodes[s.EpisodeIndex].Videos[cam]
		k := int(math.Round((ref.From + float64(s.Timestamp)) * d.Info.FPS))
		im, err := d.video.ReadFrame(ref.Path, k)
		if err != nil {
			return nil, fmt.Errorf("dataset: frame %d camera %q: %w", i, cam, err)
		}
		s.Images[cam] = im
	}
	return s, nil
}

// LIBERO-style column names OpenLIBERO accepts, first match wins.
var (
	liberoState  = []string{"state", "observation.state"}
	liberoAction = []string{"actions", "action"}
	liberoTask   = []string{"language_instruction", "task"}
	liberoImages = []string{"image", "wrist_image"}
)

// LIBEROFPS is the frame rate assumed for LIBERO-style files (LIBERO as
// converted to LeRobot runs at 10 Hz); it only matters when the files have
// no timestamp column.
const LIBEROFPS = 10

// OpenLIBERO reads every *.parquet file under dir (recursively, in path
// order) in the LIBERO style of one row per frame with:
//
//   - images: columns "image" (agentview) and "wrist_image", each a
//     {bytes, path} struct or plain binary holding PNG or JPEG bytes;
//     Sample returns them under those names;
//   - state: "state" or "observation.state" (list of numbers; optional);
//   - action: "actions" or "action" (list of numbers; required);
//   - task: "language_instruction" or "task" (string; optional);
//   - optional "episode_index" (else each file is one episode),
//     "frame_index" (else the row position within the file) and
//     "timestamp" (else frame_index / LIBEROFPS).
//
// Rows of one episode must be contiguous. The returned Dataset has a
// synthesized Info (no stats).
func OpenLIBERO(dir string) (*Dataset, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(path, ".parquet") && !strings.HasPrefix(e.Name(), ".") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("dataset: no .parquet files under %s", dir)
	}
	slices.Sort(files)
	d := &Dataset{Dir: dir, imageCol: map[string]string{}, videoKey: map[string]string{},
		Info: &Info{CodebaseVersion: "libero", FPS: LIBEROFPS, ChunksSize: 1000, Features: map[string]Feature{}}}
	if err := d.openLIBERO(files); err != nil {
		d.Close()
		return nil, fmt.Errorf("dataset %s: %w", dir, err)
	}
	return d, nil
}

func (d *Dataset) openLIBERO(files []string) error {
	for _, path := range files {
		p, err := openParquet(path)
		if err != nil {
			return err
		}
		first := func(names []string) string {
			for _, n := range names {
				if p.has(n) {
					return n
				}
			}
			return ""
		}
		c := columns{state: first(liberoState), action: first(liberoAction), taskText: first(liberoTask),
			images: map[string]string{}}
		if c.action == "" {
			p.Close()
			return fmt.Errorf("%s: no action column (want one of %s)", path, strings.Join(liberoAction, ", "))
		}
		if p.has("timestamp") {
			c.ts = "timestamp"
		}
		if p.has("frame_index") {
			c.frame = "frame_index"
		}
		if p.has("episode_index") {
			c.episode = "episode_index"
		}
		for _, im := range liberoImages {
			if p.has(im) {
				c.images[im] = im
			}
		}
		if len(d.files) > 0 {
			c.stateDim, c.actionDim = d.Info.dim("observation.state"), d.Info.dim("action")
			if (c.state == "") != (d.state == nil) || len(c.images) != len(d.Cameras) {
				p.Close()
				return fmt.Errorf("%s: columns differ from the first file's", path)
			}
		}
		p.Close()
		if err := d.loadFile(path, c); err != nil {
			return err
		}
		if len(d.files) == 1 {
			d.Info.Features["action"] = Feature{DType: "float32", Shape: []int{len(d.action[0])}}
			if c.state != "" {
				d.Info.Features["observation.state"] = Feature{DType: "float32", Shape: []int{len(d.state[0])}}
			}
			for cam := range c.images {
				d.Cameras = append(d.Cameras, cam)
			}
			slices.Sort(d.Cameras)
		}
	}
	// Episodes: maximal runs of equal episode_index (or file).
	for i := 0; i < d.Len(); {
		j := i
		for j < d.Len() && d.epIdx[j] == d.epIdx[i] {
			j++
		}
		ep := Episode{Index: len(d.Episodes), Length: j - i, From: i, To: j}
		for k := i; k < j; k++ {
			if t := d.Tasks[d.taskIdx[k]]; !slices.Contains(ep.Tasks, t) {
				ep.Tasks = append(ep.Tasks, t)
			}
			d.epIdx[k] = int32(ep.Index)
		}
		d.Episodes = append(d.Episodes, ep)
		i = j
	}
	d.Info.TotalFrames, d.Info.TotalEpisodes, d.Info.TotalTasks = d.Len(), len(d.Episodes), len(d.Tasks)
	return nil
}
