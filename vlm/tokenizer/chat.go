package tokenizer

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// System prompts of Qwen2.5-VL and VST.
const (
	// DefaultSystemPrompt is the system message Qwen2.5-VL's chat template
	// inserts when the conversation does not start with one.
	DefaultSystemPrompt = "You are a helpful assistant."
	// ThinkSystemPrompt is VST's system prompt for `thought` samples and
	// thinking-mode inference: the answer comes after a <think> block.
	ThinkSystemPrompt = "You are a helpful assistant. You should first think about the reasoning process in the mind and then provide the user with the answer. The reasoning process is enclosed within <think> </think> tags, i.e. <think> reasoning process here </think> answer here."
)

// Special tokens the chat template writes.
const (
	imStart     = "<|im_start|>"
	imEnd       = "<|im_end|>"
	visionStart = "<|vision_start|>"
	visionEnd   = "<|vision_end|>"
	// ImagePad is the placeholder token for one image's vision tokens.
	ImagePad = "<|image_pad|>"
	// VideoPad is the placeholder token for one video's vision tokens.
	VideoPad = "<|video_pad|>"
)

// PartType says what a Part of a message holds.
type PartType int

// Part types.
const (
	PartText PartType = iota
	PartImage
	PartVideo
)

// Part is one piece of a message's content: text, or the placeholder of an
// image or a video (the pixels travel separately).
type Part struct {
	Type PartType
	Text string // for PartText
}

// TextPart returns a text part.
func TextPart(s string) Part { return Part{Type: PartText, Text: s} }

// ImagePart returns an image placeholder part.
func ImagePart() Part { return Part{Type: PartImage} }

// VideoPart returns a video placeholder part.
func VideoPart() Part { return Part{Type: PartVideo} }

// Message is one chat turn: Role is "system", "user" or "assistant".
type Message struct {
	Role    string
	Content []Part
}

// TextMessage returns a message holding a single text part (the same
// rendering as the template's string-content case).
func TextMessage(role, text string) Message {
	return Message{Role: role, Content: []Part{TextPart(text)}}
}

// ChatOptions tunes RenderChat.
type ChatOptions struct {
	// AddGenerationPrompt appends "<|im_start|>assistant\n" so the model
	// answers next.
	AddGenerationPrompt bool
	// AddVisionID prefixes each image with "Picture N: " and each video with
	// "Video N: " (the template's add_vision_id).
	AddVisionID bool
	// Thinking makes ThinkSystemPrompt the system message inserted when the
	// conversation has none (VST `thought` samples and thinking inference).
	Thinking bool
	// NoSystem inserts no system message at all (VST's VLA training, which
	// has no system turn). It wins over Thinking.
	NoSystem bool
}

// RenderChat renders messages exactly as Qwen2.5-VL's Jinja chat template
// does: a system message (DefaultSystemPrompt unless ChatOptions says
// otherwise) when the first message is not one, then
// "<|im_start|>role\n" + content + "<|im_end|>\n" per message, where an image
// is "<|vision_start|><|image_pad|><|vision_end|>" and a video the same with
// "<|video_pad|>". Content is not stripped. Each image or video gets a single
// pad; ExpandVisionPads widens them once the vision token counts are known.
func RenderChat(msgs []Message, opt ChatOptions) (string, error) {
	var b strings.Builder
	images, videos := 0, 0
	for i, m := range msgs {
		if m.Role == "" || strings.ContainsAny(m.Role, "\n") {
			return "", fmt.Errorf("tokenizer: message %d: invalid role %q", i, m.Role)
		}
		if i == 0 && m.Role != "system" && !opt.NoSystem {
			sys := DefaultSystemPrompt
			if opt.Thinking {
				sys = ThinkSystemPrompt
			}
			b.WriteString(imStart + "system\n" + sys + imEnd + "\n")
		}
		b.WriteString(imStart + m.Role + "\n")
		for j, p := range m.Content {
			switch p.Type {
			case PartText:
				b.WriteString(p.Text)
			case PartImage:
				images++
				if opt.AddVisionID {
					b.WriteString("Picture " + strconv.Itoa(images) + ": ")
				}
				b.WriteString(visionStart + ImagePad + visionEnd)
			case PartVideo:
				videos++
				if opt.AddVisionID {
					b.WriteString("Video " + strconv.Itoa(videos) + ": ")
				}
				b.WriteString(visionStart + VideoPad + visionEnd)
			default:
				return "", fmt.Errorf("tokenizer: message %d part %d: unknown part type %d", i, j, p.Type)
			}
		}
		b.WriteString(imEnd + "\n")
	}
	if opt.AddGenerationPrompt {
		b.WriteString(imStart + "assistant\n")
	}
	return b.String(), nil
}

