package memory_test

// ConcludeAndTransferAll: payouts in ETH, tokens and several assets, to
// external and channel destinations, underfunded channels, reverts and the
// contract's quirks.

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

func TestChainConclude(t *testing.T) {
	w := newChainWorld(t)
	w.fund(t)
	st := w.state(nitro.Outcome{chainAlloc(w.eth, w.alice.dest(), chainMilli(100), w.bob.dest(), chainMilli(400))}, true)
	tx, err := w.b.ConcludeAndTransferAll(context.Background(), w.signedConclude(t, st))
	if err != nil {
		t.Fatal(err)
	}
	r := w.receipt(t, tx)
	if r.From != w.bob.addr || r.Block != 3 {
		t.Fatalf("receipt %+v", r)
	}
	want := []core.ChainEvent{
		{Kind: core.EventConcluded, ChannelID: w.id, Block: 3, LogIndex: 0, BlockTime: r.BlockTime, TxHash: tx, FinalizesAt: r.BlockTime},
		{Kind: core.EventAllocationUpdated, ChannelID: w.id, Asset: w.eth, Block: 3, LogIndex: 1, BlockTime: r.BlockTime, TxHash: tx, InitialHoldings: chainMilli(500)},
	}
	chainSameEvents(t, r.Events, want)
	chainWantAmount(t, "alice", w.c.Balance(w.alice.addr), chainMilli(10_000-300+100))
	chainWantAmount(t, "bob", w.c.Balance(w.bob.addr), chainMilli(10_000-200+400))
	chainWantAmount(t, "asset holder", w.c.Balance(w.eth), big.NewInt(0))
	chainWantAmount(t, "holdings", w.c.ChannelHoldings(w.eth, w.id), big.NewInt(0))
	if !w.c.Finalized(w.id) {
		t.Fatal("channel not finalized")
	}

	// A second conclude, with any signed final state, finds it finalized.
	before := w.dump()
	_, err = w.a.ConcludeAndTransferAll(context.Background(), w.signedConclude(t, st))
	chainWantReason(t, err, ports.ReasonChannelFinalized)
	st2 := st.Clone()
	st2.TurnNum++
	_, err = w.a.ConcludeAndTransferAll(context.Background(), w.signedConclude(t, st2))
	chainWantReason(t, err, ports.ReasonChannelFinalized)
	if after := w.dump(); after != before {
		t.Fatalf("state changed:\n%s\nwas:\n%s", after, before)
	}
}

func TestChainConcludeUnderfunded(t *testing.T) {
	for _, tc := range []struct {
		name                string
		held                int64
		bob, alice, carol   int64 // allocation, in this order
		wantB, wantA, wantC int64 // payouts
		left                int64
	}{
		{"short", 300, 200, 300, 100, 200, 100, 0, 0},
		{"first only", 150, 200, 300, 100, 150, 0, 0, 0},
		{"exact", 600, 200, 300, 100, 200, 300, 100, 0},
		{"over", 700, 200, 300, 100, 200, 300, 100, 100},
		{"empty", 0, 200, 300, 100, 0, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newChainWorld(t)
			if tc.held > 0 {
				w.deposit(t, w.a, w.eth, w.id, big.NewInt(0), chainMilli(tc.held))
			}
			a0, b0 := w.c.Balance(w.alice.addr), w.c.Balance(w.bob.addr)
			st := w.state(nitro.Outcome{chainAlloc(w.eth,
				w.bob.dest(), chainMilli(tc.bob), w.alice.dest(), chainMilli(tc.alice), w.carol.dest(), chainMilli(tc.carol))}, true)
			tx, err := w.c.Account(w.carol.addr).ConcludeAndTransferAll(context.Background(), w.signedConclude(t, st))
			if err != nil {
				t.Fatal(err)
			}
			r := w.receipt(t, tx)
			chainWantAmount(t, "initialHoldings", r.Events[1].InitialHoldings, chainMilli(tc.held))
			chainWantAmount(t, "bob paid", new(big.Int).Sub(w.c.Balance(w.bob.addr), b0), chainMilli(tc.wantB))
			chainWantAmount(t, "alice paid", new(big.Int).Sub(w.c.Balance(w.alice.addr), a0), chainMilli(tc.wantA))
			chainWantAmount(t, "carol paid", w.c.Balance(w.carol.addr), chainMilli(tc.wantC))
			chainWantAmount(t, "holdings left", w.c.ChannelHoldings(w.eth, w.id), chainMilli(tc.left))
			chainWantAmount(t, "asset holder", w.c.Balance(w.eth), chainMilli(tc.left))
		})
	}
}

