package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// File names inside a model directory.
const (
	TokenizerFile = "tokenizer.json"
	ConfigFile    = "tokenizer_config.json"
)

// maxID bounds token ids so that a corrupt file cannot make the id-indexed
// tables huge.
const maxID = 1 << 24

// Tokenizer is a byte-level BPE tokenizer loaded from a Hugging Face
// tokenizer.json (Qwen2 family). Encode, Decode and the other read methods
// are safe for concurrent use; AddTokens must not run concurrently with any
// other method.
type Tokenizer struct {
	model     *bpe           // shared by clones: it never changes after loading
	vocab     map[string]int // byte-level token string → id (the BPE model's vocabulary)
	modelSize int            // number of entries in vocab
	nfc       bool           // the NFC normalizer is on

	added     []addedToken   // added tokens in file order, then AddTokens order
	addedByID map[int]int    // id → index into added
	addedByS  map[string]int // content → index into added
	rawMatch  *matcher       // added tokens with normalized == false
	normMatch *matcher       // added tokens with normalized == true

	idBytes [][]byte // id → decoded bytes (nil when the id is unused)
	special []bool   // id → the id is a special added token

	raw map[string]json.RawMessage // tokenizer.json's top-level fields, kept for Save

	config       map[string]json.RawMessage // tokenizer_config.json, nil when absent
	chatTemplate string
	eos, pad     string
}

// tokenizerFile is the part of tokenizer.json this package interprets.
type tokenizerFile struct {
	AddedTokens  []addedToken    `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	Decoder      json.RawMessage `json:"decoder"`
	Model        struct {
		Type                    string          `json:"type"`
		Vocab                   map[string]int  `json:"vocab"`
		Merges                  json.RawMessage `json:"merges"`
		ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	} `json:"model"`
}

// Load reads dir/tokenizer.json and, when present, dir/tokenizer_config.json
// (chat template, eos and pad tokens, added_tokens_decoder).
func Load(dir string) (*Tokenizer, error) {
	data, err := os.ReadFile(filepath.Join(dir, TokenizerFile))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := FromJSON(data)
	if err != nil {
		return nil, err
	}
	cfg, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return t, nil
	case err != nil:
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if err := t.setConfig(cfg); err != nil {
		return nil, err
	}
	return t, nil
}

// FromJSON builds a tokenizer from the contents of a tokenizer.json. Only
// the Qwen2 pipeline is accepted: an NFC (or no) normalizer, Qwen2's split
// regex followed by a byte-level pre-tokenizer, and a BPE model without
// subword prefixes or suffixes.
func FromJSON(data []byte) (*Tokenizer, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("tokenizer: parse tokenizer.json: %w", err)
	}
	var f tokenizerFile
	for name, dst := range map[string]any{"added_tokens": &f.AddedTokens, "model": &f.Model} {
		if v, ok := raw[name]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return nil, fmt.Errorf("tokenizer: parse tokenizer.json %s: %w", name, err)
			}
		}
	}
	f.Normalizer, f.PreTokenizer, f.Decoder = raw["normalizer"], raw["pre_tokenizer"], raw["decoder"]
	t := &Tokenizer{raw: raw, model: new(bpe)}
	var err error
	if t.nfc, err = checkNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	if err := checkPreTokenizer(f.PreTokenizer); err != nil {
		return nil, err
	}
	if err := checkDecoder(f.Decoder); err != nil {
		return nil, err
	}
	m := &f.Model
	if m.Type != "BPE" && m.Type != "" {
		return nil, fmt.Errorf("tokenizer: unsupported model type %q", m.Type)
	}
	if m.Vocab == nil {
		return nil, errors.New("tokenizer: model has no vocab")
	}
	if (m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "") ||
		(m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "") {
		return nil, errors.New("tokenizer: subword prefixes and suffixes are not supported")
	}
	if err := t.buildModel(m.Vocab, m.Merges); err != nil {
		return nil, err
	}
	if err := t.setAdded(f.AddedTokens); err != nil {
		return nil, err
	}
	return t, nil
}

func checkNormalizer(raw json.RawMessage) (nfc bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	var n struct {
		Type        string            `json:"type"`
		Normalizers []json.RawMessage `json:"normalizers"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return false, fmt.Errorf("tokenizer: parse normalizer: %w", err)
	}
	switch n.Type {
	case "NFC":
		return true, nil
	case "Sequence":
		for _, sub := range n.Normalizers {
			on, err := checkNormalizer(sub)
			if err != nil {
				return false, err
			}
			nfc = nfc || on
		}
		return nfc, nil
	}
	return false, fmt.Errorf("tokenizer: unsupported normalizer %q", n.Type)
}

