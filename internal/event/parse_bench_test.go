package event_test

import (
	"encoding/json"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/event"
)

// BenchmarkParse parses the real captures, one parser per upload.
func BenchmarkParse(b *testing.B) {
	reqs := loadCaptures(&testing.T{})["captured-2.1.1.jsonl"]
	var uploads [][]json.RawMessage
	n := 0
	for _, c := range reqs {
		var r []json.RawMessage
		json.Unmarshal([]byte(c.Body), &r)
		uploads = append(uploads, r)
		n += len(r)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, up := range uploads {
			var p event.Parser // one per upload, as the collector does
			for _, r := range up {
				if _, err := p.Parse(r); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1000, "µs/event")
}
