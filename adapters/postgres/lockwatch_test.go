package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/ports"
)

// waitLocks waits until the cluster holds n advisory locks.
func waitLocks(t *testing.T, c *pgtest.Cluster, n int, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := c.AdvisoryLocks()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d advisory locks held after 5 s, want %d", what, got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLockKeptAcrossFaults: after its session is killed, and after a
// server restart, a store takes its schema's lock again, so a second
// process opening the schema gets ErrLocked, and the first goes on
// committing.
func TestLockKeptAcrossFaults(t *testing.T) {
	c := pgtest.StartCluster(t)
	s1 := mustOpenOn(t, c, "wallet_a", postgres.Options{LockCheck: 100 * time.Millisecond})
	waitLocks(t, c, 1, "after Open")
	for _, fault := range []struct {
		name string
		do   func()
	}{
		{"backends killed", func() { c.KillBackends() }},
		{"server restarted", c.Restart},
	} {
		fault.do()
		waitLocks(t, c, 1, fault.name)
		if s2, err := openOn(t, c, "wallet_a", postgres.Options{}); !errors.Is(err, postgres.ErrLocked) {
			if s2 != nil {
				_ = s2.Close()
			}
			t.Fatalf("%s: a second Open got %v, want ErrLocked", fault.name, err)
		}
		eventually(t, fault.name+": first store's Commit", func(ctx context.Context) error { _, err := s1.Commit(ctx, bare(1, 1)); return err })
	}
}

// logBuffer is a concurrency-safe log destination.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLockTakenOver: if a second process opens the schema while the first
// has lost its session, the first stops writing (ErrLocked on every write,
// and a log line saying why) and leaves the lock to the second, which
// keeps it across a server restart while the first stays fenced off.
func TestLockTakenOver(t *testing.T) {
	c := pgtest.StartCluster(t)
	var log1 logBuffer
	// s1's watcher never runs on its own here: the test runs its check.
	s1 := mustOpenOn(t, c, "wallet_a", postgres.Options{LockCheck: time.Hour, Logger: slog.New(slog.NewTextHandler(&log1, nil))})
	ctx := context.Background()
	if _, err := s1.Commit(ctx, bare(1, 1)); err != nil {
		t.Fatal(err)
	}
	c.KillBackends()
	s2 := mustOpenOn(t, c, "wallet_a", postgres.Options{LockWait: 5 * time.Second, LockCheck: 100 * time.Millisecond})
	postgres.CheckLock(s1)
	if !strings.Contains(log1.String(), "stops writing") {
		t.Fatalf("the first store did not say it stops writing; its log:\n%s", log1.String())
	}
	check := func(when string) {
		t.Helper()
		for _, call := range []func(ctx context.Context) error{
			func(ctx context.Context) error { _, err := s1.Commit(ctx, bare(1, 2)); return err },
			func(ctx context.Context) error { return s1.SetChainCursor(ctx, ports.Cursor{Block: 7}) },
			func(ctx context.Context) error { return s1.RegisterApp(ctx, nitro.Address{0xa9}, []byte{0x5b}) },
		} {
			if err := within(t, "fenced write", time.Second, call); !errors.Is(err, postgres.ErrLocked) {
				t.Fatalf("%s: the first store's write: %v, want ErrLocked", when, err)
			}
		}
		eventually(t, when+": second store's Commit", func(ctx context.Context) error { _, err := s2.Commit(ctx, bare(1, 3)); return err })
		if got, err := s2.Get(ctx, nitro.Bytes32{0xfa, 1}); err != nil || got.Now != 3 {
			t.Fatalf("%s: second store reads Now=%d (%v), want its own write", when, got.Now, err)
		}
		waitLocks(t, c, 1, when)
	}
	check("after the takeover")
	c.Restart()
	check("after a restart")
	if s3, err := openOn(t, c, "wallet_a", postgres.Options{}); !errors.Is(err, postgres.ErrLocked) {
		if s3 != nil {
			_ = s3.Close()
		}
		t.Fatalf("a third Open after the restart got %v, want ErrLocked", err)
	}
}
