package intake

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

func rec(i int) *Record {
	return &Record{App: "app", ReceivedAt: time.Unix(1700000000, int64(i)), Encrypted: i%3 == 0,
		EncryptKey: fmt.Sprint("k", i%7), Body: []byte(fmt.Sprintf(`[{"type":"browse","i":%d}]`, i))}
}

// readAll reads every durable record from seq from on.
func readAll(t *testing.T, l *Log, from uint64) []Record {
	t.Helper()
	rd := l.Reader(from)
	defer rd.Close()
	var out []Record
	for {
		r, err := rd.Next()
		if errors.Is(err, ErrCaughtUp) {
			return out
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		out = append(out, r)
	}
}

func mustOpen(t *testing.T, dir string, opt Options) *Log {
	t.Helper()
	l, err := Open(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func sameRecord(t *testing.T, got Record, want *Record) {
	t.Helper()
	if got.App != want.App || !got.ReceivedAt.Equal(want.ReceivedAt) || got.Encrypted != want.Encrypted ||
		got.EncryptKey != want.EncryptKey || !bytes.Equal(got.Body, want.Body) || got.Seq != want.Seq {
		t.Fatalf("record %d: got %+v, want %+v", want.Seq, got, *want)
	}
}

func TestAppendConcurrentReadBackAndReopen(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentBytes: 4 << 10})
	const n = 2000
	recs := make([]*Record, n)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				recs[i] = rec(i)
				if _, err := l.Append(recs[i]); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	bySeq := map[uint64]*Record{}
	for _, r := range recs {
		bySeq[r.Seq] = r
	}
	if len(bySeq) != n || l.End() != n {
		t.Fatalf("%d distinct numbers, end %d; want %d", len(bySeq), l.End(), n)
	}
	check := func(l *Log, from uint64) {
		got := readAll(t, l, from)
		if len(got) != n-int(from)+1 {
			t.Fatalf("read %d records from %d; want %d", len(got), from, n-int(from)+1)
		}
		for i, g := range got {
			if g.Seq != from+uint64(i) {
				t.Fatalf("record %d has number %d", i, g.Seq)
			}
			sameRecord(t, g, bySeq[g.Seq])
		}
	}
	check(l, 1)
	check(l, 1234)
	if segs, _ := filepath.Glob(filepath.Join(dir, "*.seg")); len(segs) < 10 {
		t.Fatalf("%d segments of 4 KiB for %d records; want many", len(segs), n)
	}
	l.Close()

	l2 := mustOpen(t, dir, Options{SegmentBytes: 4 << 10})
	if recs, cut := l2.Found(); recs != n || cut != 0 {
		t.Fatalf("reopen found %d records, cut %d bytes", recs, cut)
	}
	check(l2, 1)
	r := rec(n)
	if seq, err := l2.Append(r); err != nil || seq != n+1 {
		t.Fatalf("append after reopen: %d, %v", seq, err)
	}
}

// Every prefix of a record cut off (a crash inside a write) and garbage
// after the last record are dropped at open; the whole records stay and
// numbering goes on after them.
func TestTornTailDropped(t *testing.T) {
	base := t.TempDir()
	l := mustOpen(t, base, Options{})
	for i := 1; i <= 3; i++ {
		if _, err := l.Append(rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	segs, _ := filepath.Glob(filepath.Join(base, "*.seg"))
	whole, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	lastSize := int64(headerSize + len(Encode(rec(3))))
	twoSize := int64(len(whole)) - lastSize
	cases := map[string][]byte{
		"header cut":       whole[:twoSize+5],
		"payload cut":      whole[:int64(len(whole))-3],
		"only the header":  whole[:twoSize+headerSize],
		"checksum wrong":   append(append([]byte{}, whole[:len(whole)-1]...), whole[len(whole)-1]^0xff),
		"garbage appended": append(append([]byte{}, whole[:twoSize]...), bytes.Repeat([]byte{0xff}, 40)...),
		"zeros appended":   append(append([]byte{}, whole[:twoSize]...), make([]byte, 4096)...),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(segs[0])), data, 0o600); err != nil {
				t.Fatal(err)
			}
			l := mustOpen(t, dir, Options{})
			if n, cut := l.Found(); n != 2 || cut != int64(len(data))-twoSize {
				t.Fatalf("found %d records, cut %d bytes; want 2 and %d", n, cut, int64(len(data))-twoSize)
			}
			if seq, err := l.Append(rec(9)); err != nil || seq != 3 {
				t.Fatalf("append after the cut: %d, %v", seq, err)
			}
			got := readAll(t, l, 1)
			if len(got) != 3 || got[2].Seq != 3 || !bytes.Equal(got[2].Body, rec(9).Body) {
				t.Fatalf("after the cut read %d records: %+v", len(got), got)
			}
		})
	}
}

