package app_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// withGateOn wraps the named party's signer in a gateSigner stored in *g.
func withGateOn(name string, g **gateSigner) func(string, *app.Config) {
	return func(n string, c *app.Config) {
		if n == name {
			*g = &gateSigner{Signer: c.Signer}
			c.Signer = *g
		}
	}
}

// stored returns p's stored channel id.
func (e *env) stored(p *party, id nitro.Bytes32) core.Channel {
	e.t.Helper()
	c, err := p.store.Get(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// supported returns p's stored channel's supported state.
func (e *env) supported(p *party, id nitro.Bytes32) core.StoredState {
	c := e.stored(p, id)
	s, _ := c.Supported()
	return s
}

// TestNoAppCountersignedOnPush: on a channel without an app, the wallet
// that receives a running state countersigns it before PushMessage
// returns (it then holds the state signed by all: Supported), and a
// state that lowers its allocation is refused with ErrTakesFromOther
// (code 401 family ErrInvalidTransition) with nothing stored.
func TestNoAppCountersignedOnPush(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e, id := openRunningWith(t, withStore(t, k, nil))
		A, B := e.parties[0], e.parties[1]
		before := e.snap(B)
		_, err := B.w.PushMessage(e.ctx, encode(t, e.forged(id, 4, false, []int64{6, 2}, A)))
		if !errors.Is(err, app.ErrTakesFromOther) || !errors.Is(err, app.ErrInvalidTransition) {
			t.Fatalf("A taking from B at turn 4: %v, want ErrTakesFromOther", err)
		}
		if !reflect.DeepEqual(e.snap(B), before) {
			t.Fatal("the refused state changed B's store")
		}
		r, err := A.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(4, 4)})
		if err != nil {
			t.Fatal(err)
		}
		pr := e.push(r.Outbox[0])
		if len(pr.Outbox) != 0 {
			t.Fatalf("B sent %d messages for its countersignature; with two parties it goes to no one", len(pr.Outbox))
		}
		c := e.stored(B, id)
		s, ok := c.Supported()
		if !ok || s.State.TurnNum != 4 || !s.SignedByAll() {
			t.Fatalf("B supports turn %d (signed by all: %v), want A's turn 4 countersigned", s.State.TurnNum, s.SignedByAll())
		}
		if a := e.supported(A, id); a.State.TurnNum != 3 {
			t.Fatalf("A supports turn %d: its own turn 4 lacks B's signature", a.State.TurnNum)
		}
	})
}

// TestCountersignFinishedByTheNextCall: a countersignature whose signing
// failed stays pending; the mover's next UpdateChannel completes it and
// then applies, instead of answering "a signature is in progress" until a
// tick (a fault run met exactly that: 403 for a minute). A Tick completes
// it too.
func TestCountersignFinishedByTheNextCall(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		var g *gateSigner
		e, id := openRunningWith(t, withStore(t, k, withGateOn("B", &g)))
		A, B := e.parties[0], e.parties[1]
		r, err := A.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(4, 4)})
		if err != nil {
			t.Fatal(err)
		}
		msg := r.Outbox[0]
		g.fail()
		if _, err := B.w.PushMessage(e.ctx, msg.Data); !errors.Is(err, app.ErrSigner) {
			t.Fatalf("push with the signer down: %v, want ErrSigner", err)
		}
		if c := e.stored(B, id); c.Pending == nil || c.Pending.State.TurnNum != 4 {
			t.Fatalf("B's countersignature of turn 4 is not pending: %+v", c.Pending)
		}
		if _, err := B.w.PushMessage(e.ctx, msg.Data); err != nil {
			t.Fatalf("the same message again: %v", err)
		}
		res, err := B.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(5, 3)})
		if err != nil {
			t.Fatalf("B's update with its countersignature pending: %v", err)
		}
		if got := one(t, res, id); got.TurnNum != 5 {
			t.Fatalf("B's update gave turn %d", got.TurnNum)
		}
		c := e.stored(B, id)
		if k := c.States[len(c.States)-2]; k.State.TurnNum != 4 || !k.SignedByAll() {
			t.Fatalf("turn %d at B: signed by all %v, want turn 4 countersigned", k.State.TurnNum, k.SignedByAll())
		}

		// A countersigns turn 5 and moves; B's countersignature of turn 6
		// fails, and a Tick completes it.
		if _, err := A.w.PushMessage(e.ctx, res.Outbox[0].Data); err != nil {
			t.Fatal(err)
		}
		if s := e.supported(A, id); s.State.TurnNum != 5 {
			t.Fatalf("A supports turn %d after B's turn 5", s.State.TurnNum)
		}
		r6, err := A.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(4, 4)})
		if err != nil {
			t.Fatal(err)
		}
		g.fail()
		if _, err := B.w.PushMessage(e.ctx, r6.Outbox[0].Data); !errors.Is(err, app.ErrSigner) {
			t.Fatalf("push with the signer down: %v", err)
		}
		if err := B.w.Tick(e.ctx); err != nil {
			t.Fatal(err)
		}
		if c := e.stored(B, id); c.Pending != nil {
			t.Fatalf("a Tick left B's countersignature of turn %d pending", c.Pending.State.TurnNum)
		}
		if s := e.supported(B, id); s.State.TurnNum != 6 || !s.SignedByAll() {
			t.Fatalf("B supports turn %d after the Tick", s.State.TurnNum)
		}
	})
}

// TestChallengeChannelAPI: ChallengeChannel on an unknown channel is code
// 1300; on a running channel the wallet is challenging at once, refuses
// updates (ErrDisputed) and a second challenge.
func TestChallengeChannelAPI(t *testing.T) {
	e, id := openRunning(t)
	A := e.parties[0]
	if _, err := A.w.ChallengeChannel(e.ctx, nitro.Bytes32{9}); app.Code(err) != app.CodeChannelNotFoundChallenge || !errors.Is(err, app.ErrChannelNotFound) {
		t.Fatalf("unknown channel: %v (code %d), want 1300", err, app.Code(err))
	}
	res, err := A.w.ChallengeChannel(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := one(t, res, id); got.Status != core.StatusChallenging {
		t.Fatalf("status %s after ChallengeChannel", got.Status)
	}
	if _, err := A.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(4, 4)}); !errors.Is(err, app.ErrDisputed) {
		t.Fatalf("update while challenging: %v, want ErrDisputed", err)
	}
	if _, err := A.w.ChallengeChannel(e.ctx, id); !errors.Is(err, app.ErrDisputed) {
		t.Fatalf("second challenge: %v, want ErrDisputed", err)
	}
}
