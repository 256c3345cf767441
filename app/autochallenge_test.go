package app_test

import (
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
)

// TestAutoChallengeSilentPeer: with AutoChallengeAfter 30 s, A closes and
// B never answers (B's messages are lost from then on). A challenges on
// its own on the first Tick 30 s after it began to wait, the challenge
// finalizes on the chain's clock, A pushes the outcome, and both
// destinations get what the latest supported state gives them. An idle
// app-less running channel is never challenged.
func TestAutoChallengeSilentPeer(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		clk := newManualClock()
		e, id := openRunningWith(t, withStore(t, k, func(name string, c *app.Config) {
			c.Clock = clk
			if name == "A" {
				c.AutoChallengeAfter = 30 * time.Second
			}
		}))
		A, B := e.parties[0], e.parties[1]
		runTwoPayments(t, e, id) // A supports turn 5: 5/3
		for _, p := range []*party{A, B} {
			if err := p.w.Tick(e.ctx); err != nil {
				t.Fatal(err)
			}
		}
		clk.advance(time.Hour)
		c := e.waitChannel(A, id, "running, no challenge", func(c app.ChannelResult) bool { return c.Status == core.StatusRunning })
		if c.ChallengeExpirationTime != nil {
			t.Fatal("an idle app-less channel was challenged")
		}
		if _, err := A.w.CloseChannel(e.ctx, id); err != nil { // never delivered
			t.Fatal(err)
		}
		if err := A.w.Tick(e.ctx); err != nil { // A begins to wait
			t.Fatal(err)
		}
		clk.advance(29 * time.Second)
		c = e.waitChannel(A, id, "closing", func(c app.ChannelResult) bool { return c.Status == core.StatusClosing })
		if c.ChallengeExpirationTime != nil {
			t.Fatal("A challenged before AutoChallengeAfter")
		}
		clk.advance(time.Second)
		e.waitChannel(A, id, "A's own challenge registered", func(c app.ChannelResult) bool { return c.ChallengeExpirationTime != nil })
		e.waitChannel(B, id, "B sees the challenge", func(c app.ChannelResult) bool { return c.Status == core.StatusChallenging })
		e.chain.AdjustTime(app.DefaultChallengeDuration)
		for _, p := range []*party{A, B} {
			e.waitChannel(p, id, "closed and defunded", func(c app.ChannelResult) bool {
				return c.Status == core.StatusClosed && c.FundingStatus == core.FundingDefunded
			})
		}
		for _, w := range []struct {
			p    *party
			want int64
		}{{A, 5}, {B, 3}} {
			if got := e.chain.Balance(w.p.dest); got.Cmp(big.NewInt(w.want)) != 0 {
				t.Errorf("%s's destination got %v, want %d", w.p.name, got, w.want)
			}
		}
	})
}

// TestNegativeAutoChallengeAfterRefused: New refuses a negative
// AutoChallengeAfter.
func TestNegativeAutoChallengeAfterRefused(t *testing.T) {
	e := newEnv(t, 1)
	p := e.parties[0]
	_, err := app.New(e.ctx, app.Config{Signer: p.signer, Store: p.store, Chain: e.chain.Account(p.signer.Address()), AutoChallengeAfter: -time.Second})
	if !errors.Is(err, app.ErrInvalidParams) {
		t.Fatalf("negative AutoChallengeAfter: %v", err)
	}
}
