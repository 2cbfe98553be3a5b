package qwen25vl

// This file generates random Qwen2.5-VL checkpoints in the exact Hugging
// Face on-disk layout, so that tests, demos and benchmarks have a model of
// any published size without downloading one.

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/vstgo/vst/vlm/safetensors"
	"github.com/vstgo/vst/vlm/tensor/half"
)

// qwenEndOfText is the id of Qwen2's <|endoftext|>, the bos and pad id of
// the published checkpoints and, with <|im_end|>, one of their stop ids.
const qwenEndOfText = 151643

// presets maps the names Preset accepts to constructors of their configs.
var presets = map[string]func() Config{
	"tiny":  presetTiny,
	"small": presetSmall,
	"3b":    preset3B,
	"7b":    preset7B,
}

// PresetNames returns the names Preset accepts besides a config path,
// sorted.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Preset returns a model configuration by name:
//
//   - "tiny": the golden test model of testdata/tiny/config.json (vocab 320,
//     hidden 64, 2 layers; vision hidden 32, depth 2), a few hundred KB.
//   - "small": tiny's vocabulary and token ids (so the same generated
//     tokenizer fits) with hidden 128, 4 layers, vision hidden 64, depth 4:
//     1.26 M parameters (5 MB in F32), a VLA backbone that trains
//     from scratch on a CPU in minutes.
//   - "3b": Qwen2.5-VL-3B-Instruct (and VST-3B), 3.75 G parameters.
//   - "7b": Qwen2.5-VL-7B-Instruct, 8.3 G parameters.
//
// Names are matched case-insensitively. Any other name is read as the path
// of a config.json file, or of a checkpoint directory holding one. Each
// call returns a fresh Config that the caller may modify.
func Preset(name string) (*Config, error) {
	if mk, ok := presets[strings.ToLower(name)]; ok {
		cfg := mk()
		return &cfg, nil
	}
	path := name
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("unknown model preset %q: want one of %s or the path of a config.json", name, strings.Join(PresetNames(), ", "))
		}
		return nil, fmt.Errorf("model preset %q: %w", name, err)
	}
	if fi.IsDir() {
		path = filepath.Join(path, "config.json")
	}
	return LoadConfig(path)
}

// presetTiny is testdata/tiny/config.json as a Config.
func presetTiny() Config {
	c := DefaultConfig()
	c.VocabSize = 320
	c.HiddenSize = 64
	c.IntermediateSize = 128
	c.NumHiddenLayers = 2
	c.NumAttentionHeads = 4
	c.NumKeyValueHeads = 2
	c.RMSNormEps = 1e-6
	c.RopeTheta = 1e6
	c.RopeScaling = RopeScaling{Type: "default", MRopeSection: []int{2, 3, 3}}
	c.MaxPositionEmbeddings = 128000
	c.TieWordEmbeddings = false
	c.BOSTokenID = 300
	c.EOSTokenIDs = []int{302}
	c.VisionStartTokenID = 309
	c.VisionEndTokenID = 310
	c.VisionTokenID = 311
	c.ImageTokenID = 312
	c.VideoTokenID = 313
	c.Vision.Depth = 2
	c.Vision.HiddenSize = 32
	c.Vision.IntermediateSize = 64
	c.Vision.NumHeads = 2
	c.Vision.FullAttBlockIndexes = []int{1}
	c.Vision.OutHiddenSize = 64
	c.Vision.TokensPerSecond = 2
	return c
}

// presetSmall is presetTiny widened and deepened (head dims 32, M-RoPE
// sections [4, 6, 6]).
func presetSmall() Config {
	c := presetTiny()
	c.HiddenSize = 128
	c.IntermediateSize = 384
	c.NumHiddenLayers = 4
	c.NumAttentionHeads = 4
	c.NumKeyValueHeads = 2
	c.RopeScaling = RopeScaling{Type: "default", MRopeSection: []int{4, 6, 6}}
	c.Vision.Depth = 4
	c.Vision.HiddenSize = 64
	c.Vision.IntermediateSize = 192
	c.Vision.NumHeads = 2
	c.Vision.FullAttBlockIndexes = []int{1, 3}
	c.Vision.OutHiddenSize = 128
	return c
}

