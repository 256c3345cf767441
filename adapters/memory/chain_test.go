package memory_test

// The chain tests' shared world (chainWorld: Alice, Bob, an ETH and an ERC20
// asset holder, a channel between them) and its helpers, with the tests of
// the chain's basics. Deposits, conclude, events and mining, and faults have
// files of their own (chain_deposit_test.go, chain_conclude_test.go,
// chain_events_test.go, chain_faults_test.go).

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

// TestChainReportsItsProtocol: the memory chain tells the wallet, through
// ports.ProtocolOf, whose state hashes its adjudicator checks: 0.17.0's by
// default, WithProtocol's otherwise; a chain that does not say checks
// 0.17.0's.
func TestChainReportsItsProtocol(t *testing.T) {
	def := memory.NewChain(big.NewInt(1337)).Account(nitro.Address{1})
	old := memory.NewChain(big.NewInt(1337), memory.WithProtocol(nitro.Protocol0101)).Account(nitro.Address{1})
	if p := ports.ProtocolOf(def); p != nitro.Protocol0170 {
		t.Errorf("default chain: %s", p)
	}
	if p := ports.ProtocolOf(old); p != nitro.Protocol0101 {
		t.Errorf("WithProtocol(0.10.1): %s", p)
	}
	if p := ports.ProtocolOf(struct{ ports.Chain }{old}); p != nitro.Protocol0170 {
		t.Errorf("a chain without Protocol: %s", p)
	}
}
