package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/ports"
	"github.com/nitrowallet/nitrowallet/ports/storetest"
)

// TestCountsAndBatches commits the store suite's corpus (every protocol
// stage and effect kind) from concurrent callers, so that the group commit
// batches them: Counts must agree with what List and Pending return, before
// and after the effects are marked done, and the batches ObserveBatches
// reports must add up to the store's Stats.
func TestCountsAndBatches(t *testing.T) {
	ctx := context.Background()
	s := open(t, postgres.Options{})
	var mu sync.Mutex
	var batches []ports.CommitBatch
	s.ObserveBatches(func(b ports.CommitBatch) {
		mu.Lock()
		batches = append(batches, b)
		mu.Unlock()
	})
	corpus := storetest.Corpus()
	var wg sync.WaitGroup
	errs := make(chan error, len(corpus))
	for _, snap := range corpus {
		wg.Go(func() {
			if _, err := s.Commit(ctx, []ports.Change{{Channel: snap.Channel, Effects: snap.Effects}}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	check := func(when string) int {
		t.Helper()
		got, err := s.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pending, err := s.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[core.Status]int{}
		for i := range cs {
			want[cs[i].Status()]++
		}
		if len(got.Channels) != len(want) {
			t.Errorf("%s: Counts has %d statuses %v, List %d %v", when, len(got.Channels), got.Channels, len(want), want)
		}
		for st, n := range want {
			if got.Channels[st] != n {
				t.Errorf("%s: Counts says %d channels %s, List %d", when, got.Channels[st], st, n)
			}
		}
		if got.PendingEffects != len(pending) {
			t.Errorf("%s: Counts says %d pending effects, Pending lists %d", when, got.PendingEffects, len(pending))
		}
		return len(pending)
	}
	if check("after the commits") == 0 {
		t.Fatal("the corpus left no effect pending")
	}
	pending, err := s.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]uint64, len(pending))
	for i, e := range pending {
		ids[i] = e.ID
	}
	if err := s.Done(ctx, ids); err != nil {
		t.Fatal(err)
	}
	if n := check("after Done"); n != 0 {
		t.Fatalf("%d effects pending after Done", n)
	}

	mu.Lock()
	defer mu.Unlock()
	st := s.Stats()
	var requests, changes, largest int
	for _, b := range batches {
		requests += b.Requests
		changes += b.Changes
		largest = max(largest, b.Requests)
		if b.Requests < 1 || b.Duration <= 0 {
			t.Errorf("batch %+v", b)
		}
	}
	if uint64(len(batches)) != st.Transactions || uint64(requests) != st.Requests || uint64(changes) != st.Changes {
		t.Fatalf("observed %d batches, %d requests, %d changes; Stats %+v", len(batches), requests, changes, st)
	}
	if st.Requests != uint64(len(corpus))+1 {
		t.Fatalf("Stats counts %d requests, want %d commits and one Done", st.Requests, len(corpus))
	}
	t.Logf("%d requests in %d transactions, the largest of %d", requests, len(batches), largest)
}
