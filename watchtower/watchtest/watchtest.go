// Package watchtest is the conformance suite every watchtower.Store
// passes (the memory store and adapters/postgres.WatchStore), and the
// signed proofs the watchtower's tests share.
package watchtest

import (
	"context"
	"errors"
	"math/big"
	"reflect"
	"testing"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
	"github.com/nitrowallet/nitrowallet/watchtower"
)

// Signers are the two participants of the proofs Proof makes.
var Signers = []*memory.Signer{memory.SignerFromSeed("watchtest-a"), memory.SignerFromSeed("watchtest-b")}

// Proof returns a valid proof of channel nonce's state on turn: one state,
// signed by both Signers, allocating 5 and 3 at asset.
func Proof(t testing.TB, chainID *big.Int, asset nitro.Address, nonce, turn uint64) ports.WatchProof {
	t.Helper()
	fixed := nitro.FixedPart{ChainID: chainID, ChannelNonce: nonce, ChallengeDuration: 3600,
		Participants: []nitro.Address{Signers[0].Address(), Signers[1].Address()}}
	st := nitro.State{ChainID: chainID, Participants: fixed.Participants, ChannelNonce: nonce,
		ChallengeDuration: fixed.ChallengeDuration, TurnNum: turn,
		Outcome: nitro.Outcome{{AssetHolder: asset, Allocation: []nitro.AllocationItem{
			{Destination: nitro.AddressToDestination(Signers[0].Address()), Amount: big.NewInt(5)},
			{Destination: nitro.AddressToDestination(Signers[1].Address()), Amount: big.NewInt(3)},
		}}}}
	id, err := fixed.ChannelID()
	if err != nil {
		t.Fatal(err)
	}
	h, err := st.Hash()
	if err != nil {
		t.Fatal(err)
	}
	p := ports.WatchProof{ChannelID: id, Fixed: fixed, Proof: ports.SupportProof{States: []nitro.State{st}, WhoSignedWhat: []uint8{0, 0}}}
	for _, s := range Signers {
		sig, err := s.SignState(context.Background(), h)
		if err != nil {
			t.Fatal(err)
		}
		p.Proof.Signatures = append(p.Proof.Signatures, sig)
	}
	return p
}

// Run checks the Store contract on stores open makes (each call a new,
// empty store).
func Run(t *testing.T, open func(t *testing.T) watchtower.Store) {
	ctx := context.Background()
	asset := nitro.Address{0xee}
	t.Run("proofs only get newer", func(t *testing.T) {
		s := open(t)
		p4, p5 := Proof(t, big.NewInt(1337), asset, 1, 4), Proof(t, big.NewInt(1337), asset, 1, 5)
		if _, err := s.Get(ctx, p4.ChannelID); !errors.Is(err, watchtower.ErrNotFound) {
			t.Fatalf("Get of an empty store: %v, want ErrNotFound", err)
		}
		for _, c := range []struct {
			p    ports.WatchProof
			want bool
		}{{p4, true}, {p4, false}, {p5, true}, {p4, false}, {p5, false}} {
			got, err := s.Put(ctx, c.p)
			if err != nil || got != c.want {
				t.Fatalf("Put turn %d: %v, %v; want %v", c.p.Turn(), got, err, c.want)
			}
		}
		got, err := s.Get(ctx, p5.ChannelID)
		if err != nil {
			t.Fatal(err)
		}
		if err := watchtower.Check(got); err != nil || got.Turn() != 5 {
			t.Fatalf("held turn %d (%v), want a valid proof of turn 5", got.Turn(), err)
		}
		if !reflect.DeepEqual(mustEncode(t, got), mustEncode(t, p5)) {
			t.Fatalf("held proof differs from the one stored")
		}
		other := Proof(t, big.NewInt(1337), asset, 2, 3)
		if ok, err := s.Put(ctx, other); !ok || err != nil {
			t.Fatalf("Put of another channel: %v, %v", ok, err)
		}
	})
	t.Run("alarms", func(t *testing.T) {
		s := open(t)
		a := watchtower.Alarm{ChannelID: nitro.Bytes32{1}, TurnNumRecord: 3, FinalizesAt: 100}
		b := watchtower.Alarm{ChannelID: nitro.Bytes32{2}, TurnNumRecord: 7, FinalizesAt: 200}
		for _, x := range []watchtower.Alarm{a, b, {ChannelID: a.ChannelID, TurnNumRecord: 4, FinalizesAt: 150}} {
			if err := s.SetAlarm(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.ClearAlarm(ctx, b.ChannelID); err != nil {
			t.Fatal(err)
		}
		if err := s.ClearAlarm(ctx, nitro.Bytes32{9}); err != nil {
			t.Fatalf("clearing no alarm: %v", err)
		}
		got, err := s.Alarms(ctx)
		want := []watchtower.Alarm{{ChannelID: a.ChannelID, TurnNumRecord: 4, FinalizesAt: 150}}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("alarms %+v (%v), want %+v", got, err, want)
		}
	})
	t.Run("cursor never goes back", func(t *testing.T) {
		s := open(t)
		c, err := s.Cursor(ctx)
		if err != nil || c.Block != 0 || c.Rewinds != 0 {
			t.Fatalf("first cursor %+v, %v", c, err)
		}
		c10 := ports.Cursor{}.Advance(9, nitro.Bytes32{9}).Advance(10, nitro.Bytes32{10})
		for _, x := range []ports.Cursor{c10, {Block: 5, Hash: nitro.Bytes32{5}}} {
			if err := s.SetCursor(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.Cursor(ctx); err != nil || !reflect.DeepEqual(got, c10) {
			t.Fatalf("cursor %+v (%v), want %+v", got, err, c10)
		}
		r := c10.Rewind(9, nitro.Bytes32{9})
		if err := s.SetCursor(ctx, r); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Cursor(ctx); err != nil || got.Block != 9 || got.Rewinds != 1 {
			t.Fatalf("after a rewind: %+v (%v)", got, err)
		}
	})
}

func mustEncode(t *testing.T, p ports.WatchProof) []byte {
	t.Helper()
	b, err := watchtower.EncodeProof(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
