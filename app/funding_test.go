package app_test

import (
	"context"
	"errors"
	"math/big"
	"sync"
	"testing"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/core/wire"
	"github.com/nitrowallet/nitrowallet/ports"
)

// TestFakeFundingSeedPath runs the seed's path with the Fake strategy on
// each store: no deposit, no conclude; each wallet runs once the postfund
// round is signed; the proposal policy sees the strategy; the stored
// channel keeps it.
func TestFakeFundingSeedPath(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		var seen []string
		var mu sync.Mutex
		e := newEnvWith(t, 2, withStore(t, k, func(_ string, c *app.Config) {
			c.ProposalPolicy = app.ProposalPolicyFunc(func(p app.Proposal) app.ProposalDecision {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, p.FundingStrategy)
				return app.ProposalHold
			})
		}))
		A, B := e.parties[0], e.parties[1]
		ctx := e.ctx
		r, err := A.w.CreateChannel(ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3), FundingStrategy: core.FundingFake})
		if err != nil {
			t.Fatal(err)
		}
		id := r.ChannelResults[0].ChannelID
		wantStatus(t, "A after create", one(t, r, id), core.StatusOpening, 0)
		r = e.push(r.Outbox[0])
		wantStatus(t, "B on msg0", one(t, r, id), core.StatusProposed, 0)
		mu.Lock()
		if len(seen) != 1 || seen[0] != core.FundingFake {
			t.Fatalf("the policy saw strategies %q, want [Fake]", seen)
		}
		mu.Unlock()
		r, err = B.w.JoinChannel(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		// Funded at once: B waits only for A's postfund. No deposit queue,
		// so opening until running, the TypeScript wallet's statuses.
		wantStatus(t, "B after join", one(t, r, id), core.StatusOpening, 1)
		r = e.push(r.Outbox[0])
		wantStatus(t, "A on msg1", one(t, r, id), core.StatusOpening, 2)
		r = e.push(r.Outbox[0])
		wantStatus(t, "B on msg2", one(t, r, id), core.StatusRunning, 3)
		r = e.push(r.Outbox[0])
		wantStatus(t, "A on msg3", one(t, r, id), core.StatusRunning, 3)
		if fs := one(t, r, id).FundingStatus; fs != core.FundingUncategorized {
			t.Fatalf("fundingStatus %s, want Uncategorized (as the TypeScript wallet's Fake)", fs)
		}
		r, err = A.w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(4, 4)})
		if err != nil {
			t.Fatal(err)
		}
		r = e.push(r.Outbox[0])
		wantStatus(t, "B on update", one(t, r, id), core.StatusRunning, 4)
		r, err = B.w.CloseChannel(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		r = e.push(r.Outbox[0])
		wantStatus(t, "A on final", one(t, r, id), core.StatusClosed, 5)
		r = e.push(r.Outbox[0])
		wantStatus(t, "B on countersignature", one(t, r, id), core.StatusClosed, 5)
		if got := e.chain.ChannelHoldings(e.chain.ETHAssetHolder(), id); got.Sign() != 0 {
			t.Fatalf("a Fake channel holds %v on chain", got)
		}
		for _, p := range []*party{A, B} {
			c, err := p.store.Get(ctx, id)
			if err != nil || c.FundingStrategy != core.FundingFake || c.NeedsTick() || c.Conclude != core.TxNone {
				t.Fatalf("%s stored: strategy %q needsTick %v conclude %v, err %v", p.name, c.FundingStrategy, c.NeedsTick(), c.Conclude, err)
			}
		}
	})
}

// outsideWatcher is a chain whose events the wallet never sees (a watcher
// outside the wallet follows it) and whose holdings read zero; it records
// the deposits asked of it and carries them out.
type outsideWatcher struct {
	ports.Chain
	who  string
	mu   *sync.Mutex
	log  *[]string
	amts *[][2]int64
}

func (c outsideWatcher) Events(ctx context.Context, _ ports.Cursor) (<-chan core.ChainEvent, error) {
	ch := make(chan core.ChainEvent)
	go func() { <-ctx.Done(); close(ch) }()
	return ch, nil
}

