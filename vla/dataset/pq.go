package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // LIBERO-style files may hold JPEG bytes
	"image/png"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// pqFile is an open parquet file read column by column.
type pqFile struct {
	path string
	osf  *os.File
	f    *parquet.File
}

// guard turns a panic inside the parquet library (possible on corrupt
// files) into an error.
func guard(what string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: corrupt parquet data: %v", what, r)
		}
	}()
	return fn()
}

func openParquet(path string) (*pqFile, error) {
	osf, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := osf.Stat()
	if err != nil {
		osf.Close()
		return nil, err
	}
	var f *parquet.File
	err = guard(path, func() error {
		var err error
		f, err = parquet.OpenFile(osf, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		return err
	})
	if err != nil {
		osf.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &pqFile{path: path, osf: osf, f: f}, nil
}

func (p *pqFile) Close() error { return p.osf.Close() }

func (p *pqFile) numRows() int { return int(p.f.NumRows()) }

// has reports whether a top-level column exists.
func (p *pqFile) has(name string) bool {
	for _, c := range p.f.Schema().Columns() {
		if c[0] == name {
			return true
		}
	}
	return false
}

// leaf finds the one leaf column under a top-level name; for a {bytes,
// path} struct it takes "bytes".
func (p *pqFile) leaf(name string) (parquet.LeafColumn, error) {
	var paths [][]string
	for _, c := range p.f.Schema().Columns() {
		if c[0] == name {
			paths = append(paths, c)
		}
	}
	if len(paths) > 1 {
		i := slices.IndexFunc(paths, func(c []string) bool { return len(c) == 2 && c[1] == "bytes" })
		if i < 0 {
			return parquet.LeafColumn{}, fmt.Errorf("%s: column %q has %d leaves and no \"bytes\" field", p.path, name, len(paths))
		}
		paths = paths[i : i+1]
	}
	if len(paths) == 0 {
		return parquet.LeafColumn{}, fmt.Errorf("%s: no column %q", p.path, name)
	}
	lc, ok := p.f.Schema().Lookup(paths[0]...)
	if !ok {
		return parquet.LeafColumn{}, fmt.Errorf("%s: column %q not found", p.path, strings.Join(paths[0], "."))
	}
	return lc, nil
}

// readRows reads a column whole and calls fn once per row with the row's
// non-null leaf values (none for a null or empty list).
func (p *pqFile) readRows(name string, fn func(row int, vals []parquet.Value) error) error {
	lc, err := p.leaf(name)
	if err != nil {
		return err
	}
	return guard(p.path, func() error {
		row := 0
		var cur []parquet.Value
		started := false
		flush := func() error {
			if !started {
				return nil
			}
			err := fn(row, cur)
			row++
			cur = cur[:0]
			return err
		}
		buf := make([]parquet.Value, 1024)
		for _, rg := range p.f.RowGroups() {
			r := parquet.NewColumnChunkValueReader(rg.ColumnChunks()[lc.ColumnIndex])
			for {
				n, err := r.ReadValues(buf)
				for _, v := range buf[:n] {
					if v.RepetitionLevel() == 0 {
						if err := flush(); err != nil {
							r.Close()
							return err
						}
						started = true
					}
					if v.DefinitionLevel() == lc.MaxDefinitionLevel {
						cur = append(cur, v.Clone())
					}
				}
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					r.Close()
					return err
				}
			}
			r.Close()
		}
		if err := flush(); err != nil {
			return err
		}
		if row != p.numRows() {
			return fmt.Errorf("column %q has %d rows, the file %d", name, row, p.numRows())
		}
		return nil
	})
}

// number converts a numeric parquet value.
func number(v parquet.Value) (float64, error) {
	switch v.Kind() {
	case parquet.Float:
		return float64(v.Float()), nil
	case parquet.Double:
		return v.Double(), nil
	case parquet.Int32:
		return float64(v.Int32()), nil
	case parquet.Int64:
		return float64(v.Int64()), nil
	case parquet.Boolean:
		if v.Boolean() {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("value of kind %v is not a number", v.Kind())
}

// vectors reads a list<float> column into one []float32 per row, each of
// length dim (dim 0: take the first row's length).
func (p *pqFile) vectors(name string, dim int) ([][]float32, error) {
	out := make([][]float32, 0, p.numRows())
	err := p.readRows(name, func(row int, vals []parquet.Value) error {
		if dim == 0 {
			dim = len(vals)
		}
		if len(vals) != dim || dim == 0 {
			return fmt.Errorf("column %q row %d has %d values, want %d", name, row, len(vals), dim)
		}
		x := make([]float32, dim)
		for i, v := range vals {
			f, err := number(v)
			if err != nil {
				return fmt.Errorf("column %q row %d: %w", name, row, err)
			}
			x[i] = float32(f)
		}
		out = append(out, x)
		return nil
	})
	return out, err
}

// scalars reads a numeric scalar column.
func (p *pqFile) scalars(name string) ([]float64, error) {
	out := make([]float64, 0, p.numRows())
	err := p.readRows(name, func(row int, vals []parquet.Value) error {
		if len(vals) != 1 {
			return fmt.Errorf("column %q row %d has %d values, want 1", name, row, len(vals))
		}
		f, err := number(vals[0])
		if err != nil {
			return fmt.Errorf("column %q row %d: %w", name, row, err)
		}
		out = append(out, f)
		return nil
	})
	return out, err
}

// strs reads a string column (a list of strings per row gives all of
// them).
func (p *pqFile) strs(name string) ([][]string, error) {
	out := make([][]string, 0, p.numRows())
	err := p.readRows(name, func(row int, vals []parquet.Value) error {
		s := make([]string, len(vals))
		for i, v := range vals {
			if v.Kind() != parquet.ByteArray {
				return fmt.Errorf("column %q row %d is not a string", name, row)
			}
			s[i] = string(v.ByteArray())
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// bytesAt reads the binary value of a column (or of its "bytes" field) at
// one row, seeking to it.
func (p *pqFile) bytesAt(name string, row int) ([]byte, error) {
	lc, err := p.leaf(name)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = guard(p.path, func() error {
		for _, rg := range p.f.RowGroups() {
			n := int(rg.NumRows())
			if row >= n {
				row -= n
				continue
			}
			r := parquet.NewColumnChunkValueReader(rg.ColumnChunks()[lc.ColumnIndex])
			defer r.Close()
			if err := r.SeekToRow(int64(row)); err != nil {
				return err
			}
			buf := make([]parquet.Value, 1)
			if k, err := r.ReadValues(buf); k != 1 {
				return fmt.Errorf("column %q row %d: no value (%v)", name, row, err)
			}
			if buf[0].IsNull() || buf[0].Kind() != parquet.ByteArray {
				return fmt.Errorf("column %q row %d holds no bytes", name, row)
			}
			out = slices.Clone(buf[0].ByteArray())
			return nil
		}
		return fmt.Errorf("column %q has no row %d", name, row)
	})
	return out, err
}

// decodeImage decodes PNG (or any registered format's) bytes into RGB.
func decodeImage(data []byte) (RGB, error) {
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return RGB{}, fmt.Errorf("decode image: %w", err)
	}
	b := img.Bounds()
	out := RGB{H: b.Dy(), W: b.Dx(), Pix: make([]uint8, 0, b.Dx()*b.Dy()*3)}
	if rgba, ok := img.(*image.RGBA); ok {
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := rgba.Pix[(y-b.Min.Y)*rgba.Stride:]
			for x := range b.Dx() {
				out.Pix = append(out.Pix, row[4*x], row[4*x+1], row[4*x+2])
			}
		}
		return out, nil
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			out.Pix = append(out.Pix, uint8(r>>8), uint8(g>>8), uint8(bl>>8))
		}
	}
	return out, nil
}

// encodePNG encodes an RGB image as an opaque (colour type RGB) PNG.
func encodePNG(im RGB) ([]byte, error) {
	rgba := image.NewRGBA(image.Rect(0, 0, im.W, im.H))
	for i := range im.H * im.W {
		copy(rgba.Pix[4*i:4*i+3], im.Pix[3*i:3*i+3])
		rgba.Pix[4*i+3] = 255
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, rgba); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
