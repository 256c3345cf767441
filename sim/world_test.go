package sim_test

import (
	"strings"
	"testing"

	"github.com/nitrowallet/nitrowallet/sim"
)

// TestOpenAndStabilize: three wallets, a two-party and a three-party
// channel with two assets, opened, updated and closed; every check passes
// and the diagram shows the founding document's statuses in order.
func TestOpenAndStabilize(t *testing.T) {
	w, err := sim.New(sim.Config{Wallets: 3, Trace: true, Open: true, Warmup: 3, Channels: []sim.ChannelSpec{
		{Participants: []int{0, 1}, ETH: []int64{5, 3}},
		{Participants: []int{2, 0, 1}, ETH: []int64{1, 2, 3}, Token: []int64{4, 0, 2}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for slot := 0; slot < 2; slot++ {
		id, ok := w.ChannelID(slot)
		if !ok {
			t.Fatalf("ch%d not created", slot+1)
		}
		c, _ := w.View(0, id)
		if got, want := c.TurnNum(), uint64(2*c.N()-1+3); got != want {
			t.Fatalf("ch%d at turn %d after the warmup, want %d", slot+1, got, want)
		}
	}
	if err := w.Stabilize(true); err != nil {
		t.Fatalf("%v\n%s", err, w.Diagram())
	}
	d := w.Diagram()
	last := -1
	for _, s := range []string{"ch1 opening", "ch1 proposed", "ch1 running", "ch1 closing", "ch1 closed"} {
		i := strings.Index(d, s)
		if i < 0 || i < last && s != "ch1 proposed" {
			t.Fatalf("diagram lacks %q in order:\n%s", s, d)
		}
		last = i
	}
}

// TestChecksCatchAForgery: a forged state is rejected by honest wallets, so
// every check passes; the forgery counts.
func TestChecksCatchAForgery(t *testing.T) {
	w, err := sim.New(sim.Config{Wallets: 2, Open: true, Warmup: 1, Channels: []sim.ChannelSpec{{Participants: []int{0, 1}, ETH: []int64{5, 3}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Forge(0, 0)
	if w.InFlight() != 1 {
		t.Fatalf("%d messages in flight after a forgery", w.InFlight())
	}
	w.Deliver(0)
	if err := w.Check(); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Forged != 1 || st.Rejected != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRunIsDeterministic: the same options give the same run.
func TestRunIsDeterministic(t *testing.T) {
	o := sim.RunOptions{Wallets: 3, Channels: 3, Updates: 4, Drop: 0.1, Dup: 0.1, Crash: 0.03, Seed: 5, Trace: true}
	a, err := sim.Run(o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sim.Run(o)
	if err != nil {
		t.Fatal(err)
	}
	if a.Diagram != b.Diagram || a.Steps != b.Steps || a.Sent != b.Sent || a.Crashes != b.Crashes {
		t.Fatalf("runs differ: %d/%d steps, %d/%d messages", a.Steps, b.Steps, a.Sent, b.Sent)
	}
	if a.Closed != 3 || a.Crashes == 0 || a.Dropped == 0 || a.Duplicated == 0 {
		t.Fatalf("report %+v", a.Stats)
	}
}
