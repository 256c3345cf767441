package postgres_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/ports"
)

// slack is how late past its deadline a call may return.
const slack = 300 * time.Millisecond

// openOn opens a store on schema of a cluster the test started.
func openOn(t *testing.T, c *pgtest.Cluster, schema string, opt postgres.Options) (*postgres.Store, error) {
	t.Helper()
	opt.Schema = schema
	s, err := postgres.Open(context.Background(), c.URL(), opt)
	if err == nil {
		t.Cleanup(func() { _ = s.Close() })
	}
	return s, err
}

func mustOpenOn(t *testing.T, c *pgtest.Cluster, schema string, opt postgres.Options) *postgres.Store {
	t.Helper()
	s, err := openOn(t, c, schema, opt)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	return s
}

// bare is a small channel with one effect to commit.
func bare(id byte, now int64) []ports.Change {
	c := core.Channel{ID: nitro.Bytes32{0xfa, id}, MyLastTurn: -1, Now: now}
	return []ports.Change{{Channel: c, Effects: []core.Effect{core.Watch{ChannelID: c.ID}}}}
}

// within runs call with a deadline and fails t if it returns later than
// the deadline plus slack.
func within(t *testing.T, what string, d time.Duration, call func(ctx context.Context) error) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	err := call(ctx)
	if el := time.Since(start); el > d+slack {
		t.Errorf("%s returned after %v, deadline %v", what, el.Round(time.Millisecond), d)
	}
	return err
}

// eventually retries call until it succeeds or 10 s pass.
func eventually(t *testing.T, what string, call func(ctx context.Context) error) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := call(ctx)
		cancel()
		if err == nil {
			return time.Since(start)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("%s still fails after 10 s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func isTimeout(err error) bool {
	return errors.Is(err, ports.ErrStoreTimeout) && errors.Is(err, context.DeadlineExceeded)
}

// TestDriverErrorsTyped: a statement whose session is killed under it is
// run again on a new connection by database/sql (lib/pq reports the FATAL
// error as a bad connection) or fails typed; while the server shuts down
// every call fails with ports.ErrStoreUnavailable wrapping the *pq.Error
// 57P03, and with the server stopped with ports.ErrStoreUnavailable
// wrapping the driver's connection refused, a Commit's outcome known;
// after a start the store works again.
func TestDriverErrorsTyped(t *testing.T) {
	c := pgtest.StartCluster(t)
	s := mustOpenOn(t, c, "wallet_a", postgres.Options{})
	ctx := context.Background()
	if _, err := s.Commit(ctx, bare(1, 1)); err != nil {
		t.Fatal(err)
	}

	// A session killed while its statement waits for a lock.
	release := c.LockTable("wallet_a", "channels")
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := s.Commit(ctx, bare(2, 1))
		done <- err
	}()
	waitBlocked(t, c)
	c.KillBackends()
	release()
	if err := <-done; err != nil && !errors.Is(err, ports.ErrStoreUnavailable) {
		t.Fatalf("Commit whose session was killed: %v; want success (run again) or ports.ErrStoreUnavailable", err)
	}

	calls := map[string]func(ctx context.Context) error{
		"Commit":         func(ctx context.Context) error { _, err := s.Commit(ctx, bare(4, 1)); return err },
		"Get":            func(ctx context.Context) error { _, err := s.Get(ctx, nitro.Bytes32{0xfa, 1}); return err },
		"List":           func(ctx context.Context) error { _, err := s.List(ctx); return err },
		"Pending":        func(ctx context.Context) error { _, err := s.Pending(ctx); return err },
		"Done":           func(ctx context.Context) error { return s.Done(ctx, []uint64{1}) },
		"NextNonce":      func(ctx context.Context) error { _, err := s.NextNonce(ctx, []nitro.Address{{1}, {2}}); return err },
		"ChainCursor":    func(ctx context.Context) error { _, err := s.ChainCursor(ctx); return err },
		"SetChainCursor": func(ctx context.Context) error { return s.SetChainCursor(ctx, ports.Cursor{Block: 5}) },
		"Equivocations":  func(ctx context.Context) error { _, err := s.Equivocations(ctx); return err },
	}
	// check makes every call twice (the first round may meet connections
	// that just ended) and wants the second to be typed with the cause.
	check := func(when string, cause func(error) bool) {
		t.Helper()
		for round := 0; round < 2; round++ {
			for name, call := range calls {
				err := within(t, name, 2*time.Second, call)
				if !errors.Is(err, ports.ErrStoreUnavailable) {
					t.Errorf("%s: %s: %v; want ports.ErrStoreUnavailable", when, name, err)
				}
				if round == 1 && (!cause(err) || errors.Is(err, ports.ErrOutcomeUnknown)) {
					t.Errorf("%s: %s: %v; want the driver's error wrapped, outcome known", when, name, err)
				}
			}
		}
		if _, err := postgres.Open(ctx, c.URL(), postgres.Options{Schema: "wallet_b"}); !errors.Is(err, ports.ErrStoreUnavailable) {
			t.Errorf("%s: Open: %v; want ports.ErrStoreUnavailable", when, err)
		}
	}

	// A shutting-down server refuses new sessions with 57P03.
	c.KillBackends()
	hold := c.Hold()
	c.BeginSmartStop()
	check("shutting down", func(err error) bool {
		var pe *pq.Error
		return errors.As(err, &pe) && pe.Code == "57P03"
	})
	hold()
	c.WaitStopped()
	check("stopped", func(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) })
	c.Start()
	eventually(t, "Commit after the start", func(ctx context.Context) error { _, err := s.Commit(ctx, bare(5, 1)); return err })
}

// waitBlocked waits until some session of the cluster waits for a lock.
func waitBlocked(t *testing.T, c *pgtest.Cluster) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.LockWaiters() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no statement waits for the table lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