type preTokenizerJSON struct {
	Type           string             `json:"type"`
	PreTokenizers  []preTokenizerJSON `json:"pretokenizers"`
	Pattern        map[string]string  `json:"pattern"`
	Behavior       string             `json:"behavior"`
	Invert         bool               `json:"invert"`
	AddPrefixSpace bool               `json:"add_prefix_space"`
	UseRegex       *bool              `json:"use_regex"`
}

func checkPreTokenizer(raw json.RawMessage) error {
	var p preTokenizerJSON
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("tokenizer: parse pre_tokenizer: %w", err)
	}
	errUnsupported := fmt.Errorf("tokenizer: unsupported pre_tokenizer (want Qwen2's split regex then ByteLevel): %s", truncate(raw, 200))
	if p.Type != "Sequence" || len(p.PreTokenizers) != 2 {
		return errUnsupported
	}
	split, bl := p.PreTokenizers[0], p.PreTokenizers[1]
	if split.Type != "Split" || split.Pattern["Regex"] != qwenSplitPattern || split.Behavior != "Isolated" || split.Invert {
		return errUnsupported
	}
	if bl.Type != "ByteLevel" || bl.AddPrefixSpace || (bl.UseRegex != nil && *bl.UseRegex) {
		return errUnsupported
	}
	return nil
}

func checkDecoder(raw json.RawMessage) error {
	var d struct {
		Type string `json:"type"`
	}
	if len(raw) == 0 || string(raw) == "null" {
		return errors.New("tokenizer: no decoder (want ByteLevel)")
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("tokenizer: parse decoder: %w", err)
	}
	if d.Type != "ByteLevel" {
		return fmt.Errorf("tokenizer: unsupported decoder %q (want ByteLevel)", d.Type)
	}
	return nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// parseMerges accepts both merge formats: "a b" strings and [a, b] pairs.
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var strs []string
	if err := json.Unmarshal(raw, &strs); err == nil {
		out := make([][2]string, len(strs))
		for i, s := range strs {
			a, b, ok := strings.Cut(s, " ")
			if !ok || strings.Contains(b, " ") {
				return nil, fmt.Errorf("tokenizer: merge %d: %q is not two space-separated tokens", i, s)
			}
			out[i] = [2]string{a, b}
		}
		return out, nil
	}
	var pairs [][]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, fmt.Errorf("tokenizer: parse merges: %w", err)
	}
	out := make([][2]string, len(pairs))
	for i, p := range pairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("tokenizer: merge %d has %d parts, want 2", i, len(p))
		}
		out[i] = [2]string{p[0], p[1]}
	}
	return out, nil
}

func (t *Tokenizer) buildModel(vocab map[string]int, rawMerges json.RawMessage) error {
	merges, err := parseMerges(rawMerges)
	if err != nil {
		return err
	}
	limit := min(maxID, 16*len(vocab)+4096)
	size := 0
	for tok, id := range vocab {
		if id < 0 || id >= limit {
			return fmt.Errorf("tokenizer: token %q has id %d out of range", tok, id)
		}
		size = max(size, id+1)
	}
	t.vocab = vocab
	t.modelSize = len(vocab)
	t.idBytes = make([][]byte, size)
	for tok, id := range vocab {
		if t.idBytes[id] != nil {
			return fmt.Errorf("tokenizer: id %d is used by more than one token", id)
		}
		t.idBytes[id] = byteLevelDecode(tok)
	}
	for b := range 256 {
		t.model.byteID[b] = -1
		if id, ok := vocab[string(byteToRune[b])]; ok {
			t.model.byteID[b] = int32(id)
		}
	}
	t.model.merges = make(map[uint64]uint64, len(merges))
	for rank, mg := range merges {
		a, okA := vocab[mg[0]]
		b, okB := vocab[mg[1]]
		if !okA || !okB {
			return fmt.Errorf("tokenizer: merge %d (%q %q) uses a token missing from the vocab", rank, mg[0], mg[1])
		}
		c, ok := vocab[mg[0]+mg[1]]
		if !ok {
			return fmt.Errorf("tokenizer: merge %d (%q %q) makes a token missing from the vocab", rank, mg[0], mg[1])
		}
		t.model.merges[pairKey(int32(a), int32(b))] = uint64(rank)<<32 | uint64(uint32(c))
	}
	return nil
}