func (c outsideWatcher) Holdings(context.Context, nitro.Address, nitro.Bytes32) (*big.Int, error) {
	return new(big.Int), nil
}

func (c outsideWatcher) Deposit(ctx context.Context, req ports.DepositRequest) (ports.TxHash, error) {
	c.mu.Lock()
	*c.log = append(*c.log, c.who)
	*c.amts = append(*c.amts, [2]int64{req.ExpectedHeld.Int64(), req.Amount.Int64()})
	c.mu.Unlock()
	return c.Chain.Deposit(ctx, req)
}

// TestUpdateFundingForChannels funds a Direct channel on each store with
// holdings reported by UpdateFundingForChannels alone (no chain event
// reaches the wallets): the deposits follow in allocation order, the
// channel runs once funded; bad updates are refused with typed errors and
// store nothing.
func TestUpdateFundingForChannels(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		var (
			mu   sync.Mutex
			log  []string
			amts [][2]int64
		)
		e := newEnvWith(t, 2, withStore(t, k, func(name string, c *app.Config) {
			c.Chain = outsideWatcher{Chain: c.Chain, who: name, mu: &mu, log: &log, amts: &amts}
		}))
		A, B := e.parties[0], e.parties[1]
		ctx := e.ctx
		eth := e.chain.ETHAssetHolder()
		wantDeposits := func(what string, who ...string) {
			t.Helper()
			mu.Lock()
			defer mu.Unlock()
			if len(log) != len(who) {
				t.Fatalf("%s: deposits by %v, want %v", what, log, who)
			}
			for i := range who {
				if log[i] != who[i] {
					t.Fatalf("%s: deposits by %v, want %v", what, log, who)
				}
			}
		}
		r, err := A.w.CreateChannel(ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3)})
		if err != nil {
			t.Fatal(err)
		}
		id := r.ChannelResults[0].ChannelID
		e.push(r.Outbox[0])
		r, err = B.w.JoinChannel(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		r = e.push(r.Outbox[0])
		wantStatus(t, "A on msg1", one(t, r, id), core.StatusFunding, 1)
		wantDeposits("prefund signed", "A")

		// Bad updates: each refused, nothing stored.
		before := []string{A.durable(t), B.durable(t)}
		good := app.FundingUpdate{ChannelID: id, AssetHolder: eth, Amount: big.NewInt(5)}
		for _, tc := range []struct {
			name string
			ups  []app.FundingUpdate
			want error
			code int
		}{
			{"unknown channel", []app.FundingUpdate{good, {ChannelID: nitro.Bytes32{1}, AssetHolder: eth, Amount: big.NewInt(1)}}, app.ErrChannelNotFound, app.CodeChannelNotFoundUpdate},
			{"unknown asset", []app.FundingUpdate{good, {ChannelID: id, AssetHolder: nitro.Address{0x99}, Amount: big.NewInt(1)}}, app.ErrUnknownAsset, app.CodeWalletError},
			{"negative", []app.FundingUpdate{good, {ChannelID: id, AssetHolder: eth, Amount: big.NewInt(-1)}}, app.ErrInvalidHoldings, app.CodeWalletError},
			{"nil amount", []app.FundingUpdate{good, {ChannelID: id, AssetHolder: eth}}, app.ErrInvalidParams, app.CodeWalletError},
		} {
			for _, p := range []*party{A, B} {
				if _, err := p.w.UpdateFundingForChannels(ctx, tc.ups); !errors.Is(err, tc.want) || app.Code(err) != tc.code {
					t.Fatalf("%s at %s: err %v (code %d), want %v", tc.name, p.name, err, app.Code(err), tc.want)
				}
			}
		}
		if after := []string{A.durable(t), B.durable(t)}; after[0] != before[0] || after[1] != before[1] {
			t.Fatal("a refused UpdateFundingForChannels changed what is stored")
		}
		wantDeposits("after refused updates", "A")

		// A's deposit is reported: B's turn in the queue.
		for _, p := range []*party{A, B} {
			r, err = p.w.UpdateFundingForChannels(ctx, []app.FundingUpdate{good})
			if err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
		}
		wantStatus(t, "B at holdings 5", one(t, r, id), core.StatusFunding, 1)
		wantDeposits("holdings 5", "A", "B")
		mu.Lock()
		if amts[0] != [2]int64{0, 5} || amts[1] != [2]int64{5, 3} {
			t.Fatalf("deposits (expectedHeld, amount) %v, want [0 5] then [5 3]", amts)
		}
		mu.Unlock()

		// Fully funded: the postfund round follows.
		full := app.FundingUpdate{ChannelID: id, AssetHolder: eth, Amount: big.NewInt(8)}
		rA, err := A.w.UpdateFundingForChannels(ctx, []app.FundingUpdate{full})
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "A funded", one(t, rA, id), core.StatusFunding, 2)
		if fs := one(t, rA, id).FundingStatus; fs != core.FundingFunded {
			t.Fatalf("A fundingStatus %s, want Funded", fs)
		}
		if _, err := B.w.UpdateFundingForChannels(ctx, []app.FundingUpdate{full, {ChannelID: id, AssetHolder: eth, Amount: big.NewInt(6)}}); err != nil {
			t.Fatal(err) // a lower report with it changes nothing
		}
		r = e.push(rA.Outbox[0])
		wantStatus(t, "B on msg2", one(t, r, id), core.StatusRunning, 3)
		r = e.push(r.Outbox[0])
		wantStatus(t, "A on msg3", one(t, r, id), core.StatusRunning, 3)
		wantDeposits("running", "A", "B")
	})
}

