package mqtt

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// A message file is: magic, CRC-32 (IEEE) of the rest, topic length
// (uint16, big endian), topic, payload.
const (
	queueMagic  = "VQM1"
	queueHeader = len(queueMagic) + 4 + 2
	queueExt    = ".msg"
)

// message is one buffered publication.
type message struct {
	seq     uint64
	topic   string
	payload []byte
}

type queueEntry struct {
	seq  uint64
	size int64
}

// queue is a bounded FIFO of messages kept as one fsync'ed file per message
// in a directory, so that it survives a restart. When a bound is hit the
// oldest messages are dropped. It is safe for concurrent use.
type queue struct {
	dir         string
	maxMessages int
	maxBytes    int64

	mu      sync.Mutex
	entries []queueEntry // ascending seq
	bytes   int64
	next    uint64
	dropped uint64
	notify  chan struct{}
}

// openQueue loads the messages left in dir, creating it if needed.
func openQueue(dir string, maxMessages int, maxBytes int64) (*queue, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("buffer: %w", err)
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("buffer: %w", err)
	}
	q := &queue{dir: dir, maxMessages: maxMessages, maxBytes: maxBytes, next: 1, notify: make(chan struct{}, 1)}
	for _, de := range des {
		name := de.Name()
		seq, err := strconv.ParseUint(strings.TrimSuffix(name, queueExt), 10, 64)
		if !de.Type().IsRegular() || !strings.HasSuffix(name, queueExt) || err != nil {
			if strings.HasPrefix(name, ".tmp-") { // an interrupted push
				_ = os.Remove(filepath.Join(dir, name))
			}
			continue
		}
		info, err := de.Info()
		if err != nil {
			return nil, fmt.Errorf("buffer: %w", err)
		}
		q.entries = append(q.entries, queueEntry{seq: seq, size: info.Size()})
		q.bytes += info.Size()
		q.next = max(q.next, seq+1)
	}
	slices.SortFunc(q.entries, func(a, b queueEntry) int { return cmp.Compare(a.seq, b.seq) })
	q.mu.Lock()
	q.trim(0)
	q.mu.Unlock()
	return q, nil
}

func (q *queue) path(seq uint64) string {
	return filepath.Join(q.dir, fmt.Sprintf("%020d%s", seq, queueExt))
}

// push appends a message, dropping the oldest ones if a bound is hit.
func (q *queue) push(topic string, payload []byte) error {
	size := int64(queueHeader + len(topic) + len(payload))
	if size > q.maxBytes {
		return fmt.Errorf("buffer: message of %d bytes is larger than the buffer (%d bytes)", size, q.maxBytes)
	}
	b := make([]byte, queueHeader, size)
	copy(b, queueMagic)
	binary.BigEndian.PutUint16(b[8:], uint16(len(topic)))
	b = append(b, topic...)
	b = append(b, payload...)
	binary.BigEndian.PutUint32(b[4:], crc32.ChecksumIEEE(b[8:]))

	q.mu.Lock()
	defer q.mu.Unlock()
	seq := q.next
	if err := q.write(seq, b); err != nil {
		return err
	}
	q.next++
	q.trim(size)
	q.entries = append(q.entries, queueEntry{seq: seq, size: size})
	q.bytes += size
	select {
	case q.notify <- struct{}{}:
	default:
	}
	return nil
}

// write stores b durably: temp file, fsync, rename, fsync of the directory.
func (q *queue) write(seq uint64, b []byte) error {
	tmp := filepath.Join(q.dir, fmt.Sprintf(".tmp-%d", seq))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("buffer: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, q.path(seq))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("buffer: %w", err)
	}
	if d, err := os.Open(q.dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// trim drops the oldest messages until one more of size bytes fits.
// q.mu must be held.
func (q *queue) trim(size int64) {
	extra := 0
	if size > 0 {
		extra = 1
	}
	for len(q.entries) > 0 && (len(q.entries)+extra > q.maxMessages || q.bytes+size > q.maxBytes) {
		q.removeAt(0)
		q.dropped++
	}
}

func (q *queue) removeAt(i int) {
	e := q.entries[i]
	_ = os.Remove(q.path(e.seq))
	q.bytes -= e.size
	q.entries = slices.Delete(q.entries, i, i+1)
}

// peek returns the oldest message whose seq is at least from. A corrupt
// file is dropped and counted. ok is false when there is none.
func (q *queue) peek(from uint64) (m message, ok bool, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		i, _ := slices.BinarySearchFunc(q.entries, from, func(e queueEntry, s uint64) int { return cmp.Compare(e.seq, s) })
		if i == len(q.entries) {
			return message{}, false, nil
		}
		seq := q.entries[i].seq
		b, err := os.ReadFile(q.path(seq))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return message{}, false, fmt.Errorf("buffer: %w", err)
		}
		if m, ok := decodeMessage(b); ok {
			m.seq = seq
			return m, true, nil
		}
		q.removeAt(i)
		q.dropped++
	}
}

func decodeMessage(b []byte) (message, bool) {
	if len(b) < queueHeader || string(b[:4]) != queueMagic ||
		binary.BigEndian.Uint32(b[4:]) != crc32.ChecksumIEEE(b[8:]) {
		return message{}, false
	}
	n := int(binary.BigEndian.Uint16(b[8:]))
	if queueHeader+n > len(b) {
		return message{}, false
	}
	return message{topic: string(b[queueHeader : queueHeader+n]), payload: b[queueHeader+n:]}, true
}

// remove deletes the message seq once the broker has it; it does nothing if
// the message was dropped meanwhile.
func (q *queue) remove(seq uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if i, found := slices.BinarySearchFunc(q.entries, seq, func(e queueEntry, s uint64) int { return cmp.Compare(e.seq, s) }); found {
		q.removeAt(i)
	}
}

// stats reports the buffer's size and drops.
func (q *queue) stats() Buffer {
	q.mu.Lock()
	defer q.mu.Unlock()
	return Buffer{Queued: len(q.entries), Bytes: q.bytes, Dropped: q.dropped}
}