// setAdded installs the added tokens of tokenizer.json. Like HF, it adds
// them in file order with add-token semantics, so the ids come from the
// vocabulary or count up from its end: the ids written in the file are not
// trusted (HF only warns when they differ).
func (t *Tokenizer) setAdded(tokens []addedToken) error {
	t.added = nil
	t.addedByID = make(map[int]int)
	t.addedByS = make(map[string]int)
	for i, at := range tokens {
		if at.Content == "" {
			return fmt.Errorf("tokenizer: added token %d has empty content", i)
		}
		t.addToken(at)
	}
	t.rebuildMatchers()
	return nil
}

// addToken adds one token (its ID field is ignored) and returns its id. A
// normalized token's content is stored normalized, as HF does. A token
// whose content is already added keeps its id and entry; one that is in the
// BPE vocabulary takes its vocabulary id; a new one gets the next free id:
// one past the largest added id, or the vocabulary size when no added id
// reaches it. The matchers must be rebuilt afterwards.
func (t *Tokenizer) addToken(at addedToken) int {
	if at.Normalized && t.nfc {
		at.Content = normalizeNFC(at.Content)
	}
	if j, ok := t.addedByS[at.Content]; ok {
		return t.added[j].ID
	}
	id, ok := t.vocab[at.Content]
	if !ok {
		id = t.modelSize
		for _, a := range t.added {
			id = max(id, a.ID+1)
		}
	}
	at.ID = id
	if j, ok := t.addedByID[id]; ok {
		// The vocabulary entry was already added under another content
		// (possible only through normalization): keep the first.
		return t.added[j].ID
	}
	t.addedByS[at.Content] = len(t.added)
	t.addedByID[id] = len(t.added)
	t.added = append(t.added, at)
	for id >= len(t.idBytes) {
		t.idBytes = append(t.idBytes, nil)
	}
	for len(t.special) < len(t.idBytes) {
		t.special = append(t.special, false)
	}
	t.idBytes[id] = byteLevelDecode(at.Content)
	t.special[id] = at.Special
	return id
}

func (t *Tokenizer) rebuildMatchers() {
	t.rawMatch, t.normMatch = newMatcher(), newMatcher()
	for i, at := range t.added {
		if at.Normalized && t.nfc {
			t.normMatch.insert(normalizeNFC(at.Content), i)
		} else {
			t.rawMatch.insert(at.Content, i)
		}
	}
}

// setConfig reads tokenizer_config.json.
func (t *Tokenizer) setConfig(data []byte) error {
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(data, &cfg); err != nil {
		return fmt.Errorf("tokenizer: parse %s: %w", ConfigFile, err)
	}
	t.config = cfg
	var tmpl string
	if json.Unmarshal(cfg["chat_template"], &tmpl) == nil {
		t.chatTemplate = tmpl
	}
	t.eos = tokenName(cfg["eos_token"])
	t.pad = tokenName(cfg["pad_token"])
	return nil
}

