package safetensors

import (
	"os"
	"testing"
)

func BenchmarkOpen(b *testing.B) {
	st, err := os.Stat(goldenPath)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	for b.Loop() {
		f, err := Open(goldenPath)
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloat32BF16 measures BF16 → float32 conversion; MB/s counts the
// BF16 bytes read.
func BenchmarkFloat32BF16(b *testing.B) {
	const n = 4 << 20
	vals := make([]float32, n)
	for i := range vals {
		vals[i] = float32(i%1000) * 0.001
	}
	t := BF16("w", []int{n}, vals)
	sorted, err := validateTensors([]Tensor{t})
	if err != nil {
		b.Fatal(err)
	}
	path := b.TempDir() + "/bf16.safetensors"
	if err := Write(path, sorted, nil); err != nil {
		b.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.SetBytes(int64(len(t.Data)))
	for b.Loop() {
		if _, err := f.Float32("w"); err != nil {
			b.Fatal(err)
		}
	}
}
