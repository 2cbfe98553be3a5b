//go:build !unix

package safetensors

import (
	"errors"
	"os"
)

// mmapFile is unavailable on this platform; Open falls back to reading.
func mmapFile(*os.File, int) ([]byte, func() error, error) {
	return nil, nil, errors.New("mmap not supported")
}
