package memory_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

var chainTestID = big.NewInt(1337)

// chainMilli returns m thousandths of an ether in wei.
func chainMilli(m int64) *big.Int { return new(big.Int).Mul(big.NewInt(m), big.NewInt(1e15)) }

type chainTestKey struct {
	key  *ecdsa.PrivateKey
	addr nitro.Address
}

func chainKey(t testing.TB, name string) chainTestKey {
	t.Helper()
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte(name)))
	if err != nil {
		t.Fatal(err)
	}
	return chainTestKey{key: k, addr: crypto.PubkeyToAddress(k.PublicKey)}
}

func (k chainTestKey) dest() nitro.Bytes32 { return nitro.AddressToDestination(k.addr) }

// chainSign signs st as go-ethereum's crypto.Sign over the eth_sign digest,
// with v moved to 27/28.
func chainSign(t testing.TB, st nitro.State, k chainTestKey) nitro.Signature {
	t.Helper()
	h, err := st.Hash()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := crypto.Sign(nitro.SignatureDigest(h), k.key)
	if err != nil {
		t.Fatal(err)
	}
	raw[64] += 27
	sig, err := nitro.SignatureFromBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func chainAlloc(asset nitro.Address, items ...any) nitro.AssetOutcome {
	ao := nitro.AssetOutcome{AssetHolder: asset}
	for i := 0; i < len(items); i += 2 {
		ao.Allocation = append(ao.Allocation, nitro.AllocationItem{Destination: items[i].(nitro.Bytes32), Amount: items[i+1].(*big.Int)})
	}
	return ao
}

// chainWorld is a chain with Alice and Bob funded with 10 ETH and 1000
// tokens each, and a two-party channel between them.
type chainWorld struct {
	c              *memory.Chain
	eth, tok       nitro.Address
	alice, bob     chainTestKey
	carol          chainTestKey
	a, b           ports.Chain
	id             nitro.Bytes32
	otherID        nitro.Bytes32
	watchAddresses []nitro.Address
}

func newChainWorld(t testing.TB, opts ...memory.ChainOption) *chainWorld {
	t.Helper()
	w := &chainWorld{c: memory.NewChain(chainTestID, opts...)}
	w.eth = w.c.ETHAssetHolder()
	w.tok = w.c.AddERC20AssetHolder("TEST")
	w.alice, w.bob, w.carol = chainKey(t, "alice"), chainKey(t, "bob"), chainKey(t, "carol")
	for _, k := range []chainTestKey{w.alice, w.bob} {
		w.c.Fund(k.addr, chainMilli(10_000))
		w.c.FundToken(w.tok, k.addr, big.NewInt(1000))
	}
	w.a, w.b = w.c.Account(w.alice.addr), w.c.Account(w.bob.addr)
	var err error
	if w.id, err = w.state(nil, true).ChannelID(); err != nil {
		t.Fatal(err)
	}
	other := w.state(nil, true)
	other.ChannelNonce++
	if w.otherID, err = other.ChannelID(); err != nil {
		t.Fatal(err)
	}
	w.watchAddresses = []nitro.Address{w.alice.addr, w.bob.addr, w.carol.addr, w.eth, w.tok}
	return w
}

// state returns a state of the Alice–Bob channel with the given outcome.
func (w *chainWorld) state(outcome nitro.Outcome, final bool) nitro.State {
	return nitro.State{
		ChainID:           chainTestID,
		Participants:      []nitro.Address{w.alice.addr, w.bob.addr},
		ChannelNonce:      7,
		AppDefinition:     nitro.Address{0xaa},
		ChallengeDuration: 60,
		AppData:           []byte{1, 2, 3},
		Outcome:           outcome,
		TurnNum:           5,
		IsFinal:           final,
	}
}

// signedConclude is a conclude request with the state signed by both, in
// participant order.
func (w *chainWorld) signedConclude(t testing.TB, st nitro.State) ports.ConcludeRequest {
	return ports.ConcludeRequest{State: st, Signatures: []nitro.Signature{chainSign(t, st, w.alice), chainSign(t, st, w.bob)}}
}

func (w *chainWorld) deposit(t testing.TB, from ports.Chain, asset nitro.Address, id nitro.Bytes32, expected, amount *big.Int) memory.ChainReceipt {
	t.Helper()
	tx, err := from.Deposit(context.Background(), ports.DepositRequest{ChannelID: id, Asset: asset, ExpectedHeld: expected, Amount: amount})
	if err != nil {
		t.Fatalf("deposit: %v", err)
	}
	return w.receipt(t, tx)
}

func (w *chainWorld) receipt(t testing.TB, tx ports.TxHash) memory.ChainReceipt {
	t.Helper()
	r, ok := w.c.Receipt(tx)
	if !ok {
		t.Fatalf("no receipt for %s", tx)
	}
	if !r.Succeeded() {
		t.Fatalf("tx %s failed: %v", tx, r.Err)
	}
	return r
}

// fund has Alice deposit 0.3 ETH and Bob 0.2 ETH into the channel.
func (w *chainWorld) fund(t testing.TB) {
	t.Helper()
	w.deposit(t, w.a, w.eth, w.id, big.NewInt(0), chainMilli(300))
	w.deposit(t, w.b, w.eth, w.id, chainMilli(300), chainMilli(200))
}

// dump describes every piece of state the tests watch, to check that a
// failed call changed nothing.
func (w *chainWorld) dump() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "block %d time %d pending %d\n", w.c.BlockNumber(), w.c.Now(), w.c.Pending())
	for _, a := range w.watchAddresses {
		fmt.Fprintf(&sb, "%s eth %s tok %s\n", a, w.c.Balance(a), w.c.TokenBalance(w.tok, a))
	}
	for _, id := range []nitro.Bytes32{w.id, w.otherID} {
		fmt.Fprintf(&sb, "%s eth %s tok %s finalized %t\n", id, w.c.ChannelHoldings(w.eth, id), w.c.ChannelHoldings(w.tok, id), w.c.Finalized(id))
	}
	return sb.String()
}

