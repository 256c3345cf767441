package main

import (
	"context"
	"testing"
)

// TestBenchWSUpdates: the WebSocket row's pair opens channels and updates
// them only through the two servers' APIs, and both wallets end at the
// turn and balances the updates made (the relay carried every message).
func TestBenchWSUpdates(t *testing.T) {
	ctx := context.Background()
	p, err := newBenchWSPair(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	ids, err := p.open(2)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		for i := 0; i < 3; i++ {
			if err := p.update(id); err != nil {
				t.Fatalf("update %d: %v", i+1, err)
			}
		}
	}
	for _, id := range ids {
		for _, q := range p.parties {
			r, err := q.w.GetState(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			// Turns 4, 5, 6: A pays 1 (4/4), B pays 1 (5/3), A pays 1 (4/4).
			items := r.Allocations[0].AllocationItems
			if r.TurnNum != 6 || items[0].Amount.Int64() != 4 || items[1].Amount.Int64() != 4 {
				t.Fatalf("%s holds turn %d with %v/%v, want turn 6 with 4/4", q.name, r.TurnNum, items[0].Amount, items[1].Amount)
			}
		}
	}
}