// presetQwen holds what the published Qwen2.5-VL sizes share: the Qwen2
// token ids, M-RoPE [16, 24, 24] (head dim 128) and the 32-block,
// 1280-wide vision tower.
func presetQwen() Config {
	c := DefaultConfig()
	c.RMSNormEps = 1e-6
	c.RopeTheta = 1e6
	c.RopeScaling = RopeScaling{Type: "default", MRopeSection: []int{16, 24, 24}}
	c.MaxPositionEmbeddings = 128000
	c.HiddenAct = "silu"
	c.BOSTokenID = qwenEndOfText
	c.EOSTokenIDs = []int{151645}
	c.ImageTokenID = 151655
	c.VideoTokenID = 151656
	c.VisionStartTokenID = 151652
	c.VisionEndTokenID = 151653
	c.VisionTokenID = 151654
	c.Vision = VisionConfig{
		Depth:               32,
		HiddenSize:          1280,
		IntermediateSize:    3420,
		NumHeads:            16,
		InChannels:          3,
		PatchSize:           14,
		SpatialMergeSize:    2,
		TemporalPatchSize:   2,
		WindowSize:          112,
		FullAttBlockIndexes: []int{7, 15, 23, 31},
		TokensPerSecond:     2,
		HiddenAct:           "silu",
	}
	return c
}

// presetQwenSized is presetQwen with the language model's sizes; the
// vision tower projects to its hidden size.
func presetQwenSized(vocab, hidden, intermediate, layers, heads, kvHeads int, tied bool) Config {
	c := presetQwen()
	c.VocabSize = vocab
	c.HiddenSize = hidden
	c.IntermediateSize = intermediate
	c.NumHiddenLayers = layers
	c.NumAttentionHeads = heads
	c.NumKeyValueHeads = kvHeads
	c.TieWordEmbeddings = tied
	c.Vision.OutHiddenSize = hidden
	return c
}

// preset3B is the config.json of Qwen2.5-VL-3B-Instruct.
func preset3B() Config { return presetQwenSized(151936, 2048, 11008, 36, 16, 2, true) }

// preset7B is the config.json of Qwen2.5-VL-7B-Instruct.
func preset7B() Config { return presetQwenSized(152064, 3584, 18944, 28, 28, 4, false) }

// RandomOptions configures WriteRandomCheckpoint.
type RandomOptions struct {
	// Seed selects the weights. A tensor's values depend only on Seed, its
	// name and its shape: not on the dtype (BF16 weights are the F32 ones
	// rounded to nearest even), the sharding or the number of CPUs. It
	// defaults to 0.
	Seed uint64
	// DType is the weight type, "F32" or "BF16" (case-insensitive). It
	// defaults to "BF16", the type of the published checkpoints.
	DType string
	// MaxShardBytes is the largest amount of tensor data per file. A
	// checkpoint that fits is one model.safetensors; otherwise tensors, in
	// name order, are packed greedily into model-0000i-of-0000N.safetensors
	// with a model.safetensors.index.json, as save_pretrained does (a tensor
	// larger than the limit gets a file of its own). It defaults to
	// safetensors.DefaultMaxShardBytes (5 GB, HF's default).
	MaxShardBytes int64
	// Progress, when set, is called from the calling goroutine with the
	// number of tensor data bytes written so far and the total, first with
	// done = 0 and last with done = total. It defaults to nil.
	Progress func(done, total int64)
}

// Weight initialisation, as in the golden tiny model.
type initKind uint8

const (
	initMatrix initKind = iota // N(0, 1/fan_in), fan_in = product of all but the first dim
	initBias                   // N(0, 0.01)
	initNorm                   // U(0.5, 1.5)
	initEmbed                  // N(0, 1)
)

// weightSpec describes one checkpoint tensor to generate.
type weightSpec struct {
	name  string
	shape []int
	init  initKind
	elems int64
}

