package optim

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/vlm/tensor"
)

func rng() *rand.Rand { return rand.New(rand.NewPCG(7, 7)) }

func randParam(r *rand.Rand, name string, shape ...int) Param {
	t := tensor.New(shape...)
	for i, v := range t.Float32s() {
		_ = v
		t.Float32s()[i] = float32(r.NormFloat64())
	}
	return Param{Name: name, T: t.SetRequiresGrad(true)}
}

func randGrads(r *rand.Rand, params []Param) {
	for _, p := range params {
		g := tensor.New(p.T.Shape()...)
		for i := range g.Float32s() {
			g.Float32s()[i] = float32(r.NormFloat64())
		}
		p.T.SetGrad(g)
	}
}

func TestSchedulesAtKnownSteps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     Schedule
		steps []int
		want  []float64
	}{
		{"constant", Constant(3e-4), []int{0, 1, 1000}, []float64{3e-4, 3e-4, 3e-4}},
		{"cosine", WarmupCosine{Peak: 1, Warmup: 10, Total: 110},
			[]int{0, 5, 10, 60, 110, 160}, []float64{0, 0.5, 1, 0.5, 0, 0.5}}, // past Total it follows the cosine, as HF
		{"cosine min ratio", WarmupCosine{Peak: 2, Warmup: 0, Total: 100, MinRatio: 0.1},
			[]int{0, 50, 100}, []float64{2, 2 * (0.1 + 0.9*0.5), 0.2}},
		{"linear", WarmupLinear{Peak: 1, Warmup: 4, Total: 12},
			[]int{0, 2, 4, 8, 12, 20}, []float64{0, 0.5, 1, 0.5, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, k := range tc.steps {
				require.InDelta(t, tc.want[i], tc.s.LR(k), 1e-12, "step %d", k)
			}
		})
	}
}

func TestOptimizerUsesSchedule(t *testing.T) {
	p := Param{"w", tensor.FromFloat32([]float32{1}, 1).SetRequiresGrad(true)}
	opt, err := NewSGD([]Group{{Params: []Param{p}}}, SGDConfig{Schedule: WarmupLinear{Peak: 0.5, Warmup: 2, Total: 4}})
	require.NoError(t, err)
	var got []float32
	for range 5 {
		p.T.SetGrad(tensor.FromFloat32([]float32{1}, 1))
		before := p.T.Float32s()[0]
		require.NoError(t, opt.Step())
		got = append(got, before-p.T.Float32s()[0])
	}
	require.InDeltaSlice(t, []float32{0, 0.25, 0.5, 0.25, 0}, got, 1e-7)
}

func TestClipGradNorm(t *testing.T) {
	for _, tc := range []struct {
		name      string
		maxNorm   float64
		wantTotal float64
		wantScale float64
	}{
		{"clips", 1, 13, 1 / (13 + 1e-6)},
		{"below max", 20, 13, 1},
		{"just above", 12.5, 13, 12.5 / (13 + 1e-6)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := Param{"a", tensor.New(2).SetRequiresGrad(true)}
			b := Param{"b", tensor.New(1).SetRequiresGrad(true)}
			unused := Param{"unused", tensor.New(3).SetRequiresGrad(true)}
			a.T.SetGrad(tensor.FromFloat32([]float32{3, 4}, 2))
			b.T.SetGrad(tensor.FromFloat32([]float32{12}, 1))
			total := ClipGradNorm([]Param{a, b, unused}, tc.maxNorm)
			require.InDelta(t, tc.wantTotal, total, 1e-12)
			s := float32(tc.wantScale)
			require.Equal(t, []float32{3 * s, 4 * s}, a.T.Grad().Float32s())
			require.Equal(t, []float32{12 * s}, b.T.Grad().Float32s())
			require.Nil(t, unused.T.Grad())
			if tc.wantScale < 1 {
				require.InDelta(t, tc.maxNorm, GradNorm([]Param{a, b}), 1e-5)
			}
		})
	}
}

