package safetensors

import (
	"fmt"
	"io"
	"math"
	"os"
)

// Open memory-maps the file at path read-only and validates its header.
// When the file cannot be mapped (for example on a file system without mmap
// support) it is read into memory instead. Close the File to unmap it.
// The file must not be truncated or rewritten in place while it is mapped
// (Write replaces files by rename, which is safe).
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("safetensors: %s: not a regular file", path)
	}
	size := st.Size()
	if size > math.MaxInt {
		return nil, fmt.Errorf("safetensors: %s: %d bytes is too large to map on this platform", path, size)
	}
	var (
		buf     []byte
		release func() error
	)
	if size > 0 {
		buf, release, err = mmapFile(fh, int(size))
	}
	if buf == nil || err != nil {
		buf = make([]byte, size)
		if _, err := io.ReadFull(fh, buf); err != nil {
			return nil, fmt.Errorf("safetensors: read %s: %w", path, err)
		}
		release = nil
	}
	f, err := parse(buf)
	if err != nil {
		if release != nil {
			_ = release()
		}
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	f.release = release
	return f, nil
}