// checkpointSpecs lists every tensor that Load binds for cfg, with the
// names and shapes of bindText and bindVision in the model.*/visual.* key
// layout, sorted by name.
func checkpointSpecs(cfg *Config) []weightSpec {
	var specs []weightSpec
	add := func(name string, init initKind, shape ...int) {
		n := int64(1)
		for _, d := range shape {
			n *= int64(d)
		}
		specs = append(specs, weightSpec{name: name, shape: shape, init: init, elems: n})
	}
	linear := func(prefix string, out, in int, bias bool) {
		add(prefix+".weight", initMatrix, out, in)
		if bias {
			add(prefix+".bias", initBias, out)
		}
	}

	d, f, hd := cfg.HiddenSize, cfg.IntermediateSize, cfg.HeadDim()
	qd, kvd := cfg.NumAttentionHeads*hd, cfg.NumKeyValueHeads*hd
	add("model.embed_tokens.weight", initEmbed, cfg.VocabSize, d)
	for i := range cfg.NumHiddenLayers {
		p := fmt.Sprintf("model.layers.%d.", i)
		add(p+"input_layernorm.weight", initNorm, d)
		add(p+"post_attention_layernorm.weight", initNorm, d)
		linear(p+"self_attn.q_proj", qd, d, true)
		linear(p+"self_attn.k_proj", kvd, d, true)
		linear(p+"self_attn.v_proj", kvd, d, true)
		linear(p+"self_attn.o_proj", d, qd, false)
		linear(p+"mlp.gate_proj", f, d, false)
		linear(p+"mlp.up_proj", f, d, false)
		linear(p+"mlp.down_proj", d, f, false)
	}
	add("model.norm.weight", initNorm, d)
	if !cfg.TieWordEmbeddings {
		add("lm_head.weight", initMatrix, cfg.VocabSize, d)
	}

	v := &cfg.Vision
	vd, vf := v.HiddenSize, v.IntermediateSize
	add("visual.patch_embed.proj.weight", initMatrix, vd, v.InChannels, v.TemporalPatchSize, v.PatchSize, v.PatchSize)
	for i := range v.Depth {
		p := fmt.Sprintf("visual.blocks.%d.", i)
		add(p+"norm1.weight", initNorm, vd)
		add(p+"norm2.weight", initNorm, vd)
		linear(p+"attn.qkv", 3*vd, vd, true)
		linear(p+"attn.proj", vd, vd, true)
		linear(p+"mlp.gate_proj", vf, vd, true)
		linear(p+"mlp.up_proj", vf, vd, true)
		linear(p+"mlp.down_proj", vd, vf, true)
	}
	unit := v.SpatialMergeSize * v.SpatialMergeSize
	add("visual.merger.ln_q.weight", initNorm, vd)
	linear("visual.merger.mlp.0", unit*vd, unit*vd, true)
	linear("visual.merger.mlp.2", v.OutHiddenSize, unit*vd, true)

	slices.SortFunc(specs, func(a, b weightSpec) int { return strings.Compare(a.name, b.name) })
	return specs
}

// parseDType maps RandomOptions.DType to a safetensors dtype and the
// matching config.json torch_dtype.
func parseDType(s string) (safetensors.DType, string, error) {
	switch strings.ToUpper(s) {
	case "", "BF16":
		return safetensors.DTypeBF16, "bfloat16", nil
	case "F32":
		return safetensors.DTypeF32, "float32", nil
	}
	return "", "", fmt.Errorf("random checkpoint dtype %q is not supported (want F32 or BF16)", s)
}

