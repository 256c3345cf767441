package chaintest

// What the tests share: funded accounts, signers, channels and their
// signed final states, and the checks of amounts, reverts and events.

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

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
