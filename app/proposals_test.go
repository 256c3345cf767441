package app_test

import (
	"errors"
	"math/big"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
)

// proposal is the message in which key from proposes to p a two-party
// channel [from, p] with the given nonce, signing its turn-0 state, as a
// stranger's wallet would send it.
func (e *env) proposal(from *memory.Signer, to *party, nonce uint64) []byte {
	e.t.Helper()
	return encode(e.t, e.proposalMsg(from, to, nonce))
}

// proposalMsg is proposal's message before encoding.
func (e *env) proposalMsg(from *memory.Signer, to *party, nonce uint64) core.Message {
	e.t.Helper()
	ps := []core.Participant{
		{ParticipantID: "S", SigningAddress: from.Address(), Destination: nitro.AddressToDestination(from.Address())},
		{ParticipantID: to.name, SigningAddress: to.signer.Address(), Destination: nitro.AddressToDestination(to.dest)},
	}
	st := nitro.State{
		ChainID: big.NewInt(1337), Participants: []nitro.Address{ps[0].SigningAddress, ps[1].SigningAddress},
		ChannelNonce: nonce, ChallengeDuration: app.DefaultChallengeDuration,
		Outcome: nitro.Outcome{{AssetHolder: e.chain.ETHAssetHolder(), Allocation: []nitro.AllocationItem{
			{Destination: ps[0].Destination, Amount: big.NewInt(5)}, {Destination: ps[1].Destination, Amount: big.NewInt(3)},
		}}},
	}
	id, err := st.ChannelID()
	if err != nil {
		e.t.Fatal(err)
	}
	h, err := st.Hash()
	if err != nil {
		e.t.Fatal(err)
	}
	sig, err := from.SignState(e.ctx, h)
	if err != nil {
		e.t.Fatal(err)
	}
	return core.Message{Recipient: to.name, Sender: "S", Payload: core.Payload{
		SignedStates: []core.SignedState{{State: st, Participants: ps, Signatures: []nitro.Signature{sig}}},
		Objectives:   []core.Objective{{Type: core.ObjectiveOpenChannel, Participants: ps, TargetChannelID: id, FundingStrategy: core.FundingDirect}},
	}}
}

// durable is what a party's store holds: on PostgreSQL the whole schema
// (pgtest.Dump), on memory the channels and the outbox.
func (e *env) durable(p *party) any {
	e.t.Helper()
	if pg, ok := p.store.(*postgres.Store); ok {
		if err := p.w.Flush(e.ctx); err != nil {
			e.t.Fatalf("flush %s: %v", p.name, err)
		}
		return pgtest.Dump(e.t, pg.DB().DB, pg.Schema())
	}
	return e.snap(p)
}

