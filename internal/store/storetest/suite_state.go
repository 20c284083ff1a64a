package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func testAppState(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	if _, ok, err := st.AppState(ctx, "a", "k"); ok || err != nil {
		t.Fatalf("unset: %v %v", ok, err)
	}
	for _, v := range []string{"1", "2"} {
		if err := st.SetAppState(ctx, "a", "k", v, t0); err != nil {
			t.Fatal(err)
		}
	}
	if v, ok, err := st.AppState(ctx, "a", "k"); v != "2" || !ok || err != nil {
		t.Fatalf("get: %q %v %v", v, ok, err)
	}
	if _, ok, _ := st.AppState(ctx, "b", "k"); ok {
		t.Fatal("another app's state")
	}
}

func testNonces(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	use := func(app, nonce string, now time.Time) bool {
		t.Helper()
		fresh, err := st.UseNonce(ctx, app, nonce, now, now.Add(5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return fresh
	}
	if !use("a", "n1", t0) || use("a", "n1", t0.Add(time.Minute)) {
		t.Fatal("a nonce must be fresh once")
	}
	if !use("b", "n1", t0) {
		t.Fatal("another app's nonce")
	}
	if !use("a", "n1", t0.Add(6*time.Minute)) {
		t.Fatal("an expired nonce is fresh again")
	}
	// Many uses at once: one winner.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Go(func() {
			fresh, err := st.UseNonce(ctx, "a", "race", t0, t0.Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			if fresh {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d uses of one nonce were fresh", wins)
	}
}

func testNoncesSurviveReopen(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	if fresh, err := st.UseNonce(ctx, "a", "n", t0, t0.Add(5*time.Minute)); !fresh || err != nil {
		t.Fatal(fresh, err)
	}
	st = o.Reopen(t, st)
	if fresh, err := st.UseNonce(ctx, "a", "n", t0.Add(time.Minute), t0.Add(6*time.Minute)); fresh || err != nil {
		t.Fatalf("after a restart the nonce is fresh again (%v)", err)
	}
}

func testTokens(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	if _, ok, err := st.LoadToken(ctx, "wx1"); ok || err != nil {
		t.Fatalf("no token yet: %v %v", ok, err)
	}
	tok := store.Token{Value: "T1", FetchedAt: t0, ExpiresAt: t0.Add(2 * time.Hour), RefreshAt: t0.Add(115 * time.Minute)}
	if err := st.SaveToken(ctx, "wx1", tok); err != nil {
		t.Fatal(err)
	}
	tok2 := tok
	tok2.Value = "T2"
	if err := st.SaveToken(ctx, "wx1", tok2); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := st.LoadToken(ctx, "wx1"); !ok || err != nil || got != tok2 {
		t.Fatalf("load: %+v %v %v, want %+v", got, ok, err, tok2)
	}
	// A caller reporting the stale T1 cannot drop the fresh T2.
	if deleted, err := st.DeleteTokenIf(ctx, "wx1", "T1"); deleted || err != nil {
		t.Fatalf("delete of a stale value: %v %v", deleted, err)
	}
	if deleted, err := st.DeleteTokenIf(ctx, "wx1", "T2"); !deleted || err != nil {
		t.Fatalf("delete: %v %v", deleted, err)
	}
	if _, ok, _ := st.LoadToken(ctx, "wx1"); ok {
		t.Fatal("token still there")
	}
	if lead, err := st.Lead(ctx, "token wx1"); !lead || err != nil {
		t.Fatalf("the only process does not lead: %v %v", lead, err)
	}
}