// tokenName reads a config token given either as a string or as an object
// with a content field.
func tokenName(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct {
		Content string `json:"content"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return obj.Content
	}
	return ""
}

// clone returns a copy that AddTokens can change without affecting t. The
// BPE model, vocabulary and raw file are shared: nothing changes them.
func (t *Tokenizer) clone() *Tokenizer {
	c := *t
	c.added = slices.Clone(t.added)
	c.addedByID = maps.Clone(t.addedByID)
	c.addedByS = maps.Clone(t.addedByS)
	c.idBytes = slices.Clone(t.idBytes)
	c.special = slices.Clone(t.special)
	c.rebuildMatchers()
	return &c
}

// TokenID returns the id of a token: an added token's content, or a
// vocabulary entry written in the byte-level alphabet (e.g. "Ġthe").
func (t *Tokenizer) TokenID(s string) (int, bool) {
	if i, ok := t.addedByS[s]; ok {
		return t.added[i].ID, true
	}
	id, ok := t.vocab[s]
	return id, ok
}

// VocabSize returns one more than the largest id in use, counting added
// tokens: 151665 for Qwen2.5's tokenizer (HF's len(tokenizer)). The model's
// embedding table may be larger.
func (t *Tokenizer) VocabSize() int { return len(t.idBytes) }

// IsSpecial reports whether id is a special added token (one Decode drops
// when asked to skip special tokens).
func (t *Tokenizer) IsSpecial(id int) bool {
	return id >= 0 && id < len(t.special) && t.special[id]
}

// EOS returns the id of tokenizer_config.json's eos_token.
func (t *Tokenizer) EOS() (int, bool) { return t.configToken(t.eos) }

// Pad returns the id of tokenizer_config.json's pad_token.
func (t *Tokenizer) Pad() (int, bool) { return t.configToken(t.pad) }

func (t *Tokenizer) configToken(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	return t.TokenID(s)
}

// ChatTemplate returns the Jinja chat template of tokenizer_config.json, or
// "" when there is none. This package does not run it: RenderChat implements
// Qwen2.5-VL's template in Go.
func (t *Tokenizer) ChatTemplate() string { return t.chatTemplate }

// AddTokens adds tokens to the vocabulary the way Hugging Face's add_tokens
// does and returns their ids, in order. A token that already is an added
// token keeps its id; one that is in the BPE vocabulary keeps its vocabulary
// id but is now matched whole; a new one gets the next free id (151665 and
// on for Qwen2.5's tokenizer). Non-special tokens are normalized (HF's
// default): their content is stored in NFC and matched in the normalized
// text; special ones are matched in the raw text and dropped by Decode when
// it skips special tokens. An empty string is skipped and reported as -1.
func (t *Tokenizer) AddTokens(tokens []string, special bool) []int {
	ids := make([]int, len(tokens))
	for i, s := range tokens {
		if s == "" {
			ids[i] = -1
			continue
		}
		ids[i] = t.addToken(addedToken{Content: s, Normalized: !special, Special: special})
	}
	t.rebuildMatchers()
	return ids
}

// Save writes dir/tokenizer.json with the current added tokens (so a
// fine-tuned model directory carries its tokenizer) and, when the tokenizer
// was loaded with one, dir/tokenizer_config.json with its
// added_tokens_decoder brought up to date. Other fields are written back as
// they were read.
func (t *Tokenizer) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("tokenizer: save: %w", err)
	}
	sorted := slices.Clone(t.added)
	slices.SortFunc(sorted, func(a, b addedToken) int { return a.ID - b.ID })
	addedJSON, err := json.MarshalIndent(sorted, "  ", "  ")
	if err != nil {
		return fmt.Errorf("tokenizer: save: %w", err)
	}
	fields := make(map[string]json.RawMessage, len(t.raw)+1)
	for k, v := range t.raw {
		fields[k] = v
	}
	fields["added_tokens"] = addedJSON
	if err := writeJSONObject(filepath.Join(dir, TokenizerFile), fields,
		[]string{"version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder", "model"}); err != nil {
		return err
	}
	if t.config == nil {
		return nil
	}
	cfg := make(map[string]json.RawMessage, len(t.config)+1)
	for k, v := range t.config {
		cfg[k] = v
	}
	// HF's tokenizer_config.json entries are keyed by id and carry no id
	// field of their own.
	type configEntry struct {
		Content    string `json:"content"`
		LStrip     bool   `json:"lstrip"`
		Normalized bool   `json:"normalized"`
		RStrip     bool   `json:"rstrip"`
		SingleWord bool   `json:"single_word"`
		Special    bool   `json:"special"`
	}
	decoder := make(map[string]configEntry, len(t.added))
	for _, at := range t.added {
		decoder[strconv.Itoa(at.ID)] = configEntry{at.Content, at.LStrip, at.Normalized, at.RStrip, at.SingleWord, at.Special}
	}
	if cfg["added_tokens_decoder"], err = json.MarshalIndent(decoder, "  ", "  "); err != nil {
		return fmt.Errorf("tokenizer: save: %w", err)
	}
	return writeJSONObject(filepath.Join(dir, ConfigFile), cfg, []string{"add_bos_token", "add_prefix_space", "added_tokens_decoder"})
}

// writeJSONObject writes fields as one JSON object: the keys in order first,
// then the rest sorted. Values are written verbatim.
func writeJSONObject(path string, fields map[string]json.RawMessage, order []string) error {
	keys := make([]string, 0, len(fields))
	for _, k := range order {
		if _, ok := fields[k]; ok {
			keys = append(keys, k)
		}
	}
	var rest []string
	for k := range fields {
		if !slices.Contains(order, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	keys = append(keys, rest...)
	var buf bytes.Buffer
	buf.WriteString("{\n")
	for i, k := range keys {
		name, _ := json.Marshal(k)
		buf.WriteString("  ")
		buf.Write(name)
		buf.WriteString(": ")
		buf.Write(fields[k])
		if i < len(keys)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("}\n")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("tokenizer: save: %w", err)
	}
	return nil
}
