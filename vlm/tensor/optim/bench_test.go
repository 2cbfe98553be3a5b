package optim

import "testing"

// benchParams returns about 12.9M parameters shaped like a small
// transformer's: 24 blocks of a 512-wide attention and MLP plus an
// embedding, with gradients set.
func benchParams(b *testing.B) ([]Param, int) {
	b.Helper()
	r := rng()
	var ps []Param
	add := func(name string, shape ...int) {
		p := randParam(r, name, shape...)
		ps = append(ps, p)
	}
	add("embed", 4700, 512)
	for i := range 5 {
		pre := "block" + string(rune('0'+i)) + "."
		add(pre+"qkv", 512, 1536)
		add(pre+"o", 512, 512)
		add(pre+"up", 512, 1024)
		add(pre+"down", 1024, 512)
		add(pre+"norm1", 512)
		add(pre+"norm2", 512)
		add(pre+"bias", 1536)
	}
	randGrads(r, ps)
	n := 0
	for _, p := range ps {
		n += p.T.Numel()
	}
	return ps, n
}

// BenchmarkAdamWStep measures one AdamW step over 12.9M parameters. The
// bytes counted are those the fused pass must move: it reads the
// parameter, gradient and both moments and writes the parameter and
// moments, 28 bytes per element.
func BenchmarkAdamWStep(b *testing.B) {
	ps, n := benchParams(b)
	b.Logf("%d parameters in %d tensors", n, len(ps))
	opt, err := NewAdamW(DecayGroups(ps, 1), AdamWConfig{})
	if err != nil {
		b.Fatal(err)
	}
	if err := opt.Step(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(n) * 28)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := opt.Step(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSGDMomentumStep: reads parameter, gradient and buffer, writes
// parameter and buffer, 20 bytes per element.
func BenchmarkSGDMomentumStep(b *testing.B) {
	ps, n := benchParams(b)
	opt, err := NewSGD([]Group{{Params: ps}}, SGDConfig{Momentum: 0.9, WeightDecay: 1e-4})
	if err != nil {
		b.Fatal(err)
	}
	if err := opt.Step(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(n) * 20)
	b.ReportAllocs()
	for b.Loop() {
		if err := opt.Step(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGradNorm: reads every gradient once (the clipping pass when no
// scaling is needed).
func BenchmarkGradNorm(b *testing.B) {
	ps, n := benchParams(b)
	b.SetBytes(int64(n) * 4)
	for b.Loop() {
		ClipGradNorm(ps, 1e30)
	}
}
