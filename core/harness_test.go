package core_test

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// world runs n cores by hand: the test decides when messages and chain
// events are delivered; signatures are made at once.
type world struct {
	t        *testing.T
	keys     []*ecdsa.PrivateKey
	parts    []core.Participant
	nodes    []core.Channel
	net      []core.Message // in flight, in send order
	deposits []core.Deposit
	concl    []core.Conclude
	disputes []core.Effect // SubmitChallenge, SubmitCheckpoint, PushOutcome, by node
	from     []int         // the node that emitted each of disputes
	holdings map[nitro.Address]*big.Int
	block    uint64
	asset    nitro.Address
	app      nitro.Address       // the appDefinition createInput proposes
	rule     core.TransitionRule // every node steps with it (StepWith)
}

func newWorld(t *testing.T, n int) *world {
	w := &world{t: t, nodes: make([]core.Channel, n), holdings: map[nitro.Address]*big.Int{}, asset: nitro.Address{0xee}}
	for i := 0; i < n; i++ {
		k, err := crypto.ToECDSA(crypto.Keccak256([]byte(fmt.Sprintf("core-test-key-%d", i))))
		if err != nil {
			t.Fatal(err)
		}
		w.keys = append(w.keys, k)
		a := crypto.PubkeyToAddress(k.PublicKey)
		w.parts = append(w.parts, core.Participant{ParticipantID: fmt.Sprintf("p%d", i), SigningAddress: a, Destination: nitro.AddressToDestination(a)})
	}
	return w
}

// proposeAndJoin starts a world of len(amounts) participants in which
// participant 0 proposes a channel allocating amounts, every other one
// joins, and every message is delivered: funding starts.
func proposeAndJoin(t *testing.T, amounts ...int64) *world {
	t.Helper()
	w := newWorld(t, len(amounts))
	w.step(0, w.createInput(amounts...))
	w.deliverAll()
	for i := 1; i < len(amounts); i++ {
		w.step(i, core.Join{Deployment: w.deployment()})
	}
	w.deliverAll()
	return w
}

func (w *world) addr(i int) nitro.Address { return w.parts[i].SigningAddress }

func (w *world) outcome(amounts ...int64) nitro.Outcome {
	a := nitro.AssetOutcome{AssetHolder: w.asset}
	for i, x := range amounts {
		a.Allocation = append(a.Allocation, nitro.AllocationItem{Destination: w.parts[i].Destination, Amount: big.NewInt(x)})
	}
	return nitro.Outcome{a}
}

// pays returns the mover's latest outcome with amt of every asset moved
// from the mover's item to item to: the mover pays, as an app-less channel
// requires (noapp.go).
func (w *world) pays(mover, to int, amt int64) nitro.Outcome {
	l, _ := w.nodes[mover].Latest()
	o := l.State.Outcome.Clone()
	for _, a := range o {
		a.Allocation[mover].Amount = new(big.Int).Sub(a.Allocation[mover].Amount, big.NewInt(amt))
		a.Allocation[to].Amount = new(big.Int).Add(a.Allocation[to].Amount, big.NewInt(amt))
	}
	return o
}

func (w *world) createInput(amounts ...int64) core.Create {
	return core.Create{
		Me: w.addr(0), ChainID: big.NewInt(1337), Participants: w.parts, Outcome: w.outcome(amounts...),
		ChallengeDuration: 100, ChannelNonce: 7, FundingStrategy: core.FundingDirect, Deployment: w.deployment(),
		AppDefinition: w.app,
	}
}

// deployment is the test chain: chain 1337, the test assets, and any
// challenge duration.
func (w *world) deployment() core.Deployment {
	return core.Deployment{
		ChainID: big.NewInt(1337), AssetHolders: []nitro.Address{w.asset, testToken},
		MinChallengeDuration: 1, MaxChallengeDuration: nitro.MaxUint48,
	}
}

// testToken is the second asset holder of the multi-asset tests.
var testToken = nitro.Address{0x70}

