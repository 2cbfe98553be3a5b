package qwen25vl

import (
	"fmt"
	"slices"

	"github.com/vstgo/vst/vlm/tensor"
)

// visionEps is the RMSNorm epsilon of the vision tower, fixed in HF's code.
const visionEps = 1e-6

// visionTheta is the base of the vision tower's 2-D rotary embedding.
const visionTheta = 10000

// VisionBlock is one ViT block: RMSNorm → attention (fused qkv with bias,
// 2-D rotary, windowed or full) → residual → RMSNorm → gated SiLU MLP with
// biases → residual.
type VisionBlock struct {
	Norm1, Norm2   *tensor.Tensor
	QKV, Proj      Linear
	Gate, Up, Down Linear
}

// VisionTower is Qwen2.5-VL's vision encoder: patch embedding (a Conv3d with
// stride = kernel, done as a matmul), ViT blocks with windowed attention,
// and the 2×2 patch merger that maps to the LLM width.
type VisionTower struct {
	cfg        *VisionConfig
	PatchEmbed *tensor.Tensor // [hidden, C·T·P·P]
	Blocks     []VisionBlock
	MergerNorm *tensor.Tensor
	Merger1    Linear // [4·hidden] → [4·hidden]
	Merger2    Linear // [4·hidden] → [out_hidden]
}

func bindVision(b *binder, v *VisionConfig, prefix string) *VisionTower {
	d, f := v.HiddenSize, v.IntermediateSize
	in := v.InChannels * v.TemporalPatchSize * v.PatchSize * v.PatchSize
	m := &VisionTower{cfg: v}
	if pe := b.get(prefix+"patch_embed.proj.weight", d, v.InChannels, v.TemporalPatchSize, v.PatchSize, v.PatchSize); pe != nil {
		m.PatchEmbed = tensor.Reshape(nil, pe, d, in)
	}
	for i := range v.Depth {
		p := fmt.Sprintf("%sblocks.%d.", prefix, i)
		m.Blocks = append(m.Blocks, VisionBlock{
			Norm1: b.get(p+"norm1.weight", d),
			Norm2: b.get(p+"norm2.weight", d),
			QKV:   b.linear(p+"attn.qkv", 3*d, d, true),
			Proj:  b.linear(p+"attn.proj", d, d, true),
			Gate:  b.linear(p+"mlp.gate_proj", f, d, true),
			Up:    b.linear(p+"mlp.up_proj", f, d, true),
			Down:  b.linear(p+"mlp.down_proj", d, f, true),
		})
	}
	unit := v.SpatialMergeSize * v.SpatialMergeSize
	m.MergerNorm = b.get(prefix+"merger.ln_q.weight", d)
	m.Merger1 = b.linear(prefix+"merger.mlp.0", unit*d, unit*d, true)
	m.Merger2 = b.linear(prefix+"merger.mlp.2", v.OutHiddenSize, unit*d, true)
	return m
}

// Forward encodes patches [N, C·T·P·P] of the images (or videos) described
// by grids into merged visual tokens [N/merge², out_hidden], in the order
// the patches came (image by image, frame by frame, row-major over 2×2
// merge blocks).
func (m *VisionTower) Forward(c *tensor.Ctx, pixels *tensor.Tensor, grids []GridTHW, trace TraceFunc) (*tensor.Tensor, error) {
	v := m.cfg
	merge := v.SpatialMergeSize
	n := 0
	for _, g := range grids {
		if g.T <= 0 || g.H <= 0 || g.W <= 0 || g.H%merge != 0 || g.W%merge != 0 {
			return nil, fmt.Errorf("vision: grid %v must be positive with h and w multiples of %d", g, merge)
		}
		n += g.T * g.H * g.W
	}
	if pixels.Dims() != 2 || pixels.Dim(0) != n || pixels.Dim(1) != m.PatchEmbed.Dim(1) {
		return nil, fmt.Errorf("vision: pixel values %v do not match grids %v (want [%d, %d])", pixels.Shape(), grids, n, m.PatchEmbed.Dim(1))
	}
	var out *tensor.Tensor
	err := tensor.Catch(func() error {
		out = m.forward(c, pixels, grids, trace)
		return nil
	})
	return out, err
}

