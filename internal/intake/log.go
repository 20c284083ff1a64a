// Package intake is the embedded store's intake log: every SDK upload the
// collector accepts, as it was received, appended to segmented files in
// the data directory and fsynced in groups before the SDK is answered.
// A loader (collect.Loader) reads it into the store in large batches and
// records how far it got in the same transaction; consumed segments are
// deleted.
//
// A record on disk is a 16-byte header (payload length, CRC-32C of the
// sequence number and the payload, sequence number) and the payload. A
// torn tail, which was never acknowledged, fails its length or checksum
// and is cut off when the log is opened.
package intake

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Errors of Append. Both are worth a retry by the SDK: nothing of the
// refused upload is acknowledged.
var (
	// ErrBacklog is returned while the unloaded backlog is over its bound.
	ErrBacklog = errors.New("intake backlog over its bound")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("intake log closed")
)

const (
	headerSize = 16
	// maxPayload bounds a record: larger lengths in a header are torn or
	// corrupt data, not a record.
	maxPayload   = 64 << 20
	segExt       = ".seg"
	payloadVer   = 1
	flagEncrypt  = 1
	maxGroupSize = 8 << 20 // bytes written per write+fsync, at most
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Record is one accepted SDK upload.
type Record struct {
	// Seq numbers the record in the log (Append sets it).
	Seq        uint64
	App        string
	ReceivedAt time.Time
	Encrypted  bool
	EncryptKey string
	Body       []byte
	// Size is the record's bytes in the log, header included (reads set it).
	Size int64
}

// Options tune the log.
type Options struct {
	// SegmentBytes is the size past which a new segment file is started
	// (default 64 MiB).
	SegmentBytes int64
	// MaxBacklog bounds the bytes appended and not yet loaded: past it
	// Append refuses with ErrBacklog (default 512 MiB; negative: no bound).
	MaxBacklog int64
	// NextSeq is the least number the next record may take: the store's
	// loaded position + 1, so that a log deleted or lost beside its store
	// never numbers a new upload as one already loaded.
	NextSeq uint64

	// create opens a new segment file; tests replace it to inject faults.
	create func(path string) (file, error)
}

// file is what the log needs of a segment file it appends to.
type file interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Close() error
}

type segment struct {
	first uint64 // number of its first record (its name)
	path  string
	size  int64 // bytes of whole, durable records
}

// group is a span of records appended together, for the age of the
// oldest record not loaded.
type group struct {
	last     uint64
	received time.Time
}

type appendReq struct {
	payload []byte
	seq     uint64
	err     error
	done    chan struct{}
}

// Log is an open intake log. Append may be called from many goroutines;
// one goroutine writes, so that concurrent uploads share an fsync.
type Log struct {
	dir  string
	opt  Options
	reqs chan *appendReq
	quit chan struct{}
	done chan struct{}

	// Owned by the writing goroutine.
	f    file
	next uint64
	buf  []byte

	mu     sync.Mutex
	segs   []segment // by first; the last is the one appended to
	end    uint64    // last durable record number (0: none yet)
	total  int64     // durable bytes ever appended (and found at open)
	loaded int64     // bytes of the records loaded or skipped
	pos    uint64    // last loaded record number
	queued int64     // bytes handed to the writer, not yet durable or refused
	groups []group
	grew   chan struct{} // closed and replaced when end moves
	closed bool
	// Replay is what Open found: records and bytes in the log.
	found struct {
		records int64
		cut     int64 // torn bytes dropped
	}
}

