package tensor

import (
	"testing"
)

// Benchmarks of the exponential-heavy operations (SwiGLU, log-softmax,
// cross-entropy; Softmax and Attention are in nn_attention_test.go),
// forward alone and forward + backward. SetBytes counts the bytes of the
// float32 input. Run with -cpu 1 to time one core.

// benchOp times fwd (and Backward through its scalar sum when bwd is set);
// params are the tensors that need gradients, n the elements of the input.
func benchOp(b *testing.B, n int, bwd bool, params []*Tensor, fwd func(c *Ctx) *Tensor) {
	for _, p := range params {
		p.SetRequiresGrad(bwd)
	}
	b.SetBytes(int64(4 * n))
	for b.Loop() {
		if !bwd {
			_ = fwd(nil)
			continue
		}
		if err := Backward(Sum(nil, fwd(nil)), nil); err != nil {
			b.Fatal(err)
		}
		for _, p := range params {
			p.ZeroGrad()
		}
	}
}

// forEachPass runs body as the sub-benchmarks fwd and fwd_bwd.
func forEachPass(b *testing.B, body func(b *testing.B, bwd bool)) {
	b.Run("fwd", func(b *testing.B) { body(b, false) })
	b.Run("fwd_bwd", func(b *testing.B) { body(b, true) })
}

func BenchmarkSwiGLU(b *testing.B) {
	const rows, width = 64, 2816
	rng := testRNG()
	gate, up := Randn(rng, rows, width), Randn(rng, rows, width)
	forEachPass(b, func(b *testing.B, bwd bool) {
		benchOp(b, rows*width, bwd, []*Tensor{gate, up}, func(c *Ctx) *Tensor { return SwiGLU(c, gate, up) })
	})
}

func BenchmarkLogSoftmax(b *testing.B) {
	const rows, width = 256, 1024
	x := Randn(testRNG(), rows, width)
	forEachPass(b, func(b *testing.B, bwd bool) {
		benchOp(b, rows*width, bwd, []*Tensor{x}, func(c *Ctx) *Tensor { return LogSoftmax(c, x) })
	})
}

func BenchmarkCrossEntropy(b *testing.B) {
	const rows, vocab = 64, 8192
	rng := testRNG()
	logits := Randn(rng, rows, vocab)
	ids := make([]int32, rows)
	for i := range ids {
		ids[i] = int32(rng.IntN(vocab))
	}
	targets := FromInt32(ids, rows)
	forEachPass(b, func(b *testing.B, bwd bool) {
		benchOp(b, rows*vocab, bwd, []*Tensor{logits}, func(c *Ctx) *Tensor {
			return CrossEntropy(c, logits, targets, IgnoreIndex)
		})
	})
}