func (m *VisionTower) forward(c *tensor.Ctx, pixels *tensor.Tensor, grids []GridTHW, trace TraceFunc) *tensor.Tensor {
	v := m.cfg
	d, heads := v.HiddenSize, v.NumHeads
	unit := v.SpatialMergeSize * v.SpatialMergeSize
	x := tensor.Linear(c, pixels, m.PatchEmbed, nil)
	trace.emit("vision.patch_embed", x)
	n := x.Dim(0)

	rows, cols := patchPositions(grids, v.SpatialMergeSize)
	winIdx, cuRaw := windowIndex(grids, v.WindowSize/v.SpatialMergeSize/v.PatchSize, v.SpatialMergeSize)
	if trace != nil {
		trace.emit("vision.window_index", intTensor(winIdx))
		trace.emit("vision.cu_window_seqlens_raw", intTensor(cuRaw))
	}
	cuWin := slices.Compact(slices.Clone(cuRaw))
	cuFull := []int{0}
	for _, g := range grids {
		for range g.T {
			cuFull = append(cuFull, cuFull[len(cuFull)-1]+g.H*g.W)
		}
	}

	// Reorder patches (in groups of one merge block) into window order.
	idx := make([]int64, len(winIdx))
	for i, w := range winIdx {
		idx[i] = int64(w)
	}
	x = tensor.Reshape(c, tensor.IndexSelect(c, tensor.Reshape(c, x, n/unit, unit*d), 0, tensor.FromInt64(idx, len(idx))), n, d)
	wr, wc := make([]int64, n), make([]int64, n)
	for i, w := range winIdx {
		for j := range unit {
			wr[i*unit+j], wc[i*unit+j] = rows[w*unit+j], cols[w*unit+j]
		}
	}
	rope := tensor.NewVisionRoPE(wr, wc, d/heads, visionTheta)

	for i := range m.Blocks {
		blk := &m.Blocks[i]
		cu := cuWin
		if slices.Contains(v.FullAttBlockIndexes, i) {
			cu = cuFull
		}
		if trace != nil {
			trace.emit(fmt.Sprintf("vision.block_cu_seqlens.%d", i), intTensor(cu))
		}
		h := tensor.RMSNorm(c, x, blk.Norm1, visionEps)
		qkv := tensor.Reshape(c, blk.QKV.Forward(c, h), n, 3, heads, d/heads)
		q := rope.Apply(c, tensor.Select(c, qkv, 1, 0))
		k := rope.Apply(c, tensor.Select(c, qkv, 1, 1))
		val := tensor.Select(c, qkv, 1, 2)
		a := tensor.Attention(c, q, k, val, tensor.AttnOptions{CuSeqlens: cu})
		x = tensor.Add(c, x, blk.Proj.Forward(c, tensor.Reshape(c, a, n, d)))
		h = tensor.RMSNorm(c, x, blk.Norm2, visionEps)
		x = tensor.Add(c, x, blk.Down.Forward(c, tensor.SwiGLU(c, blk.Gate.Forward(c, h), blk.Up.Forward(c, h))))
		trace.emit(fmt.Sprintf("vision.block_out.%d", i), x)
	}

	h := tensor.Reshape(c, tensor.RMSNorm(c, x, m.MergerNorm, visionEps), n/unit, unit*d)
	h = m.Merger2.Forward(c, tensor.GELU(c, m.Merger1.Forward(c, h)))
	trace.emit("vision.merger_out", h)

	inv := make([]int64, len(winIdx))
	for i, w := range winIdx {
		inv[w] = int64(i)
	}
	return tensor.IndexSelect(c, h, 0, tensor.FromInt64(inv, len(inv)))
}

func intTensor(v []int) *tensor.Tensor {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return tensor.FromInt64(out, len(out))
}

// patchPositions returns each patch's (row, col) in its frame's patch grid,
// in the processor's patch order: frames, then 2×2 merge blocks row-major,
// then row-major within a block.
func patchPositions(grids []GridTHW, merge int) (rows, cols []int64) {
	for _, g := range grids {
		for range g.T {
			for br := range g.H / merge {
				for bc := range g.W / merge {
					for i := range merge {
						for j := range merge {
							rows = append(rows, int64(br*merge+i))
							cols = append(cols, int64(bc*merge+j))
						}
					}
				}
			}
		}
	}
	return rows, cols
}

// windowIndex computes the permutation of merged tokens into attention
// windows of win×win merged tokens (window_size / merge / patch), frame by
// frame, and the cumulative patch counts at window boundaries (before
// removing repeats: HF pads the grid to whole windows, which can leave
// empty windows).
func windowIndex(grids []GridTHW, win, merge int) (index, cu []int) {
	cu = []int{0}
	unit, base := merge*merge, 0
	for _, g := range grids {
		lh, lw := g.H/merge, g.W/merge
		nwh, nww := (lh+win-lh%win)/win, (lw+win-lw%win)/win
		for t := range g.T {
			for wh := range nwh {
				for ww := range nww {
					count := 0
					for i := range win {
						for j := range win {
							r, cc := wh*win+i, ww*win+j
							if r < lh && cc < lw {
								index = append(index, base+t*lh*lw+r*lw+cc)
								count++
							}
						}
					}
					cu = append(cu, cu[len(cu)-1]+count*unit)
				}
			}
		}
		base += g.T * lh * lw
	}
	return index, cu
}
