package app_test

import (
	"errors"
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// strangerProposal makes a wallet for a stranger on its own memory chain
// (chain id chainID, with an extra ERC20 asset holder when token is set)
// and returns the message of its proposal of a channel [stranger, victim]
// to the victim, allocating from asset holder asset (zero: the chain's ETH
// asset holder) with the given challenge duration.
func strangerProposal(t *testing.T, victim *party, chainID int64, token string, duration uint64) []byte {
	t.Helper()
	chain := memory.NewChain(big.NewInt(chainID))
	s := memory.SignerFromSeed("stranger")
	w, err := app.New(t.Context(), app.Config{
		Signer: s, Store: memory.NewStore(), Chain: chain.Account(s.Address()), TickInterval: -1,
		// The stranger takes any duration.
		MinChallengeDuration: time.Second, MaxChallengeDuration: 100 * 365 * 24 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	asset := chain.ETHAssetHolder()
	if token != "" {
		asset = chain.AddERC20AssetHolder(token)
	}
	ps := []app.Participant{
		{ParticipantID: "S", SigningAddress: s.Address(), Destination: nitro.AddressToDestination(s.Address())},
		{ParticipantID: victim.name, SigningAddress: victim.signer.Address(), Destination: nitro.AddressToDestination(victim.dest)},
	}
	r, err := w.CreateChannel(t.Context(), app.CreateChannelParams{
		Participants: ps, ChallengeDuration: duration,
		Allocations: []app.Allocation{{AssetHolderAddress: asset, AllocationItems: []app.AllocationItem{
			{Destination: ps[0].Destination, Amount: big.NewInt(1)}, {Destination: ps[1].Destination, Amount: big.NewInt(1)},
		}}},
	})
	if err != nil {
		t.Fatalf("stranger's create: %v", err)
	}
	if len(r.Outbox) != 1 || r.Outbox[0].Recipient != victim.name {
		t.Fatalf("stranger's outbox: %+v", r.Outbox)
	}
	return r.Outbox[0].Data
}

// TestUnusableProposalsRefused (issue 10, defect 1): a proposal on another
// chain, naming an asset holder this wallet's chain does not have, or with
// a challenge duration outside the wallet's bounds is refused at
// PushMessage with a typed error and stores nothing; before, the foreign
// chain's proposal became "proposed", and after a join both wallets
// deposited into a channel whose conclude reverts.
func TestUnusableProposalsRefused(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e := newEnvWith(t, 2, withStore(t, k, nil))
		B := e.parties[1]
		cases := []struct {
			name string
			data []byte
			want error
		}{
			{"chain 999", strangerProposal(t, B, 999, "", app.DefaultChallengeDuration), app.ErrWrongChain},
			{"unknown asset holder", strangerProposal(t, B, 1337, "NotOnYourChain", app.DefaultChallengeDuration), app.ErrUnknownAssetHolder},
			{"challenge of 10 s", strangerProposal(t, B, 1337, "", 10), app.ErrChallengeDuration},
			{"challenge of 10 years", strangerProposal(t, B, 1337, "", 10*365*86400), app.ErrChallengeDuration},
		}
		for _, tc := range cases {
			before := B.durable(t)
			_, err := B.w.PushMessage(e.ctx, tc.data)
			if !errors.Is(err, tc.want) || !errors.Is(err, app.ErrUnusableChannel) {
				t.Fatalf("%s: got %v, want %v", tc.name, err, tc.want)
			}
			if after := B.durable(t); after != before {
				t.Fatalf("%s: the refused proposal changed the store:\n%s\n%s", tc.name, before, after)
			}
			if got, err := B.w.GetChannels(e.ctx); err != nil || len(got) != 0 {
				t.Fatalf("%s: %d channels listed (%v)", tc.name, len(got), err)
			}
		}
	})
}

// TestJoinChecksDeployment: a proposal stored under wide challenge bounds
// is refused at JoinChannel (code 1101) once the wallet runs with narrower
// ones, changing nothing; the default bounds are one hour to thirty days.
func TestJoinChecksDeployment(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e := newEnvWith(t, 2, withStore(t, k, func(name string, c *app.Config) {
			c.MinChallengeDuration = time.Second
		}))
		B := e.parties[1]
		r, err := B.w.PushMessage(e.ctx, strangerProposal(t, B, 1337, "", 10))
		if err != nil {
			t.Fatal(err)
		}
		id := r.ChannelResults[0].ChannelID
		if err := B.w.Close(); err != nil {
			t.Fatal(err)
		}
		w, err := app.New(e.ctx, app.Config{Signer: B.signer, Store: B.store, Chain: e.chain.Account(B.signer.Address()), TickInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		before := B.durable(t)
		_, err = w.JoinChannel(e.ctx, id)
		if !errors.Is(err, app.ErrChallengeDuration) || app.Code(err) != app.CodeInvalidTransitionJoin {
			t.Fatalf("join: got %v (code %d), want ErrChallengeDuration, code %d", err, app.Code(err), app.CodeInvalidTransitionJoin)
		}
		if B.durable(t) != before {
			t.Fatal("the refused join changed the store")
		}
	})
}

// TestChallengeBoundsConfig: crossed or negative bounds are refused by New.
func TestChallengeBoundsConfig(t *testing.T) {
	e := newEnv(t, 1)
	A := e.parties[0]
	for _, c := range []struct{ lo, hi time.Duration }{{-time.Second, 0}, {0, -1}, {2 * time.Hour, time.Hour}, {0, time.Minute}} {
		_, err := app.New(e.ctx, app.Config{Signer: A.signer, Store: memory.NewStore(), Chain: e.chain.Account(A.signer.Address()),
			TickInterval: -1, MinChallengeDuration: c.lo, MaxChallengeDuration: c.hi})
		if !errors.Is(err, app.ErrInvalidParams) {
			t.Fatalf("bounds %v..%v: %v", c.lo, c.hi, err)
		}
	}
}

// TestWrongRecipientRefused (defect 3): a message whose recipient is not
// this wallet's participant id in the channel is refused with code 900
// (the client API's "not addressed to this wallet"), proposal or update.
func TestWrongRecipientRefused(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e := newEnvWith(t, 3, withStore(t, k, nil))
		A, B := e.parties[0], e.parties[1]
		ps := e.participants()[:2]
		r, err := A.w.CreateChannel(e.ctx, app.CreateChannelParams{Participants: ps, Allocations: e.allocation(5, 3)})
		if err != nil {
			t.Fatal(err)
		}
		proposal := r.Outbox[0].Data
		for _, to := range []string{"A", "C", ""} {
			data := edit(t, proposal, func(m map[string]any) { m["recipient"] = to })
			before := B.durable(t)
			_, err := B.w.PushMessage(e.ctx, data)
			if !errors.Is(err, app.ErrWrongRecipient) || app.Code(err) != app.CodeWrongParticipant {
				t.Fatalf("proposal to %q: got %v (code %d)", to, err, app.Code(err))
			}
			if B.durable(t) != before {
				t.Fatalf("proposal to %q changed the store", to)
			}
		}
		if _, err := B.w.PushMessage(e.ctx, proposal); err != nil {
			t.Fatalf("the proposal to B: %v", err)
		}
	})
}