// WriteRandomCheckpoint writes a randomly initialised Qwen2.5-VL checkpoint
// for cfg into dir (created if needed), in the layout of a Hugging Face
// save_pretrained directory that Load reads:
//
//   - model.safetensors, or model-0000i-of-0000N.safetensors shards and
//     model.safetensors.index.json (see RandomOptions.MaxShardBytes), holding
//     every tensor Load binds under the model.*/visual.* names, sorted by
//     name, with metadata {"format": "pt"}; lm_head.weight is left out when
//     the embeddings are tied;
//   - config.json, which ParseConfig reads back into cfg;
//   - generation_config.json: bos and pad <|endoftext|> (cfg's bos id), and
//     cfg's eos ids, plus <|endoftext|> for the Qwen2 vocabulary as in the
//     published files; greedy decoding;
//   - preprocessor_config.json: the published Qwen2VLImageProcessor
//     settings, with cfg's patch, temporal patch and merge sizes.
//
// Weights follow the golden tiny model's initialisation: matrices
// N(0, 1/fan_in), biases N(0, 0.01), 1-D norm weights U(0.5, 1.5) and the
// token embedding N(0, 1). They come from PCG streams seeded per tensor and
// per chunk of 1 Mi values, generated on all CPUs and streamed to disk, so
// the output is deterministic and memory use stays at a few tens of MB
// whatever the model size.
//
// Each file is written to a temporary file in dir, synced and renamed, so
// an interrupted run never leaves a partial file under a final name; the
// index follows the shards. Weight files of an earlier checkpoint in dir
// that this one does not replace (model.safetensors, the index, shards of
// another count) are then removed so that Load cannot pick them up, and the
// JSON configs come last, so a config.json from this run means the
// checkpoint is complete.
func WriteRandomCheckpoint(dir string, cfg *Config, opts RandomOptions) error {
	if cfg == nil {
		return errors.New("write random checkpoint: nil config")
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("write random checkpoint: %w", err)
	}
	dt, torchDType, err := parseDType(opts.DType)
	if err != nil {
		return fmt.Errorf("write random checkpoint: %w", err)
	}
	specs := checkpointSpecs(cfg)
	tensors := make([]safetensors.Spec, len(specs))
	var total int64
	for i, s := range specs {
		tensors[i] = safetensors.Spec{Name: s.name, DType: dt, Shape: s.shape}
		total += s.elems * int64(dt.Size())
	}

	g := &randomWeights{seed: opts.Seed, dtype: dt, total: total, progress: opts.Progress, free: make(chan *[]byte, 3*runtime.GOMAXPROCS(0)+6)}
	g.report()
	files, err := safetensors.WriteShardedStream(dir, tensors, map[string]string{"format": "pt"}, opts.MaxShardBytes, func(w io.Writer, begin, end int) error {
		return g.streamData(w, specs[begin:end])
	})
	if err != nil {
		return fmt.Errorf("write random checkpoint: %w", err)
	}
	if err := removeStaleWeights(dir, files); err != nil {
		return fmt.Errorf("write random checkpoint: %w", err)
	}

	jsons := []struct {
		name string
		make func() ([]byte, error)
	}{
		{"generation_config.json", func() ([]byte, error) { return generationConfigJSON(cfg) }},
		{"preprocessor_config.json", func() ([]byte, error) { return preprocessorConfigJSON(cfg) }},
		{"config.json", func() ([]byte, error) { return configJSON(cfg, torchDType) }},
	}
	for _, j := range jsons {
		err := safetensors.WriteFileAtomic(filepath.Join(dir, j.name), func(w io.Writer) error {
			data, err := j.make()
			if err != nil {
				return err
			}
			_, err = w.Write(data)
			return err
		})
		if err != nil {
			return fmt.Errorf("write random checkpoint: %s: %w", j.name, err)
		}
	}
	return nil
}

// removeStaleWeights deletes weight files in dir that Load could read but
// that are not in keep.
func removeStaleWeights(dir string, keep []string) error {
	shards, err := filepath.Glob(filepath.Join(dir, "model-*-of-*.safetensors"))
	if err != nil {
		return err
	}
	for _, p := range append(shards, filepath.Join(dir, safetensors.SingleFile), filepath.Join(dir, safetensors.IndexFile)) {
		if slices.Contains(keep, filepath.Base(p)) {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove stale weights: %w", err)
		}
	}
	return nil
}

// chunkElems is the number of values generated from one PCG stream. It is
// part of the output's definition: changing it changes the weights.
const chunkElems = 1 << 20

// randomWeights streams random tensors into safetensors files.
type randomWeights struct {
	seed     uint64
	dtype    safetensors.DType
	done     int64
	total    int64
	progress func(done, total int64)
	// free recycles chunk buffers: a pool that the GC empties would make
	// the kernel zero fresh pages for every chunk.
	free chan *[]byte
}

func (g *randomWeights) report() {
	if g.progress != nil {
		g.progress(g.done, g.total)
	}
}

// chunkJob is one chunk of one tensor; out receives its encoded bytes.
type chunkJob struct {
	spec  *weightSpec
	index int64 // chunk number within the tensor
	n     int   // values in the chunk
	out   chan *[]byte
}

