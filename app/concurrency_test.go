package app_test

import (
	"errors"
	"testing"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/internal/testkit"
)

// TestConcurrentChannels runs ping-pong updates on many channels at once
// (run it with -race) and then races two updates on one channel.
func TestConcurrentChannels(t *testing.T) {
	e := newEnv(t, 2)
	A, B := e.parties[0], e.parties[1]
	bus := e.connect()
	const channels, rounds = 16, 10
	ids := e.openChannels(bus, channels, 50, 50)
	testkit.Parallel(t, channels, func(c int) error {
		for i := 0; i < rounds; i++ {
			for _, pair := range [][2]*party{{A, B}, {B, A}} {
				r, err := pair[0].w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: ids[c], Allocations: e.allocation(int64(50-i), int64(50+i))})
				if err == nil {
					_, err = pair[1].w.PushMessage(e.ctx, r.Outbox[0].Data)
				}
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
	for _, id := range ids {
		for _, p := range e.parties {
			c, err := p.w.GetState(e.ctx, id)
			if err != nil || c.TurnNum != 3+2*rounds {
				t.Fatalf("%s: turn %d err %v", p.name, c.TurnNum, err)
			}
		}
	}
	// Two different updates race on one channel: exactly one gets the turn.
	id := ids[0]
	results := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() {
			_, err := A.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(int64(10+i), int64(90-i))})
			results <- err
		}()
	}
	ok, notTurn := 0, 0
	for i := 0; i < 2; i++ {
		switch err := <-results; {
		case err == nil:
			ok++
		case errors.Is(err, app.ErrNotYourTurn):
			notTurn++
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	if ok != 1 || notTurn != 1 {
		t.Fatalf("%d succeeded, %d not-your-turn", ok, notTurn)
	}
	// Two identical updates are one intent (the second a retry of the
	// first): both get its result, and one state is signed.
	id = ids[1]
	same := make(chan app.Result, 2)
	for i := 0; i < 2; i++ {
		go func() {
			r, err := A.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(10, 90)})
			if err != nil {
				t.Errorf("identical update: %v", err)
			}
			same <- r
		}()
	}
	want := 3 + 2*rounds + 1
	for i := 0; i < 2; i++ {
		if r := <-same; len(r.ChannelResults) != 1 || r.ChannelResults[0].TurnNum != uint64(want) {
			t.Fatalf("identical update result %+v, want turn %d", r.ChannelResults, want)
		}
	}
}
