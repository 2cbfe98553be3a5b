package finetune

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/vla/dataset"
	"github.com/vstgo/vst/vla/model"
	"github.com/vstgo/vst/vla/normalize"
)

// liberoCameras renames LIBERO-style image columns to the camera names of
// the simulator's observations.
var liberoCameras = map[string]string{"image": "agentview", "wrist_image": "wrist"}

// Salts that keep the generators of the data order and of the
// augmentations apart for one seed.
const (
	orderSalt   = 0x0dd5_e7a1_0000_0001
	augmentSalt = 0x0dd5_e7a1_0000_0002
)

// trainData is the opened training data with the numeric columns held in
// memory: the actions and states of every frame and the end of each
// frame's episode, from which the target chunks are cut.
type trainData struct {
	ds      *dataset.Dataset
	cameras []camera // in prompt order
	actions [][]float32
	states  [][]float32 // nil without state
	epEnd   []int       // exclusive end frame of each frame's episode
	stats   *normalize.Set
	libero  bool

	seed    uint64
	aug     AugmentConfig
	horizon int
	epoch   int   // epoch of perm
	perm    []int // frame order of epoch
}

// camera pairs a model camera name with the data's.
type camera struct{ model, data string }

// openData opens cfg.Data, checks it against cfg.Embodiment, reads every
// frame's action and state (held in memory by the data set, so no image is
// decoded) and computes the normalization statistics.
func openData(ctx context.Context, cfg *Config) (*trainData, error) {
	d := &trainData{seed: cfg.Seed, aug: cfg.Augment, epoch: -1}
	var err error
	if _, serr := os.Stat(filepath.Join(cfg.Data, "meta", "info.json")); serr == nil {
		d.ds, err = dataset.Open(cfg.Data, dataset.ReaderConfig{Video: cfg.Video})
	} else {
		d.libero = true
		d.ds, err = dataset.OpenLIBERO(cfg.Data)
	}
	if err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	if err := d.init(ctx, cfg); err != nil {
		d.ds.Close()
		return nil, fmt.Errorf("finetune: data %s: %w", cfg.Data, err)
	}
	return d, nil
}

func (d *trainData) init(ctx context.Context, cfg *Config) error {
	n := d.ds.Len()
	if n == 0 {
		return errors.New("no frames")
	}
	byModel := map[string]string{}
	var names []string
	for _, c := range d.ds.Cameras {
		m := c
		if r, ok := liberoCameras[c]; ok && d.libero {
			m = r
		}
		byModel[m] = c
		names = append(names, m)
	}
	if e := cfg.Embodiment; e != nil && len(e.Cameras) > 0 {
		names = names[:0]
		for _, c := range e.Cameras {
			if _, ok := byModel[c.Name]; !ok {
				return fmt.Errorf("embodiment %q: camera %q is not in the data (it has %v)", e.Name, c.Name, slices.Sorted(maps.Keys(byModel)))
			}
			names = append(names, c.Name)
		}
	}
	if len(names) == 0 {
		return errors.New("no camera images: the model needs at least one")
	}
	for _, m := range names {
		d.cameras = append(d.cameras, camera{model: m, data: byModel[m]})
	}

	d.actions = make([][]float32, n)
	d.epEnd = make([]int, n)
	for _, ep := range d.ds.Episodes {
		for j := max(ep.From, 0); j < min(ep.To, n); j++ {
			d.epEnd[j] = ep.To
		}
	}
	for i := range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		s, err := d.ds.Numeric(i)
		if err != nil {
			return err
		}
		if d.epEnd[i] <= i {
			return fmt.Errorf("frame %d belongs to no episode", i)
		}
		if i > 0 && len(s.Action) != len(d.actions[0]) {
			return fmt.Errorf("frame %d has %d action values, frame 0 %d", i, len(s.Action), len(d.actions[0]))
		}
		d.actions[i] = s.Action
		hasState := len(s.State) > 0 && !cfg.NoState
		if i == 0 && hasState {
			d.states = make([][]float32, n)
		}
		switch {
		case hasState != (d.states != nil):
			return fmt.Errorf("frame %d has %d state values, frame 0 %d", i, len(s.State), d.stateDim())
		case hasState:
			if i > 0 && len(s.State) != len(d.states[0]) {
				return fmt.Errorf("frame %d has %d state values, frame 0 %d", i, len(s.State), len(d.states[0]))
			}
			d.states[i] = s.State
		}
	}
	if len(d.actions[0]) == 0 {
		return errors.New("actions are empty")
	}
	if e := cfg.Embodiment; e != nil {
		if e.ActionDim() != d.actionDim() {
			return fmt.Errorf("embodiment %q has %d action dimensions, the data %d", e.Name, e.ActionDim(), d.actionDim())
		}
		if len(e.State) > 0 && d.states != nil && e.StateDim() != d.stateDim() {
			return fmt.Errorf("embodiment %q has %d state dimensions, the data %d", e.Name, e.StateDim(), d.stateDim())
		}
	}
	var err error
	d.stats, err = computeStats(d.actions, d.states)
	return err
}