// streamData generates the chunks of specs on all CPUs and writes them to
// w in order. At most a few chunks per worker are in memory at once.
func (g *randomWeights) streamData(w io.Writer, specs []weightSpec) error {
	workers := runtime.GOMAXPROCS(0)
	window := 2*workers + 4
	order := make(chan *chunkJob, window)
	work := make(chan *chunkJob, window)
	stop := make(chan struct{})
	var wg sync.WaitGroup

	wg.Go(func() {
		defer close(order)
		defer close(work)
		for i := range specs {
			s := &specs[i]
			for c := int64(0); c*chunkElems < s.elems; c++ {
				j := &chunkJob{spec: s, index: c, n: int(min(chunkElems, s.elems-c*chunkElems)), out: make(chan *[]byte, 1)}
				select {
				case order <- j:
				case <-stop:
					return
				}
				work <- j // cannot block for long: workers drain it
			}
		}
	})
	for range workers {
		wg.Go(func() {
			pcg := rand.NewPCG(0, 0)
			r := rand.New(pcg)
			for j := range work {
				j.out <- g.generate(pcg, r, j)
			}
		})
	}

	var err error
	for j := range order {
		buf := <-j.out
		if err == nil {
			if _, err = w.Write(*buf); err != nil {
				close(stop)
			} else {
				g.done += int64(len(*buf))
				g.report()
			}
		}
		g.putBuf(buf)
	}
	wg.Wait()
	return err
}

// getBuf returns a recycled chunk buffer or a new one.
func (g *randomWeights) getBuf() *[]byte {
	select {
	case b := <-g.free:
		return b
	default:
		b := make([]byte, g.dtype.Size()*chunkElems)
		return &b
	}
}

// putBuf recycles a chunk buffer.
func (g *randomWeights) putBuf(b *[]byte) {
	*b = (*b)[:cap(*b)]
	select {
	case g.free <- b:
	default:
	}
}

// chunkSeed derives the two PCG seeds of one chunk from the run's seed, the
// tensor's name and the chunk's number.
func chunkSeed(seed uint64, name string, chunk int64) (uint64, uint64) {
	h := fnv.New64a()
	h.Write([]byte(name))
	return splitmix64(seed ^ splitmix64(h.Sum64())), splitmix64(uint64(chunk) + 0x9e3779b97f4a7c15)
}

// splitmix64 is the SplitMix64 finaliser, a bijective bit mixer.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// generate fills a buffer with the encoded values of chunk j.
func (g *randomWeights) generate(pcg *rand.PCG, r *rand.Rand, j *chunkJob) *[]byte {
	pcg.Seed(chunkSeed(g.seed, j.spec.name, j.index))
	bp := g.getBuf()
	size := g.dtype.Size()
	buf := (*bp)[:j.n*size]
	*bp = buf

	// A normal init draws std·N(0,1); the norm init 0.5 + U(0,1).
	std, uniform := 1.0, false
	switch j.spec.init {
	case initMatrix:
		std = 1 / math.Sqrt(float64(j.spec.elems/int64(j.spec.shape[0])))
	case initBias:
		std = 0.1
	case initNorm:
		uniform = true
	}
	if g.dtype == safetensors.DTypeF32 {
		if uniform {
			for i := range j.n {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(float32(0.5+r.Float64())))
			}
		} else {
			for i := range j.n {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(float32(r.NormFloat64()*std)))
			}
		}
	} else {
		if uniform {
			for i := range j.n {
				binary.LittleEndian.PutUint16(buf[2*i:], half.BF16FromFloat32(float32(0.5+r.Float64())))
			}
		} else {
			for i := range j.n {
				binary.LittleEndian.PutUint16(buf[2*i:], half.BF16FromFloat32(float32(r.NormFloat64()*std)))
			}
		}
	}
	return bp
}

