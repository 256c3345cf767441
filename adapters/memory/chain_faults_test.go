package memory_test

// Injected faults: FailNext, SetDown and ended contexts.

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

func TestChainFaults(t *testing.T) {
	ctx := context.Background()
	deposit := ports.DepositRequest{ExpectedHeld: big.NewInt(0), Amount: chainMilli(300)}

	t.Run("FailNext", func(t *testing.T) {
		custom := errors.New("boom")
		for _, tc := range []struct {
			name string
			err  error
			want error
		}{{"unavailable", ports.ErrUnavailable, ports.ErrUnavailable}, {"nil means unavailable", nil, ports.ErrUnavailable}, {"custom", custom, custom}} {
			t.Run(tc.name, func(t *testing.T) {
				w := newChainWorld(t)
				req := deposit
				req.ChannelID, req.Asset = w.id, w.eth
				w.c.FailNext(2, tc.err)
				before := w.dump()
				for i := 0; i < 2; i++ {
					var err error
					if i == 0 {
						_, err = w.a.Deposit(ctx, req)
					} else {
						_, err = w.a.ConcludeAndTransferAll(ctx, w.signedConclude(t, w.state(nil, true)))
					}
					if !errors.Is(err, tc.want) || errors.Is(err, ports.ErrReverted) {
						t.Fatalf("submission %d: err = %v, want %v", i, err, tc.want)
					}
				}
				if after := w.dump(); after != before {
					t.Fatalf("state changed:\n%s\nwas:\n%s", after, before)
				}
				if _, err := w.a.Holdings(ctx, w.eth, w.id); err != nil {
					t.Fatalf("reads are not submissions: %v", err)
				}
				w.deposit(t, w.a, w.eth, w.id, big.NewInt(0), chainMilli(300))
			})
		}
	})

	t.Run("SetDown", func(t *testing.T) {
		w := newChainWorld(t)
		w.fund(t)
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := w.a.Events(sctx, ports.Cursor{Block: 0})
		if err != nil {
			t.Fatal(err)
		}
		chainRead(t, stream, 2)
		w.c.FailNext(1, errors.New("not while down"))
		w.c.SetDown(true)
		before := w.dump()
		req := deposit
		req.ChannelID, req.Asset = w.otherID, w.eth
		st := w.state(nitro.Outcome{chainAlloc(w.eth, w.alice.dest(), chainMilli(500))}, true)
		calls := map[string]func() error{
			"Deposit": func() error { _, err := w.a.Deposit(ctx, req); return err },
			"Conclude": func() error {
				_, err := w.b.ConcludeAndTransferAll(ctx, w.signedConclude(t, st))
				return err
			},
			"Holdings": func() error { _, err := w.a.Holdings(ctx, w.eth, w.id); return err },
			"Events":   func() error { _, err := w.a.Events(sctx, ports.Cursor{Block: 0}); return err },
		}
		for name, call := range calls {
			if err := call(); !errors.Is(err, ports.ErrUnavailable) {
				t.Fatalf("%s while down: %v", name, err)
			}
		}
		if after := w.dump(); after != before {
			t.Fatalf("state changed:\n%s\nwas:\n%s", after, before)
		}
		// The open stream was cut.
		select {
		case _, ok := <-stream:
			if ok {
				t.Fatal("event on a stream of a down chain")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("stream not closed when the chain went down")
		}
		w.c.SetDown(false)
		// FailNext did not count the refused calls.
		if _, err := w.a.Deposit(ctx, req); err == nil || errors.Is(err, ports.ErrUnavailable) {
			t.Fatalf("first submission after recovery: %v, want the injected failure", err)
		}
		for name, call := range calls {
			if err := call(); err != nil {
				t.Fatalf("%s after recovery: %v", name, err)
			}
		}
		if !w.c.Finalized(w.id) {
			t.Fatal("conclude after recovery did not finalize")
		}
	})

	t.Run("ended context", func(t *testing.T) {
		w := newChainWorld(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		req := deposit
		req.ChannelID, req.Asset = w.id, w.eth
		if _, err := w.a.Deposit(cctx, req); !errors.Is(err, context.Canceled) {
			t.Fatalf("Deposit: %v", err)
		}
		if _, err := w.a.Holdings(cctx, w.eth, w.id); !errors.Is(err, context.Canceled) {
			t.Fatalf("Holdings: %v", err)
		}
		if w.c.BlockNumber() != 0 {
			t.Fatal("mined on an ended context")
		}
	})
}
