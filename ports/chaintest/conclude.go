package chaintest

// Conclude and payout: a fully and an under-funded channel, and the
// conclusions the adjudicator refuses (finalized, bad signatures, wrong
// chain id).

import (
	"math/big"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

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
