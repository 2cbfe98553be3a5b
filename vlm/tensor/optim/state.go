package optim

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// FormatVersion is the version of the state format Save writes and Load
// reads.
//
// The format (version 1) is a safetensors file, so that standard tools can
// read it:
//
//	8 bytes        N, the header length, little-endian uint64
//	N bytes        JSON header, padded with spaces to a multiple of 8 bytes
//	rest           tensor data, raw little-endian float32, back to back
//
// The header maps each tensor name to {"dtype": "F32", "shape": [...],
// "data_offsets": [begin, end]} (byte offsets into the data section), and
// "__metadata__" to string values:
//
//	format           "vst-optim"
//	version          "1"
//	optimizer        "adamw" or "sgd"
//	step             number of Step calls, decimal
//	params           JSON list of {"name", "shape", "group", "step"} for
//	                 every parameter in order; step is the number of updates
//	                 the parameter received
//	hyperparameters  JSON object of the configuration and groups, for
//	                 reference (Load does not apply it: the loading
//	                 optimizer's own configuration and schedule are used)
//
// Tensor names are "<param>.<state>", with state "exp_avg" and "exp_avg_sq"
// for AdamW and "momentum_buffer" for SGD with momentum. A parameter has
// state tensors exactly when its step is positive.
const FormatVersion = 1

const formatName = "vst-optim"

// maxHeader bounds the header size Load accepts.
const maxHeader = 1 << 28

type paramRecord struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	Group string `json:"group"`
	Step  int    `json:"step"`
}

type tensorRecord struct {
	DType       string `json:"dtype"`
	Shape       []int  `json:"shape"`
	DataOffsets [2]int `json:"data_offsets"`
}

type groupRecord struct {
	Name        string  `json:"name"`
	LRScale     float64 `json:"lr_scale"`
	WeightDecay float64 `json:"weight_decay"`
}

// hyperparameters records a configuration for the header.
func (o *base) hyperparameters(cfg map[string]any) string {
	gs := make([]groupRecord, len(o.groups))
	for i, g := range o.groups {
		gs[i] = groupRecord{g.name, g.lrScale, g.weightDecay}
	}
	cfg["groups"] = gs
	cfg["schedule"] = fmt.Sprintf("%T%+v", o.sched, o.sched)
	b, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Sprintf("%q", err.Error())
	}
	return string(b)
}

// Save writes the optimizer state: the step count, the hyperparameters and
// every parameter's state tensors, in the format described at FormatVersion.
func (o *AdamW) Save(w io.Writer) error {
	return o.save(w, o.hyperparameters(map[string]any{
		"lr": o.cfg.LR, "beta1": o.cfg.Beta1, "beta2": o.cfg.Beta2,
		"eps": o.cfg.Eps, "weight_decay": o.cfg.WeightDecay,
	}))
}

// Save writes the optimizer state: the step count, the hyperparameters and
// the momentum buffers, in the format described at FormatVersion.
func (o *SGD) Save(w io.Writer) error {
	return o.save(w, o.hyperparameters(map[string]any{
		"lr": o.cfg.LR, "momentum": o.cfg.Momentum, "dampening": o.cfg.Dampening,
		"weight_decay": o.cfg.WeightDecay, "nesterov": o.cfg.Nesterov,
	}))
}

