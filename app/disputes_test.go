package app_test

import (
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// waitChannel polls p's view of the channel until cond holds, ticking p
// (a Tick reads the chain's time and drives effects) every round.
func (e *env) waitChannel(p *party, id nitro.Bytes32, what string, cond func(app.ChannelResult) bool) app.ChannelResult {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := p.w.Tick(e.ctx); err != nil {
			e.t.Fatal(err)
		}
		c, err := p.w.GetState(e.ctx, id)
		if err == nil && cond(c) {
			return c
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: %s never happened (last %+v, %v)", p.name, what, c, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runTwoPayments has A pay 1 (turn 4) and B pay it back (turn 5), each
// state delivered and countersigned: A supports turn 5, B turn 4.
func runTwoPayments(t *testing.T, e *env, id nitro.Bytes32) {
	t.Helper()
	A, B := e.parties[0], e.parties[1]
	for _, u := range []struct {
		p    *party
		a, b int64
	}{{A, 4, 4}, {B, 5, 3}} {
		r, err := u.p.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(u.a, u.b)})
		if err != nil {
			t.Fatal(err)
		}
		e.push(r.Outbox[0])
	}
}

// TestSilentPeerForceClosed: B stops answering; A challenges with its
// supported state, the challenge finalizes on the chain's clock, A's tick
// pushes the outcome, and both destinations get exactly what that state
// gives them. Both wallets end closed and defunded.
func TestSilentPeerForceClosed(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e, id := openRunningWith(t, withStore(t, k, nil))
		A, B := e.parties[0], e.parties[1]
		runTwoPayments(t, e, id)
		if _, err := A.w.ChallengeChannel(e.ctx, id); err != nil {
			t.Fatal(err)
		}
		c := e.waitChannel(A, id, "challenge registered", func(c app.ChannelResult) bool { return c.ChallengeExpirationTime != nil })
		if c.Status != core.StatusChallenging || c.TurnNum != 5 {
			t.Fatalf("A: %s at turn %d under its own challenge", c.Status, c.TurnNum)
		}
		if _, err := A.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(4, 4)}); !errors.Is(err, app.ErrDisputed) {
			t.Fatalf("update under a challenge: %v", err)
		}
		e.waitChannel(A, id, "not yet finalized", func(c app.ChannelResult) bool { return c.Status == core.StatusChallenging })
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

// TestStaleChallengeCleared: B challenges on chain with the setup state it
// held before two payments; A's wallet, online, answers with a checkpoint
// of turn 5 on its own, the challenge clears, and the channel runs again.
func TestStaleChallengeCleared(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e, id := openRunningWith(t, withStore(t, k, nil))
		A, B := e.parties[0], e.parties[1]
		before, err := B.store.Get(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		old, err := before.SupportProof() // turn 3, the setup states
		if err != nil {
			t.Fatal(err)
		}
		runTwoPayments(t, e, id)
		h, err := old.States[len(old.States)-1].Hash()
		if err != nil {
			t.Fatal(err)
		}
		sig, err := B.signer.SignState(e.ctx, nitro.ChallengeHash(h))
		if err != nil {
			t.Fatal(err)
		}
		bChain := e.chain.Account(B.signer.Address())
		if _, err := bChain.Challenge(e.ctx, ports.ChallengeRequest{Proof: old, ChallengerSignature: sig}); err != nil {
			t.Fatalf("B's stale challenge: %v", err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			if err := A.w.Tick(e.ctx); err != nil {
				t.Fatal(err)
			}
			rec, err := bChain.Record(e.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if rec.TurnNumRecord == 5 && rec.FinalizesAt == 0 {
				break // A's checkpoint of turn 5 cleared it
			}
			if time.Now().After(deadline) {
				t.Fatalf("adjudicator record %+v, want turn 5 and no challenge", rec)
			}
			time.Sleep(5 * time.Millisecond)
		}
		waitNote(t, A, "ChannelUpdated responding", func(n app.Notification) bool {
			return n.Type == app.ChannelUpdated && n.Channel.ChannelID == id && n.Channel.Status == core.StatusResponding && n.Channel.ChallengeExpirationTime != nil
		})
		e.waitChannel(A, id, "running again", func(c app.ChannelResult) bool {
			return c.Status == core.StatusRunning && c.ChallengeExpirationTime == nil
		})
		if _, err := A.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(4, 4)}); err != nil {
			t.Fatalf("A's update after the challenge cleared: %v", err)
		}
	})
}
