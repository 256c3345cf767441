package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/ports"
)

// TestSecondProcessRefused: a second store on the same schema (as a second
// wallet process would open it) gets ErrLocked, also after waiting; once
// the first closes, it opens.
func TestSecondProcessRefused(t *testing.T) {
	ctx := context.Background()
	first := open(t, postgres.Options{})
	for _, wait := range []time.Duration{0, 300 * time.Millisecond} {
		start := time.Now()
		s, err := postgres.Open(ctx, pgtest.URL(), postgres.Options{Schema: first.Schema(), LockWait: wait})
		if !errors.Is(err, postgres.ErrLocked) {
			if s != nil {
				s.Close()
			}
			t.Fatalf("second Open (wait %v): %v, want ErrLocked", wait, err)
		}
		if time.Since(start) < wait {
			t.Fatalf("gave up after %v, before LockWait %v", time.Since(start), wait)
		}
	}
	// Another schema in the same database is another wallet: no conflict.
	other := open(t, postgres.Options{})
	if other.Schema() == first.Schema() {
		t.Fatal("schemas collide")
	}
	first.Close()
	if _, err := first.Commit(ctx, []ports.Change{{Channel: core.Channel{ID: nitro.Bytes32{1}}}}); !errors.Is(err, postgres.ErrClosed) {
		t.Fatalf("Commit after Close: %v, want ErrClosed", err)
	}
	again, err := postgres.Open(ctx, pgtest.URL(), postgres.Options{Schema: first.Schema()})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	again.Close()
}

// TestFencedAfterLosingLock: if a store loses its lock (its session is
// terminated) and another process opens the schema, the first one's writes
// are refused instead of interleaving with the new owner's.
func TestFencedAfterLosingLock(t *testing.T) {
	ctx := context.Background()
	s1 := open(t, postgres.Options{})
	c := core.Channel{ID: nitro.Bytes32{7}, MyLastTurn: -1}
	if _, err := s1.Commit(ctx, []ports.Change{{Channel: c}}); err != nil {
		t.Fatal(err)
	}
	db := pgtest.Open(t)
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND ((classid::bigint << 32) | objid::bigint) = $1`, postgres.LockKey(s1.Schema())).Scan(&n); err != nil || n != 1 {
		t.Fatalf("terminate the lock's session: %d sessions, %v", n, err)
	}
	s2, err := postgres.Open(ctx, pgtest.URL(), postgres.Options{Schema: s1.Schema(), LockWait: 5 * time.Second})
	if err != nil {
		t.Fatalf("second Open after the lock was lost: %v", err)
	}
	defer s2.Close()
	c.Now = 1
	if _, err := s1.Commit(ctx, []ports.Change{{Channel: c}}); !errors.Is(err, postgres.ErrLocked) {
		t.Fatalf("stale owner's Commit: %v, want ErrLocked", err)
	}
	if got, err := s2.Get(ctx, c.ID); err != nil || got.Now != 0 {
		t.Fatalf("new owner reads Now=%d (%v), want the first write only", got.Now, err)
	}
	c.Now = 2
	if _, err := s2.Commit(ctx, []ports.Change{{Channel: c}}); err != nil {
		t.Fatalf("new owner's Commit: %v", err)
	}
}
