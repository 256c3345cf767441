package sim_test

import (
	"strings"
	"testing"

	"github.com/nitrowallet/nitrowallet/sim"
)

// TestInvalidProposalsAreRefused: in a SingleAssetPayments channel and an
// app-less one, the mover proposes taking the other's money; the honest
// wallet refuses each (app.ErrInvalidTransition, nothing stored, the
// world's prediction with the same rule agrees), and the channels still
// run and close afterwards, paying out what the valid updates say.
func TestInvalidProposalsAreRefused(t *testing.T) {
	w, err := sim.New(sim.Config{Wallets: 2, Trace: true, Open: true, Warmup: 2, Channels: []sim.ChannelSpec{
		{Participants: []int{0, 1}, ETH: []int64{5, 3}, App: true},
		{Participants: []int{1, 0}, ETH: []int64{4, 6}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for slot := 0; slot < 2; slot++ {
		id, _ := w.ChannelID(slot)
		c, _ := w.View(0, id)
		if got, want := c.Setup.AppDefinition == sim.AppAddress, slot == 0; got != want {
			t.Fatalf("ch%d: appDefinition %s", slot+1, c.Setup.AppDefinition)
		}
		for k := 0; k < 3; k++ {
			w.ProposeInvalid(slot, 0, k)
			w.UpdateChannel(slot, 0, k)
			w.Calm()
		}
	}
	if err := w.Check(); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	if st.InvalidProposals != 6 || st.InvalidRefused != 6 || st.Rejections["invalid transition"] != 6 {
		t.Fatalf("%d proposals, %d refused, rejections %v", st.InvalidProposals, st.InvalidRefused, st.Rejections)
	}
	if err := w.Stabilize(true); err != nil {
		t.Fatalf("%v\n%s", err, w.Diagram())
	}
	d := w.Diagram()
	for _, want := range []string{"createChannel(ch1, " + sim.AppName + ")", "createChannel(ch2)", "proposes ch1 turn", "proposes ch2 turn", "ch1 closed", "ch2 closed"} {
		if !strings.Contains(d, want) {
			t.Fatalf("diagram lacks %q:\n%s", want, d)
		}
	}
}

// TestAppChannelNeedsOneAsset: SingleAssetPayments allows one asset.
func TestAppChannelNeedsOneAsset(t *testing.T) {
	cfg := sim.Config{Wallets: 2, Channels: []sim.ChannelSpec{{Participants: []int{0, 1}, ETH: []int64{1, 1}, Token: []int64{1, 1}, App: true}}}
	if err := cfg.Validate(); err == nil {
		t.Fatal("an app channel with a token passed Validate")
	}
}
