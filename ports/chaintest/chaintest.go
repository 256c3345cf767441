// Package chaintest is the conformance suite every ports.Chain adapter
// runs: the in-memory model of the contracts and the EVM adapter must
// behave the same on deposits, payouts, reverts and event streams. An
// adapter's test calls Run with a function that builds a fresh chain:
//
//	func TestConformance(t *testing.T) { chaintest.Run(t, newEnv) }
//
// Amounts are checked exactly. Where an adapter charges gas, Env.Fee tells
// what a transaction cost its sender, so balances still add up to the wei.
package chaintest

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// ChainID is the chain id the suite's states carry: the in-memory chain
// must be built with it; go-ethereum's simulated chain and geth --dev use it.
const ChainID = 1337

// Revert reasons of the Nitro 0.17.0 contracts the suite expects, beyond
// those named in ports.
const (
	ReasonExternalDestination = "Deposit to external destination"
	ReasonInvalidSignatures   = "Invalid signatures / !isFinal"
	ReasonIncorrectChainID    = "Incorrect chainId"
	ReasonERC20Balance        = "ERC20: transfer amount exceeds balance"
)

// Env is one fresh chain, with the Nitro 0.17.0 contracts and one ERC20
// asset holder, for one test.
type Env interface {
	// ETHAssetHolder and ERC20AssetHolder are the asset holders' addresses.
	ETHAssetHolder() nitro.Address
	ERC20AssetHolder() nitro.Address
	// NewAccount returns the chain port of a new account holding wei ETH and
	// tokens of the ERC20 asset holder's token, and its address.
	NewAccount(ctx context.Context, wei, tokens *big.Int) (ports.Chain, nitro.Address, error)
	// Balance returns addr's ETH balance in wei.
	Balance(ctx context.Context, addr nitro.Address) (*big.Int, error)
	// TokenBalance returns addr's balance of the ERC20 asset holder's token.
	TokenBalance(ctx context.Context, addr nitro.Address) (*big.Int, error)
	// Fee returns the ETH a mined transaction cost its sender besides the
	// value it moved (zero on a chain without gas).
	Fee(ctx context.Context, tx ports.TxHash) (*big.Int, error)
}

// Run runs the suite, each test on a fresh Env from newEnv.
func Run(t *testing.T, newEnv func(t *testing.T) Env) {
	tests := []struct {
		name string
		run  func(*suite)
	}{
		{"DepositsInTurn", testDepositsInTurn},
		{"PrematureDepositReverts", testPrematureDeposit},
		{"StaleDepositReverts", testStaleDeposit},
		{"PartialRefund", testPartialRefund},
		{"OverlappingDeposits", testOverlappingDeposits},
		{"DepositToExternalDestinationReverts", testExternalDestination},
		{"InsufficientFunds", testInsufficientFunds},
		{"UnknownAssetHolder", testUnknownAssetHolder},
		{"ConcludePaysOut", testConcludePaysOut},
		{"ConcludeUnderfundedPaysInOrder", testConcludeUnderfunded},
		{"SecondConcludeReverts", testSecondConclude},
		{"BadSignaturesRevert", testBadSignatures},
		{"WrongChainIDReverts", testWrongChainID},
		{"ERC20", testERC20},
		{"ERC20InsufficientTokens", testERC20Insufficient},
		{"ThreePartiesTwoAssets", testThreePartiesTwoAssets},
		{"EventsReplayFromCursor", testEventsReplay},
		{"HoldingsOfUnknownChannel", testHoldingsUnknown},
		{"RollbackBelowDeliveredEvents", testRollbackBelowDeliveredEvents},
		{"Code", testCode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			tc.run(&suite{t: t, ctx: ctx, env: newEnv(t)})
		})
	}
}

// suite is one test's world.
type suite struct {
	t   *testing.T
	ctx context.Context
	env Env
}

// milli is m thousandths of an ether in wei.
func milli(m int64) *big.Int { return new(big.Int).Mul(big.NewInt(m), big.NewInt(1e15)) }

// account is a funded sender.
type account struct {
	chain ports.Chain
	addr  nitro.Address
}

