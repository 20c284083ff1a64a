package datacube_test

import (
	"slices"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/datacube"
	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func TestDue(t *testing.T) {
	sh := time.FixedZone("Asia/Shanghai", 8*3600)
	day := func(d int) time.Time { return time.Date(2025, 12, d, 0, 0, 0, 0, time.UTC) }
	s := datacube.Schedule{Location: sh, BackfillDays: 3, Hour: 11}
	known := []store.PullDay{
		{Family: datacube.FamilyMini, Day: day(7), Status: store.PullComplete},
		{Family: datacube.FamilyMini, Day: day(8), Status: store.PullPending},
		{Family: datacube.FamilyAccount, Day: day(9), Status: store.PullComplete},
		{Family: datacube.FamilyMini, Day: day(6), Status: store.PullFailed},
	}
	tests := []struct {
		name   string
		family string
		now    time.Time
		want   []time.Time
	}{
		// 2025-12-10 10:00 in Shanghai: yesterday not due before 11:00.
		{"before the hour", datacube.FamilyMini, time.Date(2025, 12, 10, 2, 0, 0, 0, time.UTC), []time.Time{day(8)}},
		{"at the hour", datacube.FamilyMini, time.Date(2025, 12, 10, 3, 0, 0, 0, time.UTC), []time.Time{day(8), day(9)}},
		{"other family", datacube.FamilyAccount, time.Date(2025, 12, 10, 3, 0, 0, 0, time.UTC), []time.Time{day(7), day(8)}},
		// 23:30 UTC on the 9th is already the 10th in Shanghai.
		{"app's zone cuts the day", datacube.FamilyMini, time.Date(2025, 12, 9, 23, 30, 0, 0, time.UTC), []time.Time{day(8)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := datacube.Due(s, tc.family, known, tc.now); !slices.Equal(got, tc.want) {
				t.Fatalf("Due = %v, want %v", got, tc.want)
			}
		})
	}
}
