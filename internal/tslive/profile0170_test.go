package tslive_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/internal/tslive"
)

// TestProfile0170RejectsTS: with the default 0.17.0 profile, the TS wallet
// (which signs 0.10.1 state hashes) refuses our proposal, and our wallet
// refuses the TS wallet's with a typed error; neither stores anything.
func TestProfile0170RejectsTS(t *testing.T) {
	need(t)
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			p := newPair(t, sk.open(t), app.Config{})

			// Our proposal, pushed into the TS wallet.
			res, err := p.goW.CreateChannel(ctx, app.CreateChannelParams{
				Participants: []app.Participant{p.goP, {ParticipantID: tsID, SigningAddress: common(p.tsP.SigningAddress), Destination: common32(p.tsP.Destination)}},
				Allocations:  p.goAlloc(5, 3, false),
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Outbox) != 1 {
				t.Fatalf("our CreateChannel queued %d messages, want 1", len(res.Outbox))
			}
			_, err = p.ts.PushMessage(ctx, payloadOf(t, res.Outbox[0]))
			var ce *tslive.CallError
			if !errors.As(err, &ce) || !strings.Contains(ce.Message+ce.Cause, "not a participant") {
				t.Fatalf("TS wallet took our 0.17.0 proposal: %v, want it refused (recovered signer not a participant)", err)
			}
			p.tsHasNoChannel(ctx, res.ChannelResults[0].ChannelID)

			// The TS proposal, pushed into our wallet.
			if err := p.goW.Flush(ctx); err != nil { // our calls' done marks, written now
				t.Fatal(err)
			}
			before := durable(t, p.store)
			out, err := p.ts.CreateChannel(ctx, tslive.CreateChannelParams{
				Participants:    []tslive.Participant{p.tsP, p.goParticipantTS()},
				Allocations:     p.tsAlloc(5, 3, true),
				AppDefinition:   "0x0000000000000000000000000000000000000000",
				AppData:         "0x00",
				FundingStrategy: "Direct",
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Outbox) != 1 {
				t.Fatalf("TS createChannel queued %d messages, want 1", len(out.Outbox))
			}
			_, err = p.goW.PushMessage(ctx, envelope(t, out.Outbox[0]))
			if !errors.Is(err, core.ErrWrongProtocol) {
				t.Fatalf("our wallet took the TS wallet's 0.10.1 proposal: %v, want core.ErrWrongProtocol", err)
			}
			if after := durable(t, p.store); after != before {
				t.Fatalf("our store changed on a refused message:\nbefore %s\nafter  %s", before, after)
			}
			if cs, err := p.goW.GetChannels(ctx); err != nil || len(cs) != 1 {
				t.Fatalf("our wallet holds %d channels (%v), want only its own proposal", len(cs), err)
			}
		})
	}
}
