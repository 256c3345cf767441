package ethereum_test

import (
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/testkit"
	"github.com/nitrowallet/nitrowallet/ports"
)

// disputeCase is one shape of channel the dispute scenarios run on: n
// parties, funded in ETH, in the test Token, or both.
type disputeCase struct {
	name     string
	n        int
	eth, tok bool
}

// allocs gives party i 10(i+1) milli-ether and 10(i+1) tokens, in the
// assets the case uses.
func (dc disputeCase) allocs(w *world) []app.Allocation {
	var eth, tok []*big.Int
	for i := 0; i < dc.n; i++ {
		eth = append(eth, milli(int64(10*(i+1))))
		tok = append(tok, big.NewInt(int64(10*(i+1))))
	}
	var out []app.Allocation
	if dc.eth {
		out = append(out, w.allocation(w.b.eth(), eth...)...)
	}
	if dc.tok {
		out = append(out, w.allocation(w.b.token(), tok...)...)
	}
	return out
}

// waitFor ticks p (a Tick reads the chain's time and drives the dispute)
// and polls its view of id until cond holds.
func (w *world) waitFor(p *party, id nitro.Bytes32, what string, cond func(app.ChannelResult) bool) app.ChannelResult {
	w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := p.w.Tick(w.ctx); err != nil {
			w.t.Fatal(err)
		}
		c, err := p.w.GetState(w.ctx, id)
		if err == nil && cond(c) {
			return c
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: %s never happened (last %s turn %d funding %s, %v)", p.name, what, c.Status, c.TurnNum, c.FundingStatus, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitSupported waits until each of ps can prove turn on chain: a running
// state of a channel without an app needs every countersignature, and its
// mover never gets them (core/noapp.go), so pass the others.
func (w *world) waitSupported(id nitro.Bytes32, turn uint64, ps ...*party) {
	w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, p := range ps {
		for {
			c, err := p.store.Get(w.ctx, id)
			if err != nil {
				w.t.Fatal(err)
			}
			if s, ok := c.Supported(); ok && s.State.TurnNum == turn {
				break
			}
			if time.Now().After(deadline) {
				w.t.Fatalf("%s never supported turn %d", p.name, turn)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// challengeWith has p's key challenge on chain with proof from p's own
// account, bypassing its wallet (a peer replaying an old state).
func (w *world) challengeWith(p *party, proof core.SupportProof) {
	w.t.Helper()
	h, err := proof.States[len(proof.States)-1].Hash()
	if err != nil {
		w.t.Fatal(err)
	}
	sig, err := p.signer.SignState(w.ctx, nitro.ChallengeHash(h))
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := p.chain.Challenge(w.ctx, ports.ChallengeRequest{Proof: proof, ChallengerSignature: sig}); err != nil {
		w.t.Fatalf("%s's challenge: %v", p.name, err)
	}
}

// wantDrained checks the channel holds nothing in any asset of allocs.
func (w *world) wantDrained(id nitro.Bytes32, allocs []app.Allocation) {
	w.t.Helper()
	for _, a := range allocs {
		held, err := w.parties[0].chain.Holdings(w.ctx, a.AssetHolderAddress, id)
		if err != nil {
			w.t.Fatal(err)
		}
		wantAmount(w.t, fmt.Sprintf("holdings in %s after the payout", a.AssetHolderAddress), held, new(big.Int))
	}
}

// adjust moves the dev chain's clock by the default challenge duration.
func adjust(t testing.TB, b *devBackend) {
	t.Helper()
	if _, err := b.d.AdjustTime(app.DefaultChallengeDuration * time.Second); err != nil {
		t.Fatal(err)
	}
}

func challenged(c app.ChannelResult) bool {
	return c.Status == core.StatusChallenging && c.ChallengeExpirationTime != nil
}

// TestSilentPeerForceClosedSimulated: the last party stops answering once
// every party has moved once; the first challenges with its supported
// state through its wallet, every online wallet sees the challenge, the
// chain's clock passes finalizesAt, the challenger pushes the outcome,
// and every destination gets exactly what that state gives it.
func TestSilentPeerForceClosedSimulated(t *testing.T) {
	for _, dc := range []disputeCase{
		{"ETH, 2 parties", 2, true, false},
		{"ERC20, 2 parties", 2, false, true},
		{"ETH and ERC20, 3 parties", 3, true, true},
	} {
		t.Run(dc.name, func(t *testing.T) {
			b := &devBackend{d: newDevChain(t, ethereum.DevOptions{})}
			w := newWorld(t, b, dc.n)
			r := newRouter(w)
			allocs := dc.allocs(w)
			id, err := r.openOne(allocs)
			if err != nil {
				t.Fatal(err)
			}
			turn, err := r.round(id, allocs)
			if err != nil {
				t.Fatal(err)
			}
			// The last party moved last: the others prove that turn.
			online, silent := w.parties[:dc.n-1], w.parties[dc.n-1]
			w.waitSupported(id, turn, online...)
			r.mute(silent)
			silent.stop()
			A := w.parties[0]
			if _, err := A.w.ChallengeChannel(w.ctx, id); err != nil {
				t.Fatal(err)
			}
			for _, p := range online {
				c := w.waitFor(p, id, "challenge registered", challenged)
				wantStatus(t, p.name+" under A's challenge", c, core.StatusChallenging, turn)
			}
			adjust(t, b)
			for _, p := range online {
				w.waitFor(p, id, "closed and defunded", defunded)
			}
			w.wantPaid(allocs, b.token())
			w.wantDrained(id, allocs)
		})
	}
}

// TestStaleChallengeClearedSimulated: the second party, gone offline,
// challenges from its account with the postfund states it held before a
// round of updates; the online wallets answer with a checkpoint of the
// latest turn on their own, the challenge clears, and the channel runs
// again.
func TestStaleChallengeClearedSimulated(t *testing.T) {
	for _, dc := range []disputeCase{
		{"ETH, 2 parties", 2, true, false},
		{"ERC20, 3 parties", 3, false, true},
	} {
		t.Run(dc.name, func(t *testing.T) { staleChallenge(t, dc) })
	}
}

// TestStaleChallengeClearTime measures the wall time from a stale
// challenge's submission to its clearing by the online wallet's
// checkpoint on the simulated chain (docs/benchmarks.md, "Disputes: time
// to clear a stale challenge"): several runs per case, a fresh chain each.
func TestStaleChallengeClearTime(t *testing.T) {
	testkit.SkipIfShort(t, "runs 16 simulated chains to time stale challenges")
	for _, dc := range []disputeCase{
		{"ETH, 2 parties", 2, true, false},
		{"ERC20, 3 parties", 3, false, true},
	} {
		var runs []time.Duration
		for i := 0; i < 8; i++ {
			t.Run(fmt.Sprintf("%s/%d", dc.name, i), func(t *testing.T) { runs = append(runs, staleChallenge(t, dc)) })
		}
		if t.Failed() {
			return
		}
		slices.Sort(runs)
		t.Logf("%s: stale challenge submitted and cleared in min %v, median %v, max %v over %d runs",
			dc.name, runs[0].Round(time.Millisecond/10), runs[len(runs)/2].Round(time.Millisecond/10), runs[len(runs)-1].Round(time.Millisecond/10), len(runs))
	}
}

// staleChallenge runs the stale-challenge scenario on a fresh dev chain
// and returns the wall time from the challenge's submission to the
// adjudicator's record showing it cleared.
func staleChallenge(t *testing.T, dc disputeCase) time.Duration {
	b := &devBackend{d: newDevChain(t, ethereum.DevOptions{})}
	w := newWorld(t, b, dc.n)
	r := newRouter(w)
	allocs := dc.allocs(w)
	id, err := r.openOne(allocs)
	if err != nil {
		t.Fatal(err)
	}
	stale := w.parties[1]
	w.waitSupported(id, uint64(2*dc.n-1), stale)
	before, err := stale.store.Get(w.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	old, err := before.SupportProof()
	if err != nil {
		t.Fatal(err)
	}
	turn, err := r.round(id, allocs)
	if err != nil {
		t.Fatal(err)
	}
	w.waitSupported(id, turn, w.parties[0])
	r.mute(stale)
	stale.stop()
	online := []*party{w.parties[0]}
	online = append(online, w.parties[2:]...)
	elapsed := clearStale(t, w, stale, old, id, turn, online)
	A := w.parties[0]
	for _, p := range online {
		w.waitFor(p, id, "running again", func(c app.ChannelResult) bool {
			return c.Status == core.StatusRunning && c.ChallengeExpirationTime == nil
		})
	}
	// Turn turn+1 is A's (3n mod n).
	if _, err := A.w.UpdateChannel(w.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: allocs}); err != nil {
		t.Fatalf("A's update after the challenge cleared: %v", err)
	}
	return elapsed
}

// clearStale has stale challenge with old, waits (ticking the online
// wallets) until the adjudicator records turn with no challenge, and
// returns the wall time from the challenge's submission to then. The
// online wallets see the challenge in the chain's events and answer
// without a Tick; the ticks only stand in for the wallets' ticker.
func clearStale(t *testing.T, w *world, stale *party, old core.SupportProof, id nitro.Bytes32, turn uint64, online []*party) time.Duration {
	t.Helper()
	start := time.Now()
	w.challengeWith(stale, old)
	deadline := start.Add(20 * time.Second)
	for {
		rec, err := online[0].chain.Record(w.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.TurnNumRecord == turn && rec.FinalizesAt == 0 {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("adjudicator record %+v, want turn %d and no challenge", rec, turn)
		}
		for _, p := range online {
			if err := p.w.Tick(w.ctx); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFinalStateChallengeConcludes: the closer signs the final state; the
// others countersign it, but their countersignatures never reach the
// closer, which challenges with its latest running state. The others,
// holding the final state signed by all, conclude at once (not after the
// backup delay): the channel pays the final outcome, and every wallet,
// the closer too, ends closed and defunded.
func TestFinalStateChallengeConcludes(t *testing.T) {
	for _, dc := range []disputeCase{
		{"ETH, 2 parties", 2, true, false},
		{"ETH and ERC20, 3 parties", 3, true, true},
	} {
		t.Run(dc.name, func(t *testing.T) {
			b := &devBackend{d: newDevChain(t, ethereum.DevOptions{})}
			w := newWorld(t, b, dc.n)
			r := newRouter(w)
			allocs := dc.allocs(w)
			id, err := r.openOne(allocs)
			if err != nil {
				t.Fatal(err)
			}
			turn, err := r.round(id, allocs)
			if err != nil {
				t.Fatal(err)
			}
			w.waitSupported(id, turn, w.parties[:dc.n-1]...)
			closer := w.parties[int((turn+1)%uint64(dc.n))]
			var others []*party
			for _, p := range w.parties {
				if p != closer {
					others = append(others, p)
				}
			}
			r.mute(closer)
			res, err := closer.w.CloseChannel(w.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			r.deliverAll(res)
			for _, p := range others {
				// The final state signed by all: closed, not concluded yet.
				w.waitFor(p, id, "final state signed by all", func(c app.ChannelResult) bool { return c.Status == core.StatusClosed })
			}
			if _, err := closer.w.ChallengeChannel(w.ctx, id); err != nil {
				t.Fatal(err)
			}
			for _, p := range w.parties {
				c := w.waitFor(p, id, "closed and defunded", defunded)
				if c.ChallengeExpirationTime != nil {
					t.Fatalf("%s: the conclude left its challenge expiring at %d", p.name, *c.ChallengeExpirationTime)
				}
			}
			w.wantPaid(allocs, b.token())
			w.wantDrained(id, allocs)
		})
	}
}

// TestChallengeDuringFundingSimulated: the last party joins and then
// vanishes before its deposit; the others deposit theirs. The first
// challenges with the prefund states, the challenge finalizes, and the
// partial funding goes back to the depositors in allocation order: each
// depositor gets its item, the vanished party nothing.
func TestChallengeDuringFundingSimulated(t *testing.T) {
	for _, dc := range []disputeCase{
		{"ETH, 2 parties", 2, true, false},
		{"ETH and ERC20, 3 parties", 3, true, true},
	} {
		t.Run(dc.name, func(t *testing.T) {
			b := &devBackend{d: newDevChain(t, ethereum.DevOptions{})}
			w := newWorld(t, b, dc.n)
			allocs := dc.allocs(w)
			A, silent := w.parties[0], w.parties[dc.n-1]
			online := w.parties[:dc.n-1]
			res, err := A.w.CreateChannel(w.ctx, app.CreateChannelParams{Participants: w.participants(), Allocations: allocs})
			if err != nil {
				t.Fatal(err)
			}
			id := res.ChannelResults[0].ChannelID
			gone := false
			var deliver func(app.Result)
			deliver = func(res app.Result) {
				for _, m := range res.Outbox {
					if gone && m.Recipient == silent.name {
						continue
					}
					deliver(w.push(m))
				}
			}
			deliver(res)
			for _, p := range w.parties[1:] {
				res, err := p.w.JoinChannel(w.ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if p == silent {
					silent.stop()
					gone = true
				}
				deliver(res)
			}
			// Every online party deposits its item, in queue order.
			want := make([]*big.Int, len(allocs))
			for k, a := range allocs {
				want[k] = new(big.Int)
				for _, it := range a.AllocationItems[:dc.n-1] {
					want[k].Add(want[k], it.Amount)
				}
			}
			waitHoldings(t, w, id, allocs, want)
			if _, err := A.w.ChallengeChannel(w.ctx, id); err != nil {
				t.Fatal(err)
			}
			for _, p := range online {
				w.waitFor(p, id, "challenge registered", challenged)
			}
			adjust(t, b)
			for _, p := range online {
				w.waitFor(p, id, "closed and defunded", defunded)
			}
			for _, a := range allocs {
				a.AllocationItems[dc.n-1].Amount = new(big.Int)
			}
			w.wantPaid(allocs, b.token())
			w.wantDrained(id, allocs)
		})
	}
}

// waitHoldings waits until the channel holds want[k] in allocs[k]'s asset.
func waitHoldings(t *testing.T, w *world, id nitro.Bytes32, allocs []app.Allocation, want []*big.Int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for k, a := range allocs {
		for {
			held, err := w.parties[0].chain.Holdings(w.ctx, a.AssetHolderAddress, id)
			if err != nil {
				t.Fatal(err)
			}
			if held.Cmp(want[k]) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("holdings in %s = %v, want %v", a.AssetHolderAddress, held, want[k])
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