func (o *base) save(w io.Writer, hyper string) error {
	params := make([]paramRecord, len(o.slots))
	header := map[string]any{}
	off := 0
	for i, s := range o.slots {
		params[i] = paramRecord{s.Name, s.shape, o.groups[s.group].name, s.step}
		for j, b := range s.buf {
			header[s.Name+"."+o.bufName[j]] = tensorRecord{"F32", s.shape, [2]int{off, off + 4*len(b)}}
			off += 4 * len(b)
		}
	}
	pj, err := json.Marshal(params)
	if err != nil {
		return err
	}
	header["__metadata__"] = map[string]string{
		"format":          formatName,
		"version":         strconv.Itoa(FormatVersion),
		"optimizer":       o.kind,
		"step":            strconv.Itoa(o.steps),
		"params":          string(pj),
		"hyperparameters": hyper,
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return err
	}
	if pad := len(hj) % 8; pad != 0 {
		hj = append(hj, strings.Repeat(" ", 8-pad)...)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(hj)))
	bw.Write(n[:])
	bw.Write(hj)
	var chunk [4096]byte
	for _, s := range o.slots {
		for _, b := range s.buf {
			for len(b) > 0 {
				k := min(len(b), len(chunk)/4)
				for i, v := range b[:k] {
					binary.LittleEndian.PutUint32(chunk[4*i:], math.Float32bits(v))
				}
				if _, err := bw.Write(chunk[:4*k]); err != nil {
					return fmt.Errorf("optim: save: %w", err)
				}
				b = b[k:]
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("optim: save: %w", err)
	}
	return nil
}

// Load restores state written by Save of an optimizer of the same kind over
// parameters with the same names and shapes. It checks everything before
// changing anything: on error the optimizer is as it was. The loading
// optimizer's configuration and schedule apply from then on; the
// hyperparameters in the file are not used.
func (o *base) Load(r io.Reader) error {
	if err := o.load(r); err != nil {
		return fmt.Errorf("optim: load %s state: %w", o.kind, err)
	}
	return nil
}

func (o *base) load(r io.Reader) error {
	br := bufio.NewReaderSize(r, 1<<16)
	var nb [8]byte
	if _, err := io.ReadFull(br, nb[:]); err != nil {
		return fmt.Errorf("reading header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(nb[:])
	if n > maxHeader {
		return fmt.Errorf("header length %d is implausible: not a state file", n)
	}
	hj := make([]byte, n)
	if _, err := io.ReadFull(br, hj); err != nil {
		return fmt.Errorf("reading header: %w", err)
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(hj, &header); err != nil {
		return fmt.Errorf("bad header: %w", err)
	}
	var meta map[string]string
	if err := json.Unmarshal(header["__metadata__"], &meta); err != nil || meta == nil {
		return errors.New("header has no __metadata__: not an optimizer state file")
	}
	delete(header, "__metadata__")
	if meta["format"] != formatName {
		return fmt.Errorf("format is %q, not %q", meta["format"], formatName)
	}
	if v := meta["version"]; v != strconv.Itoa(FormatVersion) {
		return fmt.Errorf("format version %q is not supported (want %d)", v, FormatVersion)
	}
	if meta["optimizer"] != o.kind {
		return fmt.Errorf("file holds %q state", meta["optimizer"])
	}
	steps, err := strconv.Atoi(meta["step"])
	if err != nil || steps < 0 {
		return fmt.Errorf("bad step %q", meta["step"])
	}
	var params []paramRecord
	if err := json.Unmarshal([]byte(meta["params"]), &params); err != nil {
		return fmt.Errorf("bad params list: %w", err)
	}

	// The parameter sets must be identical.
	inFile := map[string]paramRecord{}
	for _, p := range params {
		if _, dup := inFile[p.Name]; dup {
			return fmt.Errorf("parameter %q listed twice", p.Name)
		}
		inFile[p.Name] = p
	}
	var missing, unexpected []string
	for _, s := range o.slots {
		if _, ok := inFile[s.Name]; !ok {
			missing = append(missing, s.Name)
		}
	}
	for _, p := range params {
		if _, ok := o.byName[p.Name]; !ok {
			unexpected = append(unexpected, p.Name)
		}
	}
	if len(missing)+len(unexpected) > 0 {
		return fmt.Errorf("parameters do not match: missing from file %q, not in optimizer %q", missing, unexpected)
	}
	for _, s := range o.slots {
		p := inFile[s.Name]
		if !slices.Equal(p.Shape, s.shape) {
			return fmt.Errorf("parameter %q has shape %v in file, %v in optimizer", s.Name, p.Shape, s.shape)
		}
		if p.Step < 0 || p.Step > steps {
			return fmt.Errorf("parameter %q has step %d (optimizer step %d)", s.Name, p.Step, steps)
		}
	}

	// Every tensor must be a known state of a known parameter, and each
	// parameter with updates must have all its states.
	type entry struct {
		s   *slot
		buf int
		rec tensorRecord
	}
	var entries []entry
	have := map[string]bool{}
	for key, raw := range header {
		var rec tensorRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			return fmt.Errorf("tensor %q: %w", key, err)
		}
		e := entry{buf: -1, rec: rec}
		for j, b := range o.bufName {
			if name, ok := strings.CutSuffix(key, "."+b); ok {
				if s := o.byName[name]; s != nil {
					e.s, e.buf = s, j
				}
			}
		}
		if e.s == nil {
			return fmt.Errorf("unexpected tensor %q", key)
		}
		if rec.DType != "F32" || !slices.Equal(rec.Shape, e.s.shape) {
			return fmt.Errorf("tensor %q is %s %v, want F32 %v", key, rec.DType, rec.Shape, e.s.shape)
		}
		if rec.DataOffsets[1]-rec.DataOffsets[0] != 4*e.s.n {
			return fmt.Errorf("tensor %q has data offsets %v for %d elements", key, rec.DataOffsets, e.s.n)
		}
		have[key] = true
		entries = append(entries, e)
	}
	for _, s := range o.slots {
		for _, b := range o.bufName {
			key := s.Name + "." + b
			if want := inFile[s.Name].Step > 0; want != have[key] {
				if want {
					return fmt.Errorf("parameter %q has step %d but no %s", s.Name, inFile[s.Name].Step, b)
				}
				return fmt.Errorf("parameter %q has step 0 but has %s", s.Name, b)
			}
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].rec.DataOffsets[0] < entries[j].rec.DataOffsets[0] })
	bufs := map[*slot][][]float32{}
	pos := 0
	var chunk [4096]byte
	for _, e := range entries {
		if e.rec.DataOffsets[0] != pos {
			return fmt.Errorf("tensor %s.%s starts at byte %d, want %d", e.s.Name, o.bufName[e.buf], e.rec.DataOffsets[0], pos)
		}
		dst := make([]float32, e.s.n)
		for rest := dst; len(rest) > 0; {
			k := min(len(rest), len(chunk)/4)
			if _, err := io.ReadFull(br, chunk[:4*k]); err != nil {
				return fmt.Errorf("reading %s.%s: %w", e.s.Name, o.bufName[e.buf], err)
			}
			for i := range rest[:k] {
				rest[i] = math.Float32frombits(binary.LittleEndian.Uint32(chunk[4*i:]))
			}
			rest = rest[k:]
		}
		if bufs[e.s] == nil {
			bufs[e.s] = make([][]float32, o.nbuf)
		}
		bufs[e.s][e.buf] = dst
		pos = e.rec.DataOffsets[1]
	}

	// Commit.
	o.steps = steps
	for _, s := range o.slots {
		s.step = inFile[s.Name].Step
		s.buf = bufs[s]
		s.k.first = false
	}
	return nil
}
