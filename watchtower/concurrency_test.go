package watchtower_test

import (
	"context"
	"errors"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
	"github.com/nitrowallet/nitrowallet/watchtower"
	"github.com/nitrowallet/nitrowallet/watchtower/watchtest"
)

// gatedChain holds the watcher's Record calls until want of them are under
// way at once (or a minute passed), and notes the channels they read in
// the order they came.
type gatedChain struct {
	ports.Chain
	want    int
	mu      sync.Mutex
	order   []nitro.Bytes32
	waiting int
	open    chan struct{}
	met     bool
}

func (g *gatedChain) Record(ctx context.Context, id nitro.Bytes32) (ports.ChannelRecord, error) {
	g.mu.Lock()
	g.order = append(g.order, id)
	g.waiting++
	if g.waiting == g.want && !g.met {
		g.met = true
		close(g.open)
	}
	g.mu.Unlock()
	select {
	case <-g.open:
	case <-time.After(time.Minute):
	case <-ctx.Done():
	}
	return g.Chain.Record(ctx, id)
}

// TestWatchAnswersAlarmsAtOnce: a peer registered stale challenges on six
// channels at once, while the watcher was down; restarted on its stored
// alarms, it checks them four at a time (its CheckConcurrency), the most
// urgent (earliest finalizesAt) first, and clears every one. A watcher
// that checked them one after another would never have four reads under
// way: on a real chain each checkpoint waits for its block.
func TestWatchAnswersAlarmsAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	chain := memory.NewChain(big.NewInt(1337))
	watcherAcct := nitro.Address{0x77}
	chain.Fund(watcherAcct, big.NewInt(1e18))
	chain.Fund(watchtest.Signers[1].Address(), big.NewInt(1e18))
	const at = 4
	gate := &gatedChain{Chain: chain.Account(watcherAcct), want: at, open: make(chan struct{})}
	store := watchtower.NewMemoryStore()
	w, err := watchtower.New(watchtower.Config{Store: store, Chain: gate,
		CheckInterval: 10 * time.Millisecond, ResubmitDelay: time.Minute, CheckConcurrency: at})
	if err != nil {
		t.Fatal(err)
	}
	x := &world{t: t, ctx: ctx, chain: chain, b: chain.Account(watchtest.Signers[1].Address()), w: w}
	var ids []nitro.Bytes32
	for nonce := uint64(1); nonce <= 6; nonce++ {
		p := x.proof(nonce, 5)
		if err := w.Watch(ctx, p); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ChannelID)
	}
	var recs []ports.ChannelRecord
	for i := range ids {
		x.challenge(x.proof(uint64(i+1), 3))
		recs = append(recs, x.record(ids[i]))
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].FinalizesAt <= recs[i-1].FinalizesAt {
			t.Fatalf("records %+v: want the challenges' ends in registration order", recs)
		}
	}
	// The alarms as the watcher stored them before it went down, the
	// least urgent first.
	for i := len(ids) - 1; i >= 0; i-- {
		if err := store.SetAlarm(ctx, watchtower.Alarm{ChannelID: ids[i], TurnNumRecord: recs[i].TurnNumRecord, FinalizesAt: recs[i].FinalizesAt}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	}()
	for _, id := range ids {
		x.waitCleared(id, 5)
	}
	gate.mu.Lock()
	met, order := gate.met, slices.Clone(gate.order)
	gate.mu.Unlock()
	if !met {
		t.Fatalf("never %d record reads under way at once (reads %d)", at, len(order))
	}
	for i, id := range order[:at] {
		if k := slices.Index(ids, id); k >= at {
			t.Fatalf("read %d is of the alarm %d by urgency, want one of the %d most urgent", i, k, at)
		}
	}
	if s := w.Stats(); s.Checkpoints != uint64(len(ids)) {
		t.Fatalf("stats %+v, want %d checkpoints", s, len(ids))
	}
}
