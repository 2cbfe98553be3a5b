package tokenizer

import "unicode/utf8"

// The byte-level alphabet of GPT-2: every byte maps to one printable rune.
// Bytes that are already printable and not whitespace ('!'..'~', '¡'..'¬',
// '®'..'ÿ') map to themselves; the other 68 bytes map, in increasing byte
// order, to U+0100, U+0101, and so on. Vocabulary entries and merges are
// written in this alphabet.
var (
	byteToRune [256]rune
	runeToByte map[rune]byte
)

func init() {
	runeToByte = make(map[rune]byte, 256)
	next := rune(256)
	for b := 0; b < 256; b++ {
		printable := (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
		r := rune(b)
		if !printable {
			r = next
			next++
		}
		byteToRune[b] = r
		runeToByte[r] = byte(b)
	}
}

// byteLevelDecode turns a token string written in the byte-level alphabet
// back into raw bytes. Like the Hugging Face ByteLevel decoder, a token
// holding any rune outside the alphabet is taken verbatim as its UTF-8 bytes.
func byteLevelDecode(tok string) []byte {
	out := make([]byte, 0, len(tok))
	for _, r := range tok {
		b, ok := runeToByte[r]
		if !ok {
			return []byte(tok)
		}
		out = append(out, b)
	}
	return out
}

// byteLevelEncode writes raw bytes in the byte-level alphabet.
func byteLevelEncode(raw []byte) string {
	out := make([]rune, len(raw))
	for i, b := range raw {
		out[i] = byteToRune[b]
	}
	return string(out)
}

// utf8Seq describes a UTF-8 lead byte: the sequence length n (0 for a byte
// that cannot start a sequence) and the allowed range of the second byte.
func utf8Seq(b byte) (n int, lo, hi byte) {
	switch {
	case b < 0x80:
		return 1, 0, 0
	case b >= 0xC2 && b <= 0xDF:
		return 2, 0x80, 0xBF
	case b == 0xE0:
		return 3, 0xA0, 0xBF
	case b == 0xED:
		return 3, 0x80, 0x9F
	case b >= 0xE1 && b <= 0xEF:
		return 3, 0x80, 0xBF
	case b == 0xF0:
		return 4, 0x90, 0xBF
	case b >= 0xF1 && b <= 0xF3:
		return 4, 0x80, 0xBF
	case b == 0xF4:
		return 4, 0x80, 0x8F
	}
	return 0, 0, 0
}

// validPrefix reports how many bytes at the start of b form a valid
// (possibly incomplete) UTF-8 sequence, and the full length that sequence
// needs. k == 0 means b[0] cannot start a sequence.
func validPrefix(b []byte) (k, n int) {
	n, lo, hi := utf8Seq(b[0])
	if n <= 1 {
		return n, n
	}
	k = 1
	for k < n && k < len(b) {
		c := b[k]
		if k == 1 {
			if c < lo || c > hi {
				break
			}
		} else if c < 0x80 || c > 0xBF {
			break
		}
		k++
	}
	return k, n
}

// appendLossy appends b to dst, replacing every maximal invalid subpart with
// U+FFFD. This is the substitution Rust's String::from_utf8_lossy (and so
// Hugging Face tokenizers) performs, which differs from replacing each bad
// byte or each run of bad bytes.
func appendLossy(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			dst = append(dst, b[i])
			i++
			continue
		}
		k, n := validPrefix(b[i:])
		if n > 0 && k == n {
			dst = append(dst, b[i:i+k]...)
			i += k
			continue
		}
		dst = utf8.AppendRune(dst, utf8.RuneError)
		i += max(k, 1)
	}
	return dst
}

// incompleteTail returns the length of the trailing bytes of b that are a
// valid but unfinished UTF-8 sequence (0 when b ends on a boundary or with
// bytes that can never complete).
func incompleteTail(b []byte) int {
	for k := 1; k <= 3 && k <= len(b); k++ {
		start := len(b) - k
		n, _, _ := utf8Seq(b[start])
		if n == 0 || n == 1 {
			if n == 1 {
				return 0
			}
			continue // a continuation byte: look further left
		}
		if p, need := validPrefix(b[start:]); p == k && need > k {
			return k
		}
		return 0
	}
	return 0
}
