package app_test

import (
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/core/wire"
)

// batchN is the size of the batches the tests run between two wallets.
const batchN = 50

// wantBatch checks that r has one result per id, in order, each with
// status s at turn turn.
func wantBatch(t *testing.T, who string, r app.Result, ids []nitro.Bytes32, s core.Status, turn uint64) {
	t.Helper()
	if len(r.ChannelResults) != len(ids) {
		t.Fatalf("%s: %d results, want %d", who, len(r.ChannelResults), len(ids))
	}
	for i, c := range r.ChannelResults {
		if c.ChannelID != ids[i] {
			t.Fatalf("%s: result %d is channel %s, want %s", who, i, c.ChannelID, ids[i])
		}
		wantStatus(t, who, c, s, turn)
	}
}

// wantMerged checks that r's outbox is one message to each of to, and
// that each message carries no state (channel, turn) or objective or
// request twice and at most one signature per signer; it returns the
// decoded messages.
func wantMerged(t *testing.T, who string, r app.Result, to ...string) []core.Message {
	t.Helper()
	wantOutbox(t, who, r, to...)
	var out []core.Message
	for _, m := range r.Outbox {
		msg, err := wire.DecodeMessage(m.Data, wire.Limits{})
		if err != nil {
			t.Fatalf("%s: own message does not decode: %v", who, err)
		}
		type key struct {
			id   nitro.Bytes32
			turn uint64
		}
		states := map[key]bool{}
		for _, s := range msg.Payload.SignedStates {
			id, err := s.State.ChannelID()
			if err != nil {
				t.Fatal(err)
			}
			k := key{id, s.State.TurnNum}
			if states[k] {
				t.Fatalf("%s: state of %s turn %d carried twice", who, id, k.turn)
			}
			states[k] = true
			sigs := map[nitro.Signature]bool{}
			for _, sig := range s.Signatures {
				if sigs[sig] {
					t.Fatalf("%s: a signature carried twice on %s turn %d", who, id, k.turn)
				}
				sigs[sig] = true
			}
		}
		obs := map[string]bool{}
		for _, o := range msg.Payload.Objectives {
			b, _ := json.Marshal(o)
			if obs[string(b)] {
				t.Fatalf("%s: objective %s carried twice", who, b)
			}
			obs[string(b)] = true
		}
		reqs := map[core.Request]bool{}
		for _, q := range msg.Payload.Requests {
			if reqs[q] {
				t.Fatalf("%s: request %+v carried twice", who, q)
			}
			reqs[q] = true
		}
		out = append(out, msg)
	}
	return out
}

// countCommits counts p's wallet's store commits from now on.
func countCommits(p *party) *atomic.Int64 {
	var n atomic.Int64
	p.w.ObserveCommits(func(app.CommitInfo) { n.Add(1) })
	return &n
}