func chainWantReason(t testing.TB, err error, reason string) {
	t.Helper()
	if !errors.Is(err, ports.ErrReverted) {
		t.Fatalf("err = %v, want a revert", err)
	}
	var re *ports.RevertError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, not a *ports.RevertError", err)
	}
	if re.Reason != reason {
		t.Fatalf("revert reason = %q, want %q", re.Reason, reason)
	}
}

func chainWantAmount(t testing.TB, what string, got, want *big.Int) {
	t.Helper()
	if got == nil || got.Cmp(want) != 0 {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// chainRead reads n events from ch, failing after a timeout.
func chainRead(t testing.TB, ch <-chan core.ChainEvent, n int) []core.ChainEvent {
	t.Helper()
	var out []core.ChainEvent
	for len(out) < n {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("stream closed after %d of %d events", len(out), n)
			}
			out = append(out, ev)
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out after %d of %d events", len(out), n)
		}
	}
	return out
}

func chainNoMore(t testing.TB, ch <-chan core.ChainEvent) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("unexpected event %+v", ev)
		}
	case <-time.After(50 * time.Millisecond):
	}
}

func chainEventKey(ev core.ChainEvent) string {
	return fmt.Sprintf("%d/%d %s %x %s tx=%x t=%d dep=%v hold=%v init=%v fin=%d",
		ev.Block, ev.LogIndex, ev.Kind, ev.ChannelID[:4], ev.Asset.Hex()[:8], ev.TxHash[:4], ev.BlockTime,
		ev.AmountDeposited, ev.Holdings, ev.InitialHoldings, ev.FinalizesAt)
}

func chainEventKeys(evs []core.ChainEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = chainEventKey(ev)
	}
	return out
}

func chainSameEvents(t testing.TB, got, want []core.ChainEvent) {
	t.Helper()
	g, w := strings.Join(chainEventKeys(got), "\n"), strings.Join(chainEventKeys(want), "\n")
	if g != w {
		t.Fatalf("events:\n%s\nwant:\n%s", g, w)
	}
}

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

