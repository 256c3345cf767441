package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/ports"
)

// TestDeadlineHonouredAfterCommit (found by TestFaultRun): an update
// whose commit finds A's channels table locked returns by its deadline
// with the store's "outcome unknown" (the abandoned write may yet be
// durable); once the lock is gone the same update, retried, returns its
// result. The wallet signs before it commits (signnow.go), so the commit
// is the call's last wait; before that, the intent was committed first and
// the signed state's commit after it ran without the caller's deadline.
func TestDeadlineHonouredAfterCommit(t *testing.T) {
	c := pgtest.StartCluster(t)
	var g *gateSigner
	e, id := openRunningWith(t, func(name string, cfg *app.Config) {
		if name == "A" {
			cfg.Store = clusterStore(t, c, "wallet_a")
			withGate(&g)(name, cfg)
		}
	})
	A := e.parties[0]
	started, releaseSigner := g.arm()
	defer releaseSigner()
	const deadline = 500 * time.Millisecond
	ctx, cancel := context.WithTimeout(e.ctx, deadline)
	defer cancel()
	type result struct {
		r    app.Result
		err  error
		took time.Duration
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		r, err := A.w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(4, 4)})
		done <- result{r, err, time.Since(start)}
	}()
	<-started // the signature is being made; the commit comes next
	releaseLock := c.LockTable("wallet_a", "channels")
	releaseSigner()
	var got result
	select {
	case got = <-done:
	case <-time.After(5 * time.Second):
		releaseLock()
		got = <-done
		t.Fatalf("update returned %v after the lock was released (%v), its deadline was %v", got.took, got.err, deadline)
	}
	releaseLock()
	if got.took > deadline+time.Second {
		t.Fatalf("update returned after %v, its deadline was %v", got.took, deadline)
	}
	if !errors.Is(got.err, app.ErrStore) || !errors.Is(got.err, ports.ErrOutcomeUnknown) || app.Code(got.err) != app.CodeWalletError {
		t.Fatalf("update past its deadline in its commit: %v (code %d), want ErrStore with ErrOutcomeUnknown (code %d)", got.err, app.Code(got.err), app.CodeWalletError)
	}
	r, err := A.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(4, 4)})
	if err != nil {
		t.Fatalf("retried update: %v", err)
	}
	wantStatus(t, "A", one(t, r, id), core.StatusRunning, 4)
	for _, m := range r.Outbox {
		if m.Recipient == "B" {
			wantStatus(t, "B", one(t, e.push(m), id), core.StatusRunning, 4)
		}
	}
}
