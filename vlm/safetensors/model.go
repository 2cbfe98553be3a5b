package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// Set is a checkpoint made of one or more safetensors files, looked up by
// tensor name as if it were one file. Its methods may be called from several
// goroutines at once, but not concurrently with Close.
type Set struct {
	files []*File        // in sorted file-name order
	paths []string       // paths of files, same order
	owner map[string]int // tensor name -> index into files
	names []string       // sorted
}

// OpenModel opens the checkpoint in directory dir. As in Hugging Face
// transformers, dir/model.safetensors is used when it exists; otherwise
// dir/model.safetensors.index.json names the shards. For a sharded
// checkpoint every shard in the weight map must open and validate, every
// tensor the weight map names must be in the shard it names, and no tensor
// may be stored in two shards (the error names both files). Tensors a shard
// holds beyond those in the weight map are served too.
func OpenModel(dir string) (*Set, error) {
	single := filepath.Join(dir, SingleFile)
	if _, err := os.Stat(single); err == nil {
		f, err := Open(single)
		if err != nil {
			return nil, err
		}
		s := &Set{files: []*File{f}, paths: []string{single}, owner: make(map[string]int, f.Len())}
		for _, n := range f.names {
			s.owner[n] = 0
		}
		s.names = f.Names()
		return s, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	indexPath := filepath.Join(dir, IndexFile)
	raw, err := os.ReadFile(indexPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("safetensors: %s has neither %s nor %s: %w", dir, SingleFile, IndexFile, err)
	}
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &index); err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", indexPath, err)
	}
	if len(index.WeightMap) == 0 {
		return nil, fmt.Errorf("safetensors: %s: empty or missing weight_map", indexPath)
	}
	shardSet := make(map[string]bool)
	for name, shard := range index.WeightMap {
		if !filepath.IsLocal(shard) {
			return nil, fmt.Errorf("safetensors: %s: tensor %q: shard %q is not a file inside %s", indexPath, name, shard, dir)
		}
		shardSet[shard] = true
	}
	shards := make([]string, 0, len(shardSet))
	for sh := range shardSet {
		shards = append(shards, sh)
	}
	slices.Sort(shards)
	s := &Set{owner: make(map[string]int)}
	for i, sh := range shards {
		p := filepath.Join(dir, sh)
		f, err := Open(p)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.files = append(s.files, f)
		s.paths = append(s.paths, p)
		for _, n := range f.names {
			if j, dup := s.owner[n]; dup {
				s.Close()
				return nil, fmt.Errorf("safetensors: tensor %q is stored in both %s and %s", n, s.paths[j], p)
			}
			s.owner[n] = i
		}
	}
	for name, shard := range index.WeightMap {
		i, ok := s.owner[name]
		if !ok || s.paths[i] != filepath.Join(dir, shard) {
			s.Close()
			return nil, fmt.Errorf("safetensors: %s: tensor %q is missing from its shard %s", indexPath, name, shard)
		}
	}
	s.names = make([]string, 0, len(s.owner))
	for n := range s.owner {
		s.names = append(s.names, n)
	}
	slices.Sort(s.names)
	return s, nil
}

// Names returns the names of all tensors in the checkpoint, sorted. The
// slice is a copy.
func (s *Set) Names() []string { return slices.Clone(s.names) }

// Len returns the number of tensors.
func (s *Set) Len() int { return len(s.names) }

// Files returns the paths of the checkpoint's files, sorted.
func (s *Set) Files() []string { return slices.Clone(s.paths) }

// Path returns the path of the file holding the named tensor.
func (s *Set) Path(name string) (string, bool) {
	i, ok := s.owner[name]
	if !ok {
		return "", false
	}
	return s.paths[i], true
}

// file returns the File holding name, or an ErrNotFound error.
func (s *Set) file(name string) (*File, error) {
	i, ok := s.owner[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: %w: %q", ErrNotFound, name)
	}
	return s.files[i], nil
}

// Info returns the description of the named tensor (offsets are relative
// to its own file's data buffer).
func (s *Set) Info(name string) (Info, bool) {
	f, err := s.file(name)
	if err != nil {
		return Info{}, false
	}
	return f.Info(name)
}

// Bytes returns a zero-copy view of the named tensor's raw data; see
// File.Bytes. It is invalid after Close.
func (s *Set) Bytes(name string) ([]byte, error) {
	f, err := s.file(name)
	if err != nil {
		return nil, err
	}
	return f.Bytes(name)
}

// Float32 returns the named tensor converted to float32; see File.Float32.
func (s *Set) Float32(name string) ([]float32, error) {
	f, err := s.file(name)
	if err != nil {
		return nil, err
	}
	return f.Float32(name)
}

// Int64 returns the named tensor converted to int64; see File.Int64.
func (s *Set) Int64(name string) ([]int64, error) {
	f, err := s.file(name)
	if err != nil {
		return nil, err
	}
	return f.Int64(name)
}

// Metadata returns the "__metadata__" of the first file (Hugging Face
// writes the same metadata into every shard).
func (s *Set) Metadata() map[string]string {
	if len(s.files) == 0 {
		return nil
	}
	return s.files[0].Metadata()
}

// Close closes every file of the checkpoint and returns the first error.
func (s *Set) Close() error {
	var first error
	for _, f := range s.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
