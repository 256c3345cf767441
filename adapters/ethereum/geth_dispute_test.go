package ethereum_test

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
)

// gethChallengeDuration is the channel's challenge duration on geth --dev
// (seconds): the wallets accept it as their MinChallengeDuration here.
const gethChallengeDuration = 4

// TestGethDisputeForceClose runs one dispute end to end on a real
// `geth --dev` node over JSON-RPC: B stops answering after a round of
// payments; A challenges with its supported state. geth --dev with
// --dev.period 0 seals a block only when a transaction arrives, stamped
// with the wall clock but at least its parent's time + 1 s, so a burst of
// transactions runs the chain's clock ahead of the wall clock (about 10 s
// after the setup here) and nothing moves it while no transaction comes:
// the test seals blocks (transfers, 1 s of chain time each at least) until
// the head's time reaches finalizesAt. A's Tick then reads that time,
// pushes the outcome, and both destinations get exactly what the state
// gives them.
func TestGethDisputeForceClose(t *testing.T) {
	n := startGeth(t)
	ctx := context.Background()
	deployer := newKey(t)
	n.fund(t, crypto.PubkeyToAddress(deployer.PublicKey), milli(100_000))
	cfg := ethereum.Config{PollInterval: 20 * time.Millisecond, Dev: true}
	dep, err := ethereum.Deploy(ctx, n.client, ethereum.KeySigner(deployer), loadArtifacts(t), ethereum.DeployOptions{Token: true, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	b := &gethBackend{n: n, dep: dep, cfg: cfg}
	w := newWorldWith(t, b, 2, func(c *app.Config) { c.MinChallengeDuration = gethChallengeDuration * time.Second })
	r := newRouter(w)
	A, B := w.parties[0], w.parties[1]
	allocs := w.allocation(b.eth(), milli(5), milli(3))
	res, err := A.w.CreateChannel(w.ctx, app.CreateChannelParams{Participants: w.participants(), Allocations: allocs, ChallengeDuration: gethChallengeDuration})
	if err != nil {
		t.Fatal(err)
	}
	id := res.ChannelResults[0].ChannelID
	r.deliverAll(res)
	if err := r.wait(id, "running", running); err != nil {
		t.Fatal(err)
	}
	turn, err := r.round(id, allocs) // A moves turn 4, B turn 5
	if err != nil {
		t.Fatal(err)
	}
	w.waitSupported(id, turn, A)
	r.mute(B)
	B.stop()
	if _, err := A.w.ChallengeChannel(w.ctx, id); err != nil {
		t.Fatal(err)
	}
	c := w.waitFor(A, id, "challenge registered", challenged)
	wantStatus(t, "A under its challenge", c, core.StatusChallenging, turn)
	// Seal blocks (transfers) until the head's time reaches finalizesAt.
	for {
		now, err := A.chain.BlockTime(w.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if now >= *c.ChallengeExpirationTime {
			break
		}
		n.fund(t, crypto.PubkeyToAddress(newKey(t).PublicKey), milli(1))
	}
	w.waitFor(A, id, "closed and defunded", defunded)
	w.wantPaid(allocs, b.token())
	w.wantDrained(id, allocs)
}
