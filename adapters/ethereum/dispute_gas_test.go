package ethereum_test

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/testkit"
	"github.com/nitrowallet/nitrowallet/ports"
)

// disputeGasCalls are the rows of the dispute gas table, in order.
var disputeGasCalls = []string{
	"challenge, 2 parties, 1 state signed by both (first write)",
	"challenge, 2 parties, 2 states each signed by its mover (first write)",
	"challenge, 3 parties, 1 state signed by all (first write)",
	"challenge, 3 parties, 3 states each signed by its mover (first write)",
	"respond (CountingApp's validTransition)",
	"challenge again, 2 parties, 1 state",
	"checkpoint clearing a challenge, 2 parties, 1 state",
	"pushOutcomeAndTransferAll, ETH, two fresh payees",
	"pushOutcomeAndTransferAll, ERC20, two fresh payees",
}

// TestDisputeGas measures the gas of each dispute call on the simulated
// chain, under today's mainnet rules and the dev chain's, and prints the
// table of docs/benchmarks.md ("Disputes: gas"). Every call must succeed;
// a challenge with more signatures to recover must cost more.
func TestDisputeGas(t *testing.T) {
	testkit.SkipIfShort(t, "runs two simulated chains to measure gas")
	got := map[bool]map[string]uint64{}
	for _, mainnet := range []bool{true, false} {
		got[mainnet] = disputeGas(t, mainnet)
	}
	var b strings.Builder
	b.WriteString("| call | mainnet rules | dev rules |\n|---|---:|---:|\n")
	for _, call := range disputeGasCalls {
		m, d := got[true][call], got[false][call]
		if m == 0 || d == 0 {
			t.Fatalf("%s: no gas measured (mainnet %d, dev %d)", call, m, d)
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", call, commas(m), commas(d))
	}
	for _, rules := range []bool{true, false} {
		g := got[rules]
		if g[disputeGasCalls[2]] <= g[disputeGasCalls[0]] || g[disputeGasCalls[3]] <= g[disputeGasCalls[1]] {
			t.Errorf("a 3-party challenge costs no more than a 2-party one: %v", g)
		}
	}
	t.Logf("dispute gas:\n%s", b.String())
}

func commas(n uint64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// gasWorld is one dev chain, a submitting account and the participants'
// keys.
type gasWorld struct {
	t      *testing.T
	ctx    context.Context
	d      *ethereum.DevChain
	c      *ethereum.Chain
	keys   []*ecdsa.PrivateKey
	app    nitro.Address
	gas    map[string]uint64
	nonces uint64
}

func disputeGas(t *testing.T, mainnet bool) map[string]uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := newDevChain(t, ethereum.DevOptions{MainnetRules: mainnet})
	w := &gasWorld{t: t, ctx: ctx, d: d, gas: map[string]uint64{}}
	sender := newKey(t)
	addr := crypto.PubkeyToAddress(sender.PublicKey)
	if err := d.Fund(ctx, addr, milli(1_000_000)); err != nil {
		t.Fatal(err)
	}
	if err := d.FundToken(ctx, addr, big.NewInt(1_000_000)); err != nil {
		t.Fatal(err)
	}
	var err error
	if w.c, err = d.NewChain(ctx, sender, ethereum.Config{}); err != nil {
		t.Fatal(err)
	}
	apps, err := ethereum.LoadAppArtifacts("")
	if err != nil {
		t.Fatal(err)
	}
	if w.app, err = d.DeployApp(ctx, apps.CountingApp); err != nil {
		t.Fatal(err)
	}
	w.keys = []*ecdsa.PrivateKey{newKey(t), newKey(t), newKey(t)}
	eth, tok := d.Deployment.ETHAssetHolder, d.Deployment.ERC20AssetHolder()

	ethOutcome := func(n int) nitro.Outcome {
		ao := nitro.AssetOutcome{AssetHolder: eth}
		for i := 0; i < n; i++ {
			ao.Allocation = append(ao.Allocation, nitro.AllocationItem{Destination: nitro.AddressToDestination(nitro.Address{0xd0, byte(i)}), Amount: big.NewInt(1)})
		}
		return nitro.Outcome{ao}
	}
	for _, n := range []int{2, 3} {
		one := w.channel(n)
		w.challenge(disputeGasCalls[2*(n-2)], w.allSign(w.state(one, 5, ethOutcome(n))))
		many := w.channel(n)
		var states []nitro.State
		who := make([]uint8, n)
		for i := 0; i < n; i++ {
			states = append(states, w.state(many, uint64(2*n+i), ethOutcome(n)))
			who[(2*n+i)%n] = uint8(i)
		}
		w.challenge(disputeGasCalls[2*(n-2)+1], w.proof(states, who))
	}
	// Respond, challenge again and checkpoint on one two-party channel.
	ch := w.channel(2)
	st5 := w.state(ch, 5, ethOutcome(2))
	w.challenge("", w.allSign(st5))
	st6 := w.state(ch, 6, ethOutcome(2))
	w.record(disputeGasCalls[4])(w.c.Respond(ctx, ports.RespondRequest{
		Challenger: crypto.PubkeyToAddress(w.keys[0].PublicKey), Challenged: st5, Response: st6, Signature: w.sign(st6, w.keys[0]),
	}))
	w.challenge(disputeGasCalls[5], w.allSign(w.state(ch, 7, ethOutcome(2))))
	w.record(disputeGasCalls[6])(w.c.Checkpoint(ctx, ports.CheckpointRequest{Proof: w.allSign(w.state(ch, 8, ethOutcome(2)))}))
	// Timed-out challenges paying two fresh accounts.
	for i, asset := range []nitro.Address{eth, tok} {
		ch := w.channel(2)
		id, err := ch.ChannelID()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.c.Deposit(ctx, ports.DepositRequest{ChannelID: id, Asset: asset, ExpectedHeld: new(big.Int), Amount: big.NewInt(10)}); err != nil {
			t.Fatal(err)
		}
		st := w.state(ch, 5, nitro.Outcome{{AssetHolder: asset, Allocation: []nitro.AllocationItem{
			{Destination: nitro.AddressToDestination(nitro.Address{0xe0, byte(i), 1}), Amount: big.NewInt(4)},
			{Destination: nitro.AddressToDestination(nitro.Address{0xe0, byte(i), 2}), Amount: big.NewInt(6)},
		}}})
		w.challenge("", w.allSign(st))
		rec, err := w.c.Record(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.AdjustTime(2 * 1000 * time.Second); err != nil {
			t.Fatal(err)
		}
		w.record(disputeGasCalls[7+i])(w.c.PushOutcomeAndTransferAll(ctx, ports.PushOutcomeRequest{
			Challenged: st, TurnNumRecord: 5, FinalizesAt: rec.FinalizesAt, Challenger: crypto.PubkeyToAddress(w.keys[0].PublicKey),
		}))
	}
	return w.gas
}

// channel is a new channel of the first n keys running CountingApp.
func (w *gasWorld) channel(n int) nitro.State {
	w.nonces++
	st := nitro.State{ChainID: big.NewInt(1337), ChannelNonce: w.nonces, AppDefinition: w.app, ChallengeDuration: 1000}
	for _, k := range w.keys[:n] {
		st.Participants = append(st.Participants, crypto.PubkeyToAddress(k.PublicKey))
	}
	return st
}

// state is ch's state at turn (CountingApp's counter = turn).
func (w *gasWorld) state(ch nitro.State, turn uint64, outcome nitro.Outcome) nitro.State {
	st := ch
	st.TurnNum, st.Outcome = turn, outcome
	st.AppData = new(big.Int).SetUint64(turn).FillBytes(make([]byte, 32))
	return st
}

func (w *gasWorld) sign(st nitro.State, k *ecdsa.PrivateKey) nitro.Signature {
	h, err := st.Hash()
	if err != nil {
		w.t.Fatal(err)
	}
	return w.signHash(h, k)
}

func (w *gasWorld) signHash(h nitro.Bytes32, k *ecdsa.PrivateKey) nitro.Signature {
	raw, err := crypto.Sign(nitro.SignatureDigest(h), k)
	if err != nil {
		w.t.Fatal(err)
	}
	raw[64] += 27
	s, err := nitro.SignatureFromBytes(raw)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

func (w *gasWorld) proof(states []nitro.State, who []uint8) ports.SupportProof {
	p := ports.SupportProof{States: states, WhoSignedWhat: who}
	for i := range states[0].Participants {
		p.Signatures = append(p.Signatures, w.sign(states[who[i]], w.keys[i]))
	}
	return p
}

func (w *gasWorld) allSign(st nitro.State) ports.SupportProof {
	return w.proof([]nitro.State{st}, make([]uint8, len(st.Participants)))
}

// challenge challenges with p, the first participant challenging, and
// records its gas under call ("" records nothing).
func (w *gasWorld) challenge(call string, p ports.SupportProof) {
	h, err := p.States[len(p.States)-1].Hash()
	if err != nil {
		w.t.Fatal(err)
	}
	w.record(call)(w.c.Challenge(w.ctx, ports.ChallengeRequest{Proof: p, ChallengerSignature: w.signHash(nitro.ChallengeHash(h), w.keys[0])}))
}

// record returns a function that checks a call succeeded and records its
// receipt's gas under call.
func (w *gasWorld) record(call string) func(ports.TxHash, error) {
	return func(tx ports.TxHash, err error) {
		w.t.Helper()
		if err != nil {
			w.t.Fatalf("%s: %v", call, err)
		}
		r, err := w.d.Client().TransactionReceipt(w.ctx, tx)
		if err != nil {
			w.t.Fatalf("%s: receipt: %v", call, err)
		}
		if call != "" {
			w.gas[call] = r.GasUsed
		}
	}
}
