package duckdb

import (
	"database/sql/driver"
	"fmt"
	"hash/maphash"
)

// keyFilter tells which orders may already be stored. On
// DuckDB, INSERT ... ON CONFLICT DO UPDATE runs as a MERGE several times
// slower than a plain INSERT; most add_order items create an order, and
// those the filter proves new take the plain path. A false "maybe stored"
// only costs the slow path; a false "new" cannot happen while every order
// is written through AddOrders, and if one was written another way the
// plain insert fails on the primary key, the filter is rebuilt from the
// table and the transaction tried again.
//
// The filter is a scalable Bloom filter: layers of growing size, each
// added when the previous one holds its capacity (1 % false positives
// each). It belongs to the Store (one process owns the file), is loaded
// from the table on the first write, and is only used with the store's
// write lock held. The shared store needs none: PostgreSQL's upsert costs
// about what a plain insert does.
type keyFilter struct {
	seed   maphash.Seed
	layers []*bloom
}

// filterOf returns the store's filter, loading it from the table the first
// time. It runs inside a write transaction.
func (s *Store) filterOf(tx *rawTx) (*keyFilter, error) {
	if s.keys != nil {
		return s.keys, nil
	}
	var n int64
	if err := tx.query(`SELECT count(*) FROM orders`, func(v []driver.Value) error {
		n = toInt64(v[0])
		return nil
	}); err != nil {
		return nil, fmt.Errorf("count orders: %w", err)
	}
	f := &keyFilter{seed: maphash.MakeSeed()}
	f.layers = []*bloom{newBloom(max(1<<16, 2*int(n)))}
	if err := tx.query(`SELECT app_id, external_order_id FROM orders`, func(v []driver.Value) error {
		app, _ := v[0].(string)
		id, _ := v[1].(string)
		f.add(app, id)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("load order keys: %w", err)
	}
	s.keys = f
	return f, nil
}

func (f *keyFilter) hash(app, id string) uint64 {
	var h maphash.Hash
	h.SetSeed(f.seed)
	h.WriteString(app)
	h.WriteByte(0)
	h.WriteString(id)
	return h.Sum64()
}

// mayHave is false only for orders certainly not stored.
func (f *keyFilter) mayHave(app, id string) bool {
	h := f.hash(app, id)
	for _, l := range f.layers {
		if l.has(h) {
			return true
		}
	}
	return false
}

func (f *keyFilter) add(app, id string) {
	last := f.layers[len(f.layers)-1]
	if last.n >= last.capacity {
		last = newBloom(2 * last.capacity)
		f.layers = append(f.layers, last)
	}
	last.add(f.hash(app, id))
}

// bloom is one layer: 10 bits and 7 probes per key of capacity.
type bloom struct {
	bits     []uint64
	m        uint64
	n        int
	capacity int
}

const bloomProbes = 7

func newBloom(capacity int) *bloom {
	m := uint64(capacity) * 10
	return &bloom{bits: make([]uint64, (m+63)/64), m: m, capacity: capacity}
}

// probes derives the positions from the two halves of one hash (Kirsch
// and Mitzenmacher's double hashing).
func (b *bloom) probe(h uint64, i uint64) uint64 {
	return (h + i*((h>>32)|1)) % b.m
}

func (b *bloom) add(h uint64) {
	for i := range uint64(bloomProbes) {
		p := b.probe(h, i)
		b.bits[p/64] |= 1 << (p % 64)
	}
	b.n++
}

func (b *bloom) has(h uint64) bool {
	for i := range uint64(bloomProbes) {
		p := b.probe(h, i)
		if b.bits[p/64]&(1<<(p%64)) == 0 {
			return false
		}
	}
	return true
}
