// Package testwallets holds the calls and checks that tests driving
// app.Wallets share (the app's own tests and the Ethereum adapter's
// app-level scenarios), written once. It is for tests only.
package testwallets

import (
	"context"
	"testing"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/wireschema"
)

// Push hands m to its recipient's wallet w, as a transport would, after
// checking m against the published wire-format schema; it fails t if the
// message does not fit the schema or the wallet refuses it.
func Push(ctx context.Context, t testing.TB, w *app.Wallet, m app.Message) app.Result {
	t.Helper()
	if err := wireschema.Validate(m.Data); err != nil {
		t.Fatalf("message to %s fails the wire-format schema: %v\n%s", m.Recipient, err, m.Data)
	}
	r, err := w.PushMessage(ctx, m.Data)
	if err != nil {
		t.Fatalf("push to %s: %v", m.Recipient, err)
	}
	return r
}

// One is r's result for channel id; it fails t when r has none.
func One(t testing.TB, r app.Result, id nitro.Bytes32) app.ChannelResult {
	t.Helper()
	c, ok := r.Channel(id)
	if !ok {
		t.Fatalf("no result for channel %s in %+v", id, r)
	}
	return c
}

// WantStatus fails t unless c has status s at turn turn; who names the
// party whose result c is.
func WantStatus(t testing.TB, who string, c app.ChannelResult, s core.Status, turn uint64) {
	t.Helper()
	if c.Status != s || c.TurnNum != turn {
		t.Fatalf("%s: status %s turn %d, want %s turn %d", who, c.Status, c.TurnNum, s, turn)
	}
}
