package app_test

import (
	"context"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/wireschema"
)

// connect puts every party on a bus: call outboxes and MessageQueued
// notifications are queued on it; messages are validated against the
// published schema on delivery.
func (e *env) connect() *memory.Bus {
	bus := memory.NewBus()
	for _, p := range e.parties {
		p := p
		bus.Register(p.name, func(ctx context.Context, data []byte) ([]memory.Envelope, error) {
			if err := wireschema.Validate(data); err != nil {
				e.t.Errorf("schema: %v", err)
			}
			r, err := p.w.PushMessage(ctx, data)
			return envelopes(r), err
		})
		notes, stop := p.w.Subscribe()
		e.t.Cleanup(stop)
		go func() {
			for n := range notes {
				if n.Type == app.MessageQueued {
					bus.Send(memory.Envelope{Recipient: n.Message.Recipient, Data: n.Message.Data})
				}
			}
		}()
	}
	return bus
}

func envelopes(r app.Result) []memory.Envelope {
	out := make([]memory.Envelope, len(r.Outbox))
	for i, m := range r.Outbox {
		out[i] = memory.Envelope{Recipient: m.Recipient, Data: m.Data}
	}
	return out
}

// settle runs the bus until cond holds for every party's channel.
func (e *env) settle(bus *memory.Bus, id nitro.Bytes32, what string, cond func(app.ChannelResult) bool) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := bus.Run(e.ctx); err != nil {
			e.t.Fatal(err)
		}
		ok := true
		for _, p := range e.parties {
			c, err := p.w.GetState(e.ctx, id)
			if err != nil || !cond(c) {
				ok = false
				break
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			for _, p := range e.parties {
				c, err := p.w.GetState(e.ctx, id)
				e.t.Logf("%s: %+v %v", p.name, c, err)
			}
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestMultiPartyHappyPath(t *testing.T) {
	for _, n := range []int{3, 5} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			e := newEnv(t, n)
			bus := e.connect()
			amounts := make([]int64, n)
			total := int64(0)
			for i := range amounts {
				amounts[i] = int64(100 * (i + 1))
				total += amounts[i]
			}
			r, err := e.parties[0].w.CreateChannel(e.ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(amounts...)})
			if err != nil {
				t.Fatal(err)
			}
			id := r.ChannelResults[0].ChannelID
			bus.Send(envelopes(r)...)
			e.settle(bus, id, "proposed", func(c app.ChannelResult) bool {
				return c.Status == core.StatusProposed || c.Status == core.StatusOpening
			})
			for _, p := range e.parties[1:] {
				r, err := p.w.JoinChannel(e.ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				bus.Send(envelopes(r)...)
			}
			e.settle(bus, id, "running", func(c app.ChannelResult) bool { return c.Status == core.StatusRunning })
			// Two full rounds of updates, each by the mover of the next turn.
			turn := uint64(2*n - 1)
			for u := 0; u < 2*n; u++ {
				turn++
				m := int(turn % uint64(n))
				mover := e.parties[m]
				amounts[m], amounts[(m+1)%n] = amounts[m]-1, amounts[(m+1)%n]+1 // the mover pays
				r, err := mover.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(amounts...)})
				if err != nil {
					t.Fatalf("turn %d by %s: %v", turn, mover.name, err)
				}
				bus.Send(envelopes(r)...)
				want := turn
				e.settle(bus, id, fmt.Sprintf("turn %d", want), func(c app.ChannelResult) bool { return c.TurnNum == want })
			}
			closer := e.parties[(turn+1)%uint64(n)]
			r, err = closer.w.CloseChannel(e.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if c := one(t, r, id); c.Status != core.StatusClosing {
				t.Fatalf("closer status %s", c.Status)
			}
			bus.Send(envelopes(r)...)
			e.settle(bus, id, "paid out", func(c app.ChannelResult) bool {
				return c.Status == core.StatusClosed && c.FundingStatus == core.FundingDefunded
			})
			for i, p := range e.parties {
				if got := e.chain.Balance(p.dest); got.Cmp(big.NewInt(amounts[i])) != 0 {
					t.Fatalf("%s paid %v, want %d", p.name, got, amounts[i])
				}
			}
		})
	}
}
