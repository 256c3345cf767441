package core_test

import (
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
)

// BenchmarkStepUpdate measures Step for an update request (no signing).
func BenchmarkStepUpdate(b *testing.B) {
	w := openTwoParty(&testing.T{})
	in := core.Update{Outcome: w.outcome(4, 4)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := core.Step(w.nodes[0], in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStepReceive measures Step for a received update: hash and recover.
func BenchmarkStepReceive(b *testing.B) {
	w := openTwoParty(&testing.T{})
	w.step(0, core.Update{Outcome: w.outcome(4, 4)})
	m := w.net[0]
	in := w.receive(1, m)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := core.Step(w.nodes[1], in); err != nil {
			b.Fatal(err)
		}
	}
}