// Open opens (or creates) the log in dir, cutting a torn tail off each
// segment, and starts its writer.
func Open(dir string, opt Options) (*Log, error) {
	if opt.SegmentBytes <= 0 {
		opt.SegmentBytes = 64 << 20
	}
	if opt.MaxBacklog == 0 {
		opt.MaxBacklog = 512 << 20
	}
	if opt.create == nil {
		// O_APPEND: after a failed write is cut back, the next one lands at
		// the new end, not past a hole.
		opt.create = func(path string) (file, error) {
			return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("intake log: %w", err)
	}
	l := &Log{dir: dir, opt: opt, reqs: make(chan *appendReq, 4096), quit: make(chan struct{}),
		done: make(chan struct{}), grew: make(chan struct{})}
	if err := l.scan(); err != nil {
		return nil, err
	}
	l.next = max(l.end+1, opt.NextSeq, 1)
	go l.run()
	return l, nil
}

// scan reads every segment once: it finds each one's durable end and last
// number, and cuts what follows the last whole record.
func (l *Log) scan() error {
	names, err := filepath.Glob(filepath.Join(l.dir, "*"+segExt))
	if err != nil {
		return fmt.Errorf("intake log: %w", err)
	}
	for _, p := range names {
		first, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(p), segExt), 10, 64)
		if err != nil {
			continue // not ours
		}
		l.segs = append(l.segs, segment{first: first, path: p})
	}
	slices.SortFunc(l.segs, func(a, b segment) int { return cmpU64(a.first, b.first) })
	segs := l.segs
	l.segs = l.segs[:0]
	for _, s := range segs {
		good, size, last, n, err := scanSegment(s.path, func(first uint64, received time.Time, last uint64) {
			l.groups = append(l.groups, group{last: last, received: received})
		})
		if err != nil {
			return err
		}
		if n == 0 {
			// Created just before a crash (or abandoned) with no whole
			// record: it holds nothing acknowledged, and its name would
			// be the next segment's.
			if err := os.Remove(s.path); err != nil {
				return fmt.Errorf("intake log: remove empty segment: %w", err)
			}
			l.found.cut += size
			continue
		}
		if good < size {
			if err := cutFile(s.path, good); err != nil {
				return err
			}
			l.found.cut += size - good
		}
		s.size = good
		l.segs = append(l.segs, s)
		l.total += good
		l.found.records += n
		if last > 0 {
			l.end = last
		}
	}
	return nil
}

// scanSegment reads the whole records of a segment: their bytes (good),
// the file's size, the last number and the count; span is told of runs
// of up to 4096 records, for the backlog's age.
func scanSegment(path string, span func(first uint64, received time.Time, last uint64)) (good, size int64, last uint64, n int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, 0, 0, fmt.Errorf("intake log: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, 0, 0, fmt.Errorf("intake log: %w", err)
	}
	size = st.Size()
	rd := newFrameReader(f)
	var runFirst uint64
	var runAt time.Time
	var runN int
	for {
		rec, err := rd.next(size - good)
		if err != nil {
			break // end of file, or the torn tail
		}
		if runN == 0 {
			runFirst, runAt = rec.Seq, rec.ReceivedAt
		}
		runN++
		if runN == 4096 {
			span(runFirst, runAt, rec.Seq)
			runN = 0
		}
		good += rec.Size
		last = rec.Seq
		n++
	}
	if runN > 0 {
		span(runFirst, runAt, last)
	}
	return good, size, last, n, nil
}

func cutFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("intake log: cut torn tail: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("intake log: cut torn tail of %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("intake log: cut torn tail of %s: %w", path, err)
	}
	return nil
}

// Found is what Open found in the log: records and the bytes of torn
// tails it cut.
func (l *Log) Found() (records, cut int64) { return l.found.records, l.found.cut }

// Full tells whether the unloaded backlog is over its bound, so that a
// caller can refuse an upload before it reads or checks the body.
func (l *Log) Full() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.opt.MaxBacklog > 0 && l.total+l.queued-l.loaded > l.opt.MaxBacklog
}

// Append writes rec durably and returns its number. It returns once the
// record is fsynced (with those of concurrent calls), or with an error,
// in which case the upload is not acknowledged (it may still be loaded
// later: the SDK's re-send is then skipped as a duplicate).
func (l *Log) Append(rec *Record) (uint64, error) {
	payload := Encode(rec)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return 0, ErrClosed
	}
	if l.opt.MaxBacklog > 0 && l.total+l.queued-l.loaded > l.opt.MaxBacklog {
		l.mu.Unlock()
		return 0, ErrBacklog
	}
	l.queued += int64(len(payload) + headerSize)
	l.mu.Unlock()
	r := &appendReq{payload: payload, done: make(chan struct{})}
	l.reqs <- r
	<-r.done
	rec.Seq = r.seq
	return r.seq, r.err
}

