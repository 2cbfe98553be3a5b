// Package dataset writes and reads robot demonstration data in the
// LeRobotDataset v3.0 layout, and reads LIBERO-style parquet files with
// image bytes:
//
//	meta/info.json                                     features, totals, path templates
//	meta/stats.json                                    observation.state and action stats (vla/normalize)
//	meta/tasks.parquet                                 task (pandas index) ↔ task_index
//	meta/episodes/chunk-000/file-000.parquet           one row per episode
//	data/chunk-CCC/file-FFF.parquet                    one row per frame, many episodes per file
//	videos/observation.images.CAM/chunk-CCC/file-FFF.mp4   one file per episode and camera
//
// Images either go to mp4 files through a caller-supplied VideoEncoder
// (the robot layer implements it; this package has no codec) or, with
// WriterConfig.ImagesInParquet, into the data files as PNG bytes in
// {bytes, path} struct columns (dtype "image"), which needs no codec.
package dataset

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/vstgo/vst/policy"
)

// RGB is an 8-bit RGB image, row-major HWC.
type RGB = policy.Image

// CodebaseVersion is the LeRobotDataset format version written and read.
const CodebaseVersion = "v3.0"

// Default path templates (Python format strings, as LeRobot writes them).
const (
	DefaultDataPath  = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
	DefaultVideoPath = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
)

// ImagePrefix starts every camera feature name.
const ImagePrefix = "observation.images."

// Feature describes one column of the data set.
type Feature struct {
	// DType is "float32", "float64", "int64", "bool", "string", "image"
	// (PNG bytes in the data files) or "video" (mp4 files).
	DType string `json:"dtype"`
	// Shape is the per-frame shape: [D] for vectors, [1] for scalars,
	// [H, W, 3] for images.
	Shape []int `json:"shape"`
	// Names names the dimensions: a list of strings, null, or (older
	// datasets) an object; kept as read.
	Names json.RawMessage `json:"names"`
	// Info carries video metadata (video.fps, video.codec, …) for video
	// features.
	Info map[string]any `json:"info,omitempty"`
}

// Info is meta/info.json.
type Info struct {
	// CodebaseVersion is "v3.0".
	CodebaseVersion string `json:"codebase_version"`
	// RobotType names the embodiment.
	RobotType string `json:"robot_type"`
	// TotalEpisodes, TotalFrames and TotalTasks count the data set.
	TotalEpisodes int `json:"total_episodes"`
	TotalFrames   int `json:"total_frames"`
	TotalTasks    int `json:"total_tasks"`
	// ChunksSize is the number of files per chunk folder (1000).
	ChunksSize int `json:"chunks_size"`
	// DataFilesSizeInMB and VideoFilesSizeInMB are the file rotation sizes.
	DataFilesSizeInMB  int `json:"data_files_size_in_mb"`
	VideoFilesSizeInMB int `json:"video_files_size_in_mb"`
	// FPS is the recording rate in frames per second.
	FPS float64 `json:"fps"`
	// Splits maps split names to "from:to" episode ranges.
	Splits map[string]string `json:"splits"`
	// DataPath and VideoPath are the file path templates; VideoPath is
	// null when no feature is a video.
	DataPath  string  `json:"data_path"`
	VideoPath *string `json:"video_path"`
	// Features describes every column by name.
	Features map[string]Feature `json:"features"`
}

// ParseInfo reads and validates meta/info.json. Errors name the offending
// field.
func ParseInfo(data []byte) (*Info, error) {
	var info Info
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("info.json: %w", err)
	}
	if err := info.Validate(); err != nil {
		return nil, err
	}
	return &info, nil
}

