package core_test

import (
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
)

// runningAfter returns A's channel after k updates of a two-party channel.
func runningAfter(k int) core.Channel {
	w := openTwoParty(&testing.T{})
	for i := 0; i < k; i++ {
		from := i % 2
		w.step(from, core.Update{Outcome: w.outcome(int64(4+i%2), int64(4-i%2))})
		w.deliverAll()
	}
	return w.nodes[0]
}

// BenchmarkClone measures the deep copy stores make of every channel they
// take in and give out: a running two-party channel holding 5 states.
func BenchmarkClone(b *testing.B) {
	c := runningAfter(10)
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Clone()
	}
}

// BenchmarkCloneSimple is the straightforward deep copy, for comparison.
func BenchmarkCloneSimple(b *testing.B) {
	c := runningAfter(10)
	b.ReportAllocs()
	for b.Loop() {
		_ = simpleClone(c)
	}
}
