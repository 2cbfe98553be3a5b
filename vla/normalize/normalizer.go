package normalize

import (
	"fmt"
	"math"
	"strings"
)

// Mode selects how a feature is scaled.
type Mode int

const (
	// Quantile maps [q01, q99] to [−1, 1]:
	// x' = (x − q01)/(q99 − q01 + ε)·2 − 1, clipped to [−1, 1]; the inverse
	// is x = 0.5·(x' + 1)·(q99 − q01) + q01, with no ε (VST, OpenVLA).
	Quantile Mode = iota
	// MeanStd is the z-score x' = (x − mean)/(std + ε), not clipped; the
	// inverse is x = x'·(std + ε) + mean (openpi's π0 convention).
	MeanStd
	// MinMax maps [min, max] to [−1, 1] like Quantile, with min and max in
	// place of q01 and q99.
	MinMax
	// Identity leaves values unchanged.
	Identity
)

// String returns the mode's name as ParseMode reads it.
func (m Mode) String() string {
	switch m {
	case Quantile:
		return "quantile"
	case MeanStd:
		return "mean_std"
	case MinMax:
		return "min_max"
	case Identity:
		return "identity"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode reads a mode name: "quantile" (also "q99", "bounds_q99",
// "quantiles"), "mean_std", "min_max" (also "bounds") or "identity";
// case-insensitive.
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "quantile", "quantiles", "q99", "bounds_q99":
		return Quantile, nil
	case "mean_std", "meanstd", "zscore":
		return MeanStd, nil
	case "min_max", "minmax", "bounds":
		return MinMax, nil
	case "identity", "none":
		return Identity, nil
	}
	return 0, fmt.Errorf("unknown normalization mode %q (want quantile, mean_std, min_max or identity)", s)
}

// MaskMode selects how dimensions whose mask is false are treated.
type MaskMode int

const (
	// MaskBoth passes masked-off dimensions through unchanged in both
	// directions (OpenVLA's data pipeline, LeRobot): what goes in raw
	// comes out raw.
	MaskBoth MaskMode = iota
	// MaskDecodeOnly is VST's behaviour: Normalize scales every dimension,
	// masked-off ones included (VST's preprocess_libero.py ignores the
	// mask), while Unnormalize leaves masked-off dimensions in normalized
	// space (VST's modeling_vst_vla.py). For LIBERO's gripper (stats min 0,
	// max 1, q01 0, q99 1) a raw −1 becomes −3 → clipped −1, a raw +1
	// becomes ≈0.999998, and the decoded ±0.996 is then binarized by the
	// caller (sign(2v − 1)).
	MaskDecodeOnly
)

// DefaultMinRange is the smallest q99 − q01, max − min or std a dimension
// may have before it is treated as degenerate.
const DefaultMinRange = 1e-4

// Config configures a Normalizer.
type Config struct {
	// Mode is the scaling. It defaults to Quantile.
	Mode Mode
	// Epsilon is added to the denominator when normalizing. It defaults
	// to 1e-6 (VST, openpi) when zero; a negative value means none.
	// OpenVLA uses 1e-8.
	Epsilon float64
	// NoClip turns off clipping of Quantile and MinMax outputs to
	// [−1, 1]. It defaults to false (clipped, as OpenVLA does and as VST's
	// tokenizer does before binning).
	NoClip bool
	// Mask selects how dimensions with a false mask are treated. It
	// defaults to MaskBoth.
	Mask MaskMode
	// MinRange guards against dimensions that barely move: when the
	// mode's range (q99 − q01, max − min, or std) is below it, the
	// dimension passes through unchanged both ways instead of being blown
	// up (openpi's known divergence). Degenerate lists such dimensions. It
	// defaults to DefaultMinRange (1e-4) when zero; a negative value turns
	// the guard off (VST applies its formula to every dimension).
	MinRange float64
}

// Normalizer scales one feature's vectors to and from normalized space. It
// is immutable and safe for concurrent use.
type Normalizer struct {
	mode       Mode
	clip       bool
	eps        float64
	lo, hi     []float64 // Quantile/MinMax: range; MeanStd: mean, std
	encodePass []bool
	decodePass []bool
	degenerate []int
}

// New returns a normalizer for stats under cfg. The stats must have the
// fields the mode needs.
func New(s *Stats, cfg Config) (*Normalizer, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var lo, hi []float64
	switch cfg.Mode {
	case Quantile:
		lo, hi = s.Q01, s.Q99
	case MinMax:
		lo, hi = s.Min, s.Max
	case MeanStd:
		lo, hi = s.Mean, s.Std
	case Identity:
	default:
		return nil, fmt.Errorf("unknown normalization mode %v", cfg.Mode)
	}
	if cfg.Mode != Identity && (lo == nil || hi == nil) {
		return nil, fmt.Errorf("%v normalization needs stats %s", cfg.Mode, map[Mode]string{
			Quantile: "q01 and q99", MinMax: "min and max", MeanStd: "mean and std"}[cfg.Mode])
	}
	if cfg.Mask != MaskBoth && cfg.Mask != MaskDecodeOnly {
		return nil, fmt.Errorf("unknown mask mode %d", cfg.Mask)
	}
	d := s.Dim()
	n := &Normalizer{
		mode: cfg.Mode, clip: !cfg.NoClip, eps: cfg.Epsilon, lo: lo, hi: hi,
		encodePass: make([]bool, d), decodePass: make([]bool, d),
	}
	switch {
	case n.eps == 0:
		n.eps = 1e-6
	case n.eps < 0:
		n.eps = 0
	}
	minRange := cfg.MinRange
	if minRange == 0 {
		minRange = DefaultMinRange
	}
	for i := range d {
		if cfg.Mode == Identity {
			n.encodePass[i], n.decodePass[i] = true, true
			continue
		}
		if !s.Masked(i) {
			n.decodePass[i] = true
			n.encodePass[i] = cfg.Mask == MaskBoth
		}
		rng := hi[i] - lo[i]
		if cfg.Mode == MeanStd {
			rng = hi[i]
		}
		if minRange > 0 && rng < minRange {
			n.degenerate = append(n.degenerate, i)
			n.encodePass[i], n.decodePass[i] = true, true
		}
	}
	return n, nil
}

// Dim returns the feature dimension D.
func (n *Normalizer) Dim() int { return len(n.encodePass) }

// Mode returns the scaling mode.
func (n *Normalizer) Mode() Mode { return n.mode }

// Degenerate returns the dimensions whose range is under Config.MinRange;
// they pass through unchanged. Callers should report them.
func (n *Normalizer) Degenerate() []int { return append([]int(nil), n.degenerate...) }

// check validates that x holds whole D-vectors.
func (n *Normalizer) check(x []float32) error {
	if len(x) == 0 || len(x)%n.Dim() != 0 {
		return fmt.Errorf("normalize: %d values are not a whole number of %d-D vectors", len(x), n.Dim())
	}
	return nil
}

// Normalize returns x in normalized space. x may hold several D-vectors
// back to back (e.g. an H×D action chunk). NaN passes through as NaN.
func (n *Normalizer) Normalize(x []float32) ([]float32, error) {
	if err := n.check(x); err != nil {
		return nil, err
	}
	out := make([]float32, len(x))
	d := n.Dim()
	for k, v := range x {
		i := k % d
		if n.encodePass[i] {
			out[k] = v
			continue
		}
		var y float64
		if n.mode == MeanStd {
			y = (float64(v) - n.lo[i]) / (n.hi[i] + n.eps)
		} else {
			y = (float64(v)-n.lo[i])/(n.hi[i]-n.lo[i]+n.eps)*2 - 1
			if n.clip {
				y = math.Max(-1, math.Min(1, y))
			}
		}
		out[k] = float32(y)
	}
	return out, nil
}

// Unnormalize maps normalized values back to the feature's units; x may
// hold several D-vectors. Masked-off and degenerate dimensions pass through.
func (n *Normalizer) Unnormalize(x []float32) ([]float32, error) {
	if err := n.check(x); err != nil {
		return nil, err
	}
	out := make([]float32, len(x))
	d := n.Dim()
	for k, v := range x {
		i := k % d
		if n.decodePass[i] {
			out[k] = v
			continue
		}
		if n.mode == MeanStd {
			out[k] = float32(float64(v)*(n.hi[i]+n.eps) + n.lo[i])
		} else {
			out[k] = float32(0.5*(float64(v)+1)*(n.hi[i]-n.lo[i]) + n.lo[i])
		}
	}
	return out, nil
}
