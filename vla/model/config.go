package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/vstgo/vst/vla/normalize"
)

// Head names accepted by Config.Head.
const (
	// HeadChunk is the OpenVLA-OFT style head: H learned action queries
	// decoded in parallel in one forward pass, an MLP on their hidden
	// states, trained with L1 on normalized actions.
	HeadChunk = "chunk"
	// HeadTokens is VST's head: 256 action tokens appended to the
	// vocabulary, D of them decoded greedily per action, trained with
	// cross-entropy. Its horizon is 1.
	HeadTokens = "tokens"
)

// NoLoRA, as Config.LoRARank, trains no adapters (the zero value means the
// default rank).
const NoLoRA = -1

// ConfigFile is the name of the VLA configuration inside a model
// directory.
const ConfigFile = "vla_config.json"

// InstructionPlaceholder is replaced by the task instruction in
// Config.Template.
const InstructionPlaceholder = "{instruction}"

// loraTargets are the text-decoder linears an adapter can be put on.
var loraTargets = []string{"q", "k", "v", "o", "gate", "up", "down"}

// Config describes the action head and the fine-tuning setup on top of a
// Qwen2.5-VL backbone. The zero value of every field means its default; it
// is saved as vla_config.json next to the backbone files.
type Config struct {
	// Head is HeadChunk or HeadTokens. It defaults to HeadChunk.
	Head string `json:"head"`
	// Horizon is H, the number of actions per chunk. It defaults to 8 for
	// the chunk head; the tokens head always uses 1 (VST re-plans every
	// step).
	Horizon int `json:"horizon"`
	// ActionDim is D, the size of one action. It defaults to 7 (LIBERO:
	// 3 translation, 3 rotation deltas and the gripper).
	ActionDim int `json:"action_dim"`
	// StateDim is the size of the proprioceptive state fed to the chunk
	// head as one projected token; 0 means no state. It defaults to 0. The
	// tokens head takes no state (VST's recipe).
	StateDim int `json:"state_dim"`
	// Cameras names the images of an observation, in prompt order. It
	// defaults to ["agentview", "wrist"].
	Cameras []string `json:"cameras"`
	// ImageSize is the side of the square each camera image is resized to
	// before the Qwen2.5-VL processor (which then rounds it to a multiple of
	// 28 with smart_resize). It defaults to 128.
	ImageSize int `json:"image_size"`
	// LoRARank is the rank of the adapters on the text decoder; NoLoRA
	// trains none. It defaults to 8.
	LoRARank int `json:"lora_rank"`
	// LoRAAlpha scales the adapters by LoRAAlpha/LoRARank. It defaults to
	// min(LoRARank, 16), OpenVLA's choice.
	LoRAAlpha float64 `json:"lora_alpha"`
	// LoRATargets lists the decoder linears that get adapters, among q, k,
	// v, o, gate, up and down (a "_proj" suffix is accepted). It defaults
	// to all seven.
	LoRATargets []string `json:"lora_targets"`
	// TrainVision trains the vision tower (as F32 copies of its weights,
	// at VisionLRScale times the learning rate) instead of freezing it. It
	// defaults to false.
	TrainVision bool `json:"train_vision"`
	// VisionLRScale multiplies the learning rate of the vision tower when
	// it trains. It defaults to 0.1 (VST: 5e-6 vs 5e-5), or 1 with
	// FullFinetune.
	VisionLRScale float64 `json:"vision_lr_scale"`
	// FullFinetune trains every backbone weight as an F32 copy: the text
	// decoder (token embeddings, every layer, the final norm and, for the
	// tokens head, an untied LM head) and the vision tower, with no LoRA
	// adapters. It is the recipe for small backbones trained from scratch,
	// where low-rank adapters on random weights cannot learn the task; the
	// trained backbone is saved as the model directory's model.safetensors
	// (Hugging Face names, F32), in place of the base weights. It implies TrainVision, LoRARank NoLoRA (a
	// positive rank is an error) and a VisionLRScale of 1 unless set. It
	// defaults to false.
	FullFinetune bool `json:"full_finetune,omitempty"`
	// Template is the user text after the images; InstructionPlaceholder
	// is replaced by the instruction. It defaults to VST's "What action
	// should the robot take to {instruction}?".
	Template string `json:"template"`
	// HeadHidden is the hidden width of the chunk head's MLP. It defaults
	// to the backbone's hidden size.
	HeadHidden int `json:"head_hidden"`
	// NormMode is how actions and states are normalized with the
	// statistics: "quantile" (q01/q99 to [−1, 1], clipped), "mean_std",
	// "min_max" or "identity" (normalize.ParseMode). It defaults to
	// "quantile", VST's and OpenVLA's choice.
	NormMode string `json:"norm_mode"`
	// Seed seeds the initialisation of the adapters and the head. It
	// defaults to 0.
	Seed uint64 `json:"seed"`
	// CenterCrop is the fraction of each camera image's area kept by a
	// centred crop before the resize, at inference only: a model trained on
	// random crops (finetune's augmentation, 0.8–1.0 of the area) sees
	// their mean scale when it acts, as OpenVLA does. 0 or 1 means no crop.
	// It defaults to 0; finetune sets it from its augmentation.
	CenterCrop float64 `json:"center_crop,omitempty"`
	// BinaryDims lists the action dimensions that are binary commands (a
	// gripper's open/close): Act snaps them to the nearer of the
	// dimension's minimum and maximum in the statistics, so a regression
	// head's hesitant 0.3 becomes a decisive close. It defaults to none;
	// finetune sets it for dimensions whose training values take only two
	// values.
	BinaryDims []int `json:"binary_dims,omitempty"`
}

