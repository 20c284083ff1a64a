package loadtest

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"time"
)

// Print writes a result in a few human lines.
func Print(w io.Writer, name string, r *Result) {
	fmt.Fprintf(w, "%s  %s  clients %d  %v\n", name, r.Target, r.Clients, r.Elapsed.Round(10*time.Millisecond))
	per := 0.0
	kb := 0.0
	if r.Uploads > 0 {
		per = float64(r.Events) / float64(r.Uploads)
		kb = float64(r.Bytes) / float64(r.Uploads) / 1024
	}
	fmt.Fprintf(w, "  acknowledged  %d events in %d uploads (%.1f events, %.1f KiB each)\n", r.Events, r.Uploads, per, kb)
	fmt.Fprintf(w, "  rate          %.0f events/s, %.0f uploads/s\n", r.EventsPerSecond(), float64(r.Uploads)/r.Elapsed.Seconds())
	if r.Offered > 0 {
		fmt.Fprintf(w, "  offered       %.0f events/s (acknowledged %.2f of it)\n", r.Offered, r.EventsPerSecond()/r.Offered)
	}
	fmt.Fprintf(w, "  latency       p50 %s  p99 %s  max %s\n", ms(r.P50), ms(r.P99), ms(r.Max))
	if r.Refused > 0 || r.Errors > 0 {
		fmt.Fprintf(w, "  not acknowledged  %d refused", r.Refused)
		for _, c := range slices.Sorted(maps.Keys(r.Codes)) {
			fmt.Fprintf(w, " (code %d: %d)", c, r.Codes[c])
		}
		fmt.Fprintf(w, ", %d errors", r.Errors)
		if r.FirstError != "" {
			fmt.Fprintf(w, " (first: %s)", r.FirstError)
		}
		fmt.Fprintln(w)
	}
	if r.CPUSeconds > 0 && r.Events > 0 {
		fmt.Fprintf(w, "  server CPU    %.1f s over %d node(s): %.0f ms per 1,000 events\n", r.CPUSeconds, r.Nodes, 1000*r.CPUSeconds/float64(r.Events)*1000)
	}
	if r.RSS > 0 {
		fmt.Fprintf(w, "  server RSS    %.0f MiB at the end, %.0f MiB peak (sampled every second)\n", r.RSS/(1<<20), r.PeakRSS/(1<<20))
	}
}

// Compare writes the target's rate as a share of the baseline's.
func Compare(w io.Writer, target, baseline *Result) {
	if b := baseline.EventsPerSecond(); b > 0 {
		fmt.Fprintf(w, "shuyuan / baseline  %.2f (%.0f vs %.0f events/s)\n", target.EventsPerSecond()/b, target.EventsPerSecond(), b)
	}
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}
