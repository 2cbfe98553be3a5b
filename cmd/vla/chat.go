package main

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vstgo/vst/robot/camera"
	"github.com/vstgo/vst/vlm/qwen25vl"
	"github.com/vstgo/vst/vlm/tokenizer"
)

func newChatCmd() *cobra.Command {
	var (
		dir, system, video string
		images             []string
		maxTokens, topK    int
		temperature, topP  float32
		seed               uint64
		think, stats       bool
	)
	cmd := &cobra.Command{
		Use:   "chat [flags] QUESTION",
		Short: "Ask a Qwen2.5-VL / VST checkpoint a question about images, streaming the answer",
		Long: `chat renders the question (and images) with the Qwen2.5-VL chat template, runs the
vision tower and the decoder with a KV cache, and streams the answer to stdout.
Decoding is greedy unless --temperature is set. --think uses VST's thinking system
prompt (answers come after a <think> block). The checkpoint directory must hold
tokenizer.json.`,
		Example: `  vla chat --model /models/VST-3B-RL --image scene.jpg "Which object is closer to the camera?"
  vla chat --model /tmp/tiny --max-tokens 16 "hello"
  vla chat --model DIR --video clip.mp4 "What happens after the gripper opens?"
  vla chat --model DIR --think --temperature 0.7 --seed 1 --image a.png --image b.png "How did the camera move?"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			t0 := time.Now()
			m, err := qwen25vl.Load(dir)
			if err != nil {
				return err
			}
			defer m.Close()
			tok, err := tokenizer.Load(dir)
			if err != nil {
				return err
			}
			pixels, err := loadImages(m, images)
			if err != nil {
				return err
			}
			var videos []*qwen25vl.Pixels
			if video != "" {
				v, err := loadVideo(m, video)
				if err != nil {
					return err
				}
				videos = append(videos, v)
			}
			msg := tokenizer.Message{Role: "user"}
			for range pixels {
				msg.Content = append(msg.Content, tokenizer.ImagePart())
			}
			for range videos {
				msg.Content = append(msg.Content, tokenizer.VideoPart())
			}
			msg.Content = append(msg.Content, tokenizer.TextPart(args[0]))
			msgs := []tokenizer.Message{msg}
			if system != "" {
				msgs = append([]tokenizer.Message{tokenizer.TextMessage("system", system)}, msgs...)
			}
			ids, err := tok.EncodeChat(msgs, tokenizer.ChatOptions{AddGenerationPrompt: true, Thinking: think})
			if err != nil {
				return err
			}
			unit := m.Config.Vision.SpatialMergeSize * m.Config.Vision.SpatialMergeSize
			counts := func(ps []*qwen25vl.Pixels) []int {
				c := make([]int, len(ps))
				for i, p := range ps {
					c[i] = p.Grid.Patches() / unit
				}
				return c
			}
			if ids, err = tok.ExpandVisionPads(ids, counts(pixels), counts(videos)); err != nil {
				return err
			}
			in := &qwen25vl.Inputs{IDs: make([]int32, len(ids)), Images: pixels, Videos: videos}
			for i, id := range ids {
				in.IDs[i] = int32(id)
			}
			loaded := time.Since(t0)
			s := qwen25vl.SamplingFromConfig(m.Generation)
			s.MaxNewTokens, s.Temperature, s.TopK, s.TopP, s.Seed = maxTokens, temperature, topK, topP, seed
			if temperature == 0 {
				s.TopK, s.TopP = 0, 0
			}
			if eos, ok := tok.EOS(); ok && len(s.StopIDs) == 0 {
				s.StopIDs = []int32{int32(eos)}
			}
			dec := tok.NewStreamDecoder(true)
			w := cmd.OutOrStdout()
			var first time.Duration
			t1 := time.Now()
			s.OnToken = func(id int32) bool {
				if first == 0 {
					first = time.Since(t1)
				}
				fmt.Fprint(w, dec.Push(int(id)))
				return true
			}
			gen, err := m.Generate(ctx, in, s)
			fmt.Fprintln(w, dec.Flush())
			if stats {
				total := time.Since(t1)
				rate := 0.0
				if len(gen) > 1 {
					rate = float64(len(gen)-1) / (total - first).Seconds()
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "load %s, prompt %d tokens, prefill %s, %d tokens at %.1f tok/s\n",
					loaded.Round(time.Millisecond), len(ids), first.Round(time.Millisecond), len(gen), rate)
			}
			if err != nil && ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "model", "", "checkpoint directory (with tokenizer.json)")
	f.StringSliceVar(&images, "image", nil, "image file (JPEG or PNG), repeatable")
	f.StringVar(&video, "video", "", "video file (mp4, avi, ...; decoded with OpenCV, sampled at 2 fps as qwen-vl-utils)")
	f.StringVar(&system, "system", "", "system prompt (default: Qwen's, or VST's thinking prompt with --think)")
	f.BoolVar(&think, "think", false, "use VST's thinking system prompt")
	f.IntVar(&maxTokens, "max-tokens", 256, "maximum new tokens")
	f.Float32Var(&temperature, "temperature", 0, "sampling temperature (0 = greedy)")
	f.IntVar(&topK, "top-k", 0, "top-k sampling (0 = off)")
	f.Float32Var(&topP, "top-p", 0, "nucleus sampling threshold (0 = off)")
	f.Uint64Var(&seed, "seed", 0, "sampling seed")
	f.BoolVar(&stats, "stats", false, "print load, prefill and decode speed to stderr")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

// loadVideo decodes a video file, samples frames as qwen-vl-utils does (the
// preprocessor's video settings: 2 fps by default, 4 to 768 frames) and
// turns them into pixel values.
func loadVideo(m *qwen25vl.Model, path string) (*qwen25vl.Pixels, error) {
	frames, fps, err := camera.ReadVideo(path, camera.ReadOptions{})
	if err != nil {
		return nil, err
	}
	proc, err := qwen25vl.NewProcessor(m.Preprocessor)
	if err != nil {
		return nil, err
	}
	sample, err := qwen25vl.SampleFrames(len(frames), fps, m.Preprocessor.Video)
	if err != nil {
		return nil, fmt.Errorf("video %s: %w", path, err)
	}
	rgb := make([][]byte, len(sample.Indices))
	for i, k := range sample.Indices {
		rgb[i] = frames[k].Pix
	}
	px, err := proc.VideoRGB(rgb, frames[0].H, frames[0].W, sample.FPS)
	if err != nil {
		return nil, fmt.Errorf("video %s: %w", path, err)
	}
	return px, nil
}