// DefaultTemplate is VST's VLA prompt.
const DefaultTemplate = "What action should the robot take to " + InstructionPlaceholder + "?"

// withDefaults returns c with zero fields set to their defaults and
// validates it. hidden is the backbone's hidden size.
func (c Config) withDefaults(hidden int) (Config, error) {
	if c.Head == "" {
		c.Head = HeadChunk
	}
	if c.Horizon == 0 {
		c.Horizon = 8
		if c.Head == HeadTokens {
			c.Horizon = 1
		}
	}
	if c.ActionDim == 0 {
		c.ActionDim = 7
	}
	if c.Cameras == nil {
		c.Cameras = []string{"agentview", "wrist"}
	}
	c.Cameras = slices.Clone(c.Cameras)
	c.BinaryDims = slices.Clone(c.BinaryDims)
	if c.ImageSize == 0 {
		c.ImageSize = 128
	}
	if c.FullFinetune {
		c.TrainVision = true
		if c.LoRARank == 0 {
			c.LoRARank = NoLoRA
		}
		if c.VisionLRScale == 0 {
			c.VisionLRScale = 1
		}
	}
	if c.LoRARank == 0 {
		c.LoRARank = 8
	}
	if c.LoRAAlpha == 0 && c.LoRARank > 0 {
		c.LoRAAlpha = float64(min(c.LoRARank, 16))
	}
	if c.LoRATargets == nil {
		c.LoRATargets = slices.Clone(loraTargets)
	}
	targets := make([]string, len(c.LoRATargets))
	for i, t := range c.LoRATargets {
		targets[i] = strings.TrimSuffix(strings.ToLower(t), "_proj")
	}
	c.LoRATargets = targets
	if c.VisionLRScale == 0 {
		c.VisionLRScale = 0.1
	}
	if c.Template == "" {
		c.Template = DefaultTemplate
	}
	if c.HeadHidden == 0 {
		c.HeadHidden = hidden
	}
	if c.NormMode == "" {
		c.NormMode = "quantile"
	}
	return c, c.validate()
}

