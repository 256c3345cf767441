package chaintest

// Event streams: chain order, replay from a cursor, and the first new
// event after it (rewinds are in rewind.go).

import (
	"context"
	"math/big"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

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
