package optim

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/vlm/tensor"
)

// The fixtures come from testdata/gen_fixtures.py (PyTorch).
type fixtureFile struct {
	TorchVersion string          `json:"torch_version"`
	Cases        []fixtureCase   `json:"cases"`
	Schedules    []scheduleTable `json:"schedules"`
}

type fixtureSchedule struct {
	Kind     string  `json:"kind"`
	Peak     float64 `json:"peak"`
	Warmup   int     `json:"warmup"`
	Total    int     `json:"total"`
	MinRatio float64 `json:"min_ratio"`
}

func (s *fixtureSchedule) build() Schedule {
	if s.Kind == "cosine" {
		return WarmupCosine{Peak: s.Peak, Warmup: s.Warmup, Total: s.Total, MinRatio: s.MinRatio}
	}
	return WarmupLinear{Peak: s.Peak, Warmup: s.Warmup, Total: s.Total}
}

type scheduleTable struct {
	Schedule fixtureSchedule `json:"schedule"`
	Steps    []int           `json:"steps"`
	LR       []float64       `json:"lr"`
}

type fixtureCase struct {
	Name      string `json:"name"`
	Optimizer string `json:"optimizer"`
	Config    struct {
		LR          float64 `json:"lr"`
		Beta1       float64 `json:"beta1"`
		Beta2       float64 `json:"beta2"`
		Eps         float64 `json:"eps"`
		WeightDecay float64 `json:"weight_decay"`
		Momentum    float64 `json:"momentum"`
		Dampening   float64 `json:"dampening"`
		Nesterov    bool    `json:"nesterov"`
	} `json:"config"`
	Schedule *fixtureSchedule `json:"schedule"`
	Clip     float64          `json:"clip"`
	Groups   []struct {
		Params      []string `json:"params"`
		LRScale     float64  `json:"lr_scale"`
		WeightDecay *float64 `json:"weight_decay"`
	} `json:"groups"`
	Params []struct {
		Name  string    `json:"name"`
		Shape []int     `json:"shape"`
		Init  []float32 `json:"init"`
	} `json:"params"`
	Steps []struct {
		Grads     map[string][]float32 `json:"grads"`
		LR        float64              `json:"lr"`
		TotalNorm float64              `json:"total_norm"`
		After     map[string][]float32 `json:"after"`
	} `json:"steps"`
}

func loadFixtures(t *testing.T) fixtureFile {
	t.Helper()
	b, err := os.ReadFile("testdata/fixtures.json")
	require.NoError(t, err)
	var f fixtureFile
	require.NoError(t, json.Unmarshal(b, &f))
	require.NotEmpty(t, f.Cases)
	return f
}

// build makes the case's parameters (fresh copies of the initial values)
// and optimizer.
func (c *fixtureCase) build(t *testing.T) ([]Param, Optimizer) {
	t.Helper()
	byName := map[string]Param{}
	var params []Param
	for _, p := range c.Params {
		v := append([]float32(nil), p.Init...)
		pr := Param{Name: p.Name, T: tensor.FromFloat32(v, p.Shape...).SetRequiresGrad(true)}
		byName[p.Name] = pr
		params = append(params, pr)
	}
	var groups []Group
	for _, g := range c.Groups {
		gr := Group{LRScale: g.LRScale}
		if g.WeightDecay != nil {
			gr.WeightDecay = *g.WeightDecay
			if gr.WeightDecay == 0 {
				gr.WeightDecay = NoDecay
			}
		}
		for _, n := range g.Params {
			gr.Params = append(gr.Params, byName[n])
		}
		groups = append(groups, gr)
	}
	var sched Schedule
	if c.Schedule != nil {
		sched = c.Schedule.build()
	}
	cf := c.Config
	var opt Optimizer
	var err error
	switch c.Optimizer {
	case "adamw":
		wd := cf.WeightDecay
		if wd == 0 {
			wd = NoDecay
		}
		opt, err = NewAdamW(groups, AdamWConfig{LR: cf.LR, Schedule: sched, Beta1: cf.Beta1, Beta2: cf.Beta2, Eps: cf.Eps, WeightDecay: wd})
	case "sgd":
		opt, err = NewSGD(groups, SGDConfig{LR: cf.LR, Schedule: sched, Momentum: cf.Momentum, Dampening: cf.Dampening, WeightDecay: cf.WeightDecay, Nesterov: cf.Nesterov})
	default:
		t.Fatalf("unknown optimizer %q", c.Optimizer)
	}
	require.NoError(t, err)
	return params, opt
}

// setGrads gives every parameter step k's gradient (a fresh copy).
func (c *fixtureCase) setGrads(k int, params []Param) {
	for _, p := range params {
		g := c.Steps[k].Grads[p.Name]
		if g == nil {
			p.T.ZeroGrad()
			continue
		}
		p.T.SetGrad(tensor.FromFloat32(append([]float32(nil), g...), p.T.Shape()...))
	}
}

// requireClose checks got against want with relative tolerance rtol (and an
// absolute floor of rtol·1e-2 for values near zero).
func requireClose(t *testing.T, want, got []float32, rtol float64, msg string, args ...any) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		w, g := float64(want[i]), float64(got[i])
		tol := rtol * max(math.Abs(w), 1e-2)
		if math.Abs(w-g) > tol {
			require.Failf(t, "values differ", "element %d: want %.9g, got %.9g (rel %.3g); "+msg,
				append([]any{i, w, g, math.Abs(w-g) / math.Abs(w)}, args...)...)
		}
	}
}

func TestTrajectoriesMatchPyTorch(t *testing.T) {
	f := loadFixtures(t)
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			params, opt := c.build(t)
			for k, st := range c.Steps {
				require.InDelta(t, st.LR, opt.LR(), 1e-12*st.LR+1e-18, "step %d learning rate", k)
				c.setGrads(k, params)
				if c.Clip > 0 {
					total := ClipGradNorm(params, c.Clip)
					require.InEpsilon(t, st.TotalNorm, total, 1e-6, "step %d norm", k)
				}
				require.NoError(t, opt.Step())
				for _, p := range params {
					requireClose(t, st.After[p.Name], p.T.Float32s(), 1e-6, "step %d param %s", k, p.Name)
				}
				opt.ZeroGrad()
			}
			require.Equal(t, len(c.Steps), opt.Steps())
		})
	}
}

func TestSchedulesMatchHuggingFace(t *testing.T) {
	f := loadFixtures(t)
	for _, tab := range f.Schedules {
		s := tab.Schedule.build()
		for i, k := range tab.Steps {
			require.InDelta(t, tab.LR[i], s.LR(k), 1e-12*tab.Schedule.Peak, "%+v step %d", tab.Schedule, k)
		}
	}
}
