package intakelog

import (
	"context"
	"encoding/binary"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/shuyuan-dev/shuyuan/internal/intake"
)

// durableLog is what the benchmarks need of a log of uploads, so that
// the same driver code runs against both implementations.
type durableLog interface {
	// Append writes rec and returns once it is durable; concurrent calls
	// share an fsync (group commit).
	Append(rec *intake.Record) (uint64, error)
	// Cursor reads the durable records in order from the first one on.
	Cursor() cursor
	// Consumed says that the records up to seq (bytes in all since the
	// last call) are done with, so that their space may be reclaimed.
	Consumed(seq uint64, bytes int64) error
	// Grew returns a channel that becomes ready once more records are
	// durable; get it before the Next that finds nothing.
	Grew() <-chan struct{}
	Close() error
}

// cursor reads records in order; Next returns intake.ErrCaughtUp when no
// further record is readable yet. *intake.Reader is one.
type cursor interface {
	Next() (intake.Record, error)
	Close()
}

// logKind names an implementation and opens it in a directory.
type logKind struct {
	name string
	open func(dir string) (durableLog, error)
}

// appendKinds are the logs compared: intake with no backlog bound (the
// benchmarks never load, so ErrBacklog would only stop them) and Pebble.
var appendKinds = []logKind{
	{"intake", openIntake},
	{"pebble", func(dir string) (durableLog, error) { return openPebble(dir, 0) }},
}

// --- intake ----------------------------------------------------------------

// intakeLog adapts *intake.Log: Append, Grew and Close are its own.
type intakeLog struct{ *intake.Log }

func openIntake(dir string) (durableLog, error) {
	l, err := intake.Open(dir, intake.Options{MaxBacklog: -1})
	if err != nil {
		return nil, err
	}
	return intakeLog{l}, nil
}

func (l intakeLog) Cursor() cursor                         { return l.Reader(1) }
func (l intakeLog) Consumed(seq uint64, bytes int64) error { return l.Loaded(seq, bytes) }

// --- pebble ----------------------------------------------------------------

// pebbleLog is Pebble used as an intake log: key = big-endian sequence
// number, value = the record as intake.Encode lays out its payload, so
// both logs store the same bytes per upload.
type pebbleLog struct {
	db   *pebble.DB
	last atomic.Uint64 // number of the last Append started
	grew chan struct{} // buffered 1: a token once something was appended

	// Owned by the consuming goroutine.
	deleted      uint64 // records up to this one are range-deleted
	calls        int    // Consumed calls, for compactEvery
	compactEvery int    // compact the consumed range every n calls (0: never)
}

// pebbleOptions are Pebble's defaults but for: a 64 MiB memtable (the
// default 4 MiB holds only ~400 uploads and would flush all the time), the
// newest on-disk format (what a new store would be created with) and a
// logger that drops its info lines. The WAL stays on and every Append is
// a pebble.Sync write.
func pebbleOptions() *pebble.Options {
	return &pebble.Options{
		MemTableSize:       64 << 20,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             quietLogger{},
	}
}

func openPebble(dir string, compactEvery int) (durableLog, error) {
	db, err := pebble.Open(dir, pebbleOptions())
	if err != nil {
		return nil, err
	}
	return &pebbleLog{db: db, grew: make(chan struct{}, 1), compactEvery: compactEvery}, nil
}

// Append is one synced Set: Pebble's commit pipeline group-commits the
// WAL writes and fsyncs of concurrent callers.
func (p *pebbleLog) Append(rec *intake.Record) (uint64, error) {
	seq := p.last.Add(1)
	if err := p.db.Set(seqKey(seq), intake.Encode(rec), pebble.Sync); err != nil {
		return 0, err
	}
	rec.Seq = seq
	select {
	case p.grew <- struct{}{}:
	default:
	}
	return seq, nil
}

func (p *pebbleLog) Grew() <-chan struct{} { return p.grew }

func (p *pebbleLog) Cursor() cursor { return &pebbleCursor{db: p.db, from: 1} }

// Consumed range-deletes the records consumed since the last call. The
// delete is not synced: like intake's segment removal it needs no fsync
// (the real loader records its position in the store).
func (p *pebbleLog) Consumed(seq uint64, _ int64) error {
	if seq <= p.deleted {
		return nil
	}
	if err := p.db.DeleteRange(seqKey(p.deleted+1), seqKey(seq+1), pebble.NoSync); err != nil {
		return err
	}
	p.deleted = seq
	p.calls++
	if p.compactEvery > 0 && p.calls%p.compactEvery == 0 {
		return p.db.Compact(context.Background(), seqKey(0), seqKey(seq+1), false)
	}
	return nil
}

func (p *pebbleLog) Close() error { return p.db.Close() }

// pebbleCursor reads records in number order with an iterator. An
// iterator sees the database as it was when created, so at its end it is
// closed and the next Next opens a new one from where it stopped.
type pebbleCursor struct {
	db   *pebble.DB
	from uint64 // next number wanted
	it   *pebble.Iterator
}

func (c *pebbleCursor) Next() (intake.Record, error) {
	if c.it == nil {
		it, err := c.db.NewIter(&pebble.IterOptions{LowerBound: seqKey(c.from)})
		if err != nil {
			return intake.Record{}, err
		}
		c.it = it
		it.First()
	} else {
		c.it.Next()
	}
	if !c.it.Valid() {
		err := c.it.Close()
		c.it = nil
		if err != nil {
			return intake.Record{}, err
		}
		return intake.Record{}, intake.ErrCaughtUp
	}
	// Numbers are taken before the commit, so a later one can be visible
	// before an earlier one is: stop at a gap, as intake's reader stops
	// at its last durable record, rather than skip a record.
	seq := binary.BigEndian.Uint64(c.it.Key())
	if seq != c.from {
		c.Close()
		return intake.Record{}, intake.ErrCaughtUp
	}
	v, err := c.it.ValueAndErr()
	if err != nil {
		return intake.Record{}, err
	}
	rec, err := intake.Decode(seq, v)
	if err != nil {
		return intake.Record{}, err
	}
	// As intake's reader does: the iterator's value is only valid until
	// it moves.
	rec.Body = append([]byte(nil), rec.Body...)
	rec.Size = int64(len(c.it.Key()) + len(v))
	c.from++
	return rec, nil
}

func (c *pebbleCursor) Close() {
	if c.it != nil {
		c.it.Close()
		c.it = nil
	}
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq) }

// quietLogger drops Pebble's info lines (flushes, compactions) so that
// they do not interleave with the benchmark output; errors still show.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	pebble.DefaultLogger.Errorf(format, args...)
}
func (quietLogger) Fatalf(format string, args ...any) {
	pebble.DefaultLogger.Fatalf(format, args...)
}