// EncodeChat renders messages with RenderChat and encodes the result.
func (t *Tokenizer) EncodeChat(msgs []Message, opt ChatOptions) ([]int, error) {
	s, err := RenderChat(msgs, opt)
	if err != nil {
		return nil, err
	}
	return t.Encode(s), nil
}

// VisionTokenCount returns how many LLM tokens one image or video becomes:
// the patches of its grid (gridT·gridH·gridW, as in image_grid_thw) divided
// by mergeSize² (Qwen2.5-VL merges 2×2 patches, so mergeSize is 2).
func VisionTokenCount(gridT, gridH, gridW, mergeSize int) (int, error) {
	if gridT <= 0 || gridH <= 0 || gridW <= 0 || mergeSize <= 0 {
		return 0, fmt.Errorf("tokenizer: invalid grid %d×%d×%d or merge size %d", gridT, gridH, gridW, mergeSize)
	}
	if gridH%mergeSize != 0 || gridW%mergeSize != 0 {
		return 0, fmt.Errorf("tokenizer: grid %d×%d is not a multiple of merge size %d", gridH, gridW, mergeSize)
	}
	return gridT * (gridH / mergeSize) * (gridW / mergeSize), nil
}

// ExpandVisionPads works on ids: it replaces the i-th <|image_pad|> id with
// imageTokens[i] copies and the i-th <|video_pad|> id with videoTokens[i]
// copies (counts from VisionTokenCount), as the Qwen2.5-VL processor does
// before the model sees the prompt. The processor expands the text instead,
// but since a pad is an added token matched whole, expanding ids gives the
// same result. The number of pads must equal the number of counts, and each
// count must be positive. The input is not modified.
func (t *Tokenizer) ExpandVisionPads(ids, imageTokens, videoTokens []int) ([]int, error) {
	imageID, okI := t.TokenID(ImagePad)
	videoID, okV := t.TokenID(VideoPad)
	if !okI || !okV {
		return nil, errors.New("tokenizer: vocabulary lacks <|image_pad|> or <|video_pad|>")
	}
	extra := 0
	for _, n := range imageTokens {
		if n <= 0 {
			return nil, fmt.Errorf("tokenizer: image token count %d is not positive", n)
		}
		extra += n - 1
	}
	for _, n := range videoTokens {
		if n <= 0 {
			return nil, fmt.Errorf("tokenizer: video token count %d is not positive", n)
		}
		extra += n - 1
	}
	out := make([]int, 0, len(ids)+extra)
	img, vid := 0, 0
	for _, id := range ids {
		switch id {
		case imageID:
			if img >= len(imageTokens) {
				return nil, fmt.Errorf("tokenizer: more image pads than the %d image token counts", len(imageTokens))
			}
			out = appendRepeat(out, id, imageTokens[img])
			img++
		case videoID:
			if vid >= len(videoTokens) {
				return nil, fmt.Errorf("tokenizer: more video pads than the %d video token counts", len(videoTokens))
			}
			out = appendRepeat(out, id, videoTokens[vid])
			vid++
		default:
			out = append(out, id)
		}
	}
	if img != len(imageTokens) || vid != len(videoTokens) {
		return nil, fmt.Errorf("tokenizer: found %d image and %d video pads for %d and %d token counts", img, vid, len(imageTokens), len(videoTokens))
	}
	return out, nil
}

func appendRepeat(dst []int, id, n int) []int {
	for range n {
		dst = append(dst, id)
	}
	return dst
}
