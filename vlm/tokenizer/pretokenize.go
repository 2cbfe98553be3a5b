package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// qwenSplitPattern is the split regex of Qwen2's byte-level pre-tokenizer.
// Go's regexp has no lookahead, so preTokenize implements it by hand; the
// pattern is only compared against tokenizer.json to reject other
// pre-tokenizers.
const qwenSplitPattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// Rune classes of the pattern.
const (
	clsOther   = iota // [^\s\p{L}\p{N}]
	clsLetter         // \p{L}
	clsNumber         // \p{N}
	clsSpace          // \s other than CR and LF
	clsNewline        // \r or \n (both are also \s)
)

var asciiClass [utf8.RuneSelf]uint8

func init() {
	for r := rune(0); r < utf8.RuneSelf; r++ {
		asciiClass[r] = classifySlow(r)
	}
}

func classifySlow(r rune) uint8 {
	switch {
	case r == '\r' || r == '\n':
		return clsNewline
	case unicode.IsSpace(r): // the Unicode White_Space property, like \s
		return clsSpace
	case isLetter(r):
		return clsLetter
	case isNumber(r):
		return clsNumber
	}
	return clsOther
}

// runeAt decodes the rune at s[i:] and its class.
func runeAt(s string, i int) (r rune, w int, cls uint8) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1, asciiClass[c]
	}
	r, w = utf8.DecodeRuneInString(s[i:])
	return r, w, classifySlow(r)
}

// contraction returns the length of a case-insensitive 's 't 're 've 'm 'll
// 'd at s[i:] (s[i] is an apostrophe), or 0.
func contraction(s string, i int) int {
	if i+1 >= len(s) {
		return 0
	}
	switch s[i+1] {
	case 's', 'S', 't', 'T', 'm', 'M', 'd', 'D':
		return 2
	case 'r', 'R', 'v', 'V':
		if i+2 < len(s) && (s[i+2] == 'e' || s[i+2] == 'E') {
			return 3
		}
	case 'l', 'L':
		if i+2 < len(s) && (s[i+2] == 'l' || s[i+2] == 'L') {
			return 3
		}
	case 0xC5: // U+017F LATIN SMALL LETTER LONG S case-folds to 's'
		if i+2 < len(s) && s[i+2] == 0xBF {
			return 3
		}
	}
	return 0
}

// preTokenize splits s the way Qwen2's split regex does (Isolated
// behaviour: every match is a piece, and the alternatives cover every rune so
// there are no gaps) and calls fn for each piece in order.
func preTokenize(s string, fn func(piece string)) {
	for i := 0; i < len(s); {
		n := matchAt(s, i)
		fn(s[i : i+n])
		i += n
	}
}

// matchAt returns the length of the regex match that starts at s[i:]. The
// alternatives are tried in the pattern's order, as a backtracking engine
// does.
func matchAt(s string, i int) int {
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if s[i] == '\'' {
		if n := contraction(s, i); n > 0 {
			return n
		}
	}
	_, w, cls := runeAt(s, i)
	j := i + w // end of the first rune

	// [^\r\n\p{L}\p{N}]?\p{L}+
	switch cls {
	case clsLetter:
		return letterRun(s, j) - i
	case clsOther, clsSpace:
		if j < len(s) {
			if _, _, c2 := runeAt(s, j); c2 == clsLetter {
				return letterRun(s, j) - i
			}
		}
	}

	// \p{N}
	if cls == clsNumber {
		return w
	}

	// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
	start := i
	if s[i] == ' ' && j < len(s) {
		if _, _, c2 := runeAt(s, j); c2 == clsOther {
			start = j
		}
	}
	if _, ws, c := runeAt(s, start); c == clsOther {
		k := start + ws
		for k < len(s) {
			_, w2, c2 := runeAt(s, k)
			if c2 != clsOther {
				break
			}
			k += w2
		}
		for k < len(s) && (s[k] == '\r' || s[k] == '\n') {
			k++
		}
		return k - i
	}

	// Only whitespace is left: cls is clsSpace or clsNewline.
	end, lastNL, lastStart := i, -1, i
	for end < len(s) {
		_, w2, c2 := runeAt(s, end)
		if c2 != clsSpace && c2 != clsNewline {
			break
		}
		if c2 == clsNewline {
			lastNL = end
		}
		lastStart = end
		end += w2
	}
	// \s*[\r\n]+ : the longest run prefix that ends in CR or LF.
	if lastNL >= 0 {
		return lastNL + 1 - i
	}
	// \s+(?!\S) : the whole run at the end of the text, else all but its
	// last rune when that leaves something.
	if end == len(s) {
		return end - i
	}
	if lastStart > i {
		return lastStart - i
	}
	// \s+
	return end - i
}

// letterRun returns the end of the run of letters starting at s[j:].
func letterRun(s string, j int) int {
	for j < len(s) {
		_, w, c := runeAt(s, j)
		if c != clsLetter {
			break
		}
		j += w
	}
	return j
}
