package app_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/core/wire"
)

// openRunning opens a two-party channel over a bus and returns its id.
func openRunning(t testing.TB) (*env, nitro.Bytes32) {
	t.Helper()
	return openRunningWith(t, nil)
}

// openRunningWith is openRunning with the wallets' configs passed through
// with (see newEnvWith).
func openRunningWith(t testing.TB, with func(name string, c *app.Config)) (*env, nitro.Bytes32) {
	t.Helper()
	e := newEnvWith(t, 2, with)
	return e, e.openChannels(e.connect(), 1, 5, 3)[0]
}

// openChannels opens n channels that A proposes and B joins over bus, each
// allocating amounts, and waits until both run them (turn 3): A proposes
// them all, the bus delivers, then B joins each.
func (e *env) openChannels(bus *memory.Bus, n int, amounts ...int64) []nitro.Bytes32 {
	e.t.Helper()
	A, B := e.parties[0], e.parties[1]
	ids := make([]nitro.Bytes32, n)
	for i := range ids {
		r, err := A.w.CreateChannel(e.ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(amounts...)})
		if err != nil {
			e.t.Fatal(err)
		}
		ids[i] = r.ChannelResults[0].ChannelID
		bus.Send(envelopes(r)...)
	}
	if _, err := bus.Run(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	for _, id := range ids {
		r, err := B.w.JoinChannel(e.ctx, id)
		if err != nil {
			e.t.Fatal(err)
		}
		bus.Send(envelopes(r)...)
	}
	for _, id := range ids {
		e.settle(bus, id, "running", func(c app.ChannelResult) bool { return c.Status == core.StatusRunning && c.TurnNum == 3 })
	}
	return ids
}

// snapshot is everything a party's store holds.
type snapshot struct {
	channels []core.Channel
	pending  int
}