func TestClipGradNormLargeIsThreadIndependent(t *testing.T) {
	r := rng()
	params := []Param{randParam(r, "a", 300, 700), randParam(r, "b", 5), randParam(r, "c", 1<<16+3)}
	randGrads(r, params)
	var want float64
	for _, p := range params {
		for _, v := range p.T.Grad().Float32s() {
			want += float64(v) * float64(v)
		}
	}
	want = math.Sqrt(want)
	total := ClipGradNorm(params, 1)
	require.InEpsilon(t, want, total, 1e-12)
	require.InEpsilon(t, 1, GradNorm(params), 1e-5)
}

func TestClipGradNormNonFiniteLeavesGrads(t *testing.T) {
	a := Param{"a", tensor.New(2).SetRequiresGrad(true)}
	a.T.SetGrad(tensor.FromFloat32([]float32{float32(math.Inf(1)), 1}, 2))
	require.True(t, math.IsInf(ClipGradNorm([]Param{a}, 1), 1))
	require.Equal(t, float32(1), a.T.Grad().Float32s()[1])
}

func TestCheckFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(-1))
	for _, tc := range []struct {
		name    string
		grad    []float32 // of "layer.1.w"; nil: no gradient
		value   []float32
		wantErr string
	}{
		{"finite", []float32{1, 2, 3}, []float32{1, 2, 3}, ""},
		{"no grad", nil, []float32{1, 2, 3}, ""},
		{"nan grad", []float32{1, nan, 3}, []float32{1, 2, 3}, `optim: gradient of parameter "layer.1.w" has NaN at element 1`},
		{"inf grad", []float32{1, 2, inf}, []float32{1, 2, 3}, `optim: gradient of parameter "layer.1.w" has -Inf at element 2`},
		{"nan value", []float32{1, 2, 3}, []float32{nan, 2, 3}, `optim: value of parameter "layer.1.w" has NaN at element 0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok := Param{"layer.0.w", tensor.FromFloat32([]float32{1, 2}, 2).SetRequiresGrad(true)}
			ok.T.SetGrad(tensor.FromFloat32([]float32{0, 0}, 2))
			p := Param{"layer.1.w", tensor.FromFloat32(tc.value, 3).SetRequiresGrad(true)}
			if tc.grad != nil {
				p.T.SetGrad(tensor.FromFloat32(tc.grad, 3))
			}
			err := CheckFinite([]Param{ok, p})
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.wantErr)
			var nf *NonFiniteError
			require.ErrorAs(t, err, &nf)
			require.Equal(t, "layer.1.w", nf.Param)
		})
	}
	// A NaN deep inside a large gradient is found with its index.
	big := Param{"big", tensor.New(1 << 17).SetRequiresGrad(true)}
	g := tensor.New(1 << 17)
	g.Float32s()[100000] = nan
	big.T.SetGrad(g)
	require.EqualError(t, CheckFinite([]Param{big}), `optim: gradient of parameter "big" has NaN at element 100000`)
}

func TestConstructionErrors(t *testing.T) {
	w := Param{"w", tensor.New(2, 2).SetRequiresGrad(true)}
	for _, tc := range []struct {
		name    string
		groups  []Group
		cfg     AdamWConfig
		wantErr string
	}{
		{"no params", nil, AdamWConfig{}, "optim: no parameters"},
		{"duplicate name", []Group{{Params: []Param{w, {"w", tensor.New(1).SetRequiresGrad(true)}}}}, AdamWConfig{}, `duplicate parameter name "w"`},
		{"same tensor", []Group{{Params: []Param{w}}, {Params: []Param{{"alias", w.T}}}}, AdamWConfig{}, `parameters "w" and "alias" are the same tensor`},
		{"frozen", []Group{{Params: []Param{{"f", tensor.New(2)}}}}, AdamWConfig{}, `parameter "f" does not require gradients`},
		{"empty name", []Group{{Params: []Param{{"", tensor.New(2).SetRequiresGrad(true)}}}}, AdamWConfig{}, "empty name"},
		{"not contiguous", []Group{{Params: []Param{{"t", tensor.Transpose(nil, tensor.New(2, 3), 0, 1).SetRequiresGrad(true)}}}}, AdamWConfig{}, `parameter "t" is not contiguous`},
		{"bad beta", []Group{{Params: []Param{w}}}, AdamWConfig{Beta2: 1}, "beta2 1 is not in [0, 1)"},
		{"bad lr scale", []Group{{Params: []Param{w}, LRScale: -1}}, AdamWConfig{}, "negative LRScale"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewAdamW(tc.groups, tc.cfg)
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
	_, err := NewSGD([]Group{{Params: []Param{w}}}, SGDConfig{Nesterov: true})
	require.ErrorContains(t, err, "Nesterov momentum needs a positive momentum")
}

func TestDefaultsAndGroups(t *testing.T) {
	r := rng()
	params := []Param{randParam(r, "proj.w", 4, 3), randParam(r, "proj.b", 3), randParam(r, "norm.g", 3)}
	gs := DecayGroups(params, 0.5)
	require.Len(t, gs, 2)
	require.Equal(t, []Param{params[0]}, gs[0].Params)
	require.Equal(t, []Param{params[1], params[2]}, gs[1].Params)
	opt, err := NewAdamW(gs, AdamWConfig{})
	require.NoError(t, err)
	require.Equal(t, AdamWConfig{LR: 1e-3, Schedule: Constant(1e-3), Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}, opt.Config())
	require.Equal(t, []group{{"decay", 0.5, 0.01}, {"no_decay", 0.5, 0}}, opt.groups)
	require.Equal(t, params, opt.Params())
	require.Equal(t, 1e-3, opt.LR())

	// With a zero gradient, Adam's update is zero and only decay acts: the
	// decayed group shrinks by 1 - lr·scale·wd, the other stays.
	for _, p := range params {
		p.T.SetGrad(tensor.New(p.T.Shape()...))
	}
	w0 := append([]float32(nil), params[0].T.Float32s()...)
	b0 := append([]float32(nil), params[1].T.Float32s()...)
	require.NoError(t, opt.Step())
	for i, v := range w0 {
		require.Equal(t, v*float32(1-0.5e-3*0.01), params[0].T.Float32s()[i])
	}
	require.Equal(t, b0, params[1].T.Float32s())
	opt.ZeroGrad()
	for _, p := range params {
		require.Nil(t, p.T.Grad())
	}
}

func TestStepRejectsBadScheduleWithoutChangingState(t *testing.T) {
	p := Param{"w", tensor.FromFloat32([]float32{1, 2}, 2).SetRequiresGrad(true)}
	opt, err := NewAdamW([]Group{{Params: []Param{p}}}, AdamWConfig{Schedule: Constant(math.NaN())})
	require.NoError(t, err)
	p.T.SetGrad(tensor.FromFloat32([]float32{1, 1}, 2))
	require.ErrorContains(t, opt.Step(), "schedule gave learning rate NaN at step 0")
	require.Equal(t, 0, opt.Steps())
	require.Equal(t, []float32{1, 2}, p.T.Float32s())
}

// TestTrainsLeastSquares fits w in y = X·w + b with tensor ops and Backward.
func TestTrainsLeastSquares(t *testing.T) {
	const n, d = 64, 5
	r := rng()
	wTrue := []float32{1.5, -2, 0.5, 3, -1}
	xs := make([]float32, n*d)
	ys := make([]float32, n)
	for i := range n {
		y := float32(0.7)
		for j := range d {
			x := float32(r.NormFloat64())
			xs[i*d+j] = x
			y += x * wTrue[j]
		}
		ys[i] = y
	}
	X := tensor.FromFloat32(xs, n, d)
	Y := tensor.FromFloat32(ys, n)
	loss := func(w, b Param) *tensor.Tensor {
		pred := tensor.Add(nil, tensor.SumAxis(nil, tensor.Mul(nil, X, w.T), 1, false), b.T)
		return tensor.Mean(nil, tensor.Square(nil, tensor.Sub(nil, pred, Y)))
	}
	for _, tc := range []struct {
		name  string
		build func([]Group) (Optimizer, error)
		steps int
	}{
		{"adamw", func(g []Group) (Optimizer, error) {
			return NewAdamW(g, AdamWConfig{Schedule: WarmupCosine{Peak: 0.1, Warmup: 10, Total: 400, MinRatio: 0.01}, WeightDecay: NoDecay})
		}, 400},
		{"sgd nesterov", func(g []Group) (Optimizer, error) {
			return NewSGD(g, SGDConfig{LR: 0.05, Momentum: 0.9, Nesterov: true})
		}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := Param{"w", tensor.New(d).SetRequiresGrad(true)}
			b := Param{"b", tensor.New(1).SetRequiresGrad(true)}
			opt, err := tc.build([]Group{{Params: []Param{w, b}}})
			require.NoError(t, err)
			first := loss(w, b).Item()
			var last float32
			for range tc.steps {
				l := loss(w, b)
				last = l.Item()
				require.NoError(t, tensor.Backward(l, nil))
				require.NoError(t, CheckFinite(opt.Params()))
				ClipGradNorm(opt.Params(), 100)
				require.NoError(t, opt.Step())
				opt.ZeroGrad()
			}
			require.Less(t, last, first*1e-6, "loss %g -> %g", first, last)
			require.InDeltaSlice(t, wTrue, w.T.Float32s(), 1e-3)
			require.InDelta(t, 0.7, b.T.Float32s()[0], 1e-3)
		})
	}
}

func TestStepDoesNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("slow; skipped with -short")
	}
	r := rng()
	params := []Param{randParam(r, "a", 512, 300), randParam(r, "b", 300), randParam(r, "c", 7)}
	randGrads(r, params)
	for _, tc := range []struct {
		name string
		opt  func() (Optimizer, error)
	}{
		{"adamw", func() (Optimizer, error) { return NewAdamW([]Group{{Params: params}}, AdamWConfig{}) }},
		{"sgd", func() (Optimizer, error) {
			return NewSGD([]Group{{Params: params}}, SGDConfig{Momentum: 0.9})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt, err := tc.opt()
			require.NoError(t, err)
			require.NoError(t, opt.Step())
			allocs := testing.AllocsPerRun(10, func() { _ = opt.Step() })
			// The worker pool's ForChunks allocates its WaitGroup and a
			// closure (two objects) per call when it runs on more than one
			// thread; nothing else may.
			require.LessOrEqual(t, allocs, 2.0)
		})
	}
}

// stepN gives params fresh deterministic gradients and steps k times.
func stepN(t *testing.T, opt Optimizer, params []Param, r *rand.Rand, k int, skip string) {
	t.Helper()
	for range k {
		randGrads(r, params)
		for _, p := range params {
			if p.Name == skip {
				p.T.ZeroGrad()
			}
		}
		require.NoError(t, opt.Step())
		opt.ZeroGrad()
	}
}

func cloneParams(src []Param) []Param {
	out := make([]Param, len(src))
	for i, p := range src {
		out[i] = Param{p.Name, tensor.FromFloat32(append([]float32(nil), p.T.Float32s()...), p.T.Shape()...).SetRequiresGrad(true)}
	}
	return out
}

func TestSaveRestoreIsBitExact(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func([]Param) (Optimizer, error)
	}{
		{"adamw", func(ps []Param) (Optimizer, error) {
			return NewAdamW(DecayGroups(ps, 1), AdamWConfig{Schedule: WarmupCosine{Peak: 1e-2, Warmup: 3, Total: 20, MinRatio: 0.1}})
		}},
		{"sgd momentum", func(ps []Param) (Optimizer, error) {
			return NewSGD([]Group{{Params: ps}}, SGDConfig{LR: 0.1, Momentum: 0.9, WeightDecay: 1e-3})
		}},
		{"sgd plain", func(ps []Param) (Optimizer, error) {
			return NewSGD([]Group{{Params: ps}}, SGDConfig{LR: 0.1})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rng()
			init := []Param{randParam(r, "enc.w", 70, 1000), randParam(r, "enc.b", 1000), randParam(r, "head.w", 3, 4), randParam(r, "never", 2)}

			// Uninterrupted: 10 steps ("never" has no gradient in any).
			ref := cloneParams(init)
			refOpt, err := tc.make(ref)
			require.NoError(t, err)
			stepN(t, refOpt, ref, rand.New(rand.NewPCG(1, 2)), 10, "never")

			// Interrupted after 6 steps, state saved, restored into a new
			// optimizer over copies of the parameters, 4 more steps.
			a := cloneParams(init)
			aOpt, err := tc.make(a)
			require.NoError(t, err)
			gr := rand.New(rand.NewPCG(1, 2))
			stepN(t, aOpt, a, gr, 6, "never")
			var buf bytes.Buffer
			require.NoError(t, aOpt.Save(&buf))
			require.Zero(t, buf.Len()%4)

			b := cloneParams(a)
			bOpt, err := tc.make(b)
			require.NoError(t, err)
			require.NoError(t, bOpt.Load(bytes.NewReader(buf.Bytes())))
			require.Equal(t, 6, bOpt.Steps())
			require.Equal(t, aOpt.LR(), bOpt.LR())
			stepN(t, bOpt, b, gr, 4, "never")
			for i := range ref {
				require.Equal(t, ref[i].T.Float32s(), b[i].T.Float32s(), "param %s", ref[i].Name)
			}
			// Saving again gives the same bytes as the uninterrupted run.
			var b1, b2 bytes.Buffer
			require.NoError(t, refOpt.Save(&b1))
			require.NoError(t, bOpt.Save(&b2))
			require.Equal(t, b1.Bytes(), b2.Bytes())
		})
	}
}

func TestLoadValidates(t *testing.T) {
	r := rng()
	params := []Param{randParam(r, "a", 4, 3), randParam(r, "b", 3)}
	opt, err := NewAdamW([]Group{{Params: params}}, AdamWConfig{})
	require.NoError(t, err)
	stepN(t, opt, params, r, 2, "")
	var saved bytes.Buffer
	require.NoError(t, opt.Save(&saved))

	for _, tc := range []struct {
		name    string
		target  func() Optimizer
		data    func() []byte
		wantErr string
	}{
		{"missing and unexpected names", func() Optimizer {
			o, _ := NewAdamW([]Group{{Params: []Param{randParam(r, "a", 4, 3), randParam(r, "c", 3)}}}, AdamWConfig{})
			return o
		}, saved.Bytes, `parameters do not match: missing from file ["c"], not in optimizer ["b"]`},
		{"shape", func() Optimizer {
			o, _ := NewAdamW([]Group{{Params: []Param{randParam(r, "a", 3, 4), randParam(r, "b", 3)}}}, AdamWConfig{})
			return o
		}, saved.Bytes, `parameter "a" has shape [4 3] in file, [3 4] in optimizer`},
		{"kind", func() Optimizer {
			o, _ := NewSGD([]Group{{Params: params}}, SGDConfig{Momentum: 0.9})
			return o
		}, saved.Bytes, `optim: load sgd state: file holds "adamw" state`},
		{"truncated", func() Optimizer {
			o, _ := NewAdamW([]Group{{Params: cloneParams(params)}}, AdamWConfig{})
			return o
		}, func() []byte { return saved.Bytes()[:saved.Len()-5] }, "reading b.exp_avg_sq: unexpected EOF"},
		{"garbage", func() Optimizer {
			o, _ := NewAdamW([]Group{{Params: cloneParams(params)}}, AdamWConfig{})
			return o
		}, func() []byte { return []byte("not a state file at all") }, "implausible"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.target()
			require.ErrorContains(t, o.Load(bytes.NewReader(tc.data())), tc.wantErr)
			require.Equal(t, 0, o.Steps(), "state unchanged on error")
		})
	}
}
