package tokenizer

import (
	"sync"
	"sync/atomic"
)

const (
	// cacheMaxWordLen is the longest word (in bytes) whose merge result is
	// cached; longer words are rare and would bloat the cache.
	cacheMaxWordLen = 1024
	// cacheMaxEntries and cacheMaxBytes bound the word cache. When either
	// is reached the cache is dropped and refilled, which keeps memory
	// bounded on unbounded input.
	cacheMaxEntries = 1 << 16
	cacheMaxBytes   = 16 << 20
)

// bpe is the byte-level BPE model: byte → initial symbol, the merge table
// and a cache of merged words.
type bpe struct {
	byteID [256]int32        // vocabulary id of each byte's single-rune token, -1 if absent
	merges map[uint64]uint64 // pair (left<<32 | right) → rank<<32 | merged id

	cache      sync.Map     // word → []int32, read without locking
	cacheLen   atomic.Int64 // approximate number of cached words
	cacheBytes atomic.Int64 // approximate memory held by the cache
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// symbol is one live piece of a word during merging, in a doubly linked list
// laid out in a slice.
type symbol struct {
	id         int32
	prev, next int32 // -1 at the ends
	dead       bool
}

// mergeCand is a candidate merge of the symbol at pos with its successor.
type mergeCand struct {
	rank, pos, id int32
}

func (a mergeCand) less(b mergeCand) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos)
}

// candHeap is a binary min-heap ordered by (rank, pos).
type candHeap []mergeCand

func (h *candHeap) push(c mergeCand) {
	*h = append(*h, c)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s[i].less(s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *candHeap) pop() mergeCand {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s[l].less(s[m]) {
			m = l
		}
		if r < len(s) && s[r].less(s[m]) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

type bpeScratch struct {
	syms []symbol
	heap candHeap
}

var scratchPool = sync.Pool{New: func() any { return new(bpeScratch) }}

// appendWord appends the ids of one pre-tokenized word (raw bytes).
func (m *bpe) appendWord(dst []int, word string) []int {
	if len(word) == 1 {
		if id := m.byteID[word[0]]; id >= 0 {
			dst = append(dst, int(id))
		}
		return dst
	}
	cacheable := len(word) <= cacheMaxWordLen
	if cacheable {
		if v, ok := m.cache.Load(word); ok {
			for _, id := range v.([]int32) {
				dst = append(dst, int(id))
			}
			return dst
		}
	}
	ids := m.merge(word)
	if cacheable {
		size := int64(len(word) + 4*len(ids) + 64)
		if m.cacheLen.Add(1) > cacheMaxEntries || m.cacheBytes.Add(size) > cacheMaxBytes {
			m.clearCache()
		}
		m.cache.Store(word, ids)
	}
	for _, id := range ids {
		dst = append(dst, int(id))
	}
	return dst
}

// clearCache drops every cached word (the vocabulary or merges changed).
func (m *bpe) clearCache() {
	m.cache.Clear()
	m.cacheLen.Store(0)
	m.cacheBytes.Store(0)
}

// merge runs the BPE merges on word. Like Hugging Face's implementation it
// repeatedly applies the candidate with the lowest (rank, position), so that
// ties go to the leftmost pair; stale candidates are skipped when the pair at
// their position no longer produces their merged id.
func (m *bpe) merge(word string) []int32 {
	sc := scratchPool.Get().(*bpeScratch)
	defer scratchPool.Put(sc)
	syms := sc.syms[:0]
	for i := 0; i < len(word); i++ {
		id := m.byteID[word[i]]
		if id < 0 {
			continue // no token for this byte and no unknown token: dropped
		}
		n := int32(len(syms))
		syms = append(syms, symbol{id: id, prev: n - 1, next: n + 1})
	}
	if len(syms) == 0 {
		sc.syms = syms
		return nil
	}
	syms[len(syms)-1].next = -1
	h := sc.heap[:0]
	for i := 0; i+1 < len(syms); i++ {
		if v, ok := m.merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
			h.push(mergeCand{rank: int32(v >> 32), pos: int32(i), id: int32(uint32(v))})
		}
	}
	for len(h) > 0 {
		c := h.pop()
		cur := &syms[c.pos]
		if cur.dead || cur.next < 0 {
			continue
		}
		right := syms[cur.next]
		v, ok := m.merges[pairKey(cur.id, right.id)]
		if !ok || int32(uint32(v)) != c.id {
			continue
		}
		cur.id = c.id
		syms[cur.next].dead = true
		cur.next = right.next
		if right.next >= 0 {
			syms[right.next].prev = c.pos
		}
		if cur.prev >= 0 {
			if v, ok := m.merges[pairKey(syms[cur.prev].id, cur.id)]; ok {
				h.push(mergeCand{rank: int32(v >> 32), pos: cur.prev, id: int32(uint32(v))})
			}
		}
		if cur.next >= 0 {
			if v, ok := m.merges[pairKey(cur.id, syms[cur.next].id)]; ok {
				h.push(mergeCand{rank: int32(v >> 32), pos: c.pos, id: int32(uint32(v))})
			}
		}
	}
	var out []int32
	for i := int32(0); i >= 0; i = syms[i].next {
		out = append(out, syms[i].id)
	}
	sc.syms, sc.heap = syms, h
	return out
}
