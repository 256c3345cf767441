package metrics_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/server/metrics"
)

// BenchmarkPingPong is app's BenchmarkPingPong (one update and its push,
// alternating between two wallets on the memory adapters) without and
// with Metrics installed on both wallets and every call observed: the
// cost of the metrics on the hot path.
func BenchmarkPingPong(b *testing.B) {
	for _, withMetrics := range []bool{false, true} {
		name := "bare"
		if withMetrics {
			name = "metrics"
		}
		b.Run(name, func(b *testing.B) { pingPong(b, withMetrics) })
	}
}

func pingPong(b *testing.B, withMetrics bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	chain := memory.NewChain(big.NewInt(1337))
	var ws [2]*app.Wallet
	var ms [2]*metrics.Metrics
	var notes [2]<-chan app.Notification
	var ps []app.Participant
	for i, name := range []string{"A", "B"} {
		s := memory.SignerFromSeed("metrics-bench-" + name)
		chain.Fund(s.Address(), big.NewInt(1_000_000))
		w, err := app.New(ctx, app.Config{Signer: s, Store: memory.NewStore(), Chain: chain.Account(s.Address()), TickInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		ws[i] = w
		var stop func()
		notes[i], stop = w.Subscribe()
		defer stop()
		if withMetrics {
			ms[i] = metrics.New(w)
		}
		ps = append(ps, app.Participant{ParticipantID: name, SigningAddress: s.Address(), Destination: nitro.AddressToDestination(s.Address())})
	}
	alloc := func(a int64) []app.Allocation {
		return []app.Allocation{{AssetHolderAddress: chain.ETHAssetHolder(), AllocationItems: []app.AllocationItem{
			{Destination: ps[0].Destination, Amount: big.NewInt(a)}, {Destination: ps[1].Destination, Amount: big.NewInt(8 - a)},
		}}}
	}
	pushTo := func(i int, m app.Message) app.Result {
		start := time.Now()
		r, err := ws[i].PushMessage(ctx, m.Data)
		if err != nil {
			b.Fatal(err)
		}
		if ms[i] != nil {
			ms[i].ObserveCall("PushMessage", 0, time.Since(start))
		}
		return r
	}
	queued := func(i int) app.Message {
		timeout := time.After(10 * time.Second)
		for {
			select {
			case n := <-notes[i]:
				if n.Type == app.MessageQueued {
					return n.Message
				}
			case <-timeout:
				b.Fatal("timed out waiting for a queued message")
			}
		}
	}
	r, err := ws[0].CreateChannel(ctx, app.CreateChannelParams{Participants: ps, Allocations: alloc(4)})
	if err != nil {
		b.Fatal(err)
	}
	id := r.ChannelResults[0].ChannelID
	pushTo(1, r.Outbox[0])
	if r, err = ws[1].JoinChannel(ctx, id); err != nil {
		b.Fatal(err)
	}
	pushTo(0, r.Outbox[0])
	postfund := queued(0) // A's, once both deposits show
	for funded := false; !funded; {
		select {
		case n := <-notes[1]:
			funded = n.Channel.ChannelID == id && n.Channel.FundingStatus == core.FundingFunded
		case <-time.After(10 * time.Second):
			b.Fatal("timed out waiting for B to see the channel funded")
		}
	}
	r = pushTo(1, postfund)
	pushTo(0, r.Outbox[0])

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		from := i % 2
		start := time.Now()
		r, err := ws[from].UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: alloc(int64(4 + from))})
		if err != nil {
			b.Fatal(err)
		}
		if ms[from] != nil {
			ms[from].ObserveCall("UpdateChannel", 0, time.Since(start))
		}
		pushTo(1-from, r.Outbox[0])
	}
}
