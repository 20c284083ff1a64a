package intake

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// ErrCaughtUp is returned by Reader.Next when every durable record is read.
var ErrCaughtUp = errors.New("intake log: no more durable records")

var errTorn = errors.New("torn or corrupt record")

// frameReader reads records from a segment file.
type frameReader struct {
	r   *bufio.Reader
	buf []byte
}

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 1<<20)}
}

// next reads one record of at most limit bytes; errTorn or an io error
// means no whole record is there.
func (fr *frameReader) next(limit int64) (Record, error) {
	if limit < headerSize {
		return Record{}, io.EOF
	}
	var h [headerSize]byte
	if _, err := io.ReadFull(fr.r, h[:]); err != nil {
		return Record{}, err
	}
	n := int64(binary.BigEndian.Uint32(h[0:4]))
	if n > maxPayload || headerSize+n > limit {
		return Record{}, errTorn
	}
	if cap(fr.buf) < int(n) {
		fr.buf = make([]byte, n)
	}
	p := fr.buf[:n]
	if _, err := io.ReadFull(fr.r, p); err != nil {
		return Record{}, errTorn
	}
	seq := binary.BigEndian.Uint64(h[8:16])
	if crc32.Update(crc32.Checksum(h[8:16], castagnoli), castagnoli, p) != binary.BigEndian.Uint32(h[4:8]) {
		return Record{}, errTorn
	}
	rec, err := Decode(seq, p)
	if err != nil {
		return Record{}, errTorn
	}
	// The body is a slice of the reader's buffer: copy it out, the
	// caller keeps records past the next read.
	rec.Body = append([]byte(nil), rec.Body...)
	rec.Size = headerSize + n
	return rec, nil
}

// Reader reads the durable records of a log in order, from a number on.
// One goroutine uses it.
type Reader struct {
	l    *Log
	from uint64 // next number wanted
	seg  uint64 // first number of the open segment
	f    *os.File
	fr   *frameReader
	off  int64 // bytes of the open segment read
	// Skipped counts the bytes of records below from passed over.
	Skipped int64
}

// Reader returns a reader of the records numbered from on.
func (l *Log) Reader(from uint64) *Reader { return &Reader{l: l, from: from} }

// Grew returns a channel closed when more records become durable.
func (l *Log) Grew() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.grew
}

// Next returns the next durable record, or ErrCaughtUp.
func (r *Reader) Next() (Record, error) {
	for {
		if r.f == nil {
			ok, err := r.open()
			if err != nil || !ok {
				return Record{}, err
			}
		}
		limit, last := r.limit()
		if r.off >= limit {
			if last {
				return Record{}, ErrCaughtUp
			}
			r.close()
			r.seg++ // look for the segment after this one
			continue
		}
		rec, err := r.fr.next(limit - r.off)
		if err != nil {
			// Only a closed segment can end in a bad record (its torn
			// tail was cut at open; a failed write left it behind its
			// recorded size): go on with the next.
			if last {
				return Record{}, fmt.Errorf("intake log: segment %d at byte %d: %w", r.seg, r.off, err)
			}
			r.close()
			r.seg++
			continue
		}
		r.off += rec.Size
		if rec.Seq < r.from {
			r.Skipped += rec.Size
			continue
		}
		r.from = rec.Seq + 1
		return rec, nil
	}
}

// open opens the segment holding r.from, or the first after r.seg.
func (r *Reader) open() (bool, error) {
	r.l.mu.Lock()
	// The last segment from r.seg on that starts at or before r.from, else
	// the first from r.seg on.
	var s *segment
	for i := range r.l.segs {
		c := &r.l.segs[i]
		if c.first < r.seg {
			continue
		}
		if s == nil || c.first <= r.from {
			s = c
		}
		if c.first > r.from {
			break
		}
	}
	var path string
	if s != nil {
		path, r.seg = s.path, s.first
	}
	r.l.mu.Unlock()
	if s == nil {
		return false, ErrCaughtUp
	}
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("intake log: %w", err)
	}
	r.f, r.fr, r.off = f, newFrameReader(f), 0
	return true, nil
}

// limit is the durable size of the open segment and whether it is the
// last one (which may still grow).
func (r *Reader) limit() (int64, bool) {
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	for i := range r.l.segs {
		if r.l.segs[i].first == r.seg {
			return r.l.segs[i].size, i == len(r.l.segs)-1
		}
	}
	return 0, false // deleted under it: it was loaded
}

func (r *Reader) close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

// Close releases the reader's file.
func (r *Reader) Close() { r.close() }
