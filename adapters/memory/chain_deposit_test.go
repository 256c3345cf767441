package memory_test

// Deposits: events and holdings, reverts that change nothing, partial
// refunds, and insufficient funds.

import (
	"context"
	"errors"
	"math/big"
	"testing"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

func TestChainSeedDeposits(t *testing.T) {
	w := newChainWorld(t)
	ra := w.deposit(t, w.a, w.eth, w.id, big.NewInt(0), chainMilli(300))
	rb := w.deposit(t, w.b, w.eth, w.id, chainMilli(300), chainMilli(200))

	for i, tc := range []struct {
		r               memory.ChainReceipt
		block           uint64
		deposited, hold *big.Int
	}{{ra, 1, chainMilli(300), chainMilli(300)}, {rb, 2, chainMilli(200), chainMilli(500)}} {
		if tc.r.Block != tc.block || len(tc.r.Events) != 1 {
			t.Fatalf("deposit %d: block %d, %d events", i, tc.r.Block, len(tc.r.Events))
		}
		ev := tc.r.Events[0]
		if ev.Kind != core.EventDeposited || ev.ChannelID != w.id || ev.Asset != w.eth || ev.Block != tc.block ||
			ev.LogIndex != 0 || ev.TxHash != tc.r.TxHash || ev.BlockTime != tc.r.BlockTime {
			t.Fatalf("deposit %d: event %+v", i, ev)
		}
		chainWantAmount(t, "amountDeposited", ev.AmountDeposited, tc.deposited)
		chainWantAmount(t, "destinationHoldings", ev.Holdings, tc.hold)
	}
	h, err := w.b.Holdings(context.Background(), w.eth, w.id)
	if err != nil {
		t.Fatal(err)
	}
	chainWantAmount(t, "holdings", h, chainMilli(500))
	chainWantAmount(t, "alice", w.c.Balance(w.alice.addr), chainMilli(9_700))
	chainWantAmount(t, "bob", w.c.Balance(w.bob.addr), chainMilli(9_800))
	chainWantAmount(t, "asset holder", w.c.Balance(w.eth), chainMilli(500))
	if ra.TxHash == rb.TxHash {
		t.Fatal("two transactions share a hash")
	}
}

func TestChainDepositReverts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from     func(w *chainWorld) ports.Chain
		req      func(w *chainWorld) ports.DepositRequest
		reason   string
		insuffic bool
	}{
		{"premature", func(w *chainWorld) ports.Chain { return w.b },
			func(w *chainWorld) ports.DepositRequest {
				return ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: chainMilli(500), Amount: chainMilli(200)}
			}, ports.ReasonHoldingsBelowExpected, false},
		{"stale repeat", func(w *chainWorld) ports.Chain { return w.a },
			func(w *chainWorld) ports.DepositRequest {
				return ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: big.NewInt(0), Amount: chainMilli(300)}
			}, ports.ReasonHoldingsSufficient, false},
		{"stale smaller", func(w *chainWorld) ports.Chain { return w.b },
			func(w *chainWorld) ports.DepositRequest {
				return ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: big.NewInt(0), Amount: chainMilli(200)}
			}, ports.ReasonHoldingsSufficient, false},
		{"zero amount", func(w *chainWorld) ports.Chain { return w.b },
			func(w *chainWorld) ports.DepositRequest {
				return ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: chainMilli(300), Amount: big.NewInt(0)}
			}, ports.ReasonHoldingsSufficient, false},
		{"external destination", func(w *chainWorld) ports.Chain { return w.b },
			func(w *chainWorld) ports.DepositRequest {
				return ports.DepositRequest{ChannelID: w.bob.dest(), Asset: w.eth, ExpectedHeld: big.NewInt(0), Amount: chainMilli(200)}
			}, memory.ChainReasonExternalDestination, false},
		{"unknown asset holder", func(w *chainWorld) ports.Chain { return w.b },
			func(w *chainWorld) ports.DepositRequest {
				return ports.DepositRequest{ChannelID: w.id, Asset: nitro.Address{0x42}, ExpectedHeld: chainMilli(300), Amount: chainMilli(200)}
			}, memory.ChainReasonNoCode, false},
		{"erc20 overflow", func(w *chainWorld) ports.Chain { return w.b },
			func(w *chainWorld) ports.DepositRequest {
				max := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
				return ports.DepositRequest{ChannelID: w.id, Asset: w.tok, ExpectedHeld: big.NewInt(5), Amount: max}
			}, memory.ChainReasonAdditionOverflow, false},
		{"erc20 short", func(w *chainWorld) ports.Chain { return w.c.Account(w.carol.addr) },
			func(w *chainWorld) ports.DepositRequest {
				return ports.DepositRequest{ChannelID: w.id, Asset: w.tok, ExpectedHeld: big.NewInt(5), Amount: big.NewInt(1)}
			}, memory.ChainReasonERC20Balance, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newChainWorld(t)
			w.deposit(t, w.a, w.eth, w.id, big.NewInt(0), chainMilli(300))
			w.deposit(t, w.a, w.tok, w.id, big.NewInt(0), big.NewInt(5))
			before := w.dump()
			tx, err := tc.from(w).Deposit(context.Background(), tc.req(w))
			chainWantReason(t, err, tc.reason)
			if errors.Is(err, ports.ErrInsufficientFunds) != tc.insuffic {
				t.Fatalf("errors.Is(%v, ErrInsufficientFunds) = %t", err, !tc.insuffic)
			}
			if tx != (ports.TxHash{}) {
				t.Fatalf("reverted deposit returned tx %s", tx)
			}
			if after := w.dump(); after != before {
				t.Fatalf("state changed:\n%s\nwas:\n%s", after, before)
			}
		})
	}
}

