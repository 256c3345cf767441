package storetest

import (
	"reflect"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// equivocation builds a record for channel c: two states of one turn, the
// second with a different outcome, each carrying the given signatures.
func equivocation(c core.Channel, signer int, sigs ...nitro.Signature) core.EquivocationError {
	l, _ := c.Latest()
	a, b := l.State.Clone(), l.State.Clone()
	b.AppData = append(b.AppData, 0xee)
	ss := func(st nitro.State) core.SignedState {
		return core.SignedState{State: st, Participants: c.Participants, Signatures: sigs}
	}
	return core.EquivocationError{
		ChannelID: c.ID, TurnNum: l.State.TurnNum, Signer: c.Participants[signer].SigningAddress,
		States: [2]core.SignedState{ss(a), ss(b)},
	}
}

// testEquivocations: records survive a reopen, read back equal, one per
// channel and signer (the first), ordered by channel then signer.
func testEquivocations(t *testing.T, f Factory) {
	s := f.New(t)
	ctx := ctxFor(t)
	if got, err := s.Equivocations(ctx); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %d records, %v", len(got), err)
	}
	c1, c2 := channel(0x21), channel(0x11)
	rc := runningChannel()
	l, _ := rc.Latest()
	var sigs []nitro.Signature
	for _, sig := range l.Sigs {
		if sig.V != 0 {
			sigs = append(sigs, sig)
		}
	}
	first := equivocation(c1, 0, sigs...)
	again := equivocation(c1, 0, sigs[:1]...) // same channel and signer: dropped
	again.TurnNum++
	other := equivocation(c2, 1, sigs...)
	for _, ev := range []core.EquivocationError{first, again, other} {
		if err := s.RecordEquivocation(ctx, ev); err != nil {
			t.Fatalf("RecordEquivocation: %v", err)
		}
	}
	s = f.reopen(t, s)
	got, err := s.Equivocations(ctxFor(t))
	if err != nil {
		t.Fatalf("Equivocations: %v", err)
	}
	want := []core.EquivocationError{other, first} // c2's id sorts first
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ChannelID != want[i].ChannelID || got[i].Signer != want[i].Signer || got[i].TurnNum != want[i].TurnNum {
			t.Fatalf("record %d: got %s/%s turn %d, want %s/%s turn %d", i,
				got[i].ChannelID, got[i].Signer, got[i].TurnNum, want[i].ChannelID, want[i].Signer, want[i].TurnNum)
		}
		for k := range want[i].States {
			g, w := got[i].States[k], want[i].States[k]
			gh, _ := g.State.Hash()
			wh, _ := w.State.Hash()
			if gh != wh || !reflect.DeepEqual(g.Signatures, w.Signatures) || !reflect.DeepEqual(g.Participants, w.Participants) {
				t.Fatalf("record %d state %d differs from what was recorded", i, k)
			}
		}
	}
}