func (s *suite) account(wei, tokens *big.Int) account {
	s.t.Helper()
	c, a, err := s.env.NewAccount(s.ctx, wei, tokens)
	if err != nil {
		s.t.Fatalf("new account: %v", err)
	}
	return account{chain: c, addr: a}
}

// funded is an account with 10 ETH and 1000 tokens.
func (s *suite) funded() account { return s.account(milli(10_000), big.NewInt(1000)) }

// signer is a participant's signing key.
type signer struct {
	key  *ecdsa.PrivateKey
	addr nitro.Address
}

func newSigner(t *testing.T, name string) signer {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte("chaintest/" + name)))
	if err != nil {
		t.Fatal(err)
	}
	return signer{key: k, addr: crypto.PubkeyToAddress(k.PublicKey)}
}

// fresh is an address nothing has touched: its balance is what it is paid.
func fresh(name string) nitro.Address {
	return nitro.Address(crypto.Keccak256([]byte("chaintest/destination/" + name))[12:])
}

func (s *suite) sign(st nitro.State, k signer) nitro.Signature {
	s.t.Helper()
	h, err := st.Hash()
	if err != nil {
		s.t.Fatal(err)
	}
	raw, err := crypto.Sign(nitro.SignatureDigest(h), k.key)
	if err != nil {
		s.t.Fatal(err)
	}
	raw[64] += 27
	sig, err := nitro.SignatureFromBytes(raw)
	if err != nil {
		s.t.Fatal(err)
	}
	return sig
}

// channel is a channel between signers with a nonce.
type channel struct {
	signers []signer
	nonce   uint64
}

func (s *suite) channel(nonce uint64, names ...string) channel {
	ch := channel{nonce: nonce}
	for _, n := range names {
		ch.signers = append(ch.signers, newSigner(s.t, n))
	}
	return ch
}

// final is the channel's final state at turn 9 with the given outcome.
func (ch channel) final(outcome nitro.Outcome) nitro.State {
	st := nitro.State{
		ChainID: big.NewInt(ChainID), ChannelNonce: ch.nonce, AppDefinition: nitro.Address{0xaa},
		ChallengeDuration: 86400, AppData: []byte{7}, Outcome: outcome, TurnNum: 9, IsFinal: true,
	}
	for _, k := range ch.signers {
		st.Participants = append(st.Participants, k.addr)
	}
	return st
}

func (s *suite) id(ch channel) nitro.Bytes32 {
	s.t.Helper()
	id, err := ch.final(nil).ChannelID()
	if err != nil {
		s.t.Fatal(err)
	}
	return id
}

// conclude is a conclude request signed by every participant, in order.
func (s *suite) conclude(ch channel, outcome nitro.Outcome) ports.ConcludeRequest {
	st := ch.final(outcome)
	req := ports.ConcludeRequest{State: st}
	for _, k := range ch.signers {
		req.Signatures = append(req.Signatures, s.sign(st, k))
	}
	return req
}

func alloc(asset nitro.Address, items ...any) nitro.AssetOutcome {
	ao := nitro.AssetOutcome{AssetHolder: asset}
	for i := 0; i < len(items); i += 2 {
		ao.Allocation = append(ao.Allocation, nitro.AllocationItem{
			Destination: nitro.AddressToDestination(items[i].(nitro.Address)), Amount: items[i+1].(*big.Int)})
	}
	return ao
}

func (s *suite) deposit(from account, asset nitro.Address, id nitro.Bytes32, expected, amount *big.Int) ports.TxHash {
	s.t.Helper()
	tx, err := from.chain.Deposit(s.ctx, ports.DepositRequest{ChannelID: id, Asset: asset, ExpectedHeld: expected, Amount: amount})
	if err != nil {
		s.t.Fatalf("deposit(expectedHeld %v, amount %v): %v", expected, amount, err)
	}
	return tx
}

