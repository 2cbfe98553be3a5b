package model

import (
	"fmt"
	"math/rand/v2"

	"github.com/vstgo/vst/vla/actiontok"

	"github.com/vstgo/vst/vlm/tensor"
)

// NumActionTokens is the number of action tokens VST adds to the
// vocabulary: <|action_0|> … <|action_255|>.
const NumActionTokens = actiontok.NumBins

// actionTokenNames returns the action token strings in id order.
func actionTokenNames() []string {
	names := make([]string, NumActionTokens)
	for i := range names {
		names[i] = actiontok.TokenName(i)
	}
	return names
}

// ActionIndex maps one normalized value to its action token index i (the
// token <|action_i|>) with VST's reversed mapping: i = 256 − d where d is
// actiontok.Digitize of the clipped value, so larger values get smaller
// indices.
func ActionIndex(x float32) int { return NumActionTokens - actiontok.Digitize(float64(x)) }

// ActionValue decodes action token index i to its bin centre, as VST
// (d = 256 − i); both extreme tokens decode to ±0.996.
func ActionValue(i int) float32 { return actiontok.BinCentre(NumActionTokens - i) }

// initTokensHead adds the action tokens to the tokenizer and creates their
// trainable embedding rows (and LM-head rows unless the embeddings are
// tied). Rows that exist in the backbone (the padded vocabulary of the
// released checkpoints, or a checkpoint trained upstream with action
// tokens) start from their stored values, so such a checkpoint runs
// unchanged; rows beyond the backbone's vocabulary start at the mean token
// embedding plus noise of the embeddings' scale.
func (v *VLA) initTokensHead(rng *rand.Rand, savedBase int) error {
	ids := v.tok.AddTokens(actionTokenNames(), false)
	for i, id := range ids {
		if id != ids[0]+i {
			return fmt.Errorf("action tokens are not contiguous: <|action_%d|> has id %d, <|action_0|> %d", i, id, ids[0])
		}
	}
	v.actBase = ids[0]
	if savedBase > 0 && savedBase != v.actBase {
		return fmt.Errorf("tokenizer puts <|action_0|> at %d, the saved head at %d", v.actBase, savedBase)
	}
	if v.actBase > v.baseVoc {
		return fmt.Errorf("action tokens start at id %d, past the backbone's %d embedding rows", v.actBase, v.baseVoc)
	}
	text := v.backbone.Text
	v.actEmbed = v.newTokenRows(rng, text.Embed)
	v.params = append(v.params, param{name: "head.action_embed", ptr: &v.actEmbed})
	if text.LMHead == text.Embed {
		v.actLogit = v.actEmbed
		return nil
	}
	v.actLogit = v.newTokenRows(rng, text.LMHead)
	v.params = append(v.params, param{name: "head.action_lm_head", ptr: &v.actLogit, decay: true})
	return nil
}

// newTokenRows returns the trainable [256, hidden] rows of the action
// tokens for table (embedding or LM head).
func (v *VLA) newTokenRows(rng *rand.Rand, table *tensor.Tensor) *tensor.Tensor {
	d := v.hidden
	rows := tensor.New(NumActionTokens, d)
	out := rows.Float32s()
	have := min(NumActionTokens, max(v.baseVoc-v.actBase, 0))
	if have > 0 {
		copy(out, tensor.Narrow(tensor.Inference(nil), table, 0, v.actBase, have).Float32s())
	}
	if have < NumActionTokens {
		n := min(v.baseVoc, 4096)
		mean := make([]float64, d)
		for k, x := range tensor.Narrow(tensor.Inference(nil), table, 0, 0, n).Float32s() {
			mean[k%d] += float64(x) / float64(n)
		}
		std := tableStd(table)
		for r := have; r < NumActionTokens; r++ {
			for j := range d {
				out[r*d+j] = float32(mean[j] + rng.NormFloat64()*std)
			}
		}
	}
	return rows.SetRequiresGrad(true)
}

// isAction reports whether id is an action token.
func (v *VLA) isAction(id int32) bool {
	return v.cfg.Head == HeadTokens && int(id) >= v.actBase && int(id) < v.actBase+NumActionTokens
}

// tokenLogits returns the logits [n, V'] of hidden states h [n, hidden]
// over the vocabulary extended by the action tokens (V' = max(V, base +
// 256)): the backbone's LM head everywhere except the action columns,
// which come from the trainable action rows.
func (v *VLA) tokenLogits(c *tensor.Ctx, h *tensor.Tensor) *tensor.Tensor {
	base := tensor.Linear(c, h, v.backbone.Text.LMHead, nil)
	act := tensor.Linear(c, h, v.actLogit, nil)
	parts := []*tensor.Tensor{tensor.Narrow(c, base, 1, 0, v.actBase), act}
	if end := v.actBase + NumActionTokens; end < v.baseVoc {
		parts = append(parts, tensor.Narrow(c, base, 1, end, v.baseVoc-end))
	}
	return tensor.Concat(c, 1, parts...)
}
