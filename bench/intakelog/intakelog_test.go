package intakelog

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/demo"
	"github.com/shuyuan-dev/shuyuan/internal/intake"
)

const (
	// corpusSize is how many distinct uploads are generated; appends
	// cycle through them.
	corpusSize = 10_000
	// readBackRecords is what BenchmarkReadBack writes, then reads.
	readBackRecords = 20_000
	// consumeEvery is how many records the consumer of
	// BenchmarkAppendWhileConsuming reads between two Consumed calls.
	consumeEvery = 1000
	// sampleEvery is the period of the heap, RSS and disk sampler.
	sampleEvery = 10 * time.Millisecond
)

// corpus is the uploads appended: 10-event demo SDK bodies, generated as
// `shuyuan bench ingest` and the collector's BenchmarkLoader generate
// them, wrapped as the collector wraps them for the intake log.
var corpus = sync.OnceValue(func() []intake.Record {
	gen := demo.New(demo.Options{Seed: 1, Users: 200_000, Days: 30, BatchEvents: 10})
	recs := make([]intake.Record, 0, corpusSize)
	for len(recs) < corpusSize {
		up, ok := gen.Next()
		if !ok {
			break
		}
		recs = append(recs, intake.Record{App: demo.AppID, ReceivedAt: up.Time, Body: up.Body})
	}
	return recs
})

// BenchmarkAppend is b.N appends spread over C clients, each appending
// one upload at a time and waiting for it to be durable, as the
// collector's handlers do. Each round starts from an empty directory.
func BenchmarkAppend(b *testing.B) {
	recs := corpus()
	logTempDir(b)
	for _, kind := range appendKinds {
		b.Run("log="+kind.name, func(b *testing.B) {
			for _, clients := range []int{1, 16, 64} {
				b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
					lg := mustOpen(b, kind, b.TempDir())
					defer lg.Close()
					s := startSampler("")
					b.ResetTimer()
					lat, bytes := appendN(b, lg, recs, clients, b.N)
					b.StopTimer()
					s.stop()
					b.SetBytes(bytes / int64(b.N))
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
					reportLatency(b, lat)
					s.report(b)
				})
			}
		})
	}
}

// BenchmarkReadBack writes readBackRecords uploads (not timed), then
// times reading all of them in order, decoded and copied out as the
// loader gets them. One op is one full read. The files were just written,
// so the reads come from the page cache.
func BenchmarkReadBack(b *testing.B) {
	recs := corpus()
	logTempDir(b)
	for _, kind := range appendKinds {
		b.Run("log="+kind.name, func(b *testing.B) {
			lg := mustOpen(b, kind, b.TempDir())
			defer lg.Close()
			_, bytes := appendN(b, lg, recs, 64, readBackRecords)
			s := startSampler("")
			for b.Loop() {
				c := lg.Cursor()
				n := 0
				for {
					_, err := c.Next()
					if errors.Is(err, intake.ErrCaughtUp) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				c.Close()
				if n != readBackRecords {
					b.Fatalf("read %d records of %d", n, readBackRecords)
				}
			}
			s.stop()
			b.SetBytes(bytes)
			b.ReportMetric(float64(readBackRecords*b.N)/b.Elapsed().Seconds(), "records/s")
			s.report(b)
		})
	}
}

// BenchmarkAppendWhileConsuming is 16 clients appending b.N uploads while
// one consumer reads them in order and marks them consumed every
// consumeEvery records (intake: Loaded, which deletes whole segments;
// pebble: DeleteRange of the consumed prefix, and in pebble+compact also
// a manual compaction of it every 10 calls). The timer covers the appends
// only; peak-disk-MB (the directory, sampled) shows whether space is
// reclaimed as the consumer goes, end-disk-MB what is left once it is done.
func BenchmarkAppendWhileConsuming(b *testing.B) {
	recs := corpus()
	logTempDir(b)
	kinds := append(slices.Clip(appendKinds), logKind{"pebble+compact",
		func(dir string) (durableLog, error) { return openPebble(dir, 10) }})
	for _, kind := range kinds {
		b.Run("log="+kind.name, func(b *testing.B) {
			dir := b.TempDir()
			lg := mustOpen(b, kind, dir)
			defer lg.Close()
			s := startSampler(dir)
			appended := make(chan struct{})
			consumed := make(chan int)
			go func() { consumed <- consume(b, lg, b.N, appended) }()
			b.ResetTimer()
			_, bytes := appendN(b, lg, recs, 16, b.N)
			b.StopTimer()
			close(appended)
			if n := <-consumed; n != b.N {
				b.Errorf("consumed %d records of %d", n, b.N)
			}
			s.sample()
			end := s.lastDisk
			s.stop()
			b.SetBytes(bytes / int64(b.N))
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
			b.ReportMetric(float64(end)/1e6, "end-disk-MB")
			s.report(b)
		})
	}
}

// consume reads records in order until it has n of them, or until the
// appends are over (appended closed) and nothing more is readable; it
// marks them consumed every consumeEvery records and at the end.
func consume(b *testing.B, lg durableLog, n int, appended <-chan struct{}) int {
	c := lg.Cursor()
	defer c.Close()
	var done int
	var last uint64
	var bytes int64
	over := false
	for done < n {
		grew := lg.Grew()
		rec, err := c.Next()
		if errors.Is(err, intake.ErrCaughtUp) {
			if over {
				break
			}
			select {
			case <-grew:
			case <-appended:
				over = true // one more read: appends may have landed since
			}
			continue
		}
		if err != nil {
			b.Error(err)
			return done
		}
		done++
		last, bytes = rec.Seq, bytes+rec.Size
		if done%consumeEvery == 0 || done == n {
			if err := lg.Consumed(last, bytes); err != nil {
				b.Error(err)
			}
			bytes = 0
		}
	}
	return done
}

// appendN appends n records (cycling through recs) from clients
// goroutines, each waiting for its append to be durable before the next.
// It returns every append's latency and the body bytes appended.
func appendN(b *testing.B, lg durableLog, recs []intake.Record, clients, n int) ([]time.Duration, int64) {
	var next atomic.Int64
	var total atomic.Int64
	lats := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			lat := make([]time.Duration, 0, n/clients+1)
			var bytes int64
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					break
				}
				rec := recs[i%int64(len(recs))] // a copy: Append sets Seq
				t0 := time.Now()
				if _, err := lg.Append(&rec); err != nil {
					b.Error(err)
					break
				}
				lat = append(lat, time.Since(t0))
				bytes += int64(len(rec.Body))
			}
			lats[c] = lat
			total.Add(bytes)
		})
	}
	wg.Wait()
	return slices.Concat(lats...), total.Load()
}