// proposedBy counts the proposed channels a party lists.
func proposedCount(t *testing.T, e *env, p *party) int {
	t.Helper()
	cs, err := p.w.GetChannels(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cs {
		if c.Status == core.StatusProposed {
			n++
		}
	}
	return n
}

// TestProposalFlood is issue 10's flood: one stranger key proposes
// thousands of channels. The wallet holds at most the per-peer cap, refuses
// the rest with ErrTooManyProposals, and its store stops growing once the
// cap is reached (byte for byte on PostgreSQL).
func TestProposalFlood(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		n := 10_000
		if k.name == "postgres" || testing.Short() {
			n = 2_000
		}
		e := newEnvWith(t, 2, withStore(t, k, nil))
		B := e.parties[1]
		stranger := memory.SignerFromSeed("flood-stranger")
		limit := app.DefaultMaxPendingProposalsPerPeer
		var atCap any
		var heapAtCap uint64
		for i := 1; i <= n; i++ {
			_, err := B.w.PushMessage(e.ctx, e.proposal(stranger, B, uint64(i)))
			if i <= limit {
				if err != nil {
					t.Fatalf("proposal %d: %v", i, err)
				}
				if i == limit {
					atCap = e.durable(B)
					heapAtCap = liveHeap()
				}
				continue
			}
			if !errors.Is(err, app.ErrTooManyProposals) {
				t.Fatalf("proposal %d of %d (cap %d): err %v, want ErrTooManyProposals", i, n, limit, err)
			}
			if app.Code(err) != app.CodeWalletError {
				t.Fatalf("proposal %d: code %d", i, app.Code(err))
			}
		}
		if got := proposedCount(t, e, B); got != limit {
			t.Fatalf("%d proposals listed after %d pushed, want the cap %d", got, n, limit)
		}
		if !reflect.DeepEqual(atCap, e.durable(B)) {
			t.Fatal("the store changed after the cap was reached")
		}
		// Refused proposals keep nothing in memory either (a stored one
		// costs kilobytes: thousands would be tens of MiB).
		if grown := int64(liveHeap()) - int64(heapAtCap); grown > 16<<20 {
			t.Fatalf("the live heap grew by %d bytes over %d refused proposals", grown, n-limit)
		}
	})
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestProposalCaps: the overall cap and the per-proposer cap both hold, a
// refused proposal changes nothing stored, and joining a proposal frees
// its slot.
func TestProposalCaps(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e := newEnvWith(t, 2, withStore(t, k, func(name string, c *app.Config) {
			c.MaxPendingProposals, c.MaxPendingProposalsPerPeer = 5, 3
		}))
		B := e.parties[1]
		s1, s2, s3 := memory.SignerFromSeed("cap-1"), memory.SignerFromSeed("cap-2"), memory.SignerFromSeed("cap-3")
		push := func(s *memory.Signer, nonce uint64, want error) app.Result {
			t.Helper()
			before := e.durable(B)
			r, err := B.w.PushMessage(e.ctx, e.proposal(s, B, nonce))
			if !errors.Is(err, want) || (want == nil) != (err == nil) {
				t.Fatalf("proposal %d from %s: err %v, want %v", nonce, s.Address(), err, want)
			}
			if err != nil && !reflect.DeepEqual(before, e.durable(B)) {
				t.Fatal("a refused proposal changed the store")
			}
			return r
		}
		first := push(s1, 1, nil)
		push(s1, 2, nil)
		push(s1, 3, nil)
		push(s1, 4, app.ErrTooManyProposals) // s1's cap
		push(s2, 1, nil)
		push(s2, 2, nil)
		push(s2, 3, app.ErrTooManyProposals) // the overall cap
		push(s3, 1, app.ErrTooManyProposals)
		if got := proposedCount(t, e, B); got != 5 {
			t.Fatalf("%d proposals held, want 5", got)
		}
		if _, err := B.w.JoinChannel(e.ctx, first.ChannelResults[0].ChannelID); err != nil {
			t.Fatal(err)
		}
		push(s3, 1, nil) // the joined one's slot is free
		push(s1, 4, app.ErrTooManyProposals)
	})
}

// TestProposalPolicy: a policy that rejects a proposal keeps nothing of it;
// one that approves joins the channel in the same call, which then opens
// without JoinChannel; held proposals wait for JoinChannel as before.
func TestProposalPolicy(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		var seen []app.Proposal
		stranger := memory.SignerFromSeed("policy-stranger")
		e := newEnvWith(t, 2, withStore(t, k, func(name string, c *app.Config) {
			if name != "B" {
				return
			}
			c.ProposalPolicy = app.ProposalPolicyFunc(func(p app.Proposal) app.ProposalDecision {
				seen = append(seen, p)
				switch {
				case p.Proposer == stranger.Address():
					return app.ProposalReject
				case p.Channel.Allocations[0].AllocationItems[0].Amount.Int64() == 5:
					return app.ProposalApprove
				}
				return app.ProposalHold
			})
		}))
		A, B := e.parties[0], e.parties[1]

		{ // reject
			before := e.durable(B)
			data := e.proposal(stranger, B, 1)
			_, err := B.w.PushMessage(e.ctx, data)
			if !errors.Is(err, app.ErrProposalRejected) || app.Code(err) != app.CodeWalletError {
				t.Fatalf("err %v (code %d), want ErrProposalRejected", err, app.Code(err))
			}
			if !reflect.DeepEqual(before, e.durable(B)) {
				t.Fatal("a rejected proposal changed the store")
			}
			if len(seen) != 1 || seen[0].Proposer != stranger.Address() || seen[0].Sender != "S" || seen[0].Channel.Status != core.StatusProposed {
				t.Fatalf("the policy saw %+v", seen)
			}
			if got := proposedCount(t, e, B); got != 0 {
				t.Fatalf("%d proposals listed", got)
			}
		}

		{ // approve
			bus := e.connect()
			r, err := A.w.CreateChannel(e.ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3)})
			if err != nil {
				t.Fatal(err)
			}
			id := r.ChannelResults[0].ChannelID
			r = e.push(r.Outbox[0])
			wantStatus(t, "B on the approved proposal", one(t, r, id), core.StatusOpening, 1)
			wantOutbox(t, "B on the approved proposal", r, "A")
			if p := seen[len(seen)-1]; p.Proposer != A.signer.Address() || p.Sender != "A" || p.Channel.ChannelID != id {
				t.Fatalf("the policy saw %+v", p)
			}
			bus.Send(envelopes(r)...)
			e.settle(bus, id, "running", func(c app.ChannelResult) bool { return c.Status == core.StatusRunning })
		}

		{ // hold
			r, err := A.w.CreateChannel(e.ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(4, 4)})
			if err != nil {
				t.Fatal(err)
			}
			id := r.ChannelResults[0].ChannelID
			r = e.push(r.Outbox[0])
			wantStatus(t, "B on the held proposal", one(t, r, id), core.StatusProposed, 0)
			wantOutbox(t, "B on the held proposal", r)
			if r, err = B.w.JoinChannel(e.ctx, id); err != nil {
				t.Fatal(err)
			}
			wantStatus(t, "B after join", one(t, r, id), core.StatusOpening, 1)
		}
	})
}

