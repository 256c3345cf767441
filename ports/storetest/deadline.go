package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// testCanceledContext: every call made with a context that has ended (been
// cancelled, or passed its deadline) fails with ports.ErrStoreTimeout
// wrapping the context's error, and writes nothing: its outcome is known.
func testCanceledContext(t *testing.T, f Factory) {
	s := f.New(t)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	c := channel(5)
	parts := []nitro.Address{{0x5e}, {0x5f}}
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		cause error
	}{{"canceled", canceled, context.Canceled}, {"expired", expired, context.DeadlineExceeded}} {
		calls := []struct {
			name string
			call func(ctx context.Context) error
		}{
			{"Commit", func(ctx context.Context) error {
				_, err := s.Commit(ctx, []ports.Change{{Channel: c, Effects: []core.Effect{deposit(c.ID, 0)}}})
				return err
			}},
			{"Get", func(ctx context.Context) error { _, err := s.Get(ctx, c.ID); return err }},
			{"List", func(ctx context.Context) error { _, err := s.List(ctx); return err }},
			{"Pending", func(ctx context.Context) error { _, err := s.Pending(ctx); return err }},
			{"Done", func(ctx context.Context) error { return s.Done(ctx, []uint64{1}) }},
			{"NextNonce", func(ctx context.Context) error { _, err := s.NextNonce(ctx, parts); return err }},
			{"ChainCursor", func(ctx context.Context) error { _, err := s.ChainCursor(ctx); return err }},
			{"SetChainCursor", func(ctx context.Context) error { return s.SetChainCursor(ctx, ports.Cursor{Block: 99}) }},
			{"RecordEquivocation", func(ctx context.Context) error { return s.RecordEquivocation(ctx, equivocation(c, 1)) }},
			{"Equivocations", func(ctx context.Context) error { _, err := s.Equivocations(ctx); return err }},
			{"DeleteProposal", func(ctx context.Context) error { return s.DeleteProposal(ctx, c.ID) }},
		}
		for _, call := range calls {
			err := call.call(tc.ctx)
			if !errors.Is(err, ports.ErrStoreTimeout) || !errors.Is(err, tc.cause) || errors.Is(err, ports.ErrOutcomeUnknown) {
				t.Errorf("%s with a %s context: %v; want ports.ErrStoreTimeout and %v, outcome known", call.name, tc.name, err, tc.cause)
			}
		}
	}
	ctx := ctxFor(t)
	if _, err := s.Get(ctx, c.ID); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("failed Commits, but Get finds the channel (%v)", err)
	}
	wantPending(t, s, nil)
	if n, err := s.NextNonce(ctx, parts); err != nil || n != 1 {
		t.Fatalf("NextNonce after failed ones: %d, %v; want 1", n, err)
	}
	if b, err := s.ChainCursor(ctx); err != nil || b.Block != 0 {
		t.Fatalf("ChainCursor after failed moves: %+v, %v; want block 0", b, err)
	}
	if evs, err := s.Equivocations(ctx); err != nil || len(evs) != 0 {
		t.Fatalf("Equivocations after failed records: %d, %v; want none", len(evs), err)
	}
}
