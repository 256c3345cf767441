package apprules_test

import (
	"crypto/sha256"
	"math/big"
	"strings"
	"testing"

	"github.com/nitrowallet/nitrowallet/apprules"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// validTransitions returns one valid running transition of each npm app
// (two participants, turn 4 or 5).
func validTransitions(c *testChain) map[string]transition {
	g := &gen{r: newRand(7), holder: c.d.Deployment.ETHAssetHolder}
	items := g.allocation(2)
	items[0].Amount, items[1].Amount = big.NewInt(5), big.NewInt(3)
	paid := cloneItems(items)
	paid[1].Amount, paid[0].Amount = big.NewInt(4), big.NewInt(4) // A (the mover at turn 4) pays B 1
	swapped := cloneItems(items)
	swapped[0].Amount, swapped[1].Amount = items[1].Amount, items[0].Amount
	out := g.outcome(items)
	pre := []byte("a preimage")
	return map[string]transition{
		"TrivialApp": {n: 2, turnNumB: 5, app: c.apps["TrivialApp"], ab: [2]apprules.VariablePart{{Outcome: out}, {Outcome: g.outcome(paid)}}},
		"CountingApp": {n: 2, turnNumB: 5, app: c.apps["CountingApp"], ab: [2]apprules.VariablePart{
			{Outcome: out, AppData: word(big.NewInt(41))}, {Outcome: out, AppData: word(big.NewInt(42))}}},
		"SingleAssetPayments": {n: 2, turnNumB: 4, app: c.apps["SingleAssetPayments"], ab: [2]apprules.VariablePart{
			{Outcome: out}, {Outcome: g.outcome(paid)}}},
		"HashLockedSwap": {n: 2, turnNumB: 4, app: c.apps["HashLockedSwap"], ab: [2]apprules.VariablePart{
			{Outcome: out, AppData: swapData(sha256.Sum256(pre), nil)}, {Outcome: g.outcome(swapped), AppData: swapData([32]byte{}, pre)}}},
	}
}

// BenchmarkValidTransition runs one local validTransition of each npm app
// (the EVM run alone: the parts are encoded beforehand, as the wallet has
// them for hashing).
func BenchmarkValidTransition(b *testing.B) {
	c := newTestChain(b)
	trs := validTransitions(c)
	evmOnly, err := apprules.NewApp(trs["SingleAssetPayments"].app, c.appArt.SingleAssetPayments.Runtime, apprules.Options{EVMOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	// SingleAssetPayments runs natively (apprules.App.Native); its
	// EVMOnly twin is what the native rule saves.
	for _, name := range append(appNames, "SingleAssetPayments/EVMOnly") {
		tr := trs[strings.TrimSuffix(name, "/EVMOnly")]
		app := c.local[tr.app]
		if strings.HasSuffix(name, "/EVMOnly") {
			app = evmOnly
		}
		b.Run(name, func(b *testing.B) {
			if err := app.ValidTransition(tr.ab[0], tr.ab[1], tr.turnNumB, tr.n); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := app.ValidTransition(tr.ab[0], tr.ab[1], tr.turnNumB, tr.n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeVariablePart is the cost of encoding a two-party
// outcome for a run, when the caller has only the state.
func BenchmarkEncodeVariablePart(b *testing.B) {
	s := nitro.State{Outcome: nitro.Outcome{{Allocation: []nitro.AllocationItem{{Amount: big.NewInt(5)}, {Amount: big.NewInt(3)}}}}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := apprules.VariablePartOf(s); err != nil {
			b.Fatal(err)
		}
	}
}