func mustOpen(b *testing.B, kind logKind, dir string) durableLog {
	b.Helper()
	lg, err := kind.open(dir)
	if err != nil {
		b.Fatal(err)
	}
	return lg
}

// reportLatency reports the median and 99th percentile append latency.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

// --- memory and disk ---------------------------------------------------------

// sampler tracks peaks while a benchmark runs: the Go heap in use (runtime
// metrics, no stop-the-world), the process's resident set (Linux) and the
// size of a directory's files. Pebble allocates its memtables and block
// cache outside the Go heap (cgo), so only the RSS compares the two logs;
// the heap is reported too. The RSS peak is VmHWM after resetting it at
// the start (/proc/self/clear_refs), so it is per sub-benchmark; where the
// reset is not allowed it is the peak of the sampled VmRSS.
type sampler struct {
	dir      string
	hwmReset bool
	quit     chan struct{}
	done     chan struct{}

	mu                        sync.Mutex
	heap, rss, disk, lastDisk int64
	heapSamples               []metrics.Sample
}

// startSampler collects garbage and returns freed memory to the OS first,
// so that what earlier rounds left does not count.
func startSampler(dir string) *sampler {
	runtime.GC()
	debug.FreeOSMemory()
	s := &sampler{dir: dir, quit: make(chan struct{}), done: make(chan struct{}),
		heapSamples: []metrics.Sample{
			{Name: "/memory/classes/heap/objects:bytes"},
			{Name: "/memory/classes/heap/unused:bytes"},
		}}
	s.hwmReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	s.sample()
	go func() {
		defer close(s.done)
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				s.sample()
			case <-s.quit:
				return
			}
		}
	}()
	return s
}

func (s *sampler) sample() {
	s.mu.Lock()
	defer s.mu.Unlock()
	metrics.Read(s.heapSamples)
	s.heap = max(s.heap, int64(s.heapSamples[0].Value.Uint64()+s.heapSamples[1].Value.Uint64()))
	s.rss = max(s.rss, procStatus("VmRSS"))
	if s.dir != "" {
		s.lastDisk = dirBytes(s.dir)
		s.disk = max(s.disk, s.lastDisk)
	}
}

func (s *sampler) stop() {
	s.sample()
	close(s.quit)
	<-s.done
	if s.hwmReset {
		s.mu.Lock()
		s.rss = max(s.rss, procStatus("VmHWM"))
		s.mu.Unlock()
	}
}

func (s *sampler) report(b *testing.B) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b.ReportMetric(float64(s.heap)/1e6, "peak-heap-MB")
	if s.rss > 0 {
		b.ReportMetric(float64(s.rss)/1e6, "peak-rss-MB")
	}
	if s.dir != "" {
		b.ReportMetric(float64(s.disk)/1e6, "peak-disk-MB")
	}
}

// procStatus is a "kB" field of /proc/self/status in bytes (0 if absent).
func procStatus(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), field+":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		return kb << 10
	}
	return 0
}

// dirBytes is the total size of the files under dir (files deleted while
// still open are not counted).
func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a file deleted under the walk
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// logTempDir logs (with -v) where the logs are written, and warns on
// stderr, -v or not, when that is a tmpfs: fsync costs nothing there and
// the figures would mean little.
func logTempDir(b *testing.B) {
	dir := os.TempDir()
	fsType := mountType(dir)
	b.Logf("logs written under %s (%s); set TMPDIR to change", dir, fsType)
	if fsType == "tmpfs" || fsType == "ramfs" {
		warnOnce.Do(func() {
			fmt.Fprintf(os.Stderr, "WARNING: %s is a %s, where fsync is free; set TMPDIR to a directory on a disk\n", dir, fsType)
		})
	}
}

var warnOnce sync.Once

// mountType is the file system type of the mount holding path, from
// /proc/self/mounts ("unknown" elsewhere).
func mountType(path string) string {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return "unknown"
	}
	best, typ := -1, "unknown"
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		mnt := f[1]
		under := path == mnt || strings.HasPrefix(path, strings.TrimSuffix(mnt, "/")+"/")
		if under && len(mnt) > best {
			best, typ = len(mnt), f[2]
		}
	}
	return typ
}
