package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/apprules"
)

// TestBenchUpdatesRunTheApp: the SingleAssetPayments row's channels name
// the app, its updates (the mover pays) pass the app's validTransition,
// and the app is really run: a mover taking the other's money is refused
// with the app's own revert string.
func TestBenchUpdatesRunTheApp(t *testing.T) {
	ctx := context.Background()
	a, err := benchSingleAssetPayments()
	if err != nil {
		t.Fatal(err)
	}
	p, err := newBenchPair(ctx, newBenchMemoryChain(), "memory")
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	if err := p.useApp(ctx, a); err != nil {
		t.Fatal(err)
	}
	ids, err := p.open(1)
	if err != nil {
		t.Fatal(err)
	}
	id := ids[0]
	for i := 0; i < 4; i++ {
		if err := p.update(id); err != nil {
			t.Fatalf("update %d: %v", i+1, err)
		}
	}
	for _, q := range p.parties {
		r, err := q.w.GetState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.AppDefinition != a.addr || r.TurnNum != 7 {
			t.Fatalf("%s holds app %s at turn %d, want %s at turn 7", q.name, r.AppDefinition, r.TurnNum, a.addr)
		}
	}
	// Turn 8 is A's: A takes B's 3 wei.
	_, err = p.parties[0].w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: p.allocation(8, 0)})
	if !errors.Is(err, app.ErrAppRule) || !errors.Is(err, apprules.ErrAppReverted) || !strings.Contains(err.Error(), "Nonmover balance decreased") {
		t.Fatalf("mover takes: %v, want the app's refusal (Nonmover balance decreased)", err)
	}
}