func (e *env) snap(p *party) snapshot {
	e.t.Helper()
	if err := p.w.Flush(e.ctx); err != nil {
		e.t.Fatalf("flush %s: %v", p.name, err)
	}
	cs, err := p.store.List(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	pend, err := p.store.Pending(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return snapshot{channels: cs, pending: len(pend)}
}

// forged builds a message from sender to recipient carrying one state of
// channel id at turn t, signed by the given parties.
func (e *env) forged(id nitro.Bytes32, t uint64, final bool, amounts []int64, signers ...*party) core.Message {
	e.t.Helper()
	c, err := e.parties[1].store.Get(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	st := c.Setup.Clone()
	st.TurnNum, st.IsFinal = t, final
	for i, x := range amounts {
		st.Outcome[0].Allocation[i].Amount = big.NewInt(x)
	}
	h, err := st.Hash()
	if err != nil {
		e.t.Fatal(err)
	}
	ss := core.SignedState{State: st, Participants: c.Participants}
	for _, p := range signers {
		sig, err := p.signer.SignState(e.ctx, h)
		if err != nil {
			e.t.Fatal(err)
		}
		ss.Signatures = append(ss.Signatures, sig)
	}
	return core.Message{Recipient: "B", Sender: "A", Payload: core.Payload{SignedStates: []core.SignedState{ss}}}
}

func encode(t testing.TB, m core.Message) []byte {
	t.Helper()
	b, err := wire.EncodeMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edit decodes a JSON message, lets f change it, and re-encodes it.
func edit(t testing.TB, b []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func firstState(m map[string]any) map[string]any {
	return m["data"].(map[string]any)["signedStates"].([]any)[0].(map[string]any)
}

func TestPushMessageBadInput(t *testing.T) {
	e, id := openRunning(t)
	A, B := e.parties[0], e.parties[1]
	stranger := newEnv(t, 3).parties[2]
	good := encode(t, e.forged(id, 4, false, []int64{4, 4}, A))
	other := e.forged(id, 4, false, []int64{4, 4}, A)
	other.Payload.SignedStates[0].State.ChannelNonce = 999
	other.Payload.SignedStates[0].State.TurnNum = 9

	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"malformed JSON", []byte(`{"recipient":`), wire.ErrMalformed},
		{"not an object", []byte(`[1,2]`), wire.ErrMalformed},
		{"extra field", edit(t, good, func(m map[string]any) { m["extra"] = 1 }), wire.ErrUnknownField},
		{"extra state field", edit(t, good, func(m map[string]any) { firstState(m)["x"] = true }), wire.ErrUnknownField},
		{"missing data", edit(t, good, func(m map[string]any) { delete(m, "data") }), wire.ErrMissingField},
		{"missing turnNum", edit(t, good, func(m map[string]any) { delete(firstState(m), "turnNum") }), wire.ErrMissingField},
		{"bad hex appData", edit(t, good, func(m map[string]any) { firstState(m)["appData"] = "0xzz" }), wire.ErrBadHex},
		{"amount over 2^256-1", bytes.Replace(good, []byte(`"amount":"0x00`), []byte(`"amount":"0x100`), 1), wire.ErrBadHex},
		{"turnNum over 2^48-1", edit(t, good, func(m map[string]any) { firstState(m)["turnNum"] = float64(1 << 50) }), wire.ErrOutOfRange},
		{"channel id mismatch", edit(t, good, func(m map[string]any) { firstState(m)["channelId"] = "0x" + strings.Repeat("ab", 32) }), wire.ErrChannelIDMismatch},
		{"walletVersion invalid UTF-8", rawString(t, good, "walletVersion", "nitrowallet\xff"), wire.ErrMalformed},
		{"participantId invalid UTF-8", rawString(t, good, "participantId", "B\xc3"), wire.ErrMalformed},
		{"sender invalid UTF-8", rawString(t, good, "sender", "\xed\xa0\x80"), wire.ErrMalformed},
		{"signed by a stranger", encode(t, e.forged(id, 4, false, []int64{4, 4}, stranger)), core.ErrWrongSigner},
		{"wrong mover", encode(t, e.forged(id, 4, false, []int64{4, 4}, B)), core.ErrWrongSigner},
		{"unsigned", encode(t, e.forged(id, 4, false, []int64{4, 4})), core.ErrWrongSigner},
		{"changed totals", encode(t, e.forged(id, 4, false, []int64{4, 5}, A)), core.ErrTotalsChanged},
		{"changed setup state", encode(t, e.forged(id, 2, false, []int64{4, 4}, A)), core.ErrConflictingState},
		{"unknown channel", encode(t, other), core.ErrChannelNotFound},
		{"huge appData", edit(t, good, func(m map[string]any) { firstState(m)["appData"] = "0x" + strings.Repeat("00", 1<<20) }), wire.ErrTooLarge},
		{"thousands of participants", edit(t, good, func(m map[string]any) {
			ps := firstState(m)["participants"].([]any)
			for len(ps) < 3000 {
				ps = append(ps, ps[0])
			}
			firstState(m)["participants"] = ps
		}), wire.ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snap(B)
			_, err := B.w.PushMessage(e.ctx, tc.data)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if app.Code(err) == 0 {
				t.Fatal("no API code")
			}
			if after := e.snap(B); !reflect.DeepEqual(before, after) {
				t.Fatal("stored state changed")
			}
		})
	}
	t.Run("duplicate is a no-op", func(t *testing.T) {
		if _, err := B.w.PushMessage(e.ctx, good); err != nil {
			t.Fatal(err)
		}
		before := e.snap(B)
		r, err := B.w.PushMessage(e.ctx, good)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Outbox) != 0 || !reflect.DeepEqual(before, e.snap(B)) {
			t.Fatal("duplicate changed something")
		}
		// A stale copy of an older turn is a no-op too.
		if _, err := B.w.PushMessage(e.ctx, encode(t, e.forged(id, 2, false, []int64{5, 3}, A))); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCallsBadInput(t *testing.T) {
	e, id := openRunning(t)
	A, B := e.parties[0], e.parties[1]
	ctx := e.ctx
	max := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	unknown := nitro.Bytes32{1, 2, 3}
	huge := e.allocation(1, 1)
	huge[0].AllocationItems[0].Amount = new(big.Int).Add(max, big.NewInt(1))
	overflow := e.allocation(1, 1)
	overflow[0].AllocationItems[0].Amount, overflow[0].AllocationItems[1].Amount = max, max
	strangerPs := newEnv(t, 3).participants()[1:]
	many := e.participants()
	for len(many) < 300 {
		p := many[0]
		p.SigningAddress = nitro.Address{byte(len(many)), byte(len(many) >> 8), 9}
		many = append(many, p)
	}
	create := func(ps []app.Participant, al []app.Allocation, strategy string, appData []byte) func() error {
		return func() error {
			_, err := A.w.CreateChannel(ctx, app.CreateChannelParams{Participants: ps, Allocations: al, FundingStrategy: strategy, AppData: appData})
			return err
		}
	}
	update := func(w *app.Wallet, ch nitro.Bytes32, al []app.Allocation) func() error {
		return func() error {
			_, err := w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: ch, Allocations: al})
			return err
		}
	}
	cases := []struct {
		name string
		call func() error
		want error
		code int
	}{
		{"create: not a participant", create(strangerPs, e.allocation(1, 1), "", nil), app.ErrNotParticipant, app.CodeSigningAddressNotFound},
		{"create: one participant", create(e.participants()[:1], e.allocation(1), "", nil), app.ErrInvalidParams, app.CodeWalletError},
		{"create: duplicate participant", create([]app.Participant{e.participants()[0], e.participants()[0]}, e.allocation(1, 1), "", nil), app.ErrInvalidParams, app.CodeWalletError},
		{"create: 300 participants", create(many, e.allocation(1, 1), "", nil), app.ErrInvalidParams, app.CodeWalletError},
		{"create: amount over 2^256-1", create(e.participants(), huge, "", nil), app.ErrInvalidParams, app.CodeWalletError},
		{"create: total over 2^256-1", create(e.participants(), overflow, "", nil), app.ErrInvalidTransition, app.CodeWalletError},
		{"create: ledger funding", create(e.participants(), e.allocation(1, 1), core.FundingLedger, nil), app.ErrUnsupportedFunding, app.CodeWalletError},
		{"create: huge appData", create(e.participants(), e.allocation(1, 1), "", make([]byte, 1<<20)), app.ErrInvalidParams, app.CodeWalletError},
		{"join: unknown", func() error { _, err := B.w.JoinChannel(ctx, unknown); return err }, app.ErrChannelNotFound, app.CodeChannelNotFoundJoin},
		{"join: twice", func() error { _, err := B.w.JoinChannel(ctx, id); return err }, app.ErrAlreadyJoined, app.CodeInvalidTransitionJoin},
		{"update: unknown", update(A.w, unknown, e.allocation(4, 4)), app.ErrChannelNotFound, app.CodeChannelNotFoundUpdate},
		{"update: not your turn", update(B.w, id, e.allocation(4, 4)), app.ErrNotYourTurn, app.CodeNotYourTurnUpdate},
		{"update: totals changed", update(A.w, id, e.allocation(4, 5)), app.ErrInvalidTransition, app.CodeInvalidTransition},
		{"update: negative amount", update(A.w, id, e.allocation(-1, 9)), app.ErrInvalidParams, app.CodeInvalidTransition},
		{"close: unknown", func() error { _, err := A.w.CloseChannel(ctx, unknown); return err }, app.ErrChannelNotFound, app.CodeChannelNotFoundClose},
		{"close: not your turn", func() error { _, err := B.w.CloseChannel(ctx, id); return err }, app.ErrNotYourTurn, app.CodeNotYourTurnClose},
		{"get state: unknown", func() error { _, err := A.w.GetState(ctx, unknown); return err }, app.ErrChannelNotFound, app.CodeChannelNotFoundGetState},
		{"sync: unknown", func() error { _, err := A.w.SyncChannel(ctx, unknown); return err }, app.ErrChannelNotFound, app.CodeChannelNotFoundSync},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			beforeA, beforeB := e.snap(A), e.snap(B)
			err := tc.call()
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if got := app.Code(err); got != tc.code {
				t.Fatalf("code %d, want %d", got, tc.code)
			}
			if !reflect.DeepEqual(beforeA, e.snap(A)) || !reflect.DeepEqual(beforeB, e.snap(B)) {
				t.Fatal("stored state changed")
			}
		})
	}
	// Once closed, updates get 404 (channel closed).
	bus := e.connect()
	r, err := A.w.CloseChannel(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	bus.Send(envelopes(r)...)
	e.settle(bus, id, "closed", func(c app.ChannelResult) bool { return c.Status == core.StatusClosed })
	_, err = B.w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(4, 4)})
	if !errors.Is(err, app.ErrChannelClosed) || app.Code(err) != app.CodeChannelClosedUpdate {
		t.Fatalf("update after close: %v (code %d)", err, app.Code(err))
	}
}