// Encode is a record's payload as the log stores it, without the frame
// header: version, flags, receive time (Unix ns), app and key (uvarint
// lengths), body. Exported so that the comparison with other stores of
// records (bench/intakelog) stores the same bytes.
func Encode(rec *Record) []byte {
	p := make([]byte, 0, 2+8+2*binary.MaxVarintLen64+len(rec.App)+len(rec.EncryptKey)+len(rec.Body))
	var flags byte
	if rec.Encrypted {
		flags |= flagEncrypt
	}
	p = append(p, payloadVer, flags)
	p = binary.BigEndian.AppendUint64(p, uint64(rec.ReceivedAt.UnixNano()))
	p = binary.AppendUvarint(p, uint64(len(rec.App)))
	p = append(p, rec.App...)
	p = binary.AppendUvarint(p, uint64(len(rec.EncryptKey)))
	p = append(p, rec.EncryptKey...)
	return append(p, rec.Body...)
}

// Decode is Encode's inverse for record seq; the body is a slice of p.
func Decode(seq uint64, p []byte) (Record, error) {
	bad := func(what string) (Record, error) {
		return Record{}, fmt.Errorf("intake record %d: %s", seq, what)
	}
	if len(p) < 10 || p[0] != payloadVer {
		return bad("unknown version")
	}
	rec := Record{Seq: seq, Encrypted: p[1]&flagEncrypt != 0,
		ReceivedAt: time.Unix(0, int64(binary.BigEndian.Uint64(p[2:10])))}
	p = p[10:]
	str := func() (string, bool) {
		n, k := binary.Uvarint(p)
		if k <= 0 || uint64(len(p)-k) < n {
			return "", false
		}
		s := string(p[k : k+int(n)])
		p = p[k+int(n):]
		return s, true
	}
	var ok bool
	if rec.App, ok = str(); !ok {
		return bad("bad app")
	}
	if rec.EncryptKey, ok = str(); !ok {
		return bad("bad key")
	}
	rec.Body = p
	return rec, nil
}

func (l *Log) run() {
	defer close(l.done)
	for {
		var first *appendReq
		select {
		case first = <-l.reqs:
		case <-l.quit:
			// Close waits for no Append in flight before quit.
			if l.f != nil {
				l.f.Close()
			}
			return
		}
		reqs := []*appendReq{first}
		n := len(first.payload)
	drain:
		for n < maxGroupSize {
			select {
			case r := <-l.reqs:
				reqs = append(reqs, r)
				n += len(r.payload)
			default:
				break drain
			}
		}
		l.write(reqs)
	}
}

// write appends one group with one write and one fsync. On a failed
// write the file is cut back to its last durable end; when that or the
// fsync fails, what the file holds past its end is unknown, so the next
// group goes to a new segment (and its numbers are not given again).
func (l *Log) write(reqs []*appendReq) {
	var queued int64
	for _, r := range reqs {
		queued += int64(len(r.payload) + headerSize)
	}
	err := l.ensureSegment()
	var written int64
	first := l.next
	if err == nil {
		l.buf = l.buf[:0]
		for i, r := range reqs {
			r.seq = first + uint64(i)
			l.buf = appendFrame(l.buf, r.seq, r.payload)
		}
		written = int64(len(l.buf))
		cur := l.current()
		var n int
		n, err = l.f.Write(l.buf)
		if err != nil {
			err = fmt.Errorf("intake log: write: %w", err)
			if n == 0 {
				// Nothing of it is in the file: the numbers are free again.
			} else if terr := l.f.Truncate(cur.size); terr != nil {
				l.next += uint64(len(reqs))
				l.abandon()
			}
		} else if serr := l.f.Sync(); serr != nil {
			err = fmt.Errorf("intake log: fsync: %w", serr)
			l.next += uint64(len(reqs))
			l.abandon()
		} else {
			l.next += uint64(len(reqs))
		}
	}
	l.mu.Lock()
	l.queued -= queued
	if err == nil {
		s := &l.segs[len(l.segs)-1]
		s.size += written
		l.total += written
		l.end = l.next - 1
		l.groups = append(l.groups, group{last: l.end, received: time.Now()})
		close(l.grew)
		l.grew = make(chan struct{})
	}
	l.mu.Unlock()
	for _, r := range reqs {
		if err != nil {
			r.seq, r.err = 0, err
		}
		close(r.done)
	}
}

