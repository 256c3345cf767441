package sim_test

import (
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/property_tests/sim"
)

func TestHappyPathStabilizes(t *testing.T) {
	start := time.Now()
	w, err := sim.New(sim.Config{Wallets: 3, Trace: true, Channels: []sim.ChannelSpec{
		{Participants: []int{0, 1}, ETH: []int64{5, 3}},
		{Participants: []int{2, 0, 1}, ETH: []int64{1, 2, 3}, Token: []int64{4, 0, 2}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.CreateChannel(0)
	w.CreateChannel(1)
	for w.InFlight() > 0 {
		w.Deliver(0)
	}
	w.JoinChannel(0, 0)
	if err := w.Stabilize(true); err != nil {
		t.Fatalf("%v\n%s", err, w.Diagram())
	}
	t.Logf("%+v in %v", w.Stats(), time.Since(start))
	t.Log(w.Diagram())
}