// TestProposalExpiry: a proposal never joined is deleted by the first Tick
// after ProposalExpiry (manual clock): it no longer lists, a late
// JoinChannel gets ErrChannelNotFound, nothing of it is left in the store
// and its slot is free. Joined channels are never expired.
func TestProposalExpiry(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		clk := newManualClock()
		e := newEnvWith(t, 2, withStore(t, k, func(name string, c *app.Config) {
			c.Clock, c.ProposalExpiry, c.MaxPendingProposalsPerPeer = clk, time.Hour, 1
		}))
		A, B := e.parties[0], e.parties[1]
		stranger := memory.SignerFromSeed("expiry-stranger")
		r, err := B.w.PushMessage(e.ctx, e.proposal(stranger, B, 1))
		if err != nil {
			t.Fatal(err)
		}
		old := r.ChannelResults[0].ChannelID
		if _, err := B.w.PushMessage(e.ctx, e.proposal(stranger, B, 2)); !errors.Is(err, app.ErrTooManyProposals) {
			t.Fatalf("second proposal: %v, want ErrTooManyProposals", err)
		}
		// A channel B joined, which must outlive any expiry.
		r, err = A.w.CreateChannel(e.ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3)})
		if err != nil {
			t.Fatal(err)
		}
		joined := r.ChannelResults[0].ChannelID
		e.push(r.Outbox[0])
		if _, err := B.w.JoinChannel(e.ctx, joined); err != nil {
			t.Fatal(err)
		}

		idHex := strings.TrimPrefix(old.Hex(), "0x")
		if d, ok := e.durable(B).(string); ok && !strings.Contains(d, idHex) {
			t.Fatal("the dump does not show the held proposal: it cannot show it gone either")
		}
		clk.advance(59 * time.Minute)
		B.w.Tick(e.ctx)
		if _, err := B.w.GetState(e.ctx, old); err != nil {
			t.Fatalf("proposal gone before its expiry: %v", err)
		}
		clk.advance(2 * time.Minute)
		B.w.Tick(e.ctx)
		if _, err := B.w.GetState(e.ctx, old); !errors.Is(err, app.ErrChannelNotFound) {
			t.Fatalf("GetState of an expired proposal: %v, want ErrChannelNotFound", err)
		}
		if got := proposedCount(t, e, B); got != 0 {
			t.Fatalf("%d proposals listed after expiry", got)
		}
		_, err = B.w.JoinChannel(e.ctx, old)
		if !errors.Is(err, app.ErrChannelNotFound) || app.Code(err) != app.CodeChannelNotFoundJoin {
			t.Fatalf("late join: %v (code %d), want ErrChannelNotFound (1100)", err, app.Code(err))
		}
		waitNote(t, B, "ProposalExpired", func(n app.Notification) bool { return n.Type == app.ProposalExpired && n.Channel.ChannelID == old })
		if c, err := B.w.GetState(e.ctx, joined); err != nil || c.Status == core.StatusProposed {
			t.Fatalf("joined channel after expiry: %+v, %v", c, err)
		}
		if d, ok := e.durable(B).(string); ok && strings.Contains(d, idHex) {
			t.Fatal("rows of the expired proposal are left in the database")
		}
		// Its slot is free.
		if _, err := B.w.PushMessage(e.ctx, e.proposal(stranger, B, 2)); err != nil {
			t.Fatalf("proposal after expiry: %v", err)
		}
	})
}

