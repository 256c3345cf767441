package storetest

import (
	"math/big"
	"strings"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

func TestDiff(t *testing.T) {
	var c core.Channel
	for _, s := range Corpus() {
		if s.Stage == "synthetic: every field set, extreme values" {
			c = s.Channel
		}
	}
	if d := Diff(c, c.Clone()); d != "" {
		t.Fatalf("a clone differs: %s", d)
	}
	for _, tc := range []struct {
		name   string
		change func(*core.Channel)
		want   string
	}{
		{"big.Int value", func(c *core.Channel) { c.Funding[0].Holdings.SetInt64(3) }, ".Funding[0].Holdings"},
		{"map entry", func(c *core.Channel) { c.Funding[0].Deposits[0] = core.TxDone }, ".Funding[0].Deposits[0]"},
		{"pointer", func(c *core.Channel) { c.Pending = nil }, ".Pending"},
		{"signature byte", func(c *core.Channel) { c.States[0].Sigs[0].R[31] ^= 1 }, ".States[0].Sigs[0].R[31]"},
		{"string", func(c *core.Channel) { c.Participants[1].ParticipantID = "x" }, ".Participants[1].ParticipantID"},
		{"nil chain id", func(c *core.Channel) { c.Setup.ChainID = nil }, ".Setup.ChainID"},
	} {
		d := c.Clone()
		tc.change(&d)
		if got := Diff(c, d); !strings.HasPrefix(got, tc.want+":") {
			t.Errorf("%s: Diff = %q, want a difference at %s", tc.name, got, tc.want)
		}
	}
	// nil and empty slices and maps are equal; big.Ints compare by value.
	a := core.AssetFunding{Holdings: big.NewInt(0), Deposits: map[int]core.TxStatus{}, Payouts: []*big.Int{}}
	b := core.AssetFunding{Holdings: new(big.Int).Sub(big.NewInt(5), big.NewInt(5))}
	if d := Diff(a, b); d != "" {
		t.Fatalf("semantically equal values differ: %s", d)
	}
	if d := Diff(core.Effect(core.Watch{}), core.Effect(core.Deposit{})); d == "" {
		t.Fatal("different effect types compare equal")
	}
	if d := Diff(nitro.State{AppData: []byte{1}}, nitro.State{AppData: []byte{2}}); d == "" {
		t.Fatal("different bytes compare equal")
	}
}
