// Package model is vst-go's vision-language-action model: a Qwen2.5-VL (VST)
// backbone with frozen base weights, LoRA adapters on its text decoder and an
// action head, trained on the CPU tensor engine and run as a policy.Policy.
// With Config.FullFinetune every backbone weight trains instead (no
// adapters): the recipe for small backbones trained from scratch.
//
// # Prompt
//
// Both heads see the same prompt, VST's VLA recipe: a user turn without a
// system turn (tokenizer.ChatOptions.NoSystem) holding one image block per
// camera (Config.Cameras, each image resized to Config.ImageSize and then
// processed by the Qwen2.5-VL processor) followed by the instruction in
// Config.Template, then the assistant header "<|im_start|>assistant\n".
//
// # Heads
//
// The chunk head (Config.Head = HeadChunk, the default) follows OpenVLA-OFT:
// after the prompt come one proprio token (when Config.StateDim > 0: a
// learned Linear of the normalized state) and Config.Horizon action query
// tokens whose input embeddings are learned [H, hidden] parameters. One
// forward pass produces the hidden states at the H query positions; an MLP
// (Linear → GELU → Linear) maps each to D normalized action values, and the
// loss is the L1 distance to the normalized target chunk. Attention is the
// decoder's ordinary causal attention: each query attends to the whole
// prompt, the proprio token and the queries before it (OFT makes the action
// positions attend bidirectionally; causal attention keeps the backbone's
// kernels unchanged and loses only the later queries' view of each other).
// The M-RoPE positions of the extra tokens continue the text positions.
//
// The tokens head (HeadTokens) is VST's: 256 action tokens <|action_0|> …
// <|action_255|> are added to the tokenizer as ordinary tokens, each value
// of a normalized action is binned over [−1, 1] with VST's reversed id
// mapping (ActionIndex, ActionValue), and the target is the assistant
// answer of D action tokens then <|im_end|>, trained with cross-entropy on
// those tokens only. The action tokens' embedding and LM-head rows are
// trainable F32 tensors kept apart from the frozen tables; rows the backbone
// already has (Qwen's padded vocabulary, or a checkpoint trained upstream
// with action tokens) start from their stored values, so such a checkpoint
// runs unchanged. Inference decodes D tokens greedily with a KV cache,
// choosing among the action tokens only, and decodes bin centres. The
// horizon is 1 (VST re-plans every step).
//
// # Normalization
//
// Actions and states are normalized with the dataset statistics given to New
// (vla/normalize: q01/q99 to [−1, 1] with clipping); the statistics are
// saved with the model as norm_stats.json (VST's format) and applied by Act,
// which returns raw actions.
//
// # Training
//
// Loss builds the differentiable mean loss of a batch; Accumulate runs
// forward and backward one sample at a time. The engine has no batch axis,
// so a batch is a loop over samples either way. TrainableParams and
// ParamGroups give the tensors to optimize: the adapters and the head (and
// the vision tower at a scaled learning rate when Config.TrainVision is
// set; with Config.FullFinetune F32 copies of every text decoder and vision
// weight instead of the adapters); biases, norms, token embeddings, action
// queries and action-token embeddings are not decayed.
//
// # Files
//
// Save writes the backbone files unchanged (base weights are not merged
// with adapters; with full fine-tuning the trained backbone replaces them
// as one F32 model.safetensors), the tokenizer with any added tokens,
// vla_config.json, vla_head.safetensors (the adapters and the head in F32)
// and norm_stats.json, atomically. Load restores the model exactly.
package model