// TestHeldProposalsSurviveRestart: held proposals are still listed after
// the wallet restarts on its store, and still count against the caps.
func TestHeldProposalsSurviveRestart(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		cfgs := map[string]*app.Config{}
		e := newEnvWith(t, 2, withStore(t, k, func(name string, c *app.Config) {
			c.MaxPendingProposalsPerPeer = 2
			cfgs[name] = c
		}))
		B := e.parties[1]
		stranger := memory.SignerFromSeed("restart-stranger")
		r, err := B.w.PushMessage(e.ctx, e.proposal(stranger, B, 1))
		if err != nil {
			t.Fatal(err)
		}
		first := r.ChannelResults[0].ChannelID
		if _, err := B.w.PushMessage(e.ctx, e.proposal(stranger, B, 2)); err != nil {
			t.Fatal(err)
		}
		if err := B.w.Close(); err != nil {
			t.Fatal(err)
		}
		w, err := app.New(e.ctx, *cfgs["B"])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.Close() })
		B.w = w
		if got := proposedCount(t, e, B); got != 2 {
			t.Fatalf("%d proposals listed after restart, want 2", got)
		}
		if _, err := w.PushMessage(e.ctx, e.proposal(stranger, B, 3)); !errors.Is(err, app.ErrTooManyProposals) {
			t.Fatalf("third proposal after restart: %v, want ErrTooManyProposals", err)
		}
		if _, err := w.JoinChannel(e.ctx, first); err != nil {
			t.Fatal(err)
		}
		if _, err := w.PushMessage(e.ctx, e.proposal(stranger, B, 3)); err != nil {
			t.Fatalf("proposal after a join freed a slot: %v", err)
		}
	})
}

// TestRefusedMessageGivesSlotsBack: a message proposing two channels, one
// of which the policy rejects, is refused whole: nothing of it is stored
// and the slot the other one reserved is given back.
func TestRefusedMessageGivesSlotsBack(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		var rejected nitro.Bytes32
		e := newEnvWith(t, 2, withStore(t, k, func(name string, c *app.Config) {
			c.MaxPendingProposalsPerPeer = 1
			c.ProposalPolicy = app.ProposalPolicyFunc(func(p app.Proposal) app.ProposalDecision {
				if p.Channel.ChannelID == rejected {
					return app.ProposalReject
				}
				return app.ProposalHold
			})
		}))
		B := e.parties[1]
		stranger := memory.SignerFromSeed("two-stranger")
		m := e.proposalMsg(stranger, B, 1)
		m2 := e.proposalMsg(stranger, B, 2)
		rejected = m2.Payload.Objectives[0].TargetChannelID
		m.Payload.SignedStates = append(m.Payload.SignedStates, m2.Payload.SignedStates...)
		m.Payload.Objectives = append(m.Payload.Objectives, m2.Payload.Objectives...)
		before := e.durable(B)
		if _, err := B.w.PushMessage(e.ctx, encode(t, m)); !errors.Is(err, app.ErrProposalRejected) {
			t.Fatalf("err %v, want ErrProposalRejected", err)
		}
		if !reflect.DeepEqual(before, e.durable(B)) {
			t.Fatal("a refused message changed the store")
		}
		if _, err := B.w.PushMessage(e.ctx, e.proposal(stranger, B, 3)); err != nil {
			t.Fatalf("the refused message kept its slot: %v", err)
		}
	})
}

// TestProposalCapsUnderConcurrency: proposals pushed at once from many
// goroutines never take the wallet past its cap (a slot is reserved before
// the commit, not counted after it).
func TestProposalCapsUnderConcurrency(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		const limit, workers, each = 10, 8, 20
		e := newEnvWith(t, 2, withStore(t, k, func(name string, c *app.Config) { c.MaxPendingProposalsPerPeer = limit }))
		B := e.parties[1]
		stranger := memory.SignerFromSeed("concurrent-stranger")
		msgs := make([][]byte, workers*each)
		for i := range msgs {
			msgs[i] = e.proposal(stranger, B, uint64(i+1))
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted := 0
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, m := range msgs[w*each : (w+1)*each] {
					_, err := B.w.PushMessage(e.ctx, m)
					switch {
					case err == nil:
						mu.Lock()
						accepted++
						mu.Unlock()
					case !errors.Is(err, app.ErrTooManyProposals):
						t.Errorf("push: %v", err)
					}
				}
			}()
		}
		wg.Wait()
		if got := proposedCount(t, e, B); accepted != limit || got != limit {
			t.Fatalf("%d accepted, %d listed, want the cap %d", accepted, got, limit)
		}
	})
}