// TestSimultaneousCreates (defect 7): A and B each create a channel for
// [A, B] before either sees the other's proposal; the two get different
// nonces and ids, and both open. Before, both picked nonce 1: one id with
// two outcomes, each refusing the other's setup state.
func TestSimultaneousCreates(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e := newEnvWith(t, 2, withStore(t, k, nil))
		bus := e.connect()
		var ids []nitro.Bytes32
		var outs []app.Result
		for _, p := range e.parties {
			r, err := p.w.CreateChannel(e.ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3)})
			if err != nil {
				t.Fatalf("%s creates: %v", p.name, err)
			}
			ids = append(ids, r.ChannelResults[0].ChannelID)
			outs = append(outs, r)
		}
		if ids[0] == ids[1] {
			t.Fatalf("both creates gave channel %s", ids[0])
		}
		for _, r := range outs {
			bus.Send(envelopes(r)...)
		}
		if _, err := bus.Run(e.ctx); err != nil {
			t.Fatal(err)
		}
		for i, p := range e.parties {
			r, err := p.w.JoinChannel(e.ctx, ids[1-i])
			if err != nil {
				t.Fatalf("%s joins the other's channel: %v", p.name, err)
			}
			bus.Send(envelopes(r)...)
		}
		for _, id := range ids {
			e.settle(bus, id, "running", func(c app.ChannelResult) bool { return c.Status == core.StatusRunning })
		}
		// The creator's counter keeps growing: a second create gets a third id.
		r, err := e.parties[1].w.CreateChannel(e.ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(1, 1)})
		if err != nil || r.ChannelResults[0].ChannelID == ids[0] || r.ChannelResults[0].ChannelID == ids[1] {
			t.Fatalf("B's second create: %v", err)
		}
	})
}

