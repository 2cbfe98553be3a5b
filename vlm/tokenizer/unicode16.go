package tokenizer

import "unicode"

// Hugging Face tokenizers runs the split regex with Oniguruma 6.9.10, whose
// \p{L} and \p{N} follow Unicode 16.0, while Go's unicode package (Go 1.26)
// is at Unicode 15.0. These tables hold the code points that are letters or
// numbers for HF but not for Go 1.26: the characters Unicode 15.1 and 16.0
// added (CJK Extension I, Garay, Kirat Rai, Todhri, Egyptian hieroglyphs
// extended A, ...). They were found by pre-tokenizing every code point with
// HF tokenizers 0.23.2 and comparing its class with Go's; White_Space agrees.

// extraLetters are \p{L} code points missing from Go's unicode.Letter.
var extraLetters = &unicode.RangeTable{
	R16: []unicode.Range16{
		{0x1C89, 0x1C8A, 1},
		{0xA7CB, 0xA7CD, 1},
		{0xA7DA, 0xA7DC, 1},
	},
	R32: []unicode.Range32{
		{0x105C0, 0x105F3, 1},
		{0x10D4A, 0x10D65, 1},
		{0x10D6F, 0x10D85, 1},
		{0x10EC2, 0x10EC4, 1},
		{0x11380, 0x11389, 1},
		{0x1138B, 0x1138B, 1},
		{0x1138E, 0x1138E, 1},
		{0x11390, 0x113B5, 1},
		{0x113B7, 0x113B7, 1},
		{0x113D1, 0x113D1, 1},
		{0x113D3, 0x113D3, 1},
		{0x11BC0, 0x11BE0, 1},
		{0x13460, 0x143FA, 1},
		{0x16100, 0x1611D, 1},
		{0x16D40, 0x16D6C, 1},
		{0x18CFF, 0x18CFF, 1},
		{0x1E5D0, 0x1E5ED, 1},
		{0x1E5F0, 0x1E5F0, 1},
		{0x2EBF0, 0x2EE5D, 1},
	},
}

// extraNumbers are \p{N} code points missing from Go's unicode.Number.
var extraNumbers = &unicode.RangeTable{
	R32: []unicode.Range32{
		{0x10D40, 0x10D49, 1},
		{0x116D0, 0x116E3, 1},
		{0x11BF0, 0x11BF9, 1},
		{0x16130, 0x16139, 1},
		{0x16D70, 0x16D79, 1},
		{0x1CCF0, 0x1CCF9, 1},
		{0x1E5F1, 0x1E5FA, 1},
	},
}

// isLetter is \p{L} as HF's regex engine sees it.
func isLetter(r rune) bool {
	return unicode.IsLetter(r) || (r >= 0x1C89 && unicode.Is(extraLetters, r))
}

// isNumber is \p{N} as HF's regex engine sees it.
func isNumber(r rune) bool {
	return unicode.IsNumber(r) || (r >= 0x10D40 && unicode.Is(extraNumbers, r))
}