func (s *suite) balance(a nitro.Address) *big.Int {
	s.t.Helper()
	b, err := s.env.Balance(s.ctx, a)
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

func (s *suite) tokens(a nitro.Address) *big.Int {
	s.t.Helper()
	b, err := s.env.TokenBalance(s.ctx, a)
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

func (s *suite) fee(tx ports.TxHash) *big.Int {
	s.t.Helper()
	f, err := s.env.Fee(s.ctx, tx)
	if err != nil {
		s.t.Fatal(err)
	}
	return f
}

func (s *suite) holdings(c ports.Chain, asset nitro.Address, id nitro.Bytes32) *big.Int {
	s.t.Helper()
	h, err := c.Holdings(s.ctx, asset, id)
	if err != nil {
		s.t.Fatal(err)
	}
	return h
}

func (s *suite) wantAmount(what string, got, want *big.Int) {
	s.t.Helper()
	if got.Cmp(want) != 0 {
		s.t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// wantSpent checks that a's balance went from before down by value plus
// the fees of txs.
func (s *suite) wantSpent(who string, a nitro.Address, before, value *big.Int, txs ...ports.TxHash) {
	s.t.Helper()
	want := new(big.Int).Sub(before, value)
	for _, tx := range txs {
		want.Sub(want, s.fee(tx))
	}
	s.wantAmount(who+"'s balance", s.balance(a), want)
}

// wantRevert checks that err is a revert with reason.
func (s *suite) wantRevert(err error, reason string) {
	s.t.Helper()
	var rev *ports.RevertError
	if !errors.As(err, &rev) || !errors.Is(err, ports.ErrReverted) {
		s.t.Fatalf("got error %v, want a revert %q", err, reason)
	}
	if rev.Reason != reason {
		s.t.Fatalf("revert reason %q, want %q (error: %v)", rev.Reason, reason, err)
	}
}

// events reads n events from a stream opened at from.
func (s *suite) events(c ports.Chain, from uint64, n int) []core.ChainEvent {
	s.t.Helper()
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	ch, err := c.Events(ctx, ports.Cursor{Block: from})
	if err != nil {
		s.t.Fatalf("events: %v", err)
	}
	var out []core.ChainEvent
	for len(out) < n {
		select {
		case ev, ok := <-ch:
			if !ok {
				s.t.Fatalf("event stream closed after %d events, want %d", len(out), n)
			}
			out = append(out, ev)
		case <-s.ctx.Done():
			s.t.Fatalf("got %d events, want %d: %+v", len(out), n, out)
		}
	}
	return out
}

// wantEvent checks the parts of ev that every adapter must agree on.
func (s *suite) wantEvent(ev core.ChainEvent, kind core.EventKind, id nitro.Bytes32, asset nitro.Address, amounts ...*big.Int) {
	s.t.Helper()
	if ev.Kind != kind || ev.ChannelID != id || ev.Asset != asset {
		s.t.Fatalf("event %s channel %s asset %s, want %s channel %s asset %s", ev.Kind, ev.ChannelID, ev.Asset, kind, id, asset)
	}
	if ev.BlockTime == 0 || ev.TxHash == (nitro.Bytes32{}) {
		s.t.Fatalf("event %s without block time or tx hash: %+v", kind, ev)
	}
	var got []*big.Int
	switch kind {
	case core.EventDeposited:
		got = []*big.Int{ev.AmountDeposited, ev.Holdings}
	case core.EventAllocationUpdated:
		got = []*big.Int{ev.InitialHoldings}
	case core.EventConcluded:
		if ev.FinalizesAt != ev.BlockTime {
			s.t.Fatalf("Concluded finalizesAt %d, want its block time %d", ev.FinalizesAt, ev.BlockTime)
		}
	}
	for i, want := range amounts {
		if got[i] == nil || got[i].Cmp(want) != 0 {
			s.t.Fatalf("%s amount %d = %v, want %v", kind, i, got[i], want)
		}
	}
}

func testDepositsInTurn(s *suite) {
	a, b := s.funded(), s.funded()
	eth := s.env.ETHAssetHolder()
	id := s.id(s.channel(1, "alice", "bob"))
	balA, balB := s.balance(a.addr), s.balance(b.addr)
	txA := s.deposit(a, eth, id, new(big.Int), milli(300))
	s.wantAmount("holdings after A", s.holdings(b.chain, eth, id), milli(300))
	txB := s.deposit(b, eth, id, milli(300), milli(200))
	s.wantAmount("holdings after B", s.holdings(a.chain, eth, id), milli(500))
	s.wantSpent("A", a.addr, balA, milli(300), txA)
	s.wantSpent("B", b.addr, balB, milli(200), txB)
	evs := s.events(a.chain, 0, 2)
	s.wantEvent(evs[0], core.EventDeposited, id, eth, milli(300), milli(300))
	s.wantEvent(evs[1], core.EventDeposited, id, eth, milli(200), milli(500))
	if evs[0].TxHash != txA || evs[1].TxHash != txB {
		s.t.Fatalf("event tx hashes %s, %s; deposits were %s, %s", evs[0].TxHash, evs[1].TxHash, txA, txB)
	}
}

func testPrematureDeposit(s *suite) {
	a := s.funded()
	eth := s.env.ETHAssetHolder()
	id := s.id(s.channel(1, "alice", "bob"))
	bal := s.balance(a.addr)
	_, err := a.chain.Deposit(s.ctx, ports.DepositRequest{ChannelID: id, Asset: eth, ExpectedHeld: milli(300), Amount: milli(200)})
	s.wantRevert(err, ports.ReasonHoldingsBelowExpected)
	s.wantAmount("holdings", s.holdings(a.chain, eth, id), new(big.Int))
	s.wantAmount("balance after a refused deposit", s.balance(a.addr), bal)
}

func testStaleDeposit(s *suite) {
	a, b := s.funded(), s.funded()
	eth := s.env.ETHAssetHolder()
	id := s.id(s.channel(1, "alice", "bob"))
	s.deposit(a, eth, id, new(big.Int), milli(300))
	s.deposit(b, eth, id, milli(300), milli(200))
	bal := s.balance(a.addr)
	_, err := a.chain.Deposit(s.ctx, ports.DepositRequest{ChannelID: id, Asset: eth, ExpectedHeld: new(big.Int), Amount: milli(300)})
	s.wantRevert(err, ports.ReasonHoldingsSufficient)
	s.wantAmount("holdings", s.holdings(a.chain, eth, id), milli(500))
	s.wantAmount("balance after a refused deposit", s.balance(a.addr), bal)
}

func testPartialRefund(s *suite) {
	a, b := s.funded(), s.funded()
	eth := s.env.ETHAssetHolder()
	id := s.id(s.channel(1, "alice", "bob"))
	s.deposit(a, eth, id, new(big.Int), milli(100))
	balB := s.balance(b.addr)
	// B still believes the channel empty: 0.2 is deposited, 0.1 refunded.
	tx := s.deposit(b, eth, id, new(big.Int), milli(300))
	s.wantAmount("holdings", s.holdings(b.chain, eth, id), milli(300))
	s.wantSpent("B", b.addr, balB, milli(200), tx)
	evs := s.events(b.chain, 0, 2)
	s.wantEvent(evs[1], core.EventDeposited, id, eth, milli(200), milli(300))
}

func testOverlappingDeposits(s *suite) {
	a, b := s.funded(), s.funded()
	eth := s.env.ETHAssetHolder()
	id := s.id(s.channel(1, "alice", "bob"))
	balA, balB := s.balance(a.addr), s.balance(b.addr)
	// Both think the channel is empty and want it to reach 0.3 and 0.5.
	var wg sync.WaitGroup
	var txA, txB ports.TxHash
	var errA, errB error
	wg.Add(2)
	go func() {
		defer wg.Done()
		txA, errA = a.chain.Deposit(s.ctx, ports.DepositRequest{ChannelID: id, Asset: eth, ExpectedHeld: new(big.Int), Amount: milli(300)})
	}()
	go func() {
		defer wg.Done()
		txB, errB = b.chain.Deposit(s.ctx, ports.DepositRequest{ChannelID: id, Asset: eth, ExpectedHeld: new(big.Int), Amount: milli(500)})
	}()
	wg.Wait()
	if errB != nil {
		s.t.Fatalf("B's deposit can always go through (deposit or refund): %v", errB)
	}
	s.wantAmount("holdings", s.holdings(a.chain, eth, id), milli(500))
	if errA == nil {
		// A first; B tops up to 0.5 and gets 0.3 back.
		s.wantSpent("A", a.addr, balA, milli(300), txA)
		s.wantSpent("B", b.addr, balB, milli(200), txB)
		return
	}
	// B first; A finds the channel holding enough, either before sending
	// (nothing spent) or once mined after B's (a failed transaction whose
	// hash comes with the error, and which cost its gas).
	s.wantRevert(errA, ports.ReasonHoldingsSufficient)
	if txA == (ports.TxHash{}) {
		s.wantAmount("A's balance", s.balance(a.addr), balA)
	} else {
		s.wantSpent("A", a.addr, balA, new(big.Int), txA)
	}
	s.wantSpent("B", b.addr, balB, milli(500), txB)
}

func testExternalDestination(s *suite) {
	a := s.funded()
	eth := s.env.ETHAssetHolder()
	_, err := a.chain.Deposit(s.ctx, ports.DepositRequest{ChannelID: nitro.AddressToDestination(fresh("x")), Asset: eth, ExpectedHeld: new(big.Int), Amount: milli(1)})
	s.wantRevert(err, ReasonExternalDestination)
}

func testInsufficientFunds(s *suite) {
	poor := s.account(new(big.Int), new(big.Int))
	eth := s.env.ETHAssetHolder()
	id := s.id(s.channel(1, "alice", "bob"))
	_, err := poor.chain.Deposit(s.ctx, ports.DepositRequest{ChannelID: id, Asset: eth, ExpectedHeld: new(big.Int), Amount: milli(1)})
	if !errors.Is(err, ports.ErrInsufficientFunds) {
		s.t.Fatalf("deposit from an empty account: %v, want ErrInsufficientFunds", err)
	}
	s.wantAmount("holdings", s.holdings(poor.chain, eth, id), new(big.Int))
}

func testUnknownAssetHolder(s *suite) {
	a := s.funded()
	id := s.id(s.channel(1, "alice", "bob"))
	bal := s.balance(a.addr)
	if _, err := a.chain.Deposit(s.ctx, ports.DepositRequest{ChannelID: id, Asset: fresh("not-a-holder"), ExpectedHeld: new(big.Int), Amount: milli(1)}); err == nil {
		s.t.Fatal("a deposit to an address that is no asset holder succeeded")
	}
	s.wantAmount("balance", s.balance(a.addr), bal)
	if _, err := a.chain.Holdings(s.ctx, fresh("not-a-holder"), id); err == nil {
		s.t.Fatal("holdings of an address that is no asset holder: no error")
	}
}

// fundTwo has a and b deposit 0.3 and 0.2 ETH into the channel.
func (s *suite) fundTwo(a, b account, id nitro.Bytes32) {
	eth := s.env.ETHAssetHolder()
	s.deposit(a, eth, id, new(big.Int), milli(300))
	s.deposit(b, eth, id, milli(300), milli(200))
}

func testConcludePaysOut(s *suite) {
	a, b, c := s.funded(), s.funded(), s.funded()
	eth := s.env.ETHAssetHolder()
	ch := s.channel(1, "alice", "bob")
	id := s.id(ch)
	s.fundTwo(a, b, id)
	dA, dB := fresh("conclude-A"), fresh("conclude-B")
	balC := s.balance(c.addr)
	// Anyone may submit; the outcome decides who is paid.
	tx, err := c.chain.ConcludeAndTransferAll(s.ctx, s.conclude(ch, nitro.Outcome{alloc(eth, dA, milli(200), dB, milli(300))}))
	if err != nil {
		s.t.Fatalf("conclude: %v", err)
	}
	s.wantAmount("A's destination", s.balance(dA), milli(200))
	s.wantAmount("B's destination", s.balance(dB), milli(300))
	s.wantAmount("holdings", s.holdings(a.chain, eth, id), new(big.Int))
	s.wantSpent("the submitter", c.addr, balC, new(big.Int), tx)
	evs := s.events(a.chain, 0, 4)
	s.wantEvent(evs[2], core.EventConcluded, id, nitro.Address{})
	s.wantEvent(evs[3], core.EventAllocationUpdated, id, eth, milli(500))
	if evs[2].TxHash != tx || evs[3].TxHash != tx {
		s.t.Fatalf("conclude events from txs %s, %s, want %s", evs[2].TxHash, evs[3].TxHash, tx)
	}
}

func testConcludeUnderfunded(s *suite) {
	a := s.funded()
	eth := s.env.ETHAssetHolder()
	ch := s.channel(2, "alice", "bob")
	id := s.id(ch)
	s.deposit(a, eth, id, new(big.Int), milli(300))
	dA, dB := fresh("under-A"), fresh("under-B")
	if _, err := a.chain.ConcludeAndTransferAll(s.ctx, s.conclude(ch, nitro.Outcome{alloc(eth, dA, milli(200), dB, milli(300))})); err != nil {
		s.t.Fatalf("conclude: %v", err)
	}
	s.wantAmount("A's destination", s.balance(dA), milli(200))
	s.wantAmount("B's destination (what was left)", s.balance(dB), milli(100))
	s.wantAmount("holdings", s.holdings(a.chain, eth, id), new(big.Int))
}

func testSecondConclude(s *suite) {
	a, b := s.funded(), s.funded()
	eth := s.env.ETHAssetHolder()
	ch := s.channel(1, "alice", "bob")
	id := s.id(ch)
	s.fundTwo(a, b, id)
	req := s.conclude(ch, nitro.Outcome{alloc(eth, fresh("second-A"), milli(200), fresh("second-B"), milli(300))})
	if _, err := a.chain.ConcludeAndTransferAll(s.ctx, req); err != nil {
		s.t.Fatalf("conclude: %v", err)
	}
	bal := s.balance(b.addr)
	_, err := b.chain.ConcludeAndTransferAll(s.ctx, req)
	s.wantRevert(err, ports.ReasonChannelFinalized)
	s.wantAmount("B's balance after a refused conclude", s.balance(b.addr), bal)
	s.wantAmount("A's destination", s.balance(fresh("second-A")), milli(200))
}

func testBadSignatures(s *suite) {
	a, b := s.funded(), s.funded()
	eth := s.env.ETHAssetHolder()
	ch := s.channel(1, "alice", "bob")
	id := s.id(ch)
	s.fundTwo(a, b, id)
	outcome := nitro.Outcome{alloc(eth, fresh("bad-A"), milli(200), fresh("bad-B"), milli(300))}

	// Carol signs in Bob's place.
	req := s.conclude(ch, outcome)
	req.Signatures[1] = s.sign(req.State, newSigner(s.t, "carol"))
	_, err := a.chain.ConcludeAndTransferAll(s.ctx, req)
	s.wantRevert(err, ReasonInvalidSignatures)

	// The right signatures in the wrong order.
	req = s.conclude(ch, outcome)
	req.Signatures[0], req.Signatures[1] = req.Signatures[1], req.Signatures[0]
	_, err = a.chain.ConcludeAndTransferAll(s.ctx, req)
	s.wantRevert(err, ReasonInvalidSignatures)

	// A signature that recovers no address.
	req = s.conclude(ch, outcome)
	req.Signatures[1] = nitro.Signature{V: 27}
	_, err = a.chain.ConcludeAndTransferAll(s.ctx, req)
	s.wantRevert(err, ports.ReasonInvalidSignature)

	// A state Bob never signed (another outcome).
	req = s.conclude(ch, outcome)
	other := s.conclude(ch, nitro.Outcome{alloc(eth, fresh("bad-A"), milli(500))})
	req.Signatures[1] = other.Signatures[1]
	_, err = a.chain.ConcludeAndTransferAll(s.ctx, req)
	s.wantRevert(err, ReasonInvalidSignatures)

	s.wantAmount("holdings", s.holdings(a.chain, eth, id), milli(500))
	s.wantAmount("A's destination", s.balance(fresh("bad-A")), new(big.Int))
}

func testWrongChainID(s *suite) {
	a := s.funded()
	eth := s.env.ETHAssetHolder()
	ch := s.channel(1, "alice", "bob")
	st := ch.final(nitro.Outcome{alloc(eth, fresh("x"), milli(1))})
	st.ChainID = big.NewInt(1)
	req := ports.ConcludeRequest{State: st, Signatures: []nitro.Signature{s.sign(st, ch.signers[0]), s.sign(st, ch.signers[1])}}
	_, err := a.chain.ConcludeAndTransferAll(s.ctx, req)
	s.wantRevert(err, ReasonIncorrectChainID)
}

func testERC20(s *suite) {
	a, b := s.funded(), s.funded()
	tok := s.env.ERC20AssetHolder()
	ch := s.channel(3, "alice", "bob")
	id := s.id(ch)
	tokA, tokB := s.tokens(a.addr), s.tokens(b.addr)
	txA := s.deposit(a, tok, id, new(big.Int), big.NewInt(30))
	txB := s.deposit(b, tok, id, big.NewInt(30), big.NewInt(20))
	s.wantAmount("token holdings", s.holdings(a.chain, tok, id), big.NewInt(50))
	s.wantAmount("A's tokens", s.tokens(a.addr), new(big.Int).Sub(tokA, big.NewInt(30)))
	s.wantAmount("B's tokens", s.tokens(b.addr), new(big.Int).Sub(tokB, big.NewInt(20)))
	// A stale token deposit pulls nothing.
	_, err := b.chain.Deposit(s.ctx, ports.DepositRequest{ChannelID: id, Asset: tok, ExpectedHeld: new(big.Int), Amount: big.NewInt(20)})
	s.wantRevert(err, ports.ReasonHoldingsSufficient)
	s.wantAmount("B's tokens after a stale deposit", s.tokens(b.addr), new(big.Int).Sub(tokB, big.NewInt(20)))

	dA, dB := fresh("erc20-A"), fresh("erc20-B")
	if _, err := b.chain.ConcludeAndTransferAll(s.ctx, s.conclude(ch, nitro.Outcome{alloc(tok, dA, big.NewInt(15), dB, big.NewInt(35))})); err != nil {
		s.t.Fatalf("conclude: %v", err)
	}
	s.wantAmount("A's destination tokens", s.tokens(dA), big.NewInt(15))
	s.wantAmount("B's destination tokens", s.tokens(dB), big.NewInt(35))
	s.wantAmount("A's destination ETH", s.balance(dA), new(big.Int))
	s.wantAmount("token holdings", s.holdings(a.chain, tok, id), new(big.Int))
	evs := s.events(a.chain, 0, 4)
	s.wantEvent(evs[0], core.EventDeposited, id, tok, big.NewInt(30), big.NewInt(30))
	s.wantEvent(evs[1], core.EventDeposited, id, tok, big.NewInt(20), big.NewInt(50))
	s.wantEvent(evs[2], core.EventConcluded, id, nitro.Address{})
	s.wantEvent(evs[3], core.EventAllocationUpdated, id, tok, big.NewInt(50))
	if evs[0].TxHash != txA || evs[1].TxHash != txB {
		s.t.Fatalf("deposit events from %s, %s; want %s, %s", evs[0].TxHash, evs[1].TxHash, txA, txB)
	}
}

func testERC20Insufficient(s *suite) {
	a := s.account(milli(10_000), big.NewInt(5))
	tok := s.env.ERC20AssetHolder()
	id := s.id(s.channel(3, "alice", "bob"))
	_, err := a.chain.Deposit(s.ctx, ports.DepositRequest{ChannelID: id, Asset: tok, ExpectedHeld: new(big.Int), Amount: big.NewInt(6)})
	s.wantRevert(err, ReasonERC20Balance)
	if !errors.Is(err, ports.ErrInsufficientFunds) {
		s.t.Fatalf("token shortfall %v does not match ErrInsufficientFunds", err)
	}
	s.wantAmount("tokens", s.tokens(a.addr), big.NewInt(5))
	s.wantAmount("holdings", s.holdings(a.chain, tok, id), new(big.Int))
	// Exactly enough goes through.
	s.deposit(a, tok, id, new(big.Int), big.NewInt(5))
	s.wantAmount("tokens", s.tokens(a.addr), new(big.Int))
}

func testThreePartiesTwoAssets(s *suite) {
	accts := []account{s.funded(), s.funded(), s.funded()}
	eth, tok := s.env.ETHAssetHolder(), s.env.ERC20AssetHolder()
	ch := s.channel(4, "alice", "bob", "carol")
	id := s.id(ch)
	ethAmounts := []*big.Int{milli(100), milli(200), milli(300)}
	tokAmounts := []*big.Int{big.NewInt(1), big.NewInt(2), big.NewInt(3)}
	held, heldTok := new(big.Int), new(big.Int)
	for i, a := range accts {
		s.deposit(a, eth, id, held, ethAmounts[i])
		held.Add(held, ethAmounts[i])
		s.deposit(a, tok, id, heldTok, tokAmounts[i])
		heldTok.Add(heldTok, tokAmounts[i])
	}
	d := []nitro.Address{fresh("three-0"), fresh("three-1"), fresh("three-2")}
	// The final outcome moves value between the parties.
	outcome := nitro.Outcome{
		alloc(eth, d[0], milli(50), d[1], milli(250), d[2], milli(300)),
		alloc(tok, d[0], big.NewInt(3), d[1], big.NewInt(3)),
	}
	tx, err := accts[2].chain.ConcludeAndTransferAll(s.ctx, s.conclude(ch, outcome))
	if err != nil {
		s.t.Fatalf("conclude: %v", err)
	}
	for i, want := range []int64{50, 250, 300} {
		s.wantAmount("destination ETH", s.balance(d[i]), milli(want))
	}
	for i, want := range []int64{3, 3, 0} {
		s.wantAmount("destination tokens", s.tokens(d[i]), big.NewInt(want))
	}
	s.wantAmount("ETH holdings", s.holdings(accts[0].chain, eth, id), new(big.Int))
	s.wantAmount("token holdings", s.holdings(accts[0].chain, tok, id), new(big.Int))
	evs := s.events(accts[0].chain, 0, 9)
	s.wantEvent(evs[6], core.EventConcluded, id, nitro.Address{})
	s.wantEvent(evs[7], core.EventAllocationUpdated, id, eth, milli(600))
	s.wantEvent(evs[8], core.EventAllocationUpdated, id, tok, big.NewInt(6))
	if evs[8].TxHash != tx {
		s.t.Fatalf("payout event from %s, want %s", evs[8].TxHash, tx)
	}
}

func testEventsReplay(s *suite) {
	a, b := s.funded(), s.funded()
	eth := s.env.ETHAssetHolder()
	ch := s.channel(1, "alice", "bob")
	id := s.id(ch)
	s.fundTwo(a, b, id)
	if _, err := a.chain.ConcludeAndTransferAll(s.ctx, s.conclude(ch, nitro.Outcome{alloc(eth, fresh("replay-A"), milli(500))})); err != nil {
		s.t.Fatalf("conclude: %v", err)
	}
	all := s.events(b.chain, 0, 4)
	for i := 1; i < len(all); i++ {
		p, e := all[i-1], all[i]
		if e.Block < p.Block || (e.Block == p.Block && e.LogIndex <= p.LogIndex) || e.BlockTime < p.BlockTime {
			s.t.Fatalf("events out of chain order: %+v then %+v", p, e)
		}
	}
	// A consumer that processed up to the second event's block resumes
	// there: everything from that block on is replayed, in order.
	from := all[1].Block
	var want []core.ChainEvent
	for _, e := range all {
		if e.Block >= from {
			want = append(want, e)
		}
	}
	got := s.events(a.chain, from, len(want))
	for i := range want {
		if got[i].Block != want[i].Block || got[i].LogIndex != want[i].LogIndex || got[i].Kind != want[i].Kind || got[i].TxHash != want[i].TxHash {
			s.t.Fatalf("replayed event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// Resuming after the last block replays nothing old: the first event
	// seen is a new one.
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	stream, err := a.chain.Events(ctx, ports.Cursor{Block: all[3].Block + 1})
	if err != nil {
		s.t.Fatal(err)
	}
	other := s.id(s.channel(99, "alice", "bob"))
	tx := s.deposit(b, eth, other, new(big.Int), milli(1))
	select {
	case ev := <-stream:
		s.wantEvent(ev, core.EventDeposited, other, eth, milli(1), milli(1))
		if ev.TxHash != tx {
			s.t.Fatalf("first event after the cursor from %s, want %s", ev.TxHash, tx)
		}
	case <-s.ctx.Done():
		s.t.Fatal("no event after the cursor")
	}
}

func testHoldingsUnknown(s *suite) {
	a := s.funded()
	id := s.id(s.channel(42, "alice", "bob"))
	s.wantAmount("ETH holdings", s.holdings(a.chain, s.env.ETHAssetHolder(), id), new(big.Int))
	s.wantAmount("token holdings", s.holdings(a.chain, s.env.ERC20AssetHolder(), id), new(big.Int))
}