// TestChannelNonce: participant i of n uses k*n+i, so no two participants
// of a list share a nonce.
func TestChannelNonce(t *testing.T) {
	seen := map[uint64]uint64{}
	const n = 3
	for i := uint64(0); i < n; i++ {
		for k := uint64(1); k <= 50; k++ {
			x := app.ChannelNonce(k, n, i)
			if j, dup := seen[x]; dup {
				t.Fatalf("nonce %d of participant %d also belongs to participant %d", x, i, j)
			}
			seen[x] = i
		}
	}
}

// TestEquivocationKeptAsEvidence (defect 8): A signs two different states
// for one turn, the second for a turn B holds as a future state; B refuses
// the second with ErrEquivocation (matching ErrConflictingState), its
// channel unchanged, and keeps both states in the store and tells its
// subscribers. Before, B applied the second and dropped the first silently.
func TestEquivocationKeptAsEvidence(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e, id := openRunningWith(t, withStore(t, k, nil))
		A, B := e.parties[0], e.parties[1]
		// Turns 4 (A) and 5 (B) land; A's turn 6 reaches B early.
		s6a := encode(t, e.forged(id, 6, false, []int64{2, 6}, A))
		if _, err := B.w.PushMessage(e.ctx, s6a); err != nil {
			t.Fatalf("held S6a: %v", err)
		}
		if _, err := B.w.PushMessage(e.ctx, encode(t, e.forged(id, 4, false, []int64{4, 4}, A))); err != nil {
			t.Fatal(err)
		}
		if _, err := B.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(5, 3)}); err != nil {
			t.Fatal(err)
		}
		before := e.snap(B)
		s6b := e.forged(id, 6, false, []int64{1, 7}, A)
		_, err := B.w.PushMessage(e.ctx, encode(t, s6b))
		var ev *core.EquivocationError
		if !errors.Is(err, app.ErrEquivocation) || !errors.Is(err, app.ErrConflictingState) || !errors.As(err, &ev) {
			t.Fatalf("S6b: got %v, want ErrEquivocation", err)
		}
		if !reflect.DeepEqual(e.snap(B), before) {
			t.Fatal("the refused state changed B's channels or outbox")
		}
		c, err := B.w.GetState(e.ctx, id)
		if err != nil || c.TurnNum != 6 || c.Allocations[0].AllocationItems[0].Amount.Int64() != 2 {
			t.Fatalf("B's channel: turn %d, %v; want S6a at turn 6", c.TurnNum, err)
		}
		evs, err := B.w.Equivocations(e.ctx)
		if err != nil || len(evs) != 1 {
			t.Fatalf("stored evidence: %d records, %v", len(evs), err)
		}
		got := evs[0]
		h0, _ := got.States[0].State.Hash()
		h1, _ := got.States[1].State.Hash()
		wa, _ := e.forged(id, 6, false, []int64{2, 6}, A).Payload.SignedStates[0].State.Hash()
		wb, _ := s6b.Payload.SignedStates[0].State.Hash()
		if got.ChannelID != id || got.Signer != A.signer.Address() || got.TurnNum != 6 || h0 != wa || h1 != wb {
			t.Fatalf("stored evidence: %+v", got)
		}
		for _, st := range got.States {
			who, err := nitro.RecoverSigner(must(st.State.Hash()), st.Signatures[0])
			if err != nil || who != A.signer.Address() {
				t.Fatalf("evidence signature by %s (%v), want A", who, err)
			}
		}
		n := waitNote(t, B, "PeerEquivocated", func(n app.Notification) bool { return n.Type == app.PeerEquivocated })
		if n.Evidence == nil || n.Evidence.Signer != A.signer.Address() || n.Channel.ChannelID != id {
			t.Fatalf("notification: %+v", n)
		}
		// A second proof against the same peer and channel adds nothing.
		if _, err := B.w.PushMessage(e.ctx, encode(t, e.forged(id, 6, false, []int64{0, 8}, A))); !errors.Is(err, app.ErrEquivocation) {
			t.Fatalf("third S6: %v", err)
		}
		if evs, _ := B.w.Equivocations(e.ctx); len(evs) != 1 {
			t.Fatalf("%d records after a second proof, want 1", len(evs))
		}
	})
}

func must(h nitro.Bytes32, err error) nitro.Bytes32 {
	if err != nil {
		panic(err)
	}
	return h
}
