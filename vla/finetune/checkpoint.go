package finetune

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vstgo/vst/vla/model"
	"github.com/vstgo/vst/vlm/tensor/optim"
)

// Files of the checkpoint directory and of each checkpoint.
const (
	// LatestFile, in the checkpoint directory, names the newest complete
	// checkpoint ("checkpoint-<step>").
	LatestFile = "latest"
	// OptimizerFile holds the AdamW state (vlm/tensor/optim's format).
	OptimizerFile = "optimizer.safetensors"
	// StateFile holds the trainer's state: the step, the data order's
	// position and the loss and evaluation history.
	StateFile = "trainer_state.json"
	// LossCSV and LossPlot are the loss history as a table and a plot;
	// EvalCSV the evaluations.
	LossCSV  = "loss.csv"
	LossPlot = "loss.png"
	EvalCSV  = "eval.csv"
)

// checkpointPrefix starts every checkpoint directory's name.
const checkpointPrefix = "checkpoint-"

// stateFormat is the version of trainer_state.json.
const stateFormat = 1

// trainerState is trainer_state.json. The random streams of the data
// order and of the augmentations are pure functions of the seed and the
// number of samples drawn (SamplesSeen = Step·Batch), so these fields are
// the whole generator state.
type trainerState struct {
	Format int `json:"format"`
	// Step is the number of optimizer steps done.
	Step int `json:"step"`
	// Seed, Batch and Frames (the data set's size) decide the data
	// order; they must match on resume.
	Seed   uint64 `json:"seed"`
	Batch  int    `json:"batch"`
	Frames int    `json:"frames"`
	// SamplesSeen is Step·Batch: the position in the data order.
	SamplesSeen int `json:"samples_seen"`
	// Epoch and EpochPosition locate SamplesSeen within the epochs.
	Epoch         int `json:"epoch"`
	EpochPosition int `json:"epoch_position"`
	// Steps is the run's planned number of steps.
	Steps int `json:"steps"`
	// Losses is the mean batch loss of every step.
	Losses []float64 `json:"losses"`
	// Evals lists the evaluations so far.
	Evals []EvalPoint `json:"evals"`
}

// checkpointName is the directory name of the checkpoint of step.
func checkpointName(step int) string { return checkpointPrefix + strconv.Itoa(step) }

// readLatest returns the directory of the newest complete checkpoint in
// dir and its state, or "" and nil when there is none.
func readLatest(dir string) (string, *trainerState, error) {
	raw, err := os.ReadFile(filepath.Join(dir, LatestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	name := strings.TrimSpace(string(raw))
	step, err := strconv.Atoi(strings.TrimPrefix(name, checkpointPrefix))
	if !strings.HasPrefix(name, checkpointPrefix) || err != nil || step < 0 || checkpointName(step) != name {
		return "", nil, fmt.Errorf("%s: %q is not a checkpoint name", filepath.Join(dir, LatestFile), name)
	}
	ck := filepath.Join(dir, name)
	raw, err = os.ReadFile(filepath.Join(ck, StateFile))
	if err != nil {
		return "", nil, err
	}
	var st trainerState
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return "", nil, fmt.Errorf("%s: %w", filepath.Join(ck, StateFile), err)
	}
	switch {
	case st.Format != stateFormat:
		return "", nil, fmt.Errorf("%s: format %d, this build reads %d", filepath.Join(ck, StateFile), st.Format, stateFormat)
	case st.Step != step || len(st.Losses) != step || st.Batch <= 0:
		return "", nil, fmt.Errorf("%s: step %d with %d losses and batch %d does not match %s", filepath.Join(ck, StateFile), st.Step, len(st.Losses), st.Batch, name)
	}
	return ck, &st, nil
}

// writeCheckpoint writes checkpoint-<step> into dir, then the loss table
// and plot, then points latest at it. The model directory is swapped in
// whole (model.Save); the optimizer and trainer state are each written to
// a temporary file and renamed; latest is rewritten last the same way, so
// it always names a complete checkpoint and an interrupted write loses
// nothing already saved.
func writeCheckpoint(dir string, v *model.VLA, opt *optim.AdamW, st *trainerState) (string, error) {
	ck := filepath.Join(dir, checkpointName(st.Step))
	if err := v.Save(ck); err != nil {
		return "", err
	}
	if err := writeAtomic(filepath.Join(ck, OptimizerFile), opt.Save); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return "", err
	}
	if err := writeAtomic(filepath.Join(ck, StateFile), writeBytes(append(data, '\n'))); err != nil {
		return "", err
	}
	if err := writeHistory(dir, st.Losses, st.Evals); err != nil {
		return "", err
	}
	if err := writeAtomic(filepath.Join(dir, LatestFile), writeBytes([]byte(checkpointName(st.Step)+"\n"))); err != nil {
		return "", err
	}
	return ck, nil
}

// writeBytes returns a fill function for writeAtomic that writes data.
func writeBytes(data []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}
}

// writeAtomic writes a file through fill into a temporary file in the
// same directory, syncs it and renames it over path, so readers see the
// old file or the complete new one.
func writeAtomic(path string, fill func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if err = fill(f); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// syncDir flushes a directory's entries (best effort).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