// validate checks a config whose defaults are applied.
func (c *Config) validate() error {
	var errs []error
	switch c.Head {
	case HeadChunk:
	case HeadTokens:
		if c.Horizon != 1 {
			errs = append(errs, fmt.Errorf("tokens head: horizon %d, want 1 (one action per step, as VST)", c.Horizon))
		}
		if c.StateDim != 0 {
			errs = append(errs, fmt.Errorf("tokens head: state dim %d, want 0 (VST's recipe takes no state)", c.StateDim))
		}
	default:
		errs = append(errs, fmt.Errorf("head %q: want %q or %q", c.Head, HeadChunk, HeadTokens))
	}
	if c.Horizon < 0 {
		errs = append(errs, fmt.Errorf("horizon %d is negative", c.Horizon))
	}
	if c.ActionDim < 0 {
		errs = append(errs, fmt.Errorf("action dim %d is negative", c.ActionDim))
	}
	if c.StateDim < 0 {
		errs = append(errs, fmt.Errorf("state dim %d is negative", c.StateDim))
	}
	if len(c.Cameras) == 0 {
		errs = append(errs, errors.New("no cameras: the model needs at least one image"))
	}
	seen := map[string]bool{}
	for _, cam := range c.Cameras {
		if cam == "" || seen[cam] {
			errs = append(errs, fmt.Errorf("camera name %q is empty or repeated", cam))
		}
		seen[cam] = true
	}
	if c.ImageSize < 0 {
		errs = append(errs, fmt.Errorf("image size %d is negative", c.ImageSize))
	}
	if c.LoRARank < NoLoRA {
		errs = append(errs, fmt.Errorf("lora rank %d: want a positive rank or %d (none)", c.LoRARank, NoLoRA))
	}
	if c.FullFinetune && c.LoRARank > 0 {
		errs = append(errs, fmt.Errorf("full fine-tuning trains every weight: lora rank %d, want %d (none)", c.LoRARank, NoLoRA))
	}
	if c.LoRAAlpha < 0 {
		errs = append(errs, fmt.Errorf("lora alpha %g is negative", c.LoRAAlpha))
	}
	for _, t := range c.LoRATargets {
		if !slices.Contains(loraTargets, t) {
			errs = append(errs, fmt.Errorf("lora target %q: want one of %s", t, strings.Join(loraTargets, ", ")))
		}
	}
	if c.VisionLRScale < 0 {
		errs = append(errs, fmt.Errorf("vision lr scale %g is negative", c.VisionLRScale))
	}
	if !strings.Contains(c.Template, InstructionPlaceholder) {
		errs = append(errs, fmt.Errorf("template %q lacks %s", c.Template, InstructionPlaceholder))
	}
	if _, err := normalize.ParseMode(c.NormMode); err != nil {
		errs = append(errs, err)
	}
	if c.HeadHidden < 0 {
		errs = append(errs, fmt.Errorf("head hidden size %d is negative", c.HeadHidden))
	}
	if !(c.CenterCrop >= 0 && c.CenterCrop <= 1) {
		errs = append(errs, fmt.Errorf("center crop %g: want a fraction of the image area in [0, 1]", c.CenterCrop))
	}
	for i, d := range c.BinaryDims {
		if d < 0 || d >= c.ActionDim || slices.Contains(c.BinaryDims[:i], d) {
			errs = append(errs, fmt.Errorf("binary action dim %d is outside [0, %d) or repeated", d, c.ActionDim))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("vla config: %w", err)
	}
	return nil
}

// prompt renders the user text for an instruction.
func (c *Config) prompt(instruction string) string {
	return strings.ReplaceAll(c.Template, InstructionPlaceholder, strings.TrimSpace(instruction))
}

// savedConfig is vla_config.json: the resolved Config plus what Load needs
// to check that the files belong together.
type savedConfig struct {
	Format int `json:"format"`
	Config
	// ActionTokenBase is the id of <|action_0|> for the tokens head.
	ActionTokenBase int `json:"action_token_base,omitempty"`
}

// configFormat is the version of vla_config.json and vla_head.safetensors.
const configFormat = 1

// readConfig reads vla_config.json.
func readConfig(path string) (*savedConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s savedConfig
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.Format != configFormat {
		return nil, fmt.Errorf("%s: format %d, this build reads %d", path, s.Format, configFormat)
	}
	return &s, nil
}