// receive is the Receive input delivering m to node to.
func (w *world) receive(to int, m core.Message) core.Receive {
	return core.Receive{Me: w.addr(to), Deployment: w.deployment(), Recipient: m.Recipient, Sender: m.Sender, States: m.Payload.SignedStates, Objectives: m.Payload.Objectives, Requests: m.Payload.Requests}
}

func sign(t *testing.T, k *ecdsa.PrivateKey, h nitro.Bytes32) nitro.Signature {
	raw, err := crypto.Sign(nitro.SignatureDigest(h), k)
	if err != nil {
		t.Fatal(err)
	}
	raw[64] += 27
	s, err := nitro.SignatureFromBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// step applies an input to node i and carries out its effects; it fails the
// test on error.
func (w *world) step(i int, in core.Input) {
	w.t.Helper()
	if err := w.try(i, in); err != nil {
		w.t.Fatalf("node %d step %T: %v", i, in, err)
	}
}

func (w *world) try(i int, in core.Input) error {
	next, effs, err := core.StepWith(w.nodes[i], in, w.rule)
	if err != nil {
		return err
	}
	w.nodes[i] = next
	for _, e := range effs {
		switch e := e.(type) {
		case core.SignState:
			w.step(i, core.Signed{Hash: e.Hash, Signature: sign(w.t, w.keys[i], e.Hash)})
		case core.Send:
			w.net = append(w.net, e.Message)
		case core.Deposit:
			w.deposits = append(w.deposits, e)
		case core.Conclude:
			w.concl = append(w.concl, e)
		case core.SubmitChallenge, core.SubmitCheckpoint, core.PushOutcome:
			w.disputes = append(w.disputes, e)
			w.from = append(w.from, i)
		}
	}
	return nil
}

func (w *world) index(id string) int {
	for i, p := range w.parts {
		if p.ParticipantID == id {
			return i
		}
	}
	w.t.Fatalf("unknown participant %q", id)
	return -1
}

// deliver delivers the k-th message in flight and removes it.
func (w *world) deliver(k int) error {
	m := w.net[k]
	w.net = append(w.net[:k:k], w.net[k+1:]...)
	to := w.index(m.Recipient)
	return w.try(to, w.receive(to, m))
}

// deliverAll delivers messages in order until none is left.
func (w *world) deliverAll() {
	w.t.Helper()
	for len(w.net) > 0 {
		if err := w.deliver(0); err != nil {
			w.t.Fatalf("deliver: %v", err)
		}
	}
}

// mineDeposit executes the first queued deposit with Nitro's rules and
// reports the Deposited event to every node that knows the channel.
func (w *world) mineDeposit() {
	w.t.Helper()
	d := w.deposits[0]
	w.deposits = w.deposits[1:]
	h := w.holdings[d.Asset]
	if h == nil {
		h = new(big.Int)
	}
	if h.Cmp(d.ExpectedHeld) < 0 || h.Cmp(new(big.Int).Add(d.ExpectedHeld, d.Amount)) >= 0 {
		w.t.Fatalf("deposit would revert: held %v expected %v amount %v", h, d.ExpectedHeld, d.Amount)
	}
	h = new(big.Int).Add(d.ExpectedHeld, d.Amount)
	w.holdings[d.Asset] = h
	w.block++
	w.broadcastEvent(core.ChainEvent{Kind: core.EventDeposited, ChannelID: d.ChannelID, Asset: d.Asset, Block: w.block, Holdings: h})
}

func (w *world) broadcastEvent(ev core.ChainEvent) {
	for i := range w.nodes {
		if w.nodes[i].ID == ev.ChannelID {
			w.step(i, ev)
		}
	}
}

func (w *world) status(i int) core.Status { return w.nodes[i].Status() }

func (w *world) wantStatus(i int, want core.Status) {
	w.t.Helper()
	if got := w.status(i); got != want {
		w.t.Fatalf("node %d status %s, want %s", i, got, want)
	}
}
