package tokenizer

import (
	"strings"
	"testing"
)

// benchText is about 64 KiB of mixed text: every reference case of
// public.jsonl (English, code, JSON, CJK, emoji, numbers, special tokens...),
// repeated.
func benchText(b *testing.B) string {
	var parts []string
	for _, c := range readCases(b, testPublic) {
		parts = append(parts, c.Text)
	}
	one := strings.Join(parts, "\n")
	return strings.Repeat(one, 64<<10/len(one)+1)
}

// BenchmarkEncode measures steady-state throughput, with the word cache
// warm.
func BenchmarkEncode(b *testing.B) {
	tok := qwen(b)
	text := benchText(b)
	tok.Encode(text)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		tok.Encode(text)
	}
}

// BenchmarkEncodeNoCache measures throughput with the word cache emptied
// before each pass (pre-tokenization and every BPE merge run each time for
// the first occurrence of a word).
func BenchmarkEncodeNoCache(b *testing.B) {
	tok := qwen(b)
	text := benchText(b)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		tok.model.clearCache()
		tok.Encode(text)
	}
}

// BenchmarkEncodeParallel runs Encode from several goroutines sharing one
// tokenizer and its cache.
func BenchmarkEncodeParallel(b *testing.B) {
	tok := qwen(b)
	text := benchText(b)
	tok.Encode(text)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tok.Encode(text)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	tok := qwen(b)
	text := benchText(b)
	ids := tok.Encode(text)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		tok.Decode(ids, false)
	}
}

// BenchmarkLoad measures reading the 11 MB tokenizer.json.
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := Load(testDir); err != nil {
			b.Fatal(err)
		}
	}
}
