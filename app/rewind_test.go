package app_test

import (
	"sync"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// pump routes the wallets' notifications: it delivers queued messages,
// joins proposals, and keeps each party's latest view of each channel and
// its ChainRewound reports.
type pump struct {
	e       *env
	mu      sync.Mutex
	views   map[string]map[nitro.Bytes32]app.ChannelResult
	rewinds map[string][]app.Rewind
}

func newPump(e *env) *pump {
	p := &pump{e: e, views: map[string]map[nitro.Bytes32]app.ChannelResult{}, rewinds: map[string][]app.Rewind{}}
	for _, party := range e.parties {
		p.views[party.name] = map[nitro.Bytes32]app.ChannelResult{}
		go func() {
			for n := range party.notes {
				p.note(party, n)
			}
		}()
	}
	return p
}

func (p *pump) note(party *party, n app.Notification) {
	switch n.Type {
	case app.MessageQueued:
		p.deliver(p.e.push(n.Message))
	case app.ChannelProposed:
		r, err := party.w.JoinChannel(p.e.ctx, n.Channel.ChannelID)
		if err != nil {
			p.e.t.Errorf("%s: join: %v", party.name, err)
			return
		}
		p.deliver(r)
	case app.ChainRewound:
		p.mu.Lock()
		p.rewinds[party.name] = append(p.rewinds[party.name], *n.Rewind)
		p.mu.Unlock()
	default:
		p.mu.Lock()
		p.views[party.name][n.Channel.ChannelID] = n.Channel
		p.mu.Unlock()
	}
}

func (p *pump) deliver(r app.Result) {
	for _, m := range r.Outbox {
		p.deliver(p.e.push(m))
	}
}

// wait polls until pred holds, failing the test after a generous bound.
func (p *pump) wait(what string, pred func() bool) {
	p.e.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		p.mu.Lock()
		ok := pred()
		p.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			p.e.t.Fatalf("gave up waiting for %s; views %v", what, p.views)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// every reports whether every party's view of every channel satisfies ok.
func (p *pump) every(ids []nitro.Bytes32, ok func(app.ChannelResult) bool) func() bool {
	return func() bool {
		for _, party := range p.e.parties {
			for _, id := range ids {
				if c, seen := p.views[party.name][id]; !seen || !ok(c) {
					return false
				}
			}
		}
		return true
	}
}

// TestReorgDropsDepositsOnMemoryChain: the memory chain's reorg, deeper
// than the confirmation depth, drops the deposits of running channels.
// Both wallets report the channels whose funding vanished, deposit again,
// and every channel closes with exact balances, holdings 0 and nothing
// pending on the chain.
func TestReorgDropsDepositsOnMemoryChain(t *testing.T) {
	e := newEnv(t, 2)
	p := newPump(e)
	start := e.chain.BlockNumber()
	ids := make([]nitro.Bytes32, 3)
	for i := range ids {
		r, err := e.parties[0].w.CreateChannel(e.ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3)})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = r.ChannelResults[0].ChannelID
		p.deliver(r)
	}
	running := func(c app.ChannelResult) bool {
		return c.Status == core.StatusRunning && c.FundingStatus == core.FundingFunded
	}
	p.wait("running", p.every(ids, running))
	e.chain.Reorg(int(e.chain.BlockNumber()-start), memory.ReorgDrop)
	for _, id := range ids {
		if h := e.chain.ChannelHoldings(e.chain.ETHAssetHolder(), id); h.Sign() != 0 {
			t.Fatalf("channel %s holds %v after the reorg", id, h)
		}
	}
	p.wait("the rewind reports", func() bool {
		for _, party := range e.parties {
			got := 0
			for _, r := range p.rewinds[party.name] {
				got += len(r.FundingVanished)
			}
			if got < len(ids) || party.w.Stats().ChainRewinds == 0 {
				return false
			}
		}
		return true
	})
	p.wait("funded again", func() bool {
		for _, id := range ids {
			if e.chain.ChannelHoldings(e.chain.ETHAssetHolder(), id).Int64() != 8 {
				return false
			}
		}
		return p.every(ids, running)()
	})
	for _, id := range ids {
		r, err := e.parties[0].w.CloseChannel(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		p.deliver(r)
	}
	p.wait("closed and paid out", p.every(ids, func(c app.ChannelResult) bool {
		return c.Status == core.StatusClosed && c.FundingStatus == core.FundingDefunded
	}))
	n := int64(len(ids))
	for i, party := range e.parties {
		item := []int64{5, 3}[i]
		if got := e.chain.Balance(party.dest).Int64(); got != item*n {
			t.Fatalf("%s's destination has %d, want %d", party.name, got, item*n)
		}
		if got := e.chain.Balance(party.signer.Address()).Int64(); got != 1_000_000-item*n {
			t.Fatalf("%s's account has %d, want %d (each item deposited once)", party.name, got, 1_000_000-item*n)
		}
	}
	for _, id := range ids {
		if h := e.chain.ChannelHoldings(e.chain.ETHAssetHolder(), id); h.Sign() != 0 {
			t.Fatalf("channel %s holds %v at the end", id, h)
		}
	}
	if e.chain.Pending() != 0 {
		t.Fatalf("%d transactions pending", e.chain.Pending())
	}
}