// faultFile fails its writes or fsyncs while told to.
type faultFile struct {
	*os.File
	faults *faults
}

type faults struct {
	mu        sync.Mutex
	writeFull bool // a write puts half its bytes, then ENOSPC
	syncFail  bool
	noCreate  bool
}

func (f *faultFile) Write(p []byte) (int, error) {
	f.faults.mu.Lock()
	full := f.faults.writeFull
	f.faults.mu.Unlock()
	if full {
		n, _ := f.File.Write(p[:len(p)/2])
		return n, syscall.ENOSPC
	}
	return f.File.Write(p)
}

func (f *faultFile) Sync() error {
	f.faults.mu.Lock()
	fail := f.faults.syncFail
	f.faults.mu.Unlock()
	if fail {
		return syscall.EIO
	}
	return f.File.Sync()
}

func (fs *faults) set(fn func(*faults)) {
	fs.mu.Lock()
	fn(fs)
	fs.mu.Unlock()
}

func faultyOptions(fs *faults) Options {
	return Options{create: func(path string) (file, error) {
		fs.mu.Lock()
		no := fs.noCreate
		fs.mu.Unlock()
		if no {
			return nil, syscall.ENOSPC
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		return &faultFile{File: f, faults: fs}, nil
	}}
}

// A full disk refuses the upload (retryable), leaves no partial record
// and the log goes on when space is back; what was acknowledged is there
// after a reopen.
func TestFullDiskRefusesAndRecovers(t *testing.T) {
	dir := t.TempDir()
	fs := &faults{}
	l := mustOpen(t, dir, faultyOptions(fs))
	acked := map[uint64][]byte{}
	appendOK := func(i int) {
		r := rec(i)
		seq, err := l.Append(r)
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		acked[seq] = r.Body
	}
	appendOK(1)
	fs.set(func(f *faults) { f.writeFull = true })
	if _, err := l.Append(rec(2)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("append on a full disk: %v; want ENOSPC", err)
	}
	fs.set(func(f *faults) { f.writeFull = false; f.noCreate = true })
	appendOK(3) // the open segment was cut back: no new file needed
	fs.set(func(f *faults) { f.noCreate = false })
	appendOK(4)
	l.Close()

	l2 := mustOpen(t, dir, Options{})
	got := readAll(t, l2, 1)
	if n, cut := l2.Found(); n != 3 || cut != 0 {
		t.Fatalf("reopen found %d records, cut %d bytes; want 3, 0", n, cut)
	}
	for _, g := range got {
		if !bytes.Equal(acked[g.Seq], g.Body) {
			t.Fatalf("record %d: %q; acknowledged %q", g.Seq, g.Body, acked[g.Seq])
		}
	}
}

// A failed fsync refuses the group; its bytes may or may not be on disk,
// so the log leaves that segment and numbers on in a new one. Every
// acknowledged record reads back, each number once.
func TestFsyncFailureMovesToNewSegment(t *testing.T) {
	dir := t.TempDir()
	fs := &faults{}
	l := mustOpen(t, dir, faultyOptions(fs))
	acked := map[uint64][]byte{}
	for i := 1; i <= 5; i++ {
		if i == 3 {
			fs.set(func(f *faults) { f.syncFail = true })
			if _, err := l.Append(rec(i)); !errors.Is(err, syscall.EIO) {
				t.Fatalf("append with a failing fsync: %v; want EIO", err)
			}
			fs.set(func(f *faults) { f.syncFail = false })
			continue
		}
		r := rec(i)
		seq, err := l.Append(r)
		if err != nil {
			t.Fatal(err)
		}
		acked[seq] = r.Body
	}
	if segs, _ := filepath.Glob(filepath.Join(dir, "*.seg")); len(segs) != 2 {
		t.Fatalf("%d segments after a failed fsync; want 2", len(segs))
	}
	check := func(l *Log) {
		got := readAll(t, l, 1)
		seen := map[uint64]bool{}
		for _, g := range got {
			if seen[g.Seq] {
				t.Fatalf("number %d read twice", g.Seq)
			}
			seen[g.Seq] = true
		}
		for seq, body := range acked {
			if !seen[seq] {
				t.Fatalf("acknowledged record %d not read back", seq)
			}
			for _, g := range got {
				if g.Seq == seq && !bytes.Equal(g.Body, body) {
					t.Fatalf("record %d changed", seq)
				}
			}
		}
	}
	check(l)
	l.Close()
	check(mustOpen(t, dir, Options{}))
}

func TestBacklogBoundAndConsumedSegmentsDeleted(t *testing.T) {
	dir := t.TempDir()
	size := int64(headerSize + len(Encode(rec(1))))
	l := mustOpen(t, dir, Options{SegmentBytes: 3 * size, MaxBacklog: 10 * size})
	var last uint64
	for i := 1; ; i++ {
		seq, err := l.Append(rec(1))
		if errors.Is(err, ErrBacklog) {
			break
		}
		if err != nil || i > 100 {
			t.Fatalf("append %d: %v", i, err)
		}
		last = seq
	}
	b := l.Backlog()
	if last != 11 || b.Records != 11 || b.Bytes != 11*size || b.Oldest.IsZero() {
		t.Fatalf("refused after %d records; backlog %+v", last, b)
	}
	if err := l.Loaded(7, 7*size); err != nil {
		t.Fatal(err)
	}
	// Segments of 3 records: 1-3 and 4-6 are loaded whole.
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) != 2 {
		t.Fatalf("segments after loading 7 of 11: %v", segs)
	}
	if _, err := l.Append(rec(1)); err != nil {
		t.Fatalf("append once loaded: %v", err)
	}
	got := readAll(t, l, 8)
	if len(got) != 5 || got[0].Seq != 8 {
		t.Fatalf("read %d records from 8", len(got))
	}
}

// A segment created just before a crash, with nothing written to it, does
// not stop the next start from creating the segment of the same name.
func TestEmptySegmentLeftByACrash(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{})
	if _, err := l.Append(rec(1)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	for _, name := range []string{"00000000000000000002.seg", "00000000000000000003.seg"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("torn"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l = mustOpen(t, dir, Options{})
	if seq, err := l.Append(rec(2)); err != nil || seq != 2 {
		t.Fatalf("append after the crash: %d, %v", seq, err)
	}
	if got := readAll(t, l, 1); len(got) != 2 {
		t.Fatalf("read %d records; want 2", len(got))
	}
}

// A new log beside a store that loaded up to N numbers from N+1.
func TestNextSeqOfANewLog(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{NextSeq: 501})
	if seq, err := l.Append(rec(1)); err != nil || seq != 501 {
		t.Fatalf("first number %d, %v; want 501", seq, err)
	}
	if got := readAll(t, l, 1); len(got) != 1 || got[0].Seq != 501 {
		t.Fatalf("read %+v", got)
	}
}