func TestChainEvents(t *testing.T) {
	w := newChainWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// A subscriber that reads nothing yet must not hold the chain up.
	lazy, err := w.a.Events(ctx, ports.Cursor{Block: 0})
	if err != nil {
		t.Fatal(err)
	}
	w.fund(t)                                                          // blocks 1, 2
	w.deposit(t, w.a, w.eth, w.otherID, big.NewInt(0), chainMilli(10)) // block 3
	st := w.state(nitro.Outcome{chainAlloc(w.eth, w.alice.dest(), chainMilli(500))}, true)
	tx, err := w.a.ConcludeAndTransferAll(ctx, w.signedConclude(t, st)) // block 4
	if err != nil {
		t.Fatal(err)
	}
	all := chainRead(t, lazy, 5)
	chainNoMore(t, lazy)
	r4 := w.receipt(t, tx)
	if len(r4.Events) != 2 {
		t.Fatalf("conclude emitted %d events", len(r4.Events))
	}
	for i := 1; i < len(all); i++ {
		p, q := all[i-1], all[i]
		if q.Block < p.Block || (q.Block == p.Block && q.LogIndex <= p.LogIndex) {
			t.Fatalf("events out of order: %s then %s", chainEventKey(p), chainEventKey(q))
		}
	}
	chainSameEvents(t, all[3:], r4.Events)

	for _, tc := range []struct {
		from uint64
		want []core.ChainEvent
	}{{0, all}, {1, all}, {3, all[2:]}, {4, all[3:]}, {5, nil}, {99, nil}} {
		t.Run(fmt.Sprintf("replay from %d", tc.from), func(t *testing.T) {
			sctx, scancel := context.WithCancel(ctx)
			defer scancel()
			ch, err := w.b.Events(sctx, ports.Cursor{Block: tc.from})
			if err != nil {
				t.Fatal(err)
			}
			chainSameEvents(t, chainRead(t, ch, len(tc.want)), tc.want)
			chainNoMore(t, ch)
		})
	}

	// Live: a stream from the middle replays, then follows new blocks.
	live, err := w.b.Events(ctx, ports.Cursor{Block: 3})
	if err != nil {
		t.Fatal(err)
	}
	chainSameEvents(t, chainRead(t, live, 3), all[2:])
	r5 := w.deposit(t, w.b, w.eth, w.otherID, chainMilli(10), chainMilli(5))
	r6 := w.deposit(t, w.a, w.tok, w.otherID, big.NewInt(0), big.NewInt(7))
	chainSameEvents(t, chainRead(t, live, 2), append(r5.Events, r6.Events...))
	chainSameEvents(t, chainRead(t, lazy, 2), append(r5.Events, r6.Events...))

	// A stream from a future block skips the blocks before it.
	future, err := w.a.Events(ctx, ports.Cursor{Block: w.c.BlockNumber() + 2})
	if err != nil {
		t.Fatal(err)
	}
	w.deposit(t, w.b, w.tok, w.otherID, big.NewInt(7), big.NewInt(1))
	chainNoMore(t, future)
	r8 := w.deposit(t, w.a, w.tok, w.otherID, big.NewInt(8), big.NewInt(1))
	chainSameEvents(t, chainRead(t, future, 1), r8.Events)

	// Events are copies: changing one does not change the chain's log.
	all[0].Holdings.SetInt64(-1)
	again, err := w.a.Events(ctx, ports.Cursor{Block: 1})
	if err != nil {
		t.Fatal(err)
	}
	chainWantAmount(t, "replayed holdings", chainRead(t, again, 1)[0].Holdings, chainMilli(300))

	// Ending the context closes the stream.
	sctx, scancel := context.WithCancel(ctx)
	ch, err := w.a.Events(sctx, ports.Cursor{Block: 0})
	if err != nil {
		t.Fatal(err)
	}
	scancel()
	deadline := time.After(5 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-ch:
		case <-deadline:
			t.Fatal("stream not closed after its context ended")
		}
	}
	if _, err := w.a.Events(sctx, ports.Cursor{Block: 0}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Events on an ended context: %v", err)
	}
}