// pumpUntil delivers the messages the wallets queue on their own (chain
// events) to their recipients, and the replies, until done holds.
func (e *env) pumpUntil(t *testing.T, what string, done func() bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	var queue []app.Message
	for !done() {
		for len(queue) > 0 {
			m := queue[0]
			queue = append(queue[1:], e.push(m).Outbox...)
		}
		if done() {
			return
		}
		select {
		case n := <-e.parties[0].notes:
			if n.Type == app.MessageQueued {
				queue = append(queue, n.Message)
			}
		case n := <-e.parties[1].notes:
			if n.Type == app.MessageQueued {
				queue = append(queue, n.Message)
			}
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// allAt reports whether every channel of ids is at status s in p's wallet
// (one GetChannels: a store read per channel would slow the pump).
func allAt(t *testing.T, p *party, ids []nitro.Bytes32, s core.Status) bool {
	t.Helper()
	cs, err := p.w.GetChannels(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	status := make(map[nitro.Bytes32]core.Status, len(cs))
	for _, c := range cs {
		status[c.ChannelID] = c.Status
	}
	for _, id := range ids {
		if status[id] != s {
			return false
		}
	}
	return true
}

// TestBatchSeedPath runs batchN channels through the seed's sequence
// (create, join, fund on chain, run, close, pay out) with the batch calls,
// on each store: every call returns every channel and one merged,
// deduplicated message per peer, and CreateChannels, JoinChannels and
// CloseChannels each commit a bounded number of times, whatever batchN.
func TestBatchSeedPath(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e := newEnvWith(t, 2, withStore(t, k, nil))
		A, B := e.parties[0], e.parties[1]
		ctx := e.ctx

		commits := countCommits(A)
		r, err := A.w.CreateChannels(ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3)}, batchN)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]nitro.Bytes32, len(r.ChannelResults))
		seen := map[nitro.Bytes32]bool{}
		for i, c := range r.ChannelResults {
			ids[i] = c.ChannelID
			if seen[c.ChannelID] {
				t.Fatalf("channel %s created twice", c.ChannelID)
			}
			seen[c.ChannelID] = true
		}
		wantBatch(t, "A after CreateChannels", r, ids, core.StatusOpening, 0)
		msgs := wantMerged(t, "A after CreateChannels", r, "B")
		if p := msgs[0].Payload; len(p.SignedStates) != batchN || len(p.Objectives) != batchN {
			t.Fatalf("CreateChannels message: %d states and %d objectives, want %d of each", len(p.SignedStates), len(p.Objectives), batchN)
		}
		// One commit for the channels, one for their signatures.
		if n := commits.Load(); n > 2 {
			t.Fatalf("CreateChannels of %d made %d commits, want at most 2", batchN, n)
		}

		wantBatch(t, "B on the proposals", e.push(r.Outbox[0]), ids, core.StatusProposed, 0)
		commits = countCommits(B)
		r, err = B.w.JoinChannels(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		wantBatch(t, "B after JoinChannels", r, ids, core.StatusOpening, 1)
		if p := wantMerged(t, "B after JoinChannels", r, "A")[0].Payload; len(p.SignedStates) != batchN {
			t.Fatalf("JoinChannels message: %d states, want %d", len(p.SignedStates), batchN)
		}
		if n := commits.Load(); n > 2 {
			t.Fatalf("JoinChannels of %d made %d commits, want at most 2", batchN, n)
		}
		wantBatch(t, "A on the joins", e.push(r.Outbox[0]), ids, core.StatusFunding, 1)

		// Deposits and postfund states go as in the seed, channel by channel.
		e.pumpUntil(t, "every channel running", func() bool {
			return allAt(t, A, ids, core.StatusRunning) && allAt(t, B, ids, core.StatusRunning)
		})

		r, err = A.w.SyncChannels(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if p := wantMerged(t, "A after SyncChannels", r, "B")[0].Payload; len(p.Requests) != batchN || len(p.SignedStates) < batchN {
			t.Fatalf("SyncChannels message: %d requests and %d states, want %d requests and at least as many states", len(p.Requests), len(p.SignedStates), batchN)
		}
		wantBatch(t, "A after SyncChannels", r, ids, core.StatusRunning, 3)

		commits = countCommits(A)
		r, err = A.w.CloseChannels(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if n := commits.Load(); n > 2 {
			t.Fatalf("CloseChannels of %d made %d commits, want at most 2", batchN, n)
		}
		wantBatch(t, "A after CloseChannels", r, ids, core.StatusClosing, 4)
		wantMerged(t, "A after CloseChannels", r, "B")
		r = e.push(r.Outbox[0])
		wantBatch(t, "B on the final states", r, ids, core.StatusClosed, 4)
		wantMerged(t, "B on the final states", r, "A")
		wantBatch(t, "A on the countersignatures", e.push(r.Outbox[0]), ids, core.StatusClosed, 4)

		e.pumpUntil(t, "every channel paid out", func() bool {
			for _, id := range ids {
				if e.chain.ChannelHoldings(e.chain.ETHAssetHolder(), id).Sign() != 0 {
					return false
				}
			}
			return true
		})
		if got := e.chain.Balance(A.dest); got.Int64() != 5*batchN {
			t.Fatalf("A's destination got %v, want %d", got, 5*batchN)
		}
		if got := e.chain.Balance(B.dest); got.Int64() != 3*batchN {
			t.Fatalf("B's destination got %v, want %d", got, 3*batchN)
		}
	})
}

// TestBatchBadInput: a batch call with bad parameters, an unknown channel
// among known ones, or a channel whose step fails, is refused with a typed
// error (and the single call's code) and stores nothing, on each store.
func TestBatchBadInput(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e := newEnvWith(t, 2, withStore(t, k, nil))
		A, B := e.parties[0], e.parties[1]
		ctx := e.ctx
		p := app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3)}
		r, err := A.w.CreateChannels(ctx, p, 3)
		if err != nil {
			t.Fatal(err)
		}
		ids := []nitro.Bytes32{r.ChannelResults[0].ChannelID, r.ChannelResults[1].ChannelID, r.ChannelResults[2].ChannelID}
		e.push(r.Outbox[0])
		unknown := nitro.Bytes32{0xde, 0xad}
		over := make([]nitro.Bytes32, app.MaxBatchChannels+1)
		for i := range over {
			over[i] = nitro.Bytes32{byte(i), byte(i >> 8), 1}
		}

		cases := []struct {
			name string
			who  *party
			call func() (app.Result, error)
			want error
			code int
		}{
			{"create n=0", A, func() (app.Result, error) { return A.w.CreateChannels(ctx, p, 0) }, app.ErrInvalidParams, app.CodeWalletError},
			{"create n<0", A, func() (app.Result, error) { return A.w.CreateChannels(ctx, p, -1) }, app.ErrInvalidParams, app.CodeWalletError},
			{"create n over the bound", A, func() (app.Result, error) { return A.w.CreateChannels(ctx, p, app.MaxBatchChannels+1) }, app.ErrInvalidParams, app.CodeWalletError},
			{"create not a participant", A, func() (app.Result, error) {
				q := p
				q.Participants = []app.Participant{p.Participants[1], p.Participants[1]}
				return A.w.CreateChannels(ctx, q, 2)
			}, core.ErrNotParticipant, app.CodeSigningAddressNotFound},
			{"join no ids", B, func() (app.Result, error) { return B.w.JoinChannels(ctx, nil) }, app.ErrInvalidParams, app.CodeWalletError},
			{"join ids over the bound", B, func() (app.Result, error) { return B.w.JoinChannels(ctx, over) }, app.ErrInvalidParams, app.CodeWalletError},
			{"join duplicate ids", B, func() (app.Result, error) { return B.w.JoinChannels(ctx, []nitro.Bytes32{ids[0], ids[1], ids[0]}) }, app.ErrInvalidParams, app.CodeWalletError},
			{"join an unknown id", B, func() (app.Result, error) { return B.w.JoinChannels(ctx, []nitro.Bytes32{ids[0], unknown, ids[1]}) }, core.ErrChannelNotFound, app.CodeChannelNotFoundJoin},
			{"join one channel of my own", A, func() (app.Result, error) { return A.w.JoinChannels(ctx, ids) }, core.ErrAlreadyJoined, app.CodeInvalidTransitionJoin},
			{"close unknown id", A, func() (app.Result, error) { return A.w.CloseChannels(ctx, []nitro.Bytes32{unknown}) }, core.ErrChannelNotFound, app.CodeChannelNotFoundClose},
			{"close duplicate ids", A, func() (app.Result, error) { return A.w.CloseChannels(ctx, []nitro.Bytes32{ids[2], ids[2]}) }, app.ErrInvalidParams, app.CodeWalletError},
			{"sync unknown id", A, func() (app.Result, error) { return A.w.SyncChannels(ctx, []nitro.Bytes32{ids[0], unknown}) }, core.ErrChannelNotFound, app.CodeChannelNotFoundSync},
			{"sync no ids", A, func() (app.Result, error) { return A.w.SyncChannels(ctx, []nitro.Bytes32{}) }, app.ErrInvalidParams, app.CodeWalletError},
		}
		for _, c := range cases {
			before := c.who.durable(t)
			res, err := c.call()
			if !errors.Is(err, c.want) {
				t.Fatalf("%s: err %v, want %v", c.name, err, c.want)
			}
			if got := app.Code(err); got != c.code {
				t.Fatalf("%s: code %d, want %d", c.name, got, c.code)
			}
			if len(res.ChannelResults) != 0 || len(res.Outbox) != 0 {
				t.Fatalf("%s: a refused call returned %+v", c.name, res)
			}
			if after := c.who.durable(t); after != before {
				t.Fatalf("%s: the store changed", c.name)
			}
		}

		// Partial failure: B joins one channel alone; a batch with it and
		// the others fails whole (ErrAlreadyJoined), leaving the others
		// proposed, and then the rest join.
		if _, err := B.w.JoinChannel(ctx, ids[1]); err != nil {
			t.Fatal(err)
		}
		before := B.durable(t)
		if _, err := B.w.JoinChannels(ctx, ids); !errors.Is(err, core.ErrAlreadyJoined) {
			t.Fatalf("join with one joined: err %v, want ErrAlreadyJoined", err)
		}
		if B.durable(t) != before {
			t.Fatal("a failed JoinChannels changed the store")
		}
		for _, id := range []nitro.Bytes32{ids[0], ids[2]} {
			c, err := B.w.GetState(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			wantStatus(t, "B after the failed batch", c, core.StatusProposed, 0)
		}
		r, err = B.w.JoinChannels(ctx, []nitro.Bytes32{ids[2], ids[0]})
		if err != nil {
			t.Fatal(err)
		}
		wantBatch(t, "B joins the rest", r, []nitro.Bytes32{ids[2], ids[0]}, core.StatusOpening, 1)

		// Partial failure in CloseChannels: not A's turn on an opening
		// channel fails the whole call.
		before = A.durable(t)
		if _, err := A.w.CloseChannels(ctx, ids); err == nil {
			t.Fatal("CloseChannels of opening channels succeeded")
		}
		if A.durable(t) != before {
			t.Fatal("a failed CloseChannels changed the store")
		}
	})
}

