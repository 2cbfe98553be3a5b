// Package tokenizer is the text tokenizer of Qwen2.5-VL and of VST's
// fine-tunes of it: byte-level BPE read from a Hugging Face tokenizer.json,
// with ids identical to Hugging Face tokenizers'.
//
// # Encoding
//
// Encode runs the same pipeline as HF: added tokens ("<|im_start|>",
// "<|image_pad|>", the action tokens added with AddTokens, ...) are cut out
// of the raw text first, longest match first; the rest is NFC-normalized,
// split by Qwen2's pre-tokenizer regex (implemented by hand, since Go's
// regexp has no lookahead), mapped to GPT-2's byte-level alphabet and merged
// by BPE rank. Merged words are cached. No special tokens are added around
// the text: chat prompts are built with RenderChat or EncodeChat.
//
// # Decoding
//
// Decode maps ids back to bytes and replaces invalid UTF-8 by U+FFFD the way
// HF does. For generation, a StreamDecoder returns text as ids arrive and
// holds back the bytes of a character split across tokens.
//
// # Chat template
//
// RenderChat reproduces Qwen2.5-VL's Jinja chat template in Go, including
// the default system prompt, with an option for VST's thinking system
// prompt. Each image or video is rendered with a single pad token;
// ExpandVisionPads widens each pad to the number of merged vision tokens
// (VisionTokenCount) at the id level.
//
//	tok, err := tokenizer.Load(modelDir)
//	...
//	ids, err := tok.EncodeChat([]tokenizer.Message{{
//		Role:    "user",
//		Content: []tokenizer.Part{tokenizer.ImagePart(), tokenizer.TextPart("What is left of the cup?")},
//	}}, tokenizer.ChatOptions{AddGenerationPrompt: true})
//	n, err := tokenizer.VisionTokenCount(1, gridH, gridW, 2)
//	ids, err = tok.ExpandVisionPads(ids, []int{n}, nil)
package tokenizer