// TestCloseRequestedByNonMover: B asks to close on A's turn. Its own
// wallet refuses (not its turn) and stores nothing; a peer that sends the
// CloseChannel objective instead, as the TypeScript wallet does, gets A's
// final state at once, and both end closed.
func TestCloseRequestedByNonMover(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e := newEnvWith(t, 2, withStore(t, k, nil))
		A, B := e.parties[0], e.parties[1]
		ctx := e.ctx
		r, err := A.w.CreateChannel(ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3), FundingStrategy: core.FundingFake})
		if err != nil {
			t.Fatal(err)
		}
		id := r.ChannelResults[0].ChannelID
		e.push(r.Outbox[0])
		if r, err = B.w.JoinChannel(ctx, id); err != nil {
			t.Fatal(err)
		}
		for len(r.Outbox) > 0 {
			r = e.push(r.Outbox[0])
		}
		wantStatus(t, "A running", one(t, r, id), core.StatusRunning, 3)

		before := B.durable(t)
		if _, err := B.w.CloseChannel(ctx, id); !errors.Is(err, app.ErrNotYourTurn) || app.Code(err) != app.CodeNotYourTurnClose {
			t.Fatalf("B closes on A's turn: err %v (code %d), want ErrNotYourTurn, code 300", err, app.Code(err))
		}
		if B.durable(t) != before {
			t.Fatal("a refused close changed B's store")
		}
		data, err := wire.EncodeMessage(core.Message{Recipient: "A", Sender: "B", Payload: core.Payload{
			WalletVersion: "@statechannels/server-wallet@1.13.1",
			Objectives:    []core.Objective{{Type: core.ObjectiveCloseChannel, TargetChannelID: id, FundingStrategy: core.FundingFake}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		r = e.push(app.Message{Recipient: "A", Sender: "B", Data: data})
		wantStatus(t, "A on B's CloseChannel", one(t, r, id), core.StatusClosing, 4)
		wantOutbox(t, "A on B's CloseChannel", r, "B")
		r = e.push(r.Outbox[0])
		wantStatus(t, "B on A's final", one(t, r, id), core.StatusClosed, 4)
		r = e.push(r.Outbox[0])
		wantStatus(t, "A on B's countersignature", one(t, r, id), core.StatusClosed, 4)
		c, err := A.store.Get(ctx, id)
		if err != nil || !c.CloseRequested || c.CloseInitiator {
			t.Fatalf("A stored: requested %v initiator %v, err %v; want requested, not initiator", c.CloseRequested, c.CloseInitiator, err)
		}
	})
}