// computeStats returns the statistics of the actions and states, which
// the model normalizes with (and saves as norm_stats.json).
func computeStats(actions, states [][]float32) (*normalize.Set, error) {
	set := &normalize.Set{Features: map[string]*normalize.Stats{}, NumTransitions: int64(len(actions))}
	for _, f := range []struct {
		name string
		rows [][]float32
	}{{normalize.Action, actions}, {normalize.State, states}} {
		if f.rows == nil {
			continue
		}
		acc, err := normalize.NewAccumulator(len(f.rows[0]))
		if err != nil {
			return nil, err
		}
		for i, r := range f.rows {
			if err := acc.Add(r); err != nil {
				return nil, fmt.Errorf("frame %d %s: %w", i, f.name, err)
			}
		}
		if set.Features[f.name], err = acc.Stats(normalize.StatsOptions{}); err != nil {
			return nil, err
		}
	}
	return set, nil
}

func (d *trainData) actionDim() int { return len(d.actions[0]) }

func (d *trainData) stateDim() int {
	if d.states == nil {
		return 0
	}
	return len(d.states[0])
}

// modelCameras lists the camera names in prompt order.
func (d *trainData) modelCameras() []string {
	out := make([]string, len(d.cameras))
	for i, c := range d.cameras {
		out[i] = c.model
	}
	return out
}

// frameAt returns the frame index of the k-th sample of the data order:
// epoch k/N visits every frame once in a permutation drawn from the seed
// and the epoch number.
func (d *trainData) frameAt(k int) int {
	n := d.ds.Len()
	if e := k / n; e != d.epoch {
		d.perm = rand.New(rand.NewPCG(d.seed^orderSalt, uint64(e))).Perm(n)
		d.epoch = e
	}
	return d.perm[k%n]
}

// target returns the H actions from frame i on, padded with the
// episode's last action.
func (d *trainData) target(i int) [][]float32 {
	out := make([][]float32, d.horizon)
	for h := range out {
		out[h] = slices.Clone(d.actions[min(i+h, d.epEnd[i]-1)])
	}
	return out
}

// sample builds the k-th training sample of the data order, augmented
// with a generator seeded by the seed and k.
func (d *trainData) sample(k int) (model.Sample, error) {
	i := d.frameAt(k)
	s, err := d.ds.Sample(i)
	if err != nil {
		return model.Sample{}, err
	}
	rng := rand.New(rand.NewPCG(d.seed^augmentSalt, uint64(k)))
	out := model.Sample{Images: map[string]policy.Image{}, Instruction: s.Task, Actions: d.target(i)}
	if d.states != nil {
		out.State = d.states[i]
	}
	for _, c := range d.cameras {
		im, ok := s.Images[c.data]
		if !ok {
			return model.Sample{}, fmt.Errorf("frame %d has no %q image", i, c.data)
		}
		if err := im.Validate(); err != nil {
			return model.Sample{}, fmt.Errorf("frame %d camera %q: %w", i, c.data, err)
		}
		out.Images[c.model] = d.aug.augment(rng, im)
	}
	return out, nil
}

// batch is one step's samples, or the error that stopped loading them.
type batch struct {
	samples []model.Sample
	err     error
}

// loadBatches loads the batches of steps from..to−1 in order on a
// goroutine, one step ahead of the trainer, until ctx ends; done is closed
// when the goroutine has returned.
func (d *trainData) loadBatches(ctx context.Context, from, to, size int) (batches <-chan batch, done <-chan struct{}) {
	ch, fin := make(chan batch, 1), make(chan struct{})
	go func() {
		defer close(fin)
		defer close(ch)
		for step := from; step < to; step++ {
			b := batch{samples: make([]model.Sample, size)}
			for j := range size {
				if b.samples[j], b.err = d.sample(step*size + j); b.err != nil {
					b.err = fmt.Errorf("step %d sample %d: %w", step+1, j, b.err)
					break
				}
			}
			select {
			case ch <- b:
			case <-ctx.Done():
				return
			}
			if b.err != nil {
				return
			}
		}
	}()
	return ch, fin
}

func (d *trainData) close() error { return d.ds.Close() }

// binaryDims returns the action dimensions that take exactly two distinct
// values over the data (a gripper's open and close commands).
func (d *trainData) binaryDims() []int {
	var dims []int
	for k := range d.actionDim() {
		seen := map[float32]bool{}
		for _, act := range d.actions {
			if seen[act[k]] = true; len(seen) > 2 {
				break
			}
		}
		if len(seen) == 2 {
			dims = append(dims, k)
		}
	}
	return dims
}
