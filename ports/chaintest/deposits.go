package chaintest

// Deposits into the ETH asset holder: in turn, premature, stale, partly
// refunded, racing, refused; and holdings of an unknown channel.

import (
	"errors"
	"math/big"
	"sync"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

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

func testHoldingsUnknown(s *suite) {
	a := s.funded()
	id := s.id(s.channel(42, "alice", "bob"))
	s.wantAmount("ETH holdings", s.holdings(a.chain, s.env.ETHAssetHolder(), id), new(big.Int))
	s.wantAmount("token holdings", s.holdings(a.chain, s.env.ERC20AssetHolder(), id), new(big.Int))
}