// current is the segment appended to (writer goroutine only).
func (l *Log) current() segment {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.segs[len(l.segs)-1]
}

// abandon closes the segment appended to after a failure; the next write
// starts a new one. Its durable size stays what it was: readers stop there.
func (l *Log) abandon() {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// ensureSegment opens a new segment when there is none open or the open
// one is full. The directory is fsynced so that the new file survives a
// crash with the records acknowledged in it.
func (l *Log) ensureSegment() error {
	if l.f != nil && l.current().size < l.opt.SegmentBytes {
		return nil
	}
	path := filepath.Join(l.dir, fmt.Sprintf("%020d%s", l.next, segExt))
	f, err := l.opt.create(path)
	if err != nil {
		return fmt.Errorf("intake log: new segment: %w", err)
	}
	if err := syncDir(l.dir); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f = f
	l.mu.Lock()
	l.segs = append(l.segs, segment{first: l.next, path: path})
	l.mu.Unlock()
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("intake log: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("intake log: fsync %s: %w", dir, err)
	}
	return nil
}

func appendFrame(b []byte, seq uint64, payload []byte) []byte {
	var h [headerSize]byte
	binary.BigEndian.PutUint32(h[0:4], uint32(len(payload)))
	binary.BigEndian.PutUint64(h[8:16], seq)
	crc := crc32.Update(crc32.Checksum(h[8:16], castagnoli), castagnoli, payload)
	binary.BigEndian.PutUint32(h[4:8], crc)
	b = append(b, h[:]...)
	return append(b, payload...)
}

// End is the number of the last durable record (0 if none).
func (l *Log) End() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.end
}

// Backlog is what is durable and not loaded: bytes, records, and when the
// oldest of them was received (zero when none).
type Backlog struct {
	Bytes   int64
	Records int64
	Oldest  time.Time
}

// Backlog reports the records durable and not yet loaded.
func (l *Log) Backlog() Backlog {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := Backlog{Bytes: l.total - l.loaded}
	if l.end > l.pos {
		b.Records = int64(l.end - l.pos)
	}
	if len(l.groups) > 0 && b.Records > 0 {
		b.Oldest = l.groups[0].received
	}
	return b
}

// Loaded tells the log that the records up to seq are in the store (a
// total of bytes more than told before): segments holding only such
// records are deleted.
func (l *Log) Loaded(seq uint64, bytes int64) error {
	l.mu.Lock()
	l.loaded += bytes
	if seq > l.pos {
		l.pos = seq
	}
	i := 0
	for i < len(l.groups) && l.groups[i].last <= l.pos {
		i++
	}
	l.groups = slices.Delete(l.groups, 0, i)
	// A segment goes when the next one starts at or before pos+1.
	var gone []string
	for len(l.segs) > 1 && l.segs[1].first <= l.pos+1 {
		gone = append(gone, l.segs[0].path)
		l.segs = l.segs[1:]
	}
	l.mu.Unlock()
	var errs []error
	for _, p := range gone {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("intake log: delete consumed segment: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Close stops the writer once the appends in flight are written.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	// Appends that passed the closed check before it was set are queued
	// or about to be; the writer takes every queued one before quitting.
	for {
		l.mu.Lock()
		q := l.queued
		l.mu.Unlock()
		if q == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(l.quit)
	<-l.done
	return nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
