package app_test

import (
	"context"
	"testing"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// devChainWithApp starts go-ethereum's simulated chain with the Nitro
// contracts and deploys the npm package's SingleAssetPayments on it.
func devChainWithApp(t *testing.T) (*ethereum.DevChain, nitro.Address) {
	t.Helper()
	ctx := context.Background()
	art, err := ethereum.LoadArtifacts("")
	if err != nil {
		t.Fatal(err)
	}
	apps, err := ethereum.LoadAppArtifacts("")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ethereum.NewDevChain(ctx, ethereum.DevOptions{Artifacts: art})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	addr, err := d.DeployApp(ctx, apps.SingleAssetPayments)
	if err != nil {
		t.Fatal(err)
	}
	return d, addr
}

// singleAssetPayments returns the runtime code of SingleAssetPayments as
// deployed on the simulated chain.
func singleAssetPayments(t *testing.T) []byte {
	t.Helper()
	d, addr := devChainWithApp(t)
	code, err := d.Backend.Client().CodeAt(context.Background(), addr, nil)
	if err != nil || len(code) == 0 {
		t.Fatalf("SingleAssetPayments code: %d bytes, %v", len(code), err)
	}
	return code
}

// TestAppRulesJudgeUpdates: on a channel whose app is SingleAssetPayments,
// the demo's payments (A 5/3 → 4/4 → 5/3, each mover paying the other)
// pass the app's validTransition run locally; a mover taking the other's
// money is refused with ErrAppRule (an ErrInvalidTransition, code 401)
// and nothing is stored, and the same state signed by A and pushed to B
// is refused on push. (A channel without an app refuses it too, by the
// core's own rule: core/noapp.go.) Nobody countersigns: the app proves
// each state with its mover's signature.
func TestAppRulesJudgeUpdates(t *testing.T) {
	code := singleAssetPayments(t)
	eachStore(t, func(t *testing.T, k storeKind) {
		e := newEnvWith(t, 2, withStore(t, k, nil))
		A, B := e.parties[0], e.parties[1]
		def := nitro.Address{0x5a, 0x9e}
		for _, p := range e.parties {
			if err := p.w.RegisterAppBytecode(e.ctx, def, code); err != nil {
				t.Fatal(err)
			}
		}
		bus := e.connect()
		id := proposeWith(t, e, bus, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3), AppDefinition: def})
		e.settle(bus, id, "running", func(c app.ChannelResult) bool { return c.Status == core.StatusRunning && c.TurnNum == 3 })

		update := func(p *party, a, b int64) (app.Result, error) {
			return p.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(a, b)})
		}
		for i, u := range []struct {
			p    *party
			a, b int64
		}{{A, 4, 4}, {B, 5, 3}} {
			r, err := update(u.p, u.a, u.b)
			if err != nil {
				t.Fatalf("payment %d (%d/%d): %v", i+1, u.a, u.b, err)
			}
			bus.Send(envelopes(r)...)
			turn := uint64(4 + i)
			e.settle(bus, id, "payment", func(c app.ChannelResult) bool { return c.TurnNum == turn })
		}
		before := A.durable(t)
		_, err := update(A, 8, 0) // A moves and takes B's 3
		wantAppError(t, "mover takes the other's money", err, app.ErrAppRule, app.CodeInvalidTransition)
		if after := A.durable(t); after != before {
			t.Fatalf("a refused update changed the store:\nbefore %s\nafter  %s", before, after)
		}
		bBefore := B.durable(t)
		_, err = B.w.PushMessage(e.ctx, encode(t, e.forged(id, 6, false, []int64{8, 0}, A)))
		wantAppError(t, "B receives A taking its money", err, app.ErrAppRule, app.CodeWalletError) // PushMessage has no code of its own
		if after := B.durable(t); after != bBefore {
			t.Fatalf("a refused push changed B's store:\nbefore %s\nafter  %s", bBefore, after)
		}
		if c := e.stored(B, id); c.States[len(c.States)-2].SignedBy(1) {
			t.Fatal("B countersigned A's turn 4 on an app channel")
		}
		// A valid move still goes through afterwards.
		if _, err := update(A, 4, 4); err != nil {
			t.Fatalf("valid payment after the refusal: %v", err)
		}
	})
}
