package app_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/wire"
	"github.com/nitrowallet/nitrowallet/internal/wireschema"
)

// payloadOf is the bare Payload (the data field) of a message's envelope,
// which is what the server wallet's pushMessage takes.
func payloadOf(t *testing.T, m app.Message) []byte {
	t.Helper()
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(m.Data, &env); err != nil || len(env.Data) == 0 {
		t.Fatalf("no data in %s: %v", m.Data, err)
	}
	return env.Data
}

// TestPushBarePayload: PushMessage takes the bare Payload as the server
// wallet does, with the envelope's effect; an object mixing the two forms,
// or one without the payload's required field, or over the limits, is
// refused with a typed error and changes nothing; a bare payload's
// GetChannel requests are not answered (no sender). On each store.
func TestPushBarePayload(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e := newEnvWith(t, 2, withStore(t, k, func(name string, c *app.Config) {
			if name == "B" {
				c.Limits.MaxObjectives = 2
			}
		}))
		A, B := e.parties[0], e.parties[1]
		ctx := e.ctx
		r, err := A.w.CreateChannel(ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3)})
		if err != nil {
			t.Fatal(err)
		}
		id := r.ChannelResults[0].ChannelID
		payload := payloadOf(t, r.Outbox[0])
		if err := wireschema.Validate([]byte(`{"recipient":"B","sender":"A","data":` + string(payload) + `}`)); err != nil {
			t.Fatalf("payload: %v", err)
		}

		refused := []struct {
			name string
			data string
			want error
		}{
			{"envelope key in a payload", `{"recipient":"B",` + string(payload[1:]), app.ErrUnknownField},
			{"payload key in an envelope", `{"recipient":"B","data":` + string(payload) + `,"walletVersion":"x"}`, app.ErrUnknownField},
			{"empty object", `{}`, app.ErrMissingField},
			{"payload without walletVersion", `{"signedStates":[]}`, app.ErrMissingField},
			{"not an object", `[]`, app.ErrInvalidMessage},
		}
		for _, c := range refused {
			before := B.durable(t)
			res, err := B.w.PushMessage(ctx, []byte(c.data))
			if !errors.Is(err, c.want) {
				t.Fatalf("%s: err %v, want %v", c.name, err, c.want)
			}
			if len(res.ChannelResults) != 0 || B.durable(t) != before {
				t.Fatalf("%s: a refused message changed something", c.name)
			}
		}

		// The bare payload proposes the channel, as the envelope does.
		res, err := B.w.PushMessage(ctx, payload)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "B on the bare payload", one(t, res, id), core.StatusProposed, 0)
		if _, err := B.w.PushMessage(ctx, payload); err != nil {
			t.Fatalf("the same payload again: %v", err)
		}
		r, err = B.w.JoinChannel(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		res, err = A.w.PushMessage(ctx, payloadOf(t, r.Outbox[0]))
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "A on B's bare payload", one(t, res, id), core.StatusFunding, 1)

		// A sync's payload brings states and a GetChannel request: the
		// states apply, the request is not answered.
		r, err = A.w.SyncChannel(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ignored := B.w.Stats().RequestsIgnored
		held, err := B.w.GetState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		res, err = B.w.PushMessage(ctx, payloadOf(t, r.Outbox[0]))
		if err != nil {
			t.Fatal(err)
		}
		// B may send a state the sync's states let it sign (its postfund,
		// once the deposits are in: the chain runs on its own), never the
		// states it held before, which would answer the request.
		for _, m := range res.Outbox {
			msg, err := wire.DecodeMessage(m.Data, wire.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			for _, ss := range msg.Payload.SignedStates {
				if ss.State.TurnNum <= held.TurnNum {
					t.Fatalf("a bare payload's request was answered: B sent its turn %d (it held turn %d)", ss.State.TurnNum, held.TurnNum)
				}
			}
		}
		if got := B.w.Stats().RequestsIgnored; got != ignored+1 {
			t.Fatalf("RequestsIgnored %d, want %d", got, ignored+1)
		}
		// The same sync as an envelope is answered.
		res = e.push(r.Outbox[0])
		wantOutbox(t, "B on the sync envelope", res, "A")

		// The limits hold for a payload as for an envelope: B takes at
		// most 2 objectives a message.
		r, err = A.w.CreateChannels(ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(1, 1)}, 3)
		if err != nil {
			t.Fatal(err)
		}
		before := settledDurable(t, B.store)
		if _, err := B.w.PushMessage(ctx, payloadOf(t, r.Outbox[0])); !errors.Is(err, app.ErrTooLarge) {
			t.Fatalf("payload of 3 objectives: err %v, want ErrTooLarge", err)
		}
		if B.durable(t) != before {
			t.Fatal("a payload over the limits changed the store")
		}
	})
}