// marshalHF encodes v as Python's json.dumps(v, indent=2, sort_keys=True)
// plus a newline, the way transformers writes its JSON files (map keys are
// sorted by encoding/json).
func marshalHF(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// pyFloat is a float64 that encodes as Python's repr does (1e-06,
// 1000000.0, 0.0), so the JSON files read like those transformers writes.
type pyFloat float64

// MarshalJSON implements json.Marshaler.
func (f pyFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Errorf("float %v cannot be encoded as JSON", v)
	}
	e := strconv.AppendFloat(nil, v, 'e', -1, 64) // shortest digits, as repr
	if exp, _ := strconv.Atoi(string(e[slices.Index(e, 'e')+1:])); exp < -4 || exp >= 16 {
		return e, nil
	}
	b := strconv.AppendFloat(nil, v, 'f', -1, 64)
	if !slices.Contains(b, '.') {
		b = append(b, ".0"...)
	}
	return b, nil
}

// tokenIDsJSON is an id list as HF writes it: a bare integer for one id.
func tokenIDsJSON(ids []int) any {
	if len(ids) == 1 {
		return ids[0]
	}
	return ids
}

// configJSON is config.json for cfg: the fields of Config, plus the keys
// save_pretrained writes that Config does not model.
func configJSON(cfg *Config, torchDType string) ([]byte, error) {
	c := *cfg
	c.Vision.FullAttBlockIndexes = slices.Clone(c.Vision.FullAttBlockIndexes)
	if c.Vision.FullAttBlockIndexes == nil {
		c.Vision.FullAttBlockIndexes = []int{} // null would mean the default
	}
	raw, err := json.Marshal(&c)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	m["architectures"] = []string{"Qwen2_5_VLForConditionalGeneration"}
	m["model_type"] = "qwen2_5_vl"
	m["torch_dtype"] = torchDType
	m["attention_dropout"] = pyFloat(0)
	m["initializer_range"] = pyFloat(0.02)
	m["rms_norm_eps"] = pyFloat(c.RMSNormEps)
	m["rope_theta"] = pyFloat(c.RopeTheta)
	m["sliding_window"] = 32768
	m["use_cache"] = true
	m["eos_token_id"] = tokenIDsJSON(c.EOSTokenIDs)
	if c.EOSTokenIDs == nil {
		m["eos_token_id"] = nil
	}
	if c.BOSTokenID == NoTokenID {
		m["bos_token_id"] = nil
	}
	m["rope_scaling"] = map[string]any{
		"type":          c.RopeScaling.Type,
		"rope_type":     c.RopeScaling.Type,
		"mrope_section": c.RopeScaling.MRopeSection,
	}
	if vm, ok := m["vision_config"].(map[string]any); ok {
		// The published configs spell in_channels and patch_size the
		// original way too; ParseConfig accepts both.
		vm["model_type"] = "qwen2_5_vl"
		vm["in_chans"] = vm["in_channels"]
		delete(vm, "in_channels")
		vm["spatial_patch_size"] = vm["patch_size"]
	}
	return marshalHF(m)
}

// generationConfigJSON is generation_config.json for cfg.
func generationConfigJSON(cfg *Config) ([]byte, error) {
	m := map[string]any{}
	eos := slices.Clone(cfg.EOSTokenIDs)
	if cfg.BOSTokenID != NoTokenID {
		m["bos_token_id"] = cfg.BOSTokenID
		m["pad_token_id"] = cfg.BOSTokenID
		if cfg.BOSTokenID == qwenEndOfText && !slices.Contains(eos, qwenEndOfText) {
			eos = append(eos, qwenEndOfText)
		}
	}
	if len(eos) > 0 {
		m["eos_token_id"] = tokenIDsJSON(eos)
	}
	return marshalHF(m)
}

// preprocessorConfigJSON is preprocessor_config.json for cfg's vision
// tower: the published Qwen2.5-VL processor settings.
func preprocessorConfigJSON(cfg *Config) ([]byte, error) {
	p := DefaultPreprocessorConfig()
	return marshalHF(map[string]any{
		"min_pixels":           p.MinPixels,
		"max_pixels":           p.MaxPixels,
		"patch_size":           cfg.Vision.PatchSize,
		"temporal_patch_size":  cfg.Vision.TemporalPatchSize,
		"merge_size":           cfg.Vision.SpatialMergeSize,
		"image_mean":           p.ImageMean,
		"image_std":            p.ImageStd,
		"image_processor_type": "Qwen2VLImageProcessor",
		"processor_class":      "Qwen2_5_VLProcessor",
	})
}
