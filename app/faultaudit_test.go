package app_test

import (
	"context"
	"math/big"
	"testing"

	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// auditFaultRun reads both wallets' durable signatures (the signatures
// table keeps every one ever made or received) and returns how many
// acknowledged updates are missing from either wallet's history (turns 4
// to last[i] of channel i, each signed by its mover over the state with
// the allocation faultAmounts gives), and how many (channel, turn, key)
// carry two different states or signatures. The wallets' own equivocation
// records must be empty too.
func auditFaultRun(t *testing.T, e *env, stores map[string]*postgres.Store, ids []nitro.Bytes32, last []uint64) (lost, equivocations int) {
	t.Helper()
	ctx := context.Background()
	type key struct {
		ch     nitro.Bytes32
		turn   uint64
		signer nitro.Address
	}
	type seen struct {
		hashes map[nitro.Bytes32]bool
		sigs   map[nitro.Signature]bool
	}
	all := map[key]*seen{}                    // over both stores
	per := map[string]map[key]nitro.Bytes32{} // per store: the state each key signed
	for name, s := range stores {
		rows, err := s.Signatures(ctx)
		if err != nil {
			t.Fatalf("read %s's signatures: %v", name, err)
		}
		per[name] = map[key]nitro.Bytes32{}
		for _, r := range rows {
			k := key{r.ChannelID, r.TurnNum, r.Signer}
			if all[k] == nil {
				all[k] = &seen{hashes: map[nitro.Bytes32]bool{}, sigs: map[nitro.Signature]bool{}}
			}
			all[k].hashes[r.StateHash] = true
			all[k].sigs[r.Signature] = true
			per[name][k] = r.StateHash
		}
	}
	for k, s := range all {
		if len(s.hashes) != 1 || len(s.sigs) != 1 {
			equivocations++
			t.Errorf("%s signed %d states (%d signatures) for channel %s turn %d", k.signer, len(s.hashes), len(s.sigs), k.ch, k.turn)
		}
	}
	for _, p := range e.parties {
		evs, err := p.w.Equivocations(ctx)
		if err != nil {
			t.Fatalf("%s's equivocations: %v", p.name, err)
		}
		equivocations += len(evs)
	}

	for i, id := range ids {
		c, err := stores["A"].Get(ctx, id)
		if err != nil || len(c.States) == 0 {
			t.Fatalf("channel %d in A's store: %v", i, err)
		}
		template := c.States[0].State
		for turn := uint64(4); turn <= last[i]; turn++ {
			want := faultState(e, template, turn)
			h, err := want.HashWithChannelID(id)
			if err != nil {
				t.Fatal(err)
			}
			mover := e.parties[turn%2].signer.Address()
			for name := range stores {
				if got, ok := per[name][key{id, turn, mover}]; !ok || got != h {
					lost++
					if lost <= 5 {
						t.Errorf("channel %d turn %d: %s's history has %x signed by the mover (found %v), want the acknowledged state %x", i, turn, name, got, ok, h)
					}
					break
				}
			}
		}
	}
	return lost, equivocations
}

// faultState is the running state of turn t the run made: template's
// fixed part and appData, the allocation faultAmounts gives.
func faultState(e *env, template nitro.State, turn uint64) nitro.State {
	a, b := faultAmounts(turn)
	st := template
	st.TurnNum, st.IsFinal = turn, false
	st.Outcome = nitro.Outcome{{AssetHolder: e.chain.ETHAssetHolder(), Allocation: []nitro.AllocationItem{
		{Destination: nitro.AddressToDestination(e.parties[0].dest), Amount: big.NewInt(a)},
		{Destination: nitro.AddressToDestination(e.parties[1].dest), Amount: big.NewInt(b)},
	}}}
	return st
}

// checkPayouts: each destination got exactly the last acknowledged
// allocation of every channel, each account paid its 50 per channel once,
// and no channel holds anything.
func checkPayouts(t *testing.T, e *env, ids []nitro.Bytes32, last []uint64) {
	t.Helper()
	var wantA, wantB int64
	for i := range ids {
		a, b := faultAmounts(last[i])
		wantA, wantB = wantA+a, wantB+b
	}
	deposits := int64(50 * len(ids))
	A, B := e.parties[0], e.parties[1]
	checks := []struct {
		what      string
		got, want *big.Int
	}{
		{"A's destination", e.chain.Balance(A.dest), big.NewInt(wantA)},
		{"B's destination", e.chain.Balance(B.dest), big.NewInt(wantB)},
		{"A's account", e.chain.Balance(A.signer.Address()), big.NewInt(1_000_000 - deposits)},
		{"B's account", e.chain.Balance(B.signer.Address()), big.NewInt(1_000_000 - deposits)},
	}
	for _, c := range checks {
		if c.got.Cmp(c.want) != 0 {
			t.Errorf("%s holds %v, want %v", c.what, c.got, c.want)
		}
	}
	for i, id := range ids {
		if h := e.chain.ChannelHoldings(e.chain.ETHAssetHolder(), id); h.Sign() != 0 {
			t.Errorf("channel %d still holds %v", i, h)
		}
	}
}
