package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// addedToken is one entry of tokenizer.json's added_tokens, with the field
// names Hugging Face uses.
type addedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// trieNode is a node of a byte trie over added-token contents.
type trieNode struct {
	next map[byte]*trieNode
	tok  int // index into Tokenizer.added, -1 when no token ends here
}

// matcher finds added tokens in text, leftmost first and longest among those
// starting at the same position.
type matcher struct {
	root  *trieNode
	first [256]bool // bytes that start some token
	empty bool
}

func newMatcher() *matcher {
	return &matcher{root: &trieNode{tok: -1}, empty: true}
}

func (m *matcher) insert(content string, tok int) {
	n := m.root
	for i := 0; i < len(content); i++ {
		c := content[i]
		child := n.next[c]
		if child == nil {
			if n.next == nil {
				n.next = make(map[byte]*trieNode)
			}
			child = &trieNode{tok: -1}
			n.next[c] = child
		}
		n = child
	}
	n.tok = tok
	m.first[content[0]] = true
	m.empty = false
}

// longestAt returns the token index and length of the longest token that
// starts at s[i:], or -1.
func (m *matcher) longestAt(s string, i int) (tok, n int) {
	tok = -1
	node := m.root
	for j := i; j < len(s); j++ {
		node = node.next[s[j]]
		if node == nil {
			break
		}
		if node.tok >= 0 {
			tok, n = node.tok, j+1-i
		}
	}
	return tok, n
}

// isWordRune is \w: a letter, a number or an underscore.
func isWordRune(r rune) bool {
	return r == '_' || isLetter(r) || isNumber(r)
}

// split cuts s at the added tokens it contains and calls fn with each piece
// in order: plain text with tok == -1, or an added token with its index (the
// piece then includes any whitespace the token's lstrip/rstrip absorbed,
// which produces no ids). It follows Hugging Face's AddedVocabulary: matches
// are found left to right without overlap; a single_word token that touches
// a word character is skipped; lstrip and rstrip swallow neighbouring
// whitespace.
func (m *matcher) split(s string, added []addedToken, fn func(piece string, tok int)) {
	if m.empty {
		fn(s, -1)
		return
	}
	last := 0 // end of the previous emitted piece
	for i := 0; i < len(s); {
		if !m.first[s[i]] {
			i++
			continue
		}
		tok, n := m.longestAt(s, i)
		if tok < 0 {
			i++
			continue
		}
		start, stop := i, i+n
		at := &added[tok]
		if at.SingleWord {
			before, _ := utf8.DecodeLastRuneInString(s[:start])
			after, _ := utf8.DecodeRuneInString(s[stop:])
			if (start > 0 && isWordRune(before)) || (stop < len(s) && isWordRune(after)) {
				i = stop
				continue
			}
		}
		if at.LStrip {
			for start > last {
				r, w := utf8.DecodeLastRuneInString(s[:start])
				if !unicode.IsSpace(r) {
					break
				}
				start -= w
			}
		}
		if at.RStrip {
			for stop < len(s) {
				r, w := utf8.DecodeRuneInString(s[stop:])
				if !unicode.IsSpace(r) {
					break
				}
				stop += w
			}
		}
		if start > last {
			fn(s[last:start], -1)
		}
		fn(s[start:stop], tok)
		last, i = stop, stop
	}
	if last < len(s) {
		fn(s[last:], -1)
	}
}