// TestCreateChannelsSkipsHeldChannels: a peer proposed to A a channel with
// the nonce A's next CreateChannels reserves for the same participants;
// on each store, A's batch (whose reserved nonces are checked in one store
// read, ports.ChannelFinder) skips that nonce, opens as many channels as
// asked, all new and distinct, and leaves the proposal as it was.
func TestCreateChannelsSkipsHeldChannels(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e := newEnvWith(t, 2, func(_ string, c *app.Config) { c.Store = k.open(t) })
		A, B := e.parties[0], e.parties[1]
		// Participants [B, A]: A is index 1, so its k-th reserved nonce is
		// 2k+1, and its first batch of 3 reserves k = 1, 2, 3.
		taken := app.ChannelNonce(2, 2, 1)
		e.push(app.Message{Recipient: A.name, Data: e.proposal(B.signer, A, taken)})
		held, err := A.w.GetChannels(e.ctx)
		if err != nil || len(held) != 1 {
			t.Fatalf("A holds %d channels (%v), want the proposal", len(held), err)
		}
		proposal := held[0]
		ps := e.participants()
		ps[0], ps[1] = ps[1], ps[0]
		r, err := A.w.CreateChannels(e.ctx, app.CreateChannelParams{Participants: ps, Allocations: e.allocation(3, 5)}, 3)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[nitro.Bytes32]bool{proposal.ChannelID: true}
		for _, c := range r.ChannelResults {
			if seen[c.ChannelID] {
				t.Fatalf("CreateChannels made channel %s twice or over the proposal", c.ChannelID)
			}
			seen[c.ChannelID] = true
			wantStatus(t, "A's new channel (A is index 1)", c, "opening", 1)
		}
		if len(r.ChannelResults) != 3 {
			t.Fatalf("%d channels created, want 3", len(r.ChannelResults))
		}
		after, err := A.w.GetState(e.ctx, proposal.ChannelID)
		if err != nil {
			t.Fatal(err)
		}
		if after.TurnNum != proposal.TurnNum || after.Status != proposal.Status || after.FundingStatus != proposal.FundingStatus {
			t.Fatalf("the proposal changed: %+v, was %+v", after, proposal)
		}
	})
}