func TestChainConcludeReverts(t *testing.T) {
	type build func(t *testing.T, w *chainWorld) ports.ConcludeRequest
	outcome := func(w *chainWorld) nitro.Outcome {
		return nitro.Outcome{chainAlloc(w.eth, w.alice.dest(), chainMilli(300), w.bob.dest(), chainMilli(200))}
	}
	for _, tc := range []struct {
		name   string
		req    build
		reason string
	}{
		{"non-final state", func(t *testing.T, w *chainWorld) ports.ConcludeRequest {
			return w.signedConclude(t, w.state(outcome(w), false))
		}, memory.ChainReasonInvalidSignatures},
		{"wrong signer", func(t *testing.T, w *chainWorld) ports.ConcludeRequest {
			st := w.state(outcome(w), true)
			return ports.ConcludeRequest{State: st, Signatures: []nitro.Signature{chainSign(t, st, w.alice), chainSign(t, st, w.carol)}}
		}, memory.ChainReasonInvalidSignatures},
		{"signatures swapped", func(t *testing.T, w *chainWorld) ports.ConcludeRequest {
			st := w.state(outcome(w), true)
			return ports.ConcludeRequest{State: st, Signatures: []nitro.Signature{chainSign(t, st, w.bob), chainSign(t, st, w.alice)}}
		}, memory.ChainReasonInvalidSignatures},
		{"signature over another state", func(t *testing.T, w *chainWorld) ports.ConcludeRequest {
			st := w.state(outcome(w), true)
			other := st.Clone()
			other.TurnNum++
			return ports.ConcludeRequest{State: st, Signatures: []nitro.Signature{chainSign(t, st, w.alice), chainSign(t, other, w.bob)}}
		}, memory.ChainReasonInvalidSignatures},
		{"bad v", func(t *testing.T, w *chainWorld) ports.ConcludeRequest {
			req := w.signedConclude(t, w.state(outcome(w), true))
			req.Signatures[1].V = 29
			return req
		}, ports.ReasonInvalidSignature},
		{"missing signature", func(t *testing.T, w *chainWorld) ports.ConcludeRequest {
			req := w.signedConclude(t, w.state(outcome(w), true))
			req.Signatures = req.Signatures[:1]
			return req
		}, memory.ChainReasonInputLengths},
		{"wrong chain id", func(t *testing.T, w *chainWorld) ports.ConcludeRequest {
			st := w.state(outcome(w), true)
			st.ChainID = big.NewInt(1)
			return w.signedConclude(t, st)
		}, memory.ChainReasonIncorrectChainID},
		{"largest turn number", func(t *testing.T, w *chainWorld) ports.ConcludeRequest {
			st := w.state(outcome(w), true)
			st.TurnNum = nitro.MaxUint48
			return w.signedConclude(t, st)
		}, memory.ChainReasonTurnNumTooLow},
		{"guarantee outcome", func(t *testing.T, w *chainWorld) ports.ConcludeRequest {
			g := nitro.AssetOutcome{AssetHolder: w.eth, Guarantee: &nitro.Guarantee{TargetChannelID: w.otherID, Destinations: []nitro.Bytes32{w.alice.dest()}}}
			return w.signedConclude(t, w.state(nitro.Outcome{g}, true))
		}, memory.ChainReasonNotAllocation},
		{"guarantee after a paid allocation", func(t *testing.T, w *chainWorld) ports.ConcludeRequest {
			g := nitro.AssetOutcome{AssetHolder: w.tok, Guarantee: &nitro.Guarantee{TargetChannelID: w.otherID}}
			return w.signedConclude(t, w.state(append(outcome(w), g), true))
		}, memory.ChainReasonNotAllocation},
		{"unknown asset holder", func(t *testing.T, w *chainWorld) ports.ConcludeRequest {
			return w.signedConclude(t, w.state(append(outcome(w), chainAlloc(nitro.Address{0x42}, w.alice.dest(), big.NewInt(1))), true))
		}, memory.ChainReasonNoCode},
		{"ETH to a contract", func(t *testing.T, w *chainWorld) ports.ConcludeRequest {
			o := nitro.Outcome{chainAlloc(w.eth, w.alice.dest(), chainMilli(100), nitro.AddressToDestination(w.tok), chainMilli(100))}
			return w.signedConclude(t, w.state(o, true))
		}, memory.ChainReasonETHTransfer},
		{"tokens to the zero address", func(t *testing.T, w *chainWorld) ports.ConcludeRequest {
			o := append(outcome(w), chainAlloc(w.tok, nitro.Bytes32{}, big.NewInt(3)))
			return w.signedConclude(t, w.state(o, true))
		}, memory.ChainReasonERC20ZeroAddress},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newChainWorld(t)
			w.fund(t)
			w.deposit(t, w.a, w.tok, w.id, big.NewInt(0), big.NewInt(5))
			before := w.dump()
			tx, err := w.a.ConcludeAndTransferAll(context.Background(), tc.req(t, w))
			chainWantReason(t, err, tc.reason)
			if tx != (ports.TxHash{}) {
				t.Fatalf("reverted conclude returned tx %s", tx)
			}
			if after := w.dump(); after != before {
				t.Fatalf("state changed:\n%s\nwas:\n%s", after, before)
			}
			if w.c.Finalized(w.id) {
				t.Fatal("channel finalized")
			}
		})
	}
}

