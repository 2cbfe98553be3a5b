package embodiment

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Format is a spec file's encoding.
type Format string

// The formats Parse reads.
const (
	// YAML is YAML 1.2 as gopkg.in/yaml.v3 reads it.
	YAML Format = "yaml"
	// JSON is plain JSON.
	JSON Format = "json"
)

// maxSpecBytes bounds what Parse accepts; a spec is a few kilobytes.
const maxSpecBytes = 1 << 20

// Parse decodes and validates a spec. Unknown fields are errors.
func Parse(data []byte, format Format) (*Spec, error) {
	if len(data) > maxSpecBytes {
		return nil, fmt.Errorf("embodiment: spec is %d bytes, at most %d allowed", len(data), maxSpecBytes)
	}
	var s Spec
	switch format {
	case YAML:
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&s); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("embodiment: empty spec")
			}
			return nil, fmt.Errorf("embodiment: decode yaml: %w", err)
		}
	case JSON:
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("embodiment: decode json: %w", err)
		}
		if dec.More() {
			return nil, errors.New("embodiment: decode json: trailing data after the spec")
		}
	default:
		return nil, fmt.Errorf("embodiment: unknown format %q (want yaml or json)", format)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("embodiment %q: %w", s.Name, err)
	}
	return &s, nil
}

// Load reads and validates a spec file; the extension picks the format
// (.yaml, .yml or .json).
func Load(path string) (*Spec, error) {
	var format Format
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		format = YAML
	case ".json":
		format = JSON
	default:
		return nil, fmt.Errorf("embodiment: %s: unknown extension (want .yaml, .yml or .json)", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("embodiment: %w", err)
	}
	s, err := Parse(data, format)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

//go:embed examples/*.yaml
var examples embed.FS

// Builtins lists the built-in specs' names, sorted.
func Builtins() []string {
	entries, err := examples.ReadDir("examples")
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Builtin returns a fresh copy of a built-in spec: "panda_sim" (the
// simulator's Panda with LIBERO's action space), "arm6dof" (a real 6-DoF arm
// with a gripper) or "mobile_base" (a real base taking twists).
func Builtin(name string) (*Spec, error) {
	data, err := examples.ReadFile("examples/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("embodiment: no built-in spec %q (have %s)", name, strings.Join(Builtins(), ", "))
	}
	return Parse(data, YAML)
}