// Validate checks the fields a reader relies on.
func (in *Info) Validate() error {
	if !strings.HasPrefix(in.CodebaseVersion, "v3.") {
		return fmt.Errorf("info.json: codebase_version %q is not v3.x (convert v2.x datasets with LeRobot's porting tool)", in.CodebaseVersion)
	}
	if !(in.FPS > 0 && in.FPS < 1e6) {
		return fmt.Errorf("info.json: fps %v is not positive", in.FPS)
	}
	if in.TotalEpisodes < 0 || in.TotalFrames < 0 || in.TotalTasks < 0 {
		return fmt.Errorf("info.json: total_episodes/total_frames/total_tasks (%d/%d/%d) are negative", in.TotalEpisodes, in.TotalFrames, in.TotalTasks)
	}
	if in.ChunksSize <= 0 {
		return fmt.Errorf("info.json: chunks_size %d is not positive", in.ChunksSize)
	}
	if _, err := expandPath(in.DataPath, "", 0, 0); err != nil {
		return fmt.Errorf("info.json: data_path: %w", err)
	}
	if len(in.Features) == 0 {
		return fmt.Errorf("info.json: features is empty")
	}
	for _, name := range []string{"action", "episode_index", "index"} {
		if _, ok := in.Features[name]; !ok {
			return fmt.Errorf("info.json: features lacks %q", name)
		}
	}
	for name, f := range in.Features {
		if err := f.validate(); err != nil {
			return fmt.Errorf("info.json: features[%q].%w", name, err)
		}
		if f.DType == "video" {
			if in.VideoPath == nil {
				return fmt.Errorf("info.json: video_path is null but features[%q] is a video", name)
			}
			if _, err := expandPath(*in.VideoPath, name, 0, 0); err != nil {
				return fmt.Errorf("info.json: video_path: %w", err)
			}
		}
	}
	for _, name := range []string{"action", "observation.state"} {
		f, ok := in.Features[name]
		if ok && (len(f.Shape) != 1 || (f.DType != "float32" && f.DType != "float64")) {
			return fmt.Errorf("info.json: features[%q] must be a float32 or float64 vector, is %s%v", name, f.DType, f.Shape)
		}
	}
	return nil
}

func (f Feature) validate() error {
	switch f.DType {
	case "float32", "float64", "int64", "int32", "bool", "string":
	case "image", "video":
		if len(f.Shape) != 3 || (f.Shape[2] != 3 && f.Shape[0] != 3) {
			return fmt.Errorf("shape %v is not an [H, W, 3] image", f.Shape)
		}
	case "":
		return fmt.Errorf("dtype is missing")
	default:
		return fmt.Errorf("dtype %q is not supported", f.DType)
	}
	if len(f.Shape) == 0 {
		return fmt.Errorf("shape is missing")
	}
	for _, s := range f.Shape {
		if s <= 0 || s > 1<<20 {
			return fmt.Errorf("shape %v has a non-positive or huge size", f.Shape)
		}
	}
	return nil
}

// dim returns a vector feature's length, or 0 when the feature is absent.
func (in *Info) dim(name string) int {
	if f, ok := in.Features[name]; ok && len(f.Shape) == 1 {
		return f.Shape[0]
	}
	return 0
}

// cameras returns the image/video feature names, sorted.
func (in *Info) cameras() []string {
	var out []string
	for name, f := range in.Features {
		if f.DType == "image" || f.DType == "video" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// expandPath fills a Python format-string path template: {video_key},
// {chunk_index}, {file_index}, each optionally with a ":0Nd" or ":d"
// spec. The result must be a local path (no "..", not absolute).
func expandPath(tmpl, videoKey string, chunk, file int) (string, error) {
	if tmpl == "" {
		return "", fmt.Errorf("template is empty")
	}
	var b strings.Builder
	seen := map[string]bool{}
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c == '}' {
			return "", fmt.Errorf("template %q has an unmatched '}'", tmpl)
		}
		if c != '{' {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(tmpl[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("template %q has an unclosed '{'", tmpl)
		}
		field := tmpl[i+1 : i+end]
		i += end
		name, spec, _ := strings.Cut(field, ":")
		var s string
		switch name {
		case "video_key":
			if spec != "" {
				return "", fmt.Errorf("template %q: {video_key} takes no format spec", tmpl)
			}
			s = videoKey
		case "chunk_index", "file_index":
			v := chunk
			if name == "file_index" {
				v = file
			}
			var err error
			if s, err = formatInt(v, spec); err != nil {
				return "", fmt.Errorf("template %q: %w", tmpl, err)
			}
		default:
			return "", fmt.Errorf("template %q has an unknown field {%s}", tmpl, name)
		}
		seen[name] = true
		b.WriteString(s)
	}
	if !seen["chunk_index"] || !seen["file_index"] {
		return "", fmt.Errorf("template %q lacks {chunk_index} or {file_index}", tmpl)
	}
	p := filepath.FromSlash(b.String())
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("template %q gives %q, which leaves the data set folder", tmpl, p)
	}
	return p, nil
}

// formatInt applies a Python integer format spec: "", "d" or "0Nd".
func formatInt(v int, spec string) (string, error) {
	switch {
	case spec == "" || spec == "d":
		return strconv.Itoa(v), nil
	case len(spec) >= 3 && spec[0] == '0' && spec[len(spec)-1] == 'd':
		w, err := strconv.Atoi(spec[1 : len(spec)-1])
		if err != nil || w <= 0 || w > 20 {
			return "", fmt.Errorf("format spec %q is not supported", spec)
		}
		return fmt.Sprintf("%0*d", w, v), nil
	}
	return "", fmt.Errorf("format spec %q is not supported", spec)
}
