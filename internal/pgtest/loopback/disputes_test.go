package loopback_test

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest/loopback"
	"github.com/nitrowallet/nitrowallet/ports"
)

// TestLoopbackDisputes: the dispute calls go through the loopback chain as
// through the in-process account: B's stale challenge registers (event,
// record), A's checkpoint clears it, A's own challenge finalizes when the
// server's chain time is moved, A's push pays the challenged outcome, and
// the refused calls come back as reverts.
func TestLoopbackDisputes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	chain := memory.NewChain(big.NewInt(1337))
	srv := loopback.NewServer(chain)
	defer srv.Close()
	sa, sb := memory.SignerFromSeed("loopback-dispute-A"), memory.SignerFromSeed("loopback-dispute-B")
	chain.Fund(sa.Address(), big.NewInt(100))
	a, err := loopback.DialChain(ctx, srv.URL(), sa.Address())
	if err != nil {
		t.Fatal(err)
	}
	b, err := loopback.DialChain(ctx, srv.URL(), sb.Address())
	if err != nil {
		t.Fatal(err)
	}
	eth := chain.ETHAssetHolder()
	destA, destB := nitro.Address{0xda}, nitro.Address{0xdb}
	state := func(turn uint64, toA, toB int64) nitro.State {
		return nitro.State{ChainID: big.NewInt(1337), Participants: []nitro.Address{sa.Address(), sb.Address()}, ChannelNonce: 7, ChallengeDuration: 100,
			Outcome: nitro.Outcome{{AssetHolder: eth, Allocation: []nitro.AllocationItem{
				{Destination: nitro.AddressToDestination(destA), Amount: big.NewInt(toA)},
				{Destination: nitro.AddressToDestination(destB), Amount: big.NewInt(toB)},
			}}},
			TurnNum: turn}
	}
	hash := func(s nitro.State) nitro.Bytes32 {
		h, err := s.Hash()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	sign := func(k *memory.Signer, h nitro.Bytes32) nitro.Signature {
		sig, err := k.SignState(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	allSign := func(s nitro.State) ports.SupportProof {
		h := hash(s)
		return ports.SupportProof{States: []nitro.State{s}, Signatures: []nitro.Signature{sign(sa, h), sign(sb, h)}, WhoSignedWhat: []uint8{0, 0}}
	}
	old, cur := state(3, 5, 3), state(5, 6, 2)
	id, err := old.ChannelID()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Deposit(ctx, ports.DepositRequest{ChannelID: id, Asset: eth, ExpectedHeld: big.NewInt(0), Amount: big.NewInt(8)}); err != nil {
		t.Fatal(err)
	}
	evs, err := a.Events(ctx, ports.Cursor{Block: 0})
	if err != nil {
		t.Fatal(err)
	}
	next := func(kind core.EventKind) core.ChainEvent {
		t.Helper()
		for {
			select {
			case ev := <-evs:
				if ev.Kind == kind {
					return ev
				}
			case <-ctx.Done():
				t.Fatalf("no %v event", kind)
			}
		}
	}
	wantRecord := func(turn uint64, finalizes bool) ports.ChannelRecord {
		t.Helper()
		rec, err := a.Record(ctx, id)
		if err != nil || rec.TurnNumRecord != turn || (rec.FinalizesAt > 0) != finalizes {
			t.Fatalf("record %+v (%v), want turn %d, challenge running %v", rec, err, turn, finalizes)
		}
		return rec
	}

	// B's stale challenge with turn 3, cleared by A's checkpoint of turn 5.
	if _, err := b.Challenge(ctx, ports.ChallengeRequest{Proof: allSign(old), ChallengerSignature: sign(sb, nitro.ChallengeHash(hash(old)))}); err != nil {
		t.Fatalf("B's challenge: %v", err)
	}
	ev := next(core.EventChallengeRegistered)
	if ev.ChannelID != id || ev.Challenger != sb.Address() || ev.TurnNumRecord != 3 || ev.Challenge == nil || hash(ev.Challenge.States[0]) != hash(old) {
		t.Fatalf("ChallengeRegistered %+v", ev)
	}
	wantRecord(3, true)
	if _, err := a.Checkpoint(ctx, ports.CheckpointRequest{Proof: allSign(cur)}); err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	if ev := next(core.EventChallengeCleared); ev.TurnNumRecord != 5 {
		t.Fatalf("ChallengeCleared %+v", ev)
	}
	wantRecord(5, false)

	// A's challenge with turn 5, pushed once it finalizes.
	if _, err := a.Challenge(ctx, ports.ChallengeRequest{Proof: allSign(cur), ChallengerSignature: sign(sa, nitro.ChallengeHash(hash(cur)))}); err != nil {
		t.Fatalf("A's challenge: %v", err)
	}
	next(core.EventChallengeRegistered)
	rec := wantRecord(5, true)
	push := ports.PushOutcomeRequest{Challenged: cur, TurnNumRecord: 5, FinalizesAt: rec.FinalizesAt, Challenger: sa.Address()}
	var rev *ports.RevertError
	if _, err := a.PushOutcomeAndTransferAll(ctx, push); !errors.As(err, &rev) {
		t.Fatalf("push before finalization: %v, want a revert", err)
	}
	now, err := a.BlockTime(ctx)
	if err != nil || now >= rec.FinalizesAt {
		t.Fatalf("block time %d (%v), want before %d", now, err, rec.FinalizesAt)
	}
	chain.AdjustTime(rec.FinalizesAt - now)
	if now, err := a.BlockTime(ctx); err != nil || now < rec.FinalizesAt {
		t.Fatalf("block time %d (%v) after AdjustTime, want %d or later", now, err, rec.FinalizesAt)
	}
	if _, err := a.PushOutcomeAndTransferAll(ctx, push); err != nil {
		t.Fatalf("push: %v", err)
	}
	next(core.EventAllocationUpdated)
	if ga, gb := chain.Balance(destA), chain.Balance(destB); ga.Int64() != 6 || gb.Int64() != 2 {
		t.Fatalf("payouts %v/%v, want 6/2", ga, gb)
	}
	_, _ = a.PushOutcomeAndTransferAll(ctx, push) // pays nothing more, whether it reverts or not
	if ga, gb := chain.Balance(destA), chain.Balance(destB); ga.Int64() != 6 || gb.Int64() != 2 {
		t.Fatalf("payouts after a second push %v/%v, want 6/2", ga, gb)
	}
	_, err = b.Challenge(ctx, ports.ChallengeRequest{Proof: allSign(cur), ChallengerSignature: sign(sb, nitro.ChallengeHash(hash(cur)))})
	if !errors.As(err, &rev) || rev.Reason != ports.ReasonChannelFinalized {
		t.Fatalf("challenge on a finalized channel: %v, want %q", err, ports.ReasonChannelFinalized)
	}
	resp := state(6, 6, 2)
	if _, err := b.Respond(ctx, ports.RespondRequest{Challenger: sa.Address(), Challenged: cur, Response: resp, Signature: sign(sb, hash(resp))}); !errors.Is(err, ports.ErrReverted) {
		t.Fatalf("respond on a finalized channel: %v, want a revert", err)
	}
}