func TestChainManualMining(t *testing.T) {
	w := newChainWorld(t, memory.WithManualMining())
	ctx := context.Background()
	stream, err := w.a.Events(ctx, ports.Cursor{Block: 0})
	if err != nil {
		t.Fatal(err)
	}
	req := ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: big.NewInt(0), Amount: chainMilli(300)}
	tx1, err := w.a.Deposit(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := w.c.Receipt(tx1); ok {
		t.Fatal("receipt before mining")
	}
	if w.c.Pending() != 1 || w.c.BlockNumber() != 0 || w.c.ChannelHoldings(w.eth, w.id).Sign() != 0 || w.c.Balance(w.alice.addr).Cmp(chainMilli(10_000)) != 0 {
		t.Fatal("a pending transaction changed state")
	}
	chainNoMore(t, stream)

	// Checked against the mined state, like a gas estimate: Bob's deposit
	// that needs Alice's reverts until hers is mined.
	_, err = w.b.Deposit(ctx, ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: chainMilli(300), Amount: chainMilli(200)})
	chainWantReason(t, err, ports.ReasonHoldingsBelowExpected)

	// A repeat passes the check now but fails when mined after the first.
	tx2, err := w.a.Deposit(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if tx2 == tx1 {
		t.Fatal("same hash for two transactions")
	}
	if blk := w.c.Mine(); blk != 1 {
		t.Fatalf("mined block %d, want 1", blk)
	}
	r1 := w.receipt(t, tx1)
	r2, ok := w.c.Receipt(tx2)
	if !ok || r2.Succeeded() || r2.Block != 1 || r2.Index != 1 || r1.Index != 0 || len(r2.Events) != 0 {
		t.Fatalf("receipts %+v %+v", r1, r2)
	}
	chainWantReason(t, r2.Err, ports.ReasonHoldingsSufficient)
	chainWantAmount(t, "alice paid once", w.c.Balance(w.alice.addr), chainMilli(9_700))
	chainSameEvents(t, chainRead(t, stream, 1), r1.Events)

	// Two transactions in one block: log indices run across the block, and
	// the second conclude finds the channel finalized.
	txb, err := w.b.Deposit(ctx, ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: chainMilli(300), Amount: chainMilli(200)})
	if err != nil {
		t.Fatal(err)
	}
	w.c.Mine()
	w.receipt(t, txb)
	st := w.state(nitro.Outcome{chainAlloc(w.eth, w.alice.dest(), chainMilli(100), w.bob.dest(), chainMilli(400))}, true)
	c1, err := w.a.ConcludeAndTransferAll(ctx, w.signedConclude(t, st))
	if err != nil {
		t.Fatal(err)
	}
	c2, err := w.b.ConcludeAndTransferAll(ctx, w.signedConclude(t, st))
	if err != nil {
		t.Fatal(err)
	}
	tx3, err := w.a.Deposit(ctx, ports.DepositRequest{ChannelID: w.otherID, Asset: w.tok, ExpectedHeld: big.NewInt(0), Amount: big.NewInt(9)})
	if err != nil {
		t.Fatal(err)
	}
	blk := w.c.Mine()
	rc1, rc3 := w.receipt(t, c1), w.receipt(t, tx3)
	rc2, _ := w.c.Receipt(c2)
	chainWantReason(t, rc2.Err, ports.ReasonChannelFinalized)
	if rc1.Block != blk || rc3.Block != blk || rc1.Events[1].LogIndex != 1 || rc3.Events[0].LogIndex != 2 {
		t.Fatalf("log indices %v / %v", chainEventKeys(rc1.Events), chainEventKeys(rc3.Events))
	}
	chainWantAmount(t, "bob paid once", w.c.Balance(w.bob.addr), chainMilli(10_200))
	chainSameEvents(t, chainRead(t, stream, 4)[1:], append(rc1.Events, rc3.Events...))
	if w.c.Pending() != 0 {
		t.Fatal("pending after Mine")
	}
}

// TestChainManualMiningLateRevert: a conclude that passes the submission check
// but reverts when mined, after paying someone, leaves no trace.
func TestChainManualMiningLateRevert(t *testing.T) {
	w := newChainWorld(t, memory.WithManualMining())
	ctx := context.Background()
	if _, err := w.a.Deposit(ctx, ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: big.NewInt(0), Amount: chainMilli(100)}); err != nil {
		t.Fatal(err)
	}
	w.c.Mine()
	// With 0.1 held Alice takes everything and the contract address gets
	// nothing, so the check passes; once Bob's deposit lands first, the
	// second item pays ETH to a contract, which reverts.
	o := nitro.Outcome{chainAlloc(w.eth, w.alice.dest(), chainMilli(100), nitro.AddressToDestination(w.tok), chainMilli(100))}
	txb, err := w.b.Deposit(ctx, ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: chainMilli(100), Amount: chainMilli(400)})
	if err != nil {
		t.Fatal(err)
	}
	txc, err := w.a.ConcludeAndTransferAll(ctx, w.signedConclude(t, w.state(o, true)))
	if err != nil {
		t.Fatalf("submission check: %v", err)
	}
	w.c.Mine()
	w.receipt(t, txb)
	rc, ok := w.c.Receipt(txc)
	if !ok || len(rc.Events) != 0 {
		t.Fatalf("receipt %+v", rc)
	}
	chainWantReason(t, rc.Err, memory.ChainReasonETHTransfer)
	chainWantAmount(t, "alice", w.c.Balance(w.alice.addr), chainMilli(9_900))
	chainWantAmount(t, "holdings", w.c.ChannelHoldings(w.eth, w.id), chainMilli(500))
	chainWantAmount(t, "asset holder", w.c.Balance(w.eth), chainMilli(500))
	if w.c.Finalized(w.id) {
		t.Fatal("finalized by a failed transaction")
	}
}

