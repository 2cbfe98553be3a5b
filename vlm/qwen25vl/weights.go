package qwen25vl

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unsafe"

	"github.com/vstgo/vst/vlm/safetensors"
	"github.com/vstgo/vst/vlm/tensor"
)

// Linear is a dense layer in PyTorch layout: W [out, in] (F32, BF16 or F16),
// optional bias B [out], and an optional LoRA adapter used by fine-tuning.
type Linear struct {
	W, B *tensor.Tensor
	LoRA *tensor.LoRA
}

// Forward computes x·Wᵀ + B (+ the LoRA update).
func (l *Linear) Forward(c *tensor.Ctx, x *tensor.Tensor) *tensor.Tensor {
	return tensor.LinearLoRA(c, x, l.W, l.B, l.LoRA)
}

// binder hands out checkpoint tensors by name, checking dtype and shape, and
// remembers what it handed out so that unused tensors can be reported.
type binder struct {
	src  *safetensors.Set
	used map[string]bool
	errs []string
}

func newBinder(src *safetensors.Set) *binder {
	return &binder{src: src, used: map[string]bool{}}
}

// has reports whether the checkpoint holds name.
func (b *binder) has(name string) bool {
	_, ok := b.src.Info(name)
	return ok
}

// get loads name, which must have the given shape. Errors are collected and
// reported together by err.
func (b *binder) get(name string, shape ...int) *tensor.Tensor {
	info, ok := b.src.Info(name)
	if !ok {
		b.errs = append(b.errs, fmt.Sprintf("missing tensor %q (want shape %v)", name, shape))
		return nil
	}
	b.used[name] = true
	if !slices.Equal(info.Shape, shape) {
		b.errs = append(b.errs, fmt.Sprintf("tensor %q has shape %v, want %v", name, info.Shape, shape))
		return nil
	}
	t, err := loadTensor(b.src, info)
	if err != nil {
		b.errs = append(b.errs, err.Error())
		return nil
	}
	return t
}

// linear loads prefix.weight [out, in] and, when bias is set, prefix.bias.
func (b *binder) linear(prefix string, out, in int, bias bool) Linear {
	l := Linear{W: b.get(prefix+".weight", out, in)}
	if bias {
		l.B = b.get(prefix+".bias", out)
	}
	return l
}

// err reports every problem found, plus tensors the checkpoint holds that no
// part of the model used.
func (b *binder) err() error {
	var unused []string
	for _, n := range b.src.Names() {
		if !b.used[n] {
			unused = append(unused, n)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		const show = 8
		more := ""
		if len(unused) > show {
			more = fmt.Sprintf(" and %d more", len(unused)-show)
			unused = unused[:show]
		}
		b.errs = append(b.errs, fmt.Sprintf("unexpected tensors %s%s", strings.Join(quoteAll(unused), ", "), more))
	}
	if len(b.errs) == 0 {
		return nil
	}
	return fmt.Errorf("checkpoint does not match the config: %s", strings.Join(b.errs, "; "))
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}

// loadTensor returns a checkpoint tensor. 16-bit float weights stay 16-bit
// (Linear and Embedding read BF16/F16 directly) and, when suitably aligned,
// are views of the memory-mapped file rather than copies, so a bf16
// checkpoint costs its file size in memory once. Such views are read-only and
// live until the Set is closed. Float32 weights are copied (they may be
// trained in place).
func loadTensor(src *safetensors.Set, info safetensors.Info) (*tensor.Tensor, error) {
	switch info.DType {
	case safetensors.DTypeBF16, safetensors.DTypeF16:
		raw, err := src.Bytes(info.Name)
		if err != nil {
			return nil, err
		}
		var u []uint16
		if len(raw) > 0 && uintptr(unsafe.Pointer(&raw[0]))%2 == 0 && hostLittleEndian {
			u = unsafe.Slice((*uint16)(unsafe.Pointer(&raw[0])), len(raw)/2)
		} else {
			u = make([]uint16, len(raw)/2)
			for i := range u {
				u[i] = binary.LittleEndian.Uint16(raw[2*i:])
			}
		}
		if info.DType == safetensors.DTypeBF16 {
			return tensor.FromBF16(u, info.Shape...), nil
		}
		return tensor.FromF16(u, info.Shape...), nil
	case safetensors.DTypeF32, safetensors.DTypeF64:
		v, err := src.Float32(info.Name)
		if err != nil {
			return nil, err
		}
		return tensor.FromFloat32(v, info.Shape...), nil
	}
	return nil, fmt.Errorf("tensor %q has dtype %s; weights must be F32, BF16, F16 or F64", info.Name, info.DType)
}

// hostLittleEndian reports whether the machine stores integers
// little-endian, as safetensors does.
var hostLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// keyLayout names the two checkpoint layouts in the wild: transformers < 4.52
// saves "model.*" and "visual.*"; later versions "model.language_model.*"
// and "model.visual.*".
type keyLayout struct{ text, vision string }

func detectLayout(src *safetensors.Set) keyLayout {
	for _, n := range src.Names() {
		if strings.HasPrefix(n, "model.language_model.") || strings.HasPrefix(n, "model.visual.") {
			return keyLayout{text: "model.language_model.", vision: "model.visual."}
		}
	}
	return keyLayout{text: "model.", vision: "visual."}
}
