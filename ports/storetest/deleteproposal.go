package storetest

import (
	"errors"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// proposal returns a two-party channel from the corpus that its wallet has
// not joined (status proposed), with its own id.
func proposal(id byte) core.Channel {
	for _, s := range Corpus() {
		if s.Channel.Status() == core.StatusProposed && len(s.Channel.Participants) == 2 {
			c := s.Channel.Clone()
			c.ID = nitro.Bytes32{0x9e, id}
			return c
		}
	}
	panic("storetest: corpus has no proposed channel")
}

// testDeleteProposal: DeleteProposal removes a channel never joined with
// its outbox entries, for good; it refuses, changing nothing, to delete a
// channel the wallet joined (it may hold funds), and reports unknown ones.
func testDeleteProposal(t *testing.T, f Factory) {
	s := f.New(t)
	ctx := ctxFor(t)
	joined, prop, other := channel(1), proposal(2), proposal(3)
	keep := mustCommit(t, s, ports.Change{Channel: joined, Effects: []core.Effect{deposit(joined.ID, 0)}})
	mustCommit(t, s, ports.Change{Channel: prop, Effects: []core.Effect{deposit(prop.ID, 1), core.Watch{ChannelID: prop.ID}}})
	keep = append(keep, mustCommit(t, s, ports.Change{Channel: other, Effects: []core.Effect{deposit(other.ID, 2)}})...)

	if err := s.DeleteProposal(ctx, joined.ID); !errors.Is(err, ports.ErrNotProposal) {
		t.Fatalf("DeleteProposal of a joined channel: %v, want ports.ErrNotProposal", err)
	}
	wantChannel(t, s, joined)
	if err := s.DeleteProposal(ctx, nitro.Bytes32{0x77}); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("DeleteProposal of an unknown channel: %v, want ports.ErrNotFound", err)
	}
	if err := s.DeleteProposal(ctx, prop.ID); err != nil {
		t.Fatalf("DeleteProposal: %v", err)
	}
	check := func(s ports.Store) {
		t.Helper()
		if _, err := s.Get(ctxFor(t), prop.ID); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("Get of a deleted proposal: %v, want ports.ErrNotFound", err)
		}
		list, err := s.List(ctxFor(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID == prop.ID || list[1].ID == prop.ID {
			t.Fatalf("List after delete has %d channels, want the other 2", len(list))
		}
		wantChannel(t, s, joined)
		wantChannel(t, s, other)
		wantPending(t, s, keep)
	}
	check(s)
	if err := s.DeleteProposal(ctx, prop.ID); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("second DeleteProposal: %v, want ports.ErrNotFound", err)
	}
	s = f.reopen(t, s)
	check(s)
	// The same proposal may come again and is stored afresh.
	mustCommit(t, s, ports.Change{Channel: prop})
	wantChannel(t, s, prop)
}