// TestChainConcludeContractQuirks pins behaviours of the 0.17.0 contract that
// look surprising but that the real chain has too.
func TestChainConcludeContractQuirks(t *testing.T) {
	t.Run("isFinal is not sent", func(t *testing.T) {
		// The contract hashes the state with isFinal = true whatever the
		// caller holds, so signatures over the final version conclude.
		w := newChainWorld(t)
		w.fund(t)
		st := w.state(nitro.Outcome{chainAlloc(w.eth, w.alice.dest(), chainMilli(500))}, true)
		req := w.signedConclude(t, st)
		req.State.IsFinal = false
		tx, err := w.a.ConcludeAndTransferAll(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		w.receipt(t, tx)
		chainWantAmount(t, "alice", w.c.Balance(w.alice.addr), chainMilli(10_200))
	})
	t.Run("one participant", func(t *testing.T) {
		w := newChainWorld(t)
		st := w.state(nitro.Outcome{chainAlloc(w.eth, w.alice.dest(), chainMilli(300))}, true)
		st.Participants = st.Participants[:1]
		id, err := st.ChannelID()
		if err != nil {
			t.Fatal(err)
		}
		w.deposit(t, w.b, w.eth, id, big.NewInt(0), chainMilli(300))
		tx, err := w.b.ConcludeAndTransferAll(context.Background(), ports.ConcludeRequest{State: st, Signatures: []nitro.Signature{chainSign(t, st, w.alice)}})
		if err != nil {
			t.Fatal(err)
		}
		w.receipt(t, tx)
		chainWantAmount(t, "alice", w.c.Balance(w.alice.addr), chainMilli(10_300))
	})
	t.Run("no participants", func(t *testing.T) {
		w := newChainWorld(t)
		st := w.state(nil, true)
		st.Participants = nil
		_, err := w.a.ConcludeAndTransferAll(context.Background(), ports.ConcludeRequest{State: st})
		chainWantReason(t, err, memory.ChainReasonStateCount)
	})
	t.Run("255 participants", func(t *testing.T) {
		w := newChainWorld(t)
		st := w.state(nil, true)
		st.Participants = make([]nitro.Address, 255)
		_, err := w.a.ConcludeAndTransferAll(context.Background(), ports.ConcludeRequest{State: st, Signatures: make([]nitro.Signature, 255)})
		chainWantReason(t, err, memory.ChainReasonTooManyParticipants)
	})
	t.Run("unencodable amount", func(t *testing.T) {
		w := newChainWorld(t)
		st := w.state(nitro.Outcome{chainAlloc(w.eth, w.alice.dest(), big.NewInt(-1))}, true)
		_, err := w.a.ConcludeAndTransferAll(context.Background(), ports.ConcludeRequest{State: st})
		if !errors.Is(err, nitro.ErrAmountOutOfRange) || errors.Is(err, ports.ErrReverted) {
			t.Fatalf("err = %v, want a local encoding error", err)
		}
	})
}

func TestChainERC20(t *testing.T) {
	w := newChainWorld(t)
	w.deposit(t, w.a, w.tok, w.id, big.NewInt(0), big.NewInt(50))
	// Bob asks for 80 on top of nothing; only the missing 30 are pulled.
	r := w.deposit(t, w.b, w.tok, w.id, big.NewInt(0), big.NewInt(80))
	if ev := r.Events[0]; ev.Asset != w.tok {
		t.Fatalf("Deposited from %s, want the ERC20 asset holder", ev.Asset)
	}
	chainWantAmount(t, "amountDeposited", r.Events[0].AmountDeposited, big.NewInt(30))
	chainWantAmount(t, "bob tokens", w.c.TokenBalance(w.tok, w.bob.addr), big.NewInt(970))
	chainWantAmount(t, "escrow", w.c.TokenBalance(w.tok, w.tok), big.NewInt(80))
	ethBefore := w.c.Balance(w.bob.addr)

	st := w.state(nitro.Outcome{chainAlloc(w.tok, w.alice.dest(), big.NewInt(20), w.bob.dest(), big.NewInt(60))}, true)
	tx, err := w.a.ConcludeAndTransferAll(context.Background(), w.signedConclude(t, st))
	if err != nil {
		t.Fatal(err)
	}
	r = w.receipt(t, tx)
	if ev := r.Events[1]; ev.Kind != core.EventAllocationUpdated || ev.Asset != w.tok {
		t.Fatalf("event %+v", ev)
	}
	chainWantAmount(t, "alice tokens", w.c.TokenBalance(w.tok, w.alice.addr), big.NewInt(970))
	chainWantAmount(t, "bob tokens", w.c.TokenBalance(w.tok, w.bob.addr), big.NewInt(1030))
	chainWantAmount(t, "escrow", w.c.TokenBalance(w.tok, w.tok), big.NewInt(0))
	chainWantAmount(t, "bob ETH untouched", w.c.Balance(w.bob.addr), ethBefore)
}

func TestChainMultiAsset(t *testing.T) {
	w := newChainWorld(t)
	w.fund(t)
	w.deposit(t, w.b, w.tok, w.id, big.NewInt(0), big.NewInt(100))
	st := w.state(nitro.Outcome{
		chainAlloc(w.eth, w.alice.dest(), chainMilli(250), w.bob.dest(), chainMilli(250)),
		chainAlloc(w.tok, w.alice.dest(), big.NewInt(100)),
	}, true)
	tx, err := w.b.ConcludeAndTransferAll(context.Background(), w.signedConclude(t, st))
	if err != nil {
		t.Fatal(err)
	}
	r := w.receipt(t, tx)
	b, bt := r.Block, r.BlockTime
	chainSameEvents(t, r.Events, []core.ChainEvent{
		{Kind: core.EventConcluded, ChannelID: w.id, Block: b, LogIndex: 0, BlockTime: bt, TxHash: tx, FinalizesAt: bt},
		{Kind: core.EventAllocationUpdated, ChannelID: w.id, Asset: w.eth, Block: b, LogIndex: 1, BlockTime: bt, TxHash: tx, InitialHoldings: chainMilli(500)},
		{Kind: core.EventAllocationUpdated, ChannelID: w.id, Asset: w.tok, Block: b, LogIndex: 2, BlockTime: bt, TxHash: tx, InitialHoldings: big.NewInt(100)},
	})
	chainWantAmount(t, "alice", w.c.Balance(w.alice.addr), chainMilli(9_950))
	chainWantAmount(t, "bob", w.c.Balance(w.bob.addr), chainMilli(10_050))
	chainWantAmount(t, "alice tokens", w.c.TokenBalance(w.tok, w.alice.addr), big.NewInt(1100))
	chainWantAmount(t, "bob tokens", w.c.TokenBalance(w.tok, w.bob.addr), big.NewInt(900))
}

func TestChainChannelDestination(t *testing.T) {
	w := newChainWorld(t)
	w.fund(t)
	w.deposit(t, w.a, w.eth, w.otherID, big.NewInt(0), chainMilli(50))
	st := w.state(nitro.Outcome{chainAlloc(w.eth, w.alice.dest(), chainMilli(100), w.otherID, chainMilli(400))}, true)
	tx, err := w.a.ConcludeAndTransferAll(context.Background(), w.signedConclude(t, st))
	if err != nil {
		t.Fatal(err)
	}
	r := w.receipt(t, tx)
	if len(r.Events) != 2 {
		t.Fatalf("%d events, want Concluded and AllocationUpdated only", len(r.Events))
	}
	chainWantAmount(t, "other channel", w.c.ChannelHoldings(w.eth, w.otherID), chainMilli(450))
	chainWantAmount(t, "concluded channel", w.c.ChannelHoldings(w.eth, w.id), big.NewInt(0))
	chainWantAmount(t, "asset holder keeps the internal credit", w.c.Balance(w.eth), chainMilli(450))
	chainWantAmount(t, "alice", w.c.Balance(w.alice.addr), chainMilli(10_000-300-50+100))
	// The credited holdings count for the next deposit's expectedHeld.
	w.deposit(t, w.b, w.eth, w.otherID, chainMilli(450), chainMilli(50))
	chainWantAmount(t, "other channel", w.c.ChannelHoldings(w.eth, w.otherID), chainMilli(500))
}