func TestChainTime(t *testing.T) {
	w := newChainWorld(t, memory.WithStartTime(1000), memory.WithBlockTime(12))
	if w.c.Now() != 1000 || w.c.BlockNumber() != 0 {
		t.Fatalf("genesis at %d/%d", w.c.BlockNumber(), w.c.Now())
	}
	r := w.deposit(t, w.a, w.eth, w.id, big.NewInt(0), chainMilli(500))
	if r.Block != 1 || r.BlockTime != 1012 || r.Events[0].BlockTime != 1012 {
		t.Fatalf("first block %d at %d", r.Block, r.BlockTime)
	}
	if blk := w.c.AdjustTime(100); blk != 2 || w.c.Now() != 1112 {
		t.Fatalf("AdjustTime: block %d at %d", blk, w.c.Now())
	}
	if blk := w.c.Mine(); blk != 3 || w.c.Now() != 1124 {
		t.Fatalf("Mine: block %d at %d", blk, w.c.Now())
	}
	st := w.state(nitro.Outcome{chainAlloc(w.eth, w.alice.dest(), chainMilli(500))}, true)
	tx, err := w.a.ConcludeAndTransferAll(context.Background(), w.signedConclude(t, st))
	if err != nil {
		t.Fatal(err)
	}
	r = w.receipt(t, tx)
	if r.Block != 4 || r.Events[0].FinalizesAt != 1136 || w.c.Now() != 1136 || !w.c.Finalized(w.id) {
		t.Fatalf("conclude in block %d, finalizesAt %d, now %d", r.Block, r.Events[0].FinalizesAt, w.c.Now())
	}
}

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

func TestChainReads(t *testing.T) {
	w := newChainWorld(t)
	if got := w.a.ChainID(); got.Cmp(chainTestID) != 0 {
		t.Fatalf("ChainID = %v", got)
	}
	w.a.ChainID().SetInt64(1) // a copy
	if w.b.ChainID().Cmp(chainTestID) != 0 {
		t.Fatal("ChainID shares its value")
	}
	if _, err := w.a.Holdings(context.Background(), nitro.Address{0x42}, w.id); err == nil {
		t.Fatal("Holdings of a non-contract succeeded")
	}
	if w.c.AddERC20AssetHolder("TEST") != w.tok || w.c.AddERC20AssetHolder("OTHER") == w.tok || w.tok == w.eth {
		t.Fatal("asset holder addresses not distinct and stable")
	}
	if memory.NewChain(chainTestID).ETHAssetHolder() != w.eth {
		t.Fatal("ETH asset holder address differs between chains")
	}
	// A request's values are copied at submission.
	amt := chainMilli(300)
	w.deposit(t, w.a, w.eth, w.id, big.NewInt(0), amt)
	amt.SetInt64(1)
	chainWantAmount(t, "holdings", w.c.ChannelHoldings(w.eth, w.id), chainMilli(300))
	if _, err := w.a.Deposit(context.Background(), ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: big.NewInt(-1), Amount: amt}); !errors.Is(err, nitro.ErrAmountOutOfRange) {
		t.Fatalf("negative expectedHeld: %v", err)
	}
}

func TestChainDeterministic(t *testing.T) {
	run := func() []string {
		w := newChainWorld(t)
		w.fund(t)
		st := w.state(nitro.Outcome{chainAlloc(w.eth, w.alice.dest(), chainMilli(500))}, true)
		tx, err := w.a.ConcludeAndTransferAll(context.Background(), w.signedConclude(t, st))
		if err != nil {
			t.Fatal(err)
		}
		r := w.receipt(t, tx)
		return append(chainEventKeys(r.Events), tx.Hex())
	}
	a, b := run(), run()
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Fatalf("runs differ:\n%v\n%v", a, b)
	}
}

func TestChainConcurrent(t *testing.T) {
	const workers, each = 8, 10
	c := memory.NewChain(chainTestID)
	eth := c.ETHAssetHolder()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := c.Account(nitro.Address{}).Events(ctx, ports.Cursor{Block: 0})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for i := 0; i < workers; i++ {
		from := nitro.Address{byte(i + 1)}
		c.Fund(from, big.NewInt(each))
		id := nitro.Bytes32{0xcc, byte(i)}
		acct := c.Account(from)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < each; j++ {
				if _, err := acct.Deposit(ctx, ports.DepositRequest{ChannelID: id, Asset: eth, ExpectedHeld: big.NewInt(int64(j)), Amount: big.NewInt(1)}); err != nil {
					errs <- err
				}
				if _, err := acct.Holdings(ctx, eth, id); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	evs := chainRead(t, stream, workers*each)
	for i, ev := range evs {
		if ev.Block != uint64(i+1) {
			t.Fatalf("event %d in block %d", i, ev.Block)
		}
	}
	if c.BlockNumber() != workers*each || c.Balance(eth).Cmp(big.NewInt(workers*each)) != 0 {
		t.Fatalf("block %d, escrow %v", c.BlockNumber(), c.Balance(eth))
	}
}