func TestChainDepositPartialRefund(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		held, expected, amt   int64
		deposited, holdAfter  int64
		wantBobDelta, wantETH int64
	}{
		{"overlap", 100, 0, 200, 100, 200, 100, 200},
		{"exact", 100, 100, 200, 200, 300, 200, 300},
		{"almost stale", 100, 50, 51, 1, 101, 1, 101},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newChainWorld(t)
			w.deposit(t, w.a, w.eth, w.id, big.NewInt(0), chainMilli(tc.held))
			before := w.c.Balance(w.bob.addr)
			r := w.deposit(t, w.b, w.eth, w.id, chainMilli(tc.expected), chainMilli(tc.amt))
			chainWantAmount(t, "amountDeposited", r.Events[0].AmountDeposited, chainMilli(tc.deposited))
			chainWantAmount(t, "destinationHoldings", r.Events[0].Holdings, chainMilli(tc.holdAfter))
			chainWantAmount(t, "bob's balance delta", new(big.Int).Sub(before, w.c.Balance(w.bob.addr)), chainMilli(tc.wantBobDelta))
			chainWantAmount(t, "asset holder balance", w.c.Balance(w.eth), chainMilli(tc.wantETH))
			chainWantAmount(t, "holdings", w.c.ChannelHoldings(w.eth, w.id), chainMilli(tc.holdAfter))
		})
	}
}

func TestChainInsufficientFunds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		carol *big.Int
		held  int64
		req   ports.DepositRequest
	}{
		// The whole amount is sent as value, even when most is refunded.
		{"value above balance", chainMilli(150), 100, ports.DepositRequest{ExpectedHeld: big.NewInt(0), Amount: chainMilli(200)}},
		{"empty account", big.NewInt(0), 0, ports.DepositRequest{ExpectedHeld: big.NewInt(0), Amount: big.NewInt(1)}},
		// Checked before the contract runs, so it wins over a revert.
		{"would also revert", big.NewInt(0), 100, ports.DepositRequest{ExpectedHeld: chainMilli(500), Amount: chainMilli(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newChainWorld(t)
			w.c.Fund(w.carol.addr, tc.carol)
			if tc.held > 0 {
				w.deposit(t, w.a, w.eth, w.id, big.NewInt(0), chainMilli(tc.held))
			}
			before := w.dump()
			req := tc.req
			req.ChannelID, req.Asset = w.id, w.eth
			_, err := w.c.Account(w.carol.addr).Deposit(context.Background(), req)
			if !errors.Is(err, ports.ErrInsufficientFunds) || errors.Is(err, ports.ErrReverted) {
				t.Fatalf("err = %v, want ErrInsufficientFunds only", err)
			}
			if after := w.dump(); after != before {
				t.Fatalf("state changed:\n%s\nwas:\n%s", after, before)
			}
		})
	}
}
