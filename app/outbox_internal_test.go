package app

import (
	"math/big"
	"slices"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// TestOutboxMerges: one message per recipient; a state of the same
// channel and turn is carried once with the union of its signatures; an
// equal objective or request once; a different state for the same turn,
// or the same turn of another channel, is kept; the effects' own lists
// are never written to.
func TestOutboxMerges(t *testing.T) {
	ch1, ch2 := nitro.Bytes32{1}, nitro.Bytes32{2}
	st := func(nonce, turn uint64, amount int64) nitro.State {
		return nitro.State{ChainID: big.NewInt(1337), ChannelNonce: nonce, TurnNum: turn, Outcome: nitro.Outcome{{
			Allocation: []nitro.AllocationItem{{Amount: big.NewInt(amount)}},
		}}}
	}
	sigA, sigB := nitro.Signature{V: 27, R: nitro.Bytes32{0xa}}, nitro.Signature{V: 28, R: nitro.Bytes32{0xb}}
	open1 := core.Objective{Type: core.ObjectiveOpenChannel, TargetChannelID: ch1, FundingStrategy: core.FundingDirect}
	get1 := core.Request{Type: core.RequestGetChannel, ChannelID: ch1}

	first := core.SignedState{State: st(1, 0, 5), Signatures: []nitro.Signature{sigA}}
	firstSigs := slices.Clone(first.Signatures)
	effectStates := []core.SignedState{first}
	o := outbox{version: "v"}
	o.add(ch1, core.Message{Recipient: "B", Sender: "A", Payload: core.Payload{SignedStates: effectStates, Objectives: []core.Objective{open1}}})
	o.add(ch1, core.Message{Recipient: "B", Sender: "A", Payload: core.Payload{
		SignedStates: []core.SignedState{{State: st(1, 0, 5), Signatures: []nitro.Signature{sigB, sigA}}},
		Objectives:   []core.Objective{open1}, Requests: []core.Request{get1, get1},
	}})
	o.add(ch1, core.Message{Recipient: "C", Sender: "A", Payload: core.Payload{SignedStates: []core.SignedState{first}}})
	o.add(ch2, core.Message{Recipient: "B", Sender: "A", Payload: core.Payload{SignedStates: []core.SignedState{{State: st(2, 0, 5), Signatures: []nitro.Signature{sigA}}}}})
	// A different state for the same turn is not ours to hide.
	o.add(ch1, core.Message{Recipient: "B", Sender: "A", Payload: core.Payload{SignedStates: []core.SignedState{{State: st(1, 0, 6), Signatures: []nitro.Signature{sigA}}}}})
	// One effect repeating itself.
	o.add(ch2, core.Message{Recipient: "C", Sender: "A", Payload: core.Payload{SignedStates: []core.SignedState{first, first}, Requests: []core.Request{get1, get1}}})

	if len(o.msgs) != 2 || o.msgs[0].Recipient != "B" || o.msgs[1].Recipient != "C" {
		t.Fatalf("messages %d, want one to B then one to C", len(o.msgs))
	}
	b := o.msgs[0].Payload
	if b.WalletVersion != "v" {
		t.Fatalf("walletVersion %q", b.WalletVersion)
	}
	if len(b.SignedStates) != 3 {
		t.Fatalf("B: %d states, want 3 (ch1 t0 merged, ch2 t0, ch1's other t0)", len(b.SignedStates))
	}
	if got := b.SignedStates[0].Signatures; !slices.Equal(got, []nitro.Signature{sigA, sigB}) {
		t.Fatalf("B: merged signatures %v, want A's then B's", got)
	}
	if len(b.Objectives) != 1 || len(b.Requests) != 1 {
		t.Fatalf("B: %d objectives and %d requests, want 1 of each", len(b.Objectives), len(b.Requests))
	}
	c := o.msgs[1].Payload
	if len(c.SignedStates) != 2 || len(c.Requests) != 1 {
		t.Fatalf("C: %d states and %d requests, want 2 (ch1 t0, ch2 t0) and 1", len(c.SignedStates), len(c.Requests))
	}
	if !slices.Equal(effectStates[0].Signatures, firstSigs) || !slices.Equal(first.Signatures, firstSigs) {
		t.Fatal("merging wrote to an effect's list")
	}
}
