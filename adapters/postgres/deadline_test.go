package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/ports"
)

// TestDeadlinesUnderTableLock: while another session holds an ACCESS
// EXCLUSIVE lock on the channels table, 16 concurrent calls with a 500 ms
// deadline all return by it with ports.ErrStoreTimeout and
// context.DeadlineExceeded; a Commit told its outcome is known wrote
// nothing; once the lock goes, the store works at once.
func TestDeadlinesUnderTableLock(t *testing.T) {
	c := pgtest.StartCluster(t)
	s := mustOpenOn(t, c, "wallet_a", postgres.Options{})
	ctx := context.Background()
	if _, err := s.Commit(ctx, bare(0, 1)); err != nil {
		t.Fatal(err)
	}
	release := c.LockTable("wallet_a", "channels")
	// Unfixed, the calls would wait for the lock: end it after 3 s.
	time.AfterFunc(3*time.Second, release)
	const deadline = 500 * time.Millisecond
	var wg sync.WaitGroup
	var mu sync.Mutex
	known := map[byte]bool{} // channels whose Commit says nothing was written
	unknown := 0
	for i := byte(1); i <= 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			what := "Commit"
			switch i % 8 {
			case 0:
				what = "Get"
				err = within(t, what, deadline, func(ctx context.Context) error { _, err := s.Get(ctx, nitro.Bytes32{0xfa}); return err })
			case 4:
				what = "List"
				err = within(t, what, deadline, func(ctx context.Context) error { _, err := s.List(ctx); return err })
			default:
				err = within(t, what, deadline, func(ctx context.Context) error { _, err := s.Commit(ctx, bare(i, 1)); return err })
				mu.Lock()
				if errors.Is(err, ports.ErrOutcomeUnknown) {
					unknown++
				} else {
					known[i] = true
				}
				mu.Unlock()
			}
			if !isTimeout(err) {
				t.Errorf("%s under the lock: %v; want ports.ErrStoreTimeout and context.DeadlineExceeded", what, err)
			}
		}()
	}
	wg.Wait()
	release()
	t.Logf("under the lock: %d commits with outcome unknown (their statement was under way), %d known not written", unknown, len(known))
	rec := eventually(t, "Commit after the lock", func(ctx context.Context) error { _, err := s.Commit(ctx, bare(99, 1)); return err })
	t.Logf("first commit after the lock went through %v after its release", rec.Round(time.Millisecond))
	for i := range known {
		if _, err := s.Get(ctx, nitro.Bytes32{0xfa, i}); !errors.Is(err, ports.ErrNotFound) {
			t.Errorf("channel %d: its Commit said nothing was written, but Get gives %v", i, err)
		}
	}
}

// TestAbandonedCommit: a Commit whose statement is under way when its
// deadline passes returns by the deadline, saying the outcome is unknown;
// it may indeed commit afterwards, and a Get of its channel waits for that
// to be settled instead of reading what is about to change. A Commit still
// queued behind it at its deadline is never written.
func TestAbandonedCommit(t *testing.T) {
	var armed sync.Mutex
	hold := make(chan struct{})
	held := false
	opt := postgres.Options{Committers: 1, FaultHook: func(point string) {
		armed.Lock()
		h := held
		armed.Unlock()
		if point == "tx-committed" && h {
			<-hold // committed, not yet answered
		}
	}}
	s := open(t, opt)
	ctx := context.Background()
	armed.Lock()
	held = true
	armed.Unlock()
	var once sync.Once
	unhold := func() {
		once.Do(func() {
			armed.Lock()
			held = false
			armed.Unlock()
			close(hold)
		})
	}
	defer unhold()
	time.AfterFunc(3*time.Second, unhold) // unfixed, Commit would wait for ever
	const deadline = 400 * time.Millisecond
	first := bare(1, 1)
	var queuedErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(100 * time.Millisecond) // behind the first one's batch
		queuedErr = within(t, "queued Commit", deadline, func(ctx context.Context) error { _, err := s.Commit(ctx, bare(2, 1)); return err })
	}()
	err := within(t, "Commit", deadline, func(ctx context.Context) error { _, err := s.Commit(ctx, first); return err })
	if !isTimeout(err) || !errors.Is(err, ports.ErrOutcomeUnknown) {
		t.Fatalf("Commit under way at its deadline: %v; want ports.ErrStoreTimeout, context.DeadlineExceeded and ports.ErrOutcomeUnknown", err)
	}
	wg.Wait()
	if !isTimeout(queuedErr) || errors.Is(queuedErr, ports.ErrOutcomeUnknown) {
		t.Fatalf("queued Commit: %v; want ports.ErrStoreTimeout and context.DeadlineExceeded, outcome known", queuedErr)
	}
	err = within(t, "Get", 200*time.Millisecond, func(ctx context.Context) error { _, err := s.Get(ctx, first[0].Channel.ID); return err })
	if !isTimeout(err) {
		t.Fatalf("Get while the abandoned write is under way: %v; want it to wait (ports.ErrStoreTimeout)", err)
	}
	unhold()
	got, err := s.Get(ctx, first[0].Channel.ID)
	if err != nil || got.Now != 1 {
		t.Fatalf("Get once the abandoned write ended: Now=%d, %v; want the write, which committed", got.Now, err)
	}
	if p, err := s.Pending(ctx); err != nil || len(p) != 1 {
		t.Fatalf("Pending: %d entries, %v; want the abandoned write's effect", len(p), err)
	}
	if _, err := s.Get(ctx, nitro.Bytes32{0xfa, 2}); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("queued Commit said nothing was written, but Get gives %v", err)
	}
}
