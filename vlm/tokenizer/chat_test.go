package tokenizer

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRenderChat(t *testing.T) {
	const sys = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
	user := Message{Role: "user", Content: []Part{ImagePart(), TextPart("What is left of the cup?")}}
	tests := []struct {
		name string
		msgs []Message
		opt  ChatOptions
		want string
	}{
		{
			name: "default system and generation prompt",
			msgs: []Message{user},
			opt:  ChatOptions{AddGenerationPrompt: true},
			want: sys + "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is left of the cup?<|im_end|>\n<|im_start|>assistant\n",
		},
		{
			name: "explicit system, text not stripped",
			msgs: []Message{TextMessage("system", "Be brief."), TextMessage("user", " hi\n"), TextMessage("assistant", "hello")},
			want: "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n hi\n<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n",
		},
		{
			name: "thinking system prompt",
			msgs: []Message{TextMessage("user", "q")},
			opt:  ChatOptions{Thinking: true},
			want: "<|im_start|>system\n" + ThinkSystemPrompt + "<|im_end|>\n<|im_start|>user\nq<|im_end|>\n",
		},
		{
			name: "thinking keeps a given system message",
			msgs: []Message{TextMessage("system", "S"), TextMessage("user", "q")},
			opt:  ChatOptions{Thinking: true},
			want: "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nq<|im_end|>\n",
		},
		{
			name: "no system",
			msgs: []Message{TextMessage("user", "q")},
			opt:  ChatOptions{NoSystem: true, Thinking: true, AddGenerationPrompt: true},
			want: "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n",
		},
		{
			name: "vision ids",
			msgs: []Message{{Role: "user", Content: []Part{ImagePart(), ImagePart(), VideoPart(), TextPart("x")}}},
			opt:  ChatOptions{AddVisionID: true, NoSystem: true},
			want: "<|im_start|>user\nPicture 1: <|vision_start|><|image_pad|><|vision_end|>Picture 2: <|vision_start|><|image_pad|><|vision_end|>Video 1: <|vision_start|><|video_pad|><|vision_end|>x<|im_end|>\n",
		},
		{
			name: "empty conversation",
			opt:  ChatOptions{AddGenerationPrompt: true},
			want: "<|im_start|>assistant\n",
		},
		{
			name: "empty content",
			msgs: []Message{{Role: "user"}},
			want: sys + "<|im_start|>user\n<|im_end|>\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RenderChat(tt.msgs, tt.opt)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestRenderChatErrors(t *testing.T) {
	tests := []struct {
		name string
		msgs []Message
	}{
		{"empty role", []Message{{Content: []Part{TextPart("x")}}}},
		{"newline in role", []Message{{Role: "us\ner"}}},
		{"unknown part", []Message{{Role: "user", Content: []Part{{Type: PartType(9)}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := RenderChat(tt.msgs, ChatOptions{})
			require.Error(t, err)
			_, err = qwen(t).EncodeChat(tt.msgs, ChatOptions{})
			require.Error(t, err)
		})
	}
}

// TestEncodeChatGolden checks a rendered prompt against HF's ids for the
// same text (the inline special tokens case of public.jsonl).
func TestEncodeChatGolden(t *testing.T) {
	const text = "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is left of the cup?<|im_end|>\n<|im_start|>assistant\n"
	var want []int
	for _, c := range readCases(t, testPublic) {
		if c.Text == text {
			want = c.IDs
		}
	}
	require.NotNil(t, want)
	msgs := []Message{{Role: "user", Content: []Part{ImagePart(), TextPart("What is left of the cup?")}}}
	ids, err := qwen(t).EncodeChat(msgs, ChatOptions{AddGenerationPrompt: true, NoSystem: true})
	require.NoError(t, err)
	require.Equal(t, want, ids)
}

func TestVisionTokenCount(t *testing.T) {
	tests := []struct {
		t, h, w, merge int
		want           int
		err            bool
	}{
		{1, 16, 16, 2, 64, false},
		{2, 36, 52, 2, 936, false},
		{1, 18, 18, 1, 324, false},
		{1, 17, 16, 2, 0, true},
		{0, 16, 16, 2, 0, true},
		{1, 16, 16, 0, 0, true},
		{1, -4, 16, 2, 0, true},
	}
	for _, tt := range tests {
		n, err := VisionTokenCount(tt.t, tt.h, tt.w, tt.merge)
		if tt.err {
			require.Error(t, err, "%+v", tt)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tt.want, n)
	}
}

func TestExpandVisionPads(t *testing.T) {
	tok := qwen(t)
	img, _ := tok.TokenID(ImagePad)
	vid, _ := tok.TokenID(VideoPad)
	vs, _ := tok.TokenID(visionStart)
	ve, _ := tok.TokenID(visionEnd)
	tests := []struct {
		name          string
		ids           []int
		images, video []int
		want          []int
		err           bool
	}{
		{"none", []int{1, 2}, nil, nil, []int{1, 2}, false},
		{"one image", []int{vs, img, ve, 7}, []int{3}, nil, []int{vs, img, img, img, ve, 7}, false},
		{"image and video", []int{img, 5, vid, img}, []int{1, 2}, []int{2}, []int{img, 5, vid, vid, img, img}, false},
		{"too few counts", []int{img, img}, []int{1}, nil, nil, true},
		{"too many counts", []int{img}, []int{1, 1}, nil, nil, true},
		{"unused video count", []int{img}, []int{1}, []int{4}, nil, true},
		{"zero count", []int{img}, []int{0}, nil, nil, true},
		{"negative video count", []int{vid}, nil, []int{-1}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]int(nil), tt.ids...)
			got, err := tok.ExpandVisionPads(tt.ids, tt.images, tt.video)
			require.Equal(t, in, tt.ids, "input modified")
			if tt.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	// The id-level expansion equals encoding the text-level expansion.
	s, err := RenderChat([]Message{{Role: "user", Content: []Part{ImagePart(), TextPart("hi")}}}, ChatOptions{})
	require.NoError(t, err)
	ids, err := tok.ExpandVisionPads(tok.Encode(s), []int{4}, nil)
	require.NoError(t, err)
	wide := tok.Encode(strings.Replace(s, ImagePad, strings.Repeat(ImagePad, 4), 1))
	require.Equal(t, wide, ids)
}
