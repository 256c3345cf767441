package chaintest

// Tokens: deposits and payouts through the ERC20 asset holder, a token
// shortfall, and a three-party channel holding ETH and tokens.

import (
	"errors"
	"math/big"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

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
