package tslive_test

import (
	"context"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/tslive"
)

// statusOrder is the seed's order of channel statuses (docs/protocol.md):
// a channel's status never goes back in it.
var statusOrder = []string{"proposed", "opening", "funding", "running", "closing", "closed"}

// history records the statuses each side reported for one channel, in order,
// without repeats.
type history struct {
	goSeen, tsSeen []string
}

func (h *history) add(goS, tsS string) {
	if n := len(h.goSeen); n == 0 || h.goSeen[n-1] != goS {
		h.goSeen = append(h.goSeen, goS)
	}
	if n := len(h.tsSeen); n == 0 || h.tsSeen[n-1] != tsS {
		h.tsSeen = append(h.tsSeen, tsS)
	}
}

// inOrder fails t unless seen follows statusOrder, starts at first and ends
// at last.
func inOrder(t testing.TB, who string, seen []string, first, last string) {
	t.Helper()
	prev := -1
	for _, s := range seen {
		i := slices.Index(statusOrder, s)
		if i <= prev {
			t.Fatalf("%s went through statuses %v: not in the order %v", who, seen, statusOrder)
		}
		prev = i
	}
	if len(seen) == 0 || seen[0] != first || seen[len(seen)-1] != last {
		t.Fatalf("%s went through statuses %v, want from %s to %s", who, seen, first, last)
	}
}

// observe reads both sides' status of channel id, records it in h and
// fails t unless both report status at turn.
func (p *pair) observe(ctx context.Context, h *history, id nitro.Bytes32, status string, turn uint64) {
	p.t.Helper()
	g, err := p.goW.GetState(ctx, id)
	if err != nil {
		p.t.Fatal(err)
	}
	ts, err := p.ts.GetState(ctx, id.Hex())
	if err != nil {
		p.t.Fatal(err)
	}
	if h != nil {
		h.add(string(g.Status), ts.Status)
	}
	if string(g.Status) != status || g.TurnNum != turn {
		p.t.Fatalf("our wallet: channel %s is %s at turn %d, want %s at %d", id, g.Status, g.TurnNum, status, turn)
	}
	if ts.Status != status || ts.TurnNum != turn {
		p.t.Fatalf("TS wallet: channel %s is %s at turn %d, want %s at %d", id, ts.Status, ts.TurnNum, status, turn)
	}
}

// agree fails t unless both wallets hold the same newest state of channel
// id, at turn, with the same state hash and the same signatures, and agree
// on every older state both still hold; it returns how many states it
// compared.
func (p *pair) agree(ctx context.Context, id nitro.Bytes32, turn uint64) int {
	p.t.Helper()
	ch, err := p.store.Get(ctx, id)
	if err != nil {
		p.t.Fatal(err)
	}
	tss, err := p.ts.SignedStates(ctx, id.Hex())
	if err != nil {
		p.t.Fatal(err)
	}
	ours := map[uint64]core.StoredState{}
	for _, s := range ch.States {
		ours[s.State.TurnNum] = s
	}
	top := ch.States[len(ch.States)-1].State.TurnNum
	var tsTop uint64
	compared := 0
	for _, ts := range tss {
		tsTop = max(tsTop, ts.TurnNum)
		o, ok := ours[ts.TurnNum]
		if !ok {
			continue
		}
		compared++
		if !strings.EqualFold(o.Hash.Hex(), ts.StateHash) {
			p.t.Fatalf("turn %d: our state hash %s, the TS wallet's %s", ts.TurnNum, o.Hash.Hex(), ts.StateHash)
		}
		if h, err := o.State.HashFor(nitro.Protocol0101); err != nil || h != o.Hash {
			p.t.Fatalf("turn %d: our stored hash %s is not the 0.10.1 hash of the state (%s, %v)", ts.TurnNum, o.Hash, h, err)
		}
		for _, sig := range ts.Signatures {
			i := slices.IndexFunc(ch.Participants, func(q core.Participant) bool { return strings.EqualFold(q.SigningAddress.Hex(), sig.Signer) })
			if i < 0 {
				p.t.Fatalf("turn %d: the TS wallet holds a signature by %s, no participant", ts.TurnNum, sig.Signer)
			}
			if !o.SignedBy(i) {
				continue // the TS wallet has a signature our store has pruned
			}
			if got := "0x" + hex.EncodeToString(o.Sigs[i].Bytes()); !strings.EqualFold(got, sig.Signature) {
				p.t.Fatalf("turn %d: participant %d's signature: ours %s, the TS wallet's %s", ts.TurnNum, i, got, sig.Signature)
			}
			signer, err := nitro.RecoverSigner(o.Hash, o.Sigs[i])
			if err != nil || signer != ch.Participants[i].SigningAddress {
				p.t.Fatalf("turn %d: participant %d's signature recovers to %s (%v)", ts.TurnNum, i, signer, err)
			}
		}
	}
	if top != turn || tsTop != turn || compared == 0 {
		p.t.Fatalf("newest states: ours turn %d, the TS wallet's %d, want %d (compared %d)", top, tsTop, turn, compared)
	}
	return compared
}

// goParticipants are the participants in our wallet's types, ts first when tsFirst.
func (p *pair) goParticipants(tsFirst bool) []app.Participant {
	ts := app.Participant{ParticipantID: tsID, SigningAddress: common(p.tsP.SigningAddress), Destination: common32(p.tsP.Destination)}
	if tsFirst {
		return []app.Participant{ts, p.goP}
	}
	return []app.Participant{p.goP, ts}
}

// tsParticipants are the participants in the TS wallet's types.
func (p *pair) tsParticipants(tsFirst bool) []tslive.Participant {
	if tsFirst {
		return []tslive.Participant{p.tsP, p.goParticipantTS()}
	}
	return []tslive.Participant{p.goParticipantTS(), p.tsP}
}
