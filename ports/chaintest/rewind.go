package chaintest

import (
	"context"
	"math/big"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Rewinder is an Env whose chain can lose its latest blocks, as after a
// reorg deeper than the confirmation depth or a node that came back lower.
// The suite's rewind cases skip an Env that is not one.
type Rewinder interface {
	Env
	// Head returns the head block's number.
	Head(ctx context.Context) (uint64, error)
	// RollbackTo makes block n the head: the blocks above it leave the
	// chain and their transactions are dropped; new transactions build a
	// new branch at the same heights.
	RollbackTo(ctx context.Context, n uint64) error
}

// testRollbackBelowDeliveredEvents: a stream that delivered a deposit whose
// block then leaves the chain sends a Rewound event at a common ancestor
// below it, holdings are exact again, and the new branch's events follow;
// a stream opened later at a cursor on the removed block starts with a
// Rewound event too.
func testRollbackBelowDeliveredEvents(s *suite) {
	env, ok := s.env.(Rewinder)
	if !ok {
		s.t.Fatal("the Env cannot roll its chain back: every chain adapter's Env must implement chaintest.Rewinder")
	}
	a := s.funded()
	eth := s.env.ETHAssetHolder()
	id := s.id(s.channel(7, "alice", "bob"))
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	stream, err := a.chain.Events(ctx, ports.Cursor{})
	if err != nil {
		s.t.Fatal(err)
	}
	before := s.head(env)
	s.deposit(a, eth, id, new(big.Int), milli(1))
	old := s.next(stream)
	s.wantEvent(old, core.EventDeposited, id, eth, milli(1), milli(1))
	if old.BlockHash == (ports.TxHash{}) {
		s.t.Fatalf("event without its block hash: %+v", old)
	}
	if err := env.RollbackTo(s.ctx, before); err != nil {
		s.t.Fatal(err)
	}
	s.wantAmount("holdings after the rollback", s.holdings(a.chain, eth, id), new(big.Int))
	rw := s.next(stream)
	if rw.Kind != core.EventRewound || rw.Block > before {
		s.t.Fatalf("after the rollback to block %d: %s at block %d, want Rewound at or below it", before, rw.Kind, rw.Block)
	}
	// The new branch, at the deposit's height: the account's transaction
	// that vanished does not hold up the next one.
	s.deposit(a, eth, id, new(big.Int), milli(2))
	s.wantEvent(s.next(stream), core.EventDeposited, id, eth, milli(2), milli(2))

	// A cursor left on the removed block is found out at subscribe time.
	late, err := a.chain.Events(ctx, ports.Cursor{Block: old.Block, Hash: old.BlockHash})
	if err != nil {
		s.t.Fatal(err)
	}
	if rw := s.next(late); rw.Kind != core.EventRewound || rw.Block >= old.Block {
		s.t.Fatalf("stream at a removed block's cursor: %s at block %d, want Rewound below %d", rw.Kind, rw.Block, old.Block)
	}
	s.wantEvent(s.next(late), core.EventDeposited, id, eth, milli(2), milli(2))
}

func (s *suite) head(env Rewinder) uint64 {
	s.t.Helper()
	n, err := env.Head(s.ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

// next reads the stream's next event.
func (s *suite) next(stream <-chan core.ChainEvent) core.ChainEvent {
	s.t.Helper()
	select {
	case ev, ok := <-stream:
		if !ok {
			s.t.Fatal("event stream closed")
		}
		return ev
	case <-s.ctx.Done():
		s.t.Fatal("no event")
	}
	return core.ChainEvent{}
}
