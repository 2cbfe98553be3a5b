package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vstgo/vst/vla/normalize"
	"github.com/vstgo/vst/vlm/qwen25vl"
	"github.com/vstgo/vst/vlm/safetensors"
	"github.com/vstgo/vst/vlm/tensor"
)

// Files of a saved VLA besides the backbone's.
const (
	// HeadFile holds every trained tensor (adapters, head, token rows,
	// trained vision weights) in F32.
	HeadFile = "vla_head.safetensors"
	// StatsFile holds the normalization statistics in VST's norm_stats
	// format.
	StatsFile = "norm_stats.json"
)

// Save writes the model to dir so that Load restores it exactly:
//
//   - the backbone unchanged (config.json, generation and preprocessor
//     configs, model.safetensors or its shards and index), hard-linked from
//     the directory the model was loaded from when possible, copied
//     otherwise: base weights are never merged with the adapters. With
//     full fine-tuning the trained backbone is written instead, as one
//     model.safetensors with every trained weight in F32 (a plain
//     Qwen2.5-VL checkpoint that `vla chat` also loads);
//   - tokenizer.json (and tokenizer_config.json) with the action tokens
//     added by the tokens head;
//   - vla_config.json, vla_head.safetensors (see TrainableParams for the
//     names; trained backbone weights live in model.safetensors) and
//     norm_stats.json.
//
// The files are written into a temporary directory next to dir that
// replaces dir by rename only once complete, so a failed or interrupted
// Save leaves an existing checkpoint at dir intact.
func (v *VLA) Save(dir string) (err error) {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("save vla: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("save vla: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
			err = fmt.Errorf("save vla %s: %w", dir, err)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	files, err := baseFiles(v.baseDir)
	if err != nil {
		return err
	}
	for _, f := range files {
		if v.cfg.FullFinetune && strings.HasSuffix(f, ".safetensors") || f == "model.safetensors.index.json" {
			continue
		}
		if err := linkOrCopy(filepath.Join(v.baseDir, f), filepath.Join(tmp, f)); err != nil {
			return err
		}
	}
	if v.cfg.FullFinetune {
		if err := v.writeBackbone(tmp); err != nil {
			return err
		}
	}
	if err := v.tok.Save(tmp); err != nil {
		return err
	}
	if err := v.writeOwn(tmp); err != nil {
		return err
	}
	if err := swapDir(tmp, dir); err != nil {
		return err
	}
	v.baseDir = dir
	return nil
}

// writeOwn writes vla_config.json, vla_head.safetensors and
// norm_stats.json into dir.
func (v *VLA) writeOwn(dir string) error {
	cfg, err := json.MarshalIndent(savedConfig{Format: configFormat, Config: v.cfg, ActionTokenBase: v.actBase}, "", "  ")
	if err != nil {
		return err
	}
	if err := writeSynced(filepath.Join(dir, ConfigFile), append(cfg, '\n')); err != nil {
		return err
	}
	ts := make([]safetensors.Tensor, 0, len(v.params))
	for _, p := range v.params {
		if p.backbone {
			continue
		}
		t := *p.ptr
		ts = append(ts, safetensors.F32(p.name, slices.Clone(t.Shape()), t.Float32s()))
	}
	if err := safetensors.Write(filepath.Join(dir, HeadFile), ts, map[string]string{"format": "vst-go-vla", "head": v.cfg.Head}); err != nil {
		return err
	}
	stats, err := v.stats.MarshalVST()
	if err != nil {
		return err
	}
	return writeSynced(filepath.Join(dir, StatsFile), append(stats, '\n'))
}

// writeBackbone writes dir/model.safetensors for full fine-tuning: the
// base checkpoint's tensors (every shard) with each trained backbone
// weight in place of its base value.
func (v *VLA) writeBackbone(dir string) error {
	base, err := safetensors.OpenModel(v.baseDir)
	if err != nil {
		return err
	}
	defer base.Close()
	trained := map[string]*tensor.Tensor{}
	for _, p := range v.params {
		if p.backbone {
			trained[p.name] = *p.ptr
		}
	}
	ts := make([]safetensors.Tensor, 0, base.Len())
	for _, name := range base.Names() {
		info, _ := base.Info(name)
		if t, ok := trained[name]; ok {
			if t.Numel() != info.NumElements() {
				return fmt.Errorf("trained weight %q has %d values, the base checkpoint's %d", name, t.Numel(), info.NumElements())
			}
			// The base layout's shape (the model may hold a reshaped view,
			// as the vision patch embedding's [out, C·T·P·P]).
			ts = append(ts, safetensors.F32(name, slices.Clone(info.Shape), t.Float32s()))
			delete(trained, name)
			continue
		}
		data, err := base.Bytes(name)
		if err != nil {
			return err
		}
		ts = append(ts, safetensors.Tensor{Name: name, DType: info.DType, Shape: info.Shape, Data: data})
	}
	for name := range trained {
		return fmt.Errorf("trained weight %q is not in the base checkpoint %s", name, v.baseDir)
	}
	return safetensors.Write(filepath.Join(dir, "model.safetensors"), ts, base.Metadata())
}

// writeSynced writes data to a new file at path and syncs it.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// linkOrCopy hard-links src to dst, or copies it when linking fails (for
// example across file systems).
func linkOrCopy(src, dst string) error {
	if os.Link(src, dst) == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// swapDir moves the complete directory tmp to dir. An existing dir is
// first renamed aside and removed only after tmp is in place; if the
// second rename fails it is moved back.
func swapDir(tmp, dir string) error {
	old := ""
	if _, err := os.Stat(dir); err == nil {
		o, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".old-")
		if err != nil {
			return err
		}
		if err := os.Remove(o); err != nil {
			return err
		}
		if err := os.Rename(dir, o); err != nil {
			return err
		}
		old = o
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			if rerr := os.Rename(old, dir); rerr != nil {
				return fmt.Errorf("%w (the previous checkpoint is at %s)", err, old)
			}
		}
		return err
	}
	syncDir(filepath.Dir(dir))
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

// syncDir flushes a directory's entries to disk (best effort: some file
// systems do not support it).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// Load reads a VLA saved by Save: the backbone, the tokenizer, the config,
// the statistics and every trained tensor, which must all be present with
// the shapes the config implies.
func Load(dir string) (*VLA, error) {
	sc, err := readConfig(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("load vla: %w", err)
	}
	stats, _, err := normalize.ReadFile(filepath.Join(dir, StatsFile))
	if err != nil {
		return nil, fmt.Errorf("load vla: %w", err)
	}
	m, err := qwen25vl.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("load vla: %w", err)
	}
	v, err := build(m, dir, sc.Config, stats, sc.ActionTokenBase)
	if err == nil {
		err = v.readHead(filepath.Join(dir, HeadFile))
	}
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("load vla %s: %w", dir, err)
	}
	return v, nil
}

// readHead replaces every trainable tensor by its saved value.
func (v *VLA) readHead(path string) error {
	f, err := safetensors.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var errs []error
	want := map[string]bool{}
	for _, p := range v.params {
		want[p.name] = true
		info, ok := f.Info(p.name)
		if !ok {
			if !p.backbone { // full fine-tuning: trained weights came with the backbone
				errs = append(errs, fmt.Errorf("missing tensor %q", p.name))
			}
			continue
		}
		if !slices.Equal(info.Shape, (*p.ptr).Shape()) {
			errs = append(errs, fmt.Errorf("tensor %q has shape %v, want %v", p.name, info.Shape, (*p.ptr).Shape()))
			continue
		}
		vals, err := f.Float32(p.name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		copy((*p.ptr).Float32s(), vals)
	}
	for _, n := range f.Names() {
		if !want[n] {
			errs = append(errs, fmt.Errorf("unexpected tensor %q (does vla_config.json match?)", n))
		}
	}
	return errors.Join(errs...)
}
