package postgres_test

import (
	"context"
	"encoding/hex"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/core/wire"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
)

// TestRejectedMessageChangesNothing pushes malformed, badly signed, stale,
// conflicting and invalid messages into a running wallet on PostgreSQL and
// checks that each is rejected and leaves the schema byte-for-byte as it
// was (every row of every table, and the sequences).
func TestRejectedMessageChangesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	chain := memory.NewChain(big.NewInt(1337))
	sa, sb, stranger := crashSigner("A"), crashSigner("B"), memory.SignerFromSeed("stranger")
	chain.Fund(sa.Address(), big.NewInt(1000))
	chain.Fund(sb.Address(), big.NewInt(1000))
	storeA := open(t, postgres.Options{})
	wA, err := app.New(ctx, app.Config{Signer: sa, Store: storeA, Chain: chain.Account(sa.Address()), TickInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer wA.Close()
	wB, err := app.New(ctx, app.Config{Signer: sb, Store: memory.NewStore(), Chain: chain.Account(sb.Address()), TickInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer wB.Close()
	bus := memory.NewBus()
	for name, w := range map[string]*app.Wallet{"A": wA, "B": wB} {
		w := w
		bus.Register(name, func(ctx context.Context, data []byte) ([]memory.Envelope, error) {
			r, err := w.PushMessage(ctx, data)
			var out []memory.Envelope
			for _, m := range r.Outbox {
				out = append(out, memory.Envelope{Recipient: m.Recipient, Data: m.Data})
			}
			return out, err
		})
		notes, stop := w.Subscribe()
		defer stop()
		go func() {
			for n := range notes {
				if n.Type == app.MessageQueued {
					bus.Send(memory.Envelope{Recipient: n.Message.Recipient, Data: n.Message.Data})
				}
			}
		}()
	}
	run := func(r app.Result, err error) app.Result {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Outbox {
			bus.Send(memory.Envelope{Recipient: m.Recipient, Data: m.Data})
		}
		if _, err := bus.Run(ctx); err != nil {
			t.Fatal(err)
		}
		return r
	}
	eth := chain.ETHAssetHolder()
	r := run(wA.CreateChannel(ctx, app.CreateChannelParams{Participants: crashParticipants(), Allocations: crashAllocation(eth, 5, 3)}))
	id := r.ChannelResults[0].ChannelID
	run(wB.JoinChannel(ctx, id))
	waitFor(t, "running", func() bool {
		_, _ = bus.Run(ctx)
		a, errA := wA.GetState(ctx, id)
		b, errB := wB.GetState(ctx, id)
		return errA == nil && errB == nil && a.Status == core.StatusRunning && b.Status == core.StatusRunning && a.TurnNum == 3 && b.TurnNum == 3
	})
	run(wA.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: crashAllocation(eth, 4, 4)}))
	waitFor(t, "B at turn 4", func() bool {
		b, err := wB.GetState(ctx, id)
		return err == nil && b.TurnNum == 4
	})

	db := storeA.DB().DB
	// Background work (chain events, cursor) has settled when two dumps agree.
	var before string
	waitFor(t, "a quiet database", func() bool {
		d1 := pgtest.Dump(t, db, storeA.Schema())
		time.Sleep(100 * time.Millisecond)
		before = pgtest.Dump(t, db, storeA.Schema())
		return d1 == before
	})
	// The store holds addresses and signatures, never the key: the dump
	// shows A's address (bytes are dumped as hex) but not A's private key.
	keyHex := hex.EncodeToString(crypto.Keccak256([]byte("nitrowallet-crash-A")))
	if !strings.Contains(strings.ToLower(before), strings.ToLower(sa.Address().Hex()[2:])) {
		t.Fatal("the dump does not show A's address: it cannot show a key either")
	}
	if strings.Contains(strings.ToLower(before), keyHex) {
		t.Fatal("A's private key is in the database")
	}

	c, err := storeA.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	latest, _ := c.Latest()
	sign := func(s *memory.Signer, st nitro.State) nitro.Signature {
		h, err := st.Hash()
		if err != nil {
			t.Fatal(err)
		}
		sig, err := s.SignState(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	signed := func(st nitro.State, by ...*memory.Signer) core.SignedState {
		ss := core.SignedState{State: st, Participants: c.Participants}
		for _, s := range by {
			ss.Signatures = append(ss.Signatures, sign(s, st))
		}
		return ss
	}
	next := func(turn uint64, a, b int64) nitro.State {
		st := latest.State.Clone()
		st.TurnNum = turn
		st.Outcome[0].Allocation[0].Amount = big.NewInt(a)
		st.Outcome[0].Allocation[1].Amount = big.NewInt(b)
		return st
	}
	encode := func(states ...core.SignedState) []byte {
		data, err := wire.EncodeMessage(core.Message{Recipient: "A", Sender: "B", Payload: core.Payload{WalletVersion: wire.WalletVersion, SignedStates: states}})
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	good := signed(next(5, 5, 3), sb) // B pays 1
	conflicting := latest.State.Clone()
	conflicting.AppData = []byte{0xbad % 256}
	stale := c.Setup.Clone()
	stale.TurnNum = 1
	stale.AppData = []byte{1}
	otherChannel := next(5, 4, 4)
	otherChannel.ChannelNonce += 1000
	bigState := next(5, 4, 4)
	bigState.AppData = make([]byte, wire.DefaultLimits().MaxAppDataBytes+1)

	for _, tc := range []struct {
		name string
		data []byte
		// evidence: the refusal records an equivocation by this signer,
		// and nothing else.
		evidence *memory.Signer
	}{
		{name: "not JSON", data: []byte(`{"recipient":"A","sender":`)},
		{name: "JSON of the wrong shape", data: []byte(`{"recipient":"A","sender":"B","data":{"signedStates":[{"turnNum":"five"}]}}`)},
		{name: "state signed by a stranger", data: encode(signed(next(5, 4, 4), stranger))},
		{name: "state signed by the wrong mover", data: encode(signed(next(5, 4, 4), sa))},
		{name: "state changing the totals", data: encode(signed(next(5, 4, 5), sb))},
		{name: "state for a turn already held, with other content", data: encode(signed(conflicting, sa)), evidence: sa},
		{name: "stale setup state with other content", data: encode(signed(stale, sb)), evidence: sb},
		{name: "final state with another outcome", data: encode(signed(func() nitro.State { s := next(5, 1, 7); s.IsFinal = true; return s }(), sb))},
		{name: "good state with a bad one in the same message", data: encode(good, signed(next(6, 4, 4), stranger))},
		{name: "good state and a state of an unknown channel", data: encode(good, signed(otherChannel, sb))},
		{name: "appData over the limit", data: encode(signed(bigState, sb))},
		{name: "corrupted signature", data: func() []byte {
			ss := good
			ss.Signatures = []nitro.Signature{ss.Signatures[0]}
			ss.Signatures[0].S[5] ^= 0x40
			return encode(ss)
		}()},
	} {
		if _, err := wA.PushMessage(ctx, tc.data); err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		after := pgtest.Dump(t, db, storeA.Schema())
		if tc.evidence != nil {
			evs, err := storeA.Equivocations(ctx)
			if err != nil || !slices.ContainsFunc(evs, func(ev core.EquivocationError) bool { return ev.Signer == tc.evidence.Address() }) {
				t.Errorf("%s: no equivocation by %s on record (%v)", tc.name, tc.evidence.Address(), err)
			}
			if withoutTable(after, "equivocations") != withoutTable(before, "equivocations") {
				t.Errorf("%s: rejected, but more than its evidence changed:\n%s", tc.name, firstDiff(before, after))
			}
			before = after
			continue
		}
		if after != before {
			t.Errorf("%s: rejected, but the database changed:\n%s", tc.name, firstDiff(before, after))
		}
	}

	// The dump does see changes: the good state alone is accepted.
	if _, err := wA.PushMessage(ctx, encode(good)); err != nil {
		t.Fatalf("good state rejected: %v", err)
	}
	if pgtest.Dump(t, db, storeA.Schema()) == before {
		t.Fatal("an accepted state left the dump unchanged")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// withoutTable drops one table's section from a pgtest.Dump.
func withoutTable(dump, table string) string {
	var out []string
	skip := false
	for _, l := range strings.Split(dump, "\n") {
		if strings.HasPrefix(l, "== ") {
			skip = l == "== table "+table
		}
		if !skip {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) || i < len(lb); i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return "- " + x + "\n+ " + y
		}
	}
	return ""
}
