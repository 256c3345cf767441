package watchtower_test

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
	"github.com/nitrowallet/nitrowallet/watchtower"
	"github.com/nitrowallet/nitrowallet/watchtower/watchtest"
)

// world is a memory chain, a challenger's account (participant B) and a
// running watcher with its own funded account.
type world struct {
	t     *testing.T
	ctx   context.Context
	chain *memory.Chain
	b     ports.Chain
	w     *watchtower.Watcher
	store *watchtower.MemoryStore
}

func newWorld(t *testing.T, opts ...memory.ChainOption) *world {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	chain := memory.NewChain(big.NewInt(1337), opts...)
	watcherAcct := nitro.Address{0x77}
	chain.Fund(watcherAcct, big.NewInt(1e18))
	chain.Fund(watchtest.Signers[1].Address(), big.NewInt(1e18))
	store := watchtower.NewMemoryStore()
	w, err := watchtower.New(watchtower.Config{Store: store, Chain: chain.Account(watcherAcct),
		CheckInterval: 10 * time.Millisecond, ResubmitDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	return &world{t: t, ctx: ctx, chain: chain, b: chain.Account(watchtest.Signers[1].Address()), w: w, store: store}
}

func (x *world) proof(nonce, turn uint64) ports.WatchProof {
	return watchtest.Proof(x.t, big.NewInt(1337), x.chain.ETHAssetHolder(), nonce, turn)
}

// challenge has B register p on chain.
func (x *world) challenge(p ports.WatchProof) {
	x.t.Helper()
	h, err := p.Proof.States[len(p.Proof.States)-1].Hash()
	if err != nil {
		x.t.Fatal(err)
	}
	sig, err := watchtest.Signers[1].SignState(x.ctx, nitro.ChallengeHash(h))
	if err != nil {
		x.t.Fatal(err)
	}
	if _, err := x.b.Challenge(x.ctx, ports.ChallengeRequest{Proof: p.Proof, ChallengerSignature: sig}); err != nil {
		x.t.Fatalf("challenge turn %d: %v", p.Turn(), err)
	}
}

func (x *world) record(id nitro.Bytes32) ports.ChannelRecord {
	x.t.Helper()
	r, err := x.b.Record(x.ctx, id)
	if err != nil {
		x.t.Fatal(err)
	}
	return r
}

// waitCleared waits until id's record is turn with no challenge.
func (x *world) waitCleared(id nitro.Bytes32, turn uint64) {
	x.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := x.record(id)
		if r.TurnNumRecord == turn && r.FinalizesAt == 0 {
			return
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("record %+v, want turn %d cleared (watcher %+v)", r, turn, x.w.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWatchClearsStaleChallenge: the watcher holds turn 5; B challenges
// with turn 3; the watcher's checkpoint makes the record turn 5, cleared.
func TestWatchClearsStaleChallenge(t *testing.T) {
	x := newWorld(t)
	p5 := x.proof(1, 5)
	if err := x.w.Watch(x.ctx, p5); err != nil {
		t.Fatal(err)
	}
	x.challenge(x.proof(1, 3))
	x.waitCleared(p5.ChannelID, 5)
	if s := x.w.Stats(); s.Checkpoints != 1 || s.Alarms != 1 {
		t.Fatalf("stats %+v, want one alarm and one checkpoint", s)
	}
}

// TestWatchNeverActsWithoutNewerProof: a challenge on the turn the watcher
// holds, and one on a channel it holds nothing for, are left alone; a
// newer proof handed in while the challenge runs is then used, also for
// the channel whose first proof came after its challenge.
func TestWatchNeverActsWithoutNewerProof(t *testing.T) {
	x := newWorld(t)
	p3 := x.proof(1, 3)
	if err := x.w.Watch(x.ctx, p3); err != nil {
		t.Fatal(err)
	}
	x.challenge(p3)
	unknown := x.proof(2, 2)
	x.challenge(unknown)
	time.Sleep(200 * time.Millisecond) // twenty checks
	if s := x.w.Stats(); s.Checkpoints != 0 || s.Failed != 0 || s.Alarms != 1 {
		t.Fatalf("stats %+v: acted without a newer proof", s)
	}
	for _, id := range []nitro.Bytes32{p3.ChannelID, unknown.ChannelID} {
		if r := x.record(id); r.FinalizesAt == 0 {
			t.Fatalf("challenge on %s cleared: %+v", id, r)
		}
	}
	if err := x.w.Watch(x.ctx, x.proof(1, 4)); err != nil {
		t.Fatal(err)
	}
	x.waitCleared(p3.ChannelID, 4)
	if err := x.w.Watch(x.ctx, x.proof(2, 3)); err != nil {
		t.Fatal(err)
	}
	x.waitCleared(unknown.ChannelID, 3)
}

// TestWatchRetriesRPCFailures: the node goes away (ending the watcher's
// event stream) and comes back; then the chain refuses the first three
// submissions; the watcher resubscribes, and its checkpoint gets through
// on a later check.
func TestWatchRetriesRPCFailures(t *testing.T) {
	x := newWorld(t)
	p5 := x.proof(1, 5)
	if err := x.w.Watch(x.ctx, p5); err != nil {
		t.Fatal(err)
	}
	x.chain.SetDown(true)
	time.Sleep(50 * time.Millisecond) // the watcher's resubscriptions fail
	x.chain.SetDown(false)
	x.challenge(x.proof(1, 3))
	x.chain.FailNext(3, nil)
	x.waitCleared(p5.ChannelID, 5)
	if s := x.w.Stats(); s.Failed < 3 || s.Checkpoints < 1 {
		t.Fatalf("stats %+v, want 3 failures then a checkpoint", s)
	}
}

// TestWatchReorgDropsCheckpoint: a reorg drops the block of the watcher's
// checkpoint, bringing the stale challenge back; the watcher reads the
// events again from the ancestor and checkpoints again.
func TestWatchReorgDropsCheckpoint(t *testing.T) {
	x := newWorld(t)
	p5 := x.proof(1, 5)
	if err := x.w.Watch(x.ctx, p5); err != nil {
		t.Fatal(err)
	}
	x.challenge(x.proof(1, 3))
	x.waitCleared(p5.ChannelID, 5)
	dropped := x.chain.Reorg(1, memory.ReorgDrop)
	if len(dropped) != 1 {
		t.Fatalf("reorg dropped %d transactions, want the checkpoint", len(dropped))
	}
	if r := x.record(p5.ChannelID); r.TurnNumRecord != 3 || r.FinalizesAt == 0 {
		t.Fatalf("after the reorg the record is %+v, want the challenge on turn 3 back", r)
	}
	x.waitCleared(p5.ChannelID, 5)
	if s := x.w.Stats(); s.Checkpoints != 2 {
		t.Fatalf("stats %+v, want two checkpoints", s)
	}
}

// TestWatchRefusesBadProofs: a proof with a signature of the wrong
// state, one whose channel id is not its fixed part's, and one older than
// the proof held change nothing.
func TestWatchRefusesBadProofs(t *testing.T) {
	x := newWorld(t)
	p5 := x.proof(1, 5)
	badSig := x.proof(1, 6)
	badSig.Proof.Signatures[1] = p5.Proof.Signatures[1]
	badID := x.proof(1, 6)
	badID.ChannelID = nitro.Bytes32{1}
	gap := x.proof(1, 6)
	gap.Proof.States = append(gap.Proof.States, x.proof(1, 8).Proof.States[0])
	for name, p := range map[string]ports.WatchProof{"wrong signature": badSig, "wrong channel id": badID, "turn gap": gap} {
		if err := x.w.Watch(x.ctx, p); !errors.Is(err, watchtower.ErrInvalidProof) {
			t.Errorf("%s: %v, want ErrInvalidProof", name, err)
		}
	}
	if err := x.w.Watch(x.ctx, p5); err != nil {
		t.Fatal(err)
	}
	if err := x.w.Watch(x.ctx, x.proof(1, 4)); err != nil {
		t.Fatalf("an older proof: %v, want no error", err)
	}
	held, err := x.store.Get(x.ctx, p5.ChannelID)
	if err != nil || held.Turn() != 5 {
		t.Fatalf("held turn %d (%v), want 5", held.Turn(), err)
	}
	if s := x.w.Stats(); s.Refused != 3 || s.Proofs != 1 {
		t.Fatalf("stats %+v", s)
	}
}
