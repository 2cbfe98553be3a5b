// Package tensor is vst-go's CPU compute engine: strided tensors with f32
// compute and bf16/f16/i32/i64 storage, the operations Qwen2.5-VL and the
// action heads need, reverse-mode automatic differentiation, and fast
// multi-threaded kernels (Go assembly GEMM for AVX-512 and AVX2 selected at
// run time, with a portable fallback).
//
// # Computation context
//
// Every operation takes a *Ctx first. It says whether gradients are recorded
// and where intermediates are allocated. A nil *Ctx is valid: gradients are
// recorded whenever an input requires them, and memory comes from the Go
// heap. Inference uses a Ctx with NoGrad set and an Arena, so that a steady
// state forward pass reuses its buffers instead of allocating:
//
//	arena := tensor.NewArena()
//	c := &tensor.Ctx{NoGrad: true, Arena: arena}
//	for step := range n {
//		logits := model.Forward(c, ids)
//		... read logits ...
//		arena.Reset() // every tensor allocated from the arena is now invalid
//	}
//
// # Autodiff
//
// Tensors that require gradients (parameters: SetRequiresGrad(true)) make
// every operation that consumes them record a backward function. Backward on
// a scalar loss walks the recorded graph in reverse topological order and
// accumulates gradients into the leaves' Grad; calling it again adds to those
// gradients (gradient accumulation) until ZeroGrad. Frozen parameters are
// simply tensors that do not require gradients.
//
// # Errors
//
// Operations are graph-building functions: on bad input (mismatched shapes,
// wrong dtype, out-of-range index) they panic with an *Error that names the
// operation and the shapes. API boundaries convert those panics to errors
// with Catch or Recover; other panics are left alone.
package tensor
