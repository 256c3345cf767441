package storetest

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Snapshot is one channel as a Step left it, with the effects that Step
// asked for: exactly what the app commits.
type Snapshot struct {
	// Stage names where the snapshot was taken ("B: receive turn 4").
	Stage   string
	Channel core.Channel
	Effects []core.Effect
}

// Corpus returns real channels at every protocol stage, produced by
// driving core.Step for two- and three-party channels through open,
// funding, running (with states held for later turns and a failed
// transaction), closing, conclude and payout; and, at the end, synthetic
// channels that stress the encoding (2^256-1 amounts, uint48 turns, a
// guarantee outcome, empty and nil byte slices). Every effect kind occurs.
// It panics if the core misbehaves, so a broken corpus cannot pass quietly.
func Corpus() []Snapshot {
	var out []Snapshot
	out = append(out, runCorpus(2, 1)...)
	out = append(out, runCorpus(3, 2)...)
	return append(out, syntheticCorpus()...)
}

// corpusWorld runs n cores by hand, like core's own test harness.
type corpusWorld struct {
	n        int
	keys     []*ecdsa.PrivateKey
	parts    []core.Participant
	nodes    []core.Channel
	assets   []nitro.Address
	net      []core.Message
	deposits []core.Deposit
	concl    []core.Conclude
	holdings map[nitro.Address]*big.Int
	block    uint64
	out      []Snapshot
}

func newCorpusWorld(n, assets int) *corpusWorld {
	w := &corpusWorld{n: n, nodes: make([]core.Channel, n), holdings: map[nitro.Address]*big.Int{}}
	for i := 0; i < n; i++ {
		k, err := crypto.ToECDSA(crypto.Keccak256([]byte(fmt.Sprintf("storetest-key-%d", i))))
		if err != nil {
			panic(err)
		}
		w.keys = append(w.keys, k)
		a := crypto.PubkeyToAddress(k.PublicKey)
		w.parts = append(w.parts, core.Participant{ParticipantID: fmt.Sprintf("p%d", i), SigningAddress: a, Destination: nitro.AddressToDestination(a)})
	}
	for i := 0; i < assets; i++ {
		w.assets = append(w.assets, nitro.Address{0xa0, byte(i + 1)})
	}
	return w
}

func (w *corpusWorld) outcome(shift int64) nitro.Outcome {
	var o nitro.Outcome
	for k, asset := range w.assets {
		a := nitro.AssetOutcome{AssetHolder: asset}
		for i := range w.parts {
			amt := int64(10*(i+1) + k)
			switch i {
			case 0:
				amt += shift
			case 1:
				amt -= shift
			}
			a.Allocation = append(a.Allocation, nitro.AllocationItem{Destination: w.parts[i].Destination, Amount: big.NewInt(amt)})
		}
		o = append(o, a)
	}
	return o
}

// pays returns o with amt of every asset moved from item from to item to:
// the mover pays, as a channel without an app requires (core's noapp.go).
func pays(o nitro.Outcome, from, to int, amt int64) nitro.Outcome {
	o = o.Clone()
	for _, a := range o {
		a.Allocation[from].Amount = new(big.Int).Sub(a.Allocation[from].Amount, big.NewInt(amt))
		a.Allocation[to].Amount = new(big.Int).Add(a.Allocation[to].Amount, big.NewInt(amt))
	}
	return o
}

func (w *corpusWorld) step(i int, stage string, in core.Input) {
	if err := w.try(i, stage, in); err != nil {
		panic(fmt.Sprintf("storetest corpus: node %d %s (%T): %v", i, stage, in, err))
	}
}

func (w *corpusWorld) try(i int, stage string, in core.Input) error {
	next, effs, err := core.Step(w.nodes[i], in)
	if err != nil {
		return err
	}
	w.nodes[i] = next
	w.out = append(w.out, Snapshot{Stage: fmt.Sprintf("%d-party p%d: %s", w.n, i, stage), Channel: next.Clone(), Effects: effs})
	for _, e := range effs {
		switch e := e.(type) {
		case core.SignState:
			raw, err := crypto.Sign(nitro.SignatureDigest(e.Hash), w.keys[i])
			if err != nil {
				panic(err)
			}
			raw[64] += 27
			sig, err := nitro.SignatureFromBytes(raw)
			if err != nil {
				panic(err)
			}
			w.step(i, fmt.Sprintf("signed turn %d", e.State.TurnNum), core.Signed{Hash: e.Hash, Signature: sig})
		case core.Send:
			w.net = append(w.net, e.Message)
		case core.Deposit:
			w.deposits = append(w.deposits, e)
		case core.Conclude:
			w.concl = append(w.concl, e)
		}
	}
	return nil
}

func (w *corpusWorld) index(id string) int {
	for i, p := range w.parts {
		if p.ParticipantID == id {
			return i
		}
	}
	panic("storetest corpus: unknown participant " + id)
}

func (w *corpusWorld) deliver(k int) {
	m := w.net[k]
	w.net = slices.Delete(w.net, k, k+1)
	to := w.index(m.Recipient)
	w.step(to, fmt.Sprintf("receive from %s", m.Sender), core.Receive{Me: w.parts[to].SigningAddress, Deployment: w.deployment(), Recipient: m.Recipient, Sender: m.Sender, States: m.Payload.SignedStates, Objectives: m.Payload.Objectives, Requests: m.Payload.Requests})
}

// deployment is the corpus chain: chain 1337, its assets, any challenge
// duration.
func (w *corpusWorld) deployment() core.Deployment {
	return core.Deployment{ChainID: big.NewInt(1337), AssetHolders: w.assets, MinChallengeDuration: 1, MaxChallengeDuration: nitro.MaxUint48}
}

func (w *corpusWorld) deliverAll() {
	for len(w.net) > 0 {
		w.deliver(0)
	}
}

func (w *corpusWorld) event(ev core.ChainEvent, stage string) {
	for i := range w.nodes {
		if w.nodes[i].ID == ev.ChannelID {
			w.step(i, stage, ev)
		}
	}
}

func (w *corpusWorld) mineDeposits() {
	for len(w.deposits) > 0 {
		d := w.deposits[0]
		w.deposits = w.deposits[1:]
		h := w.holdings[d.Asset]
		if h == nil {
			h = new(big.Int)
		}
		h = new(big.Int).Add(d.ExpectedHeld, d.Amount)
		w.holdings[d.Asset] = h
		w.block++
		w.event(core.ChainEvent{Kind: core.EventDeposited, ChannelID: d.ChannelID, Asset: d.Asset, Block: w.block, Holdings: h, AmountDeposited: new(big.Int).Set(d.Amount)}, "deposited")
	}
}

// runCorpus drives n participants through a whole channel life.
func runCorpus(n, assets int) []Snapshot {
	w := newCorpusWorld(n, assets)
	w.step(0, "create", core.Create{
		Me: w.parts[0].SigningAddress, ChainID: big.NewInt(1337), Participants: w.parts, Outcome: w.outcome(0),
		AppData: []byte{1, 2, 3}, ChallengeDuration: 100, ChannelNonce: uint64(40 + n), FundingStrategy: core.FundingDirect,
		Deployment: w.deployment(),
	})
	w.deliverAll() // proposals
	for i := 1; i < n; i++ {
		w.step(i, "join", core.Join{Deployment: w.deployment()})
	}
	w.deliverAll() // prefunds
	// The first deposit fails once, is retried on a tick, then lands.
	if len(w.deposits) > 0 {
		d := w.deposits[0]
		w.step(0, "deposit failed", core.TxFailed{Kind: core.TxDeposit, Asset: d.Asset, Item: d.Item, Err: "injected"})
		w.deposits = w.deposits[1:]
		w.step(0, "tick", core.Tick{Now: 1000})
	}
	for round := 0; round < 4*n && (len(w.deposits) > 0 || len(w.net) > 0); round++ {
		w.mineDeposits()
		w.deliverAll()
	}
	// Running: every participant moves once. With three or more, the last
	// participant gets the round's earlier states in reverse order: the
	// later one is held, then applied when the earlier one arrives.
	last := w.parts[n-1].ParticipantID
	var late []core.Message
	for mover := 0; mover < n; mover++ {
		l, _ := w.nodes[mover].Latest()
		w.step(mover, fmt.Sprintf("update turn %d", l.State.TurnNum+1), core.Update{Outcome: pays(l.State.Outcome, mover, (mover+1)%n, int64(mover+1)), AppData: []byte{byte(mover)}})
		if n > 2 && mover < n-1 {
			for k := 0; k < len(w.net); {
				if w.net[k].Recipient == last {
					late = append(late, w.net[k])
					w.net = slices.Delete(w.net, k, k+1)
					continue
				}
				k++
			}
			w.deliverAll()
			if mover == n-2 {
				slices.Reverse(late)
				w.net = append(w.net, late...)
			}
		}
		w.deliverAll()
	}
	// Sync from one node (resends states, asks for the others').
	w.step(1, "sync", core.Sync{})
	w.deliverAll()
	// Close on the mover's turn.
	l, _ := w.nodes[0].Latest()
	closer := int((l.State.TurnNum + 1) % uint64(n))
	w.step(closer, "close", core.Close{})
	w.deliverAll()
	w.deliverAll()
	for len(w.concl) > 0 {
		c := w.concl[0]
		w.concl = w.concl[1:]
		w.block++
		w.event(core.ChainEvent{Kind: core.EventConcluded, ChannelID: c.ChannelID, Block: w.block, FinalizesAt: 2000}, "concluded")
		for _, a := range c.State.Outcome {
			w.event(core.ChainEvent{Kind: core.EventAllocationUpdated, ChannelID: c.ChannelID, Asset: a.AssetHolder, Block: w.block, InitialHoldings: w.holdings[a.AssetHolder]}, "allocation updated")
		}
	}
	for i := range w.nodes {
		w.step(i, "tick after close", core.Tick{Now: 3000})
	}
	return w.out
}

// syntheticCorpus builds channels no protocol run reaches but a store must
// still keep exactly.
func syntheticCorpus() []Snapshot {
	maxU256 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	a := nitro.Address{0xaa}
	b := nitro.Address{0xbb}
	parts := []core.Participant{
		{ParticipantID: "with \"quotes\", \\ and \u00e9 and \x00 nul", SigningAddress: a, Destination: nitro.Bytes32{0x01}},
		{ParticipantID: "", SigningAddress: b, Destination: nitro.AddressToDestination(b)},
	}
	st := nitro.State{
		ChainID: new(big.Int).Set(maxU256), Participants: []nitro.Address{a, b}, ChannelNonce: nitro.MaxUint48,
		AppDefinition: nitro.Address{0xde}, ChallengeDuration: nitro.MaxUint48, AppData: []byte{},
		Outcome: nitro.Outcome{
			{AssetHolder: nitro.Address{1}, Allocation: []nitro.AllocationItem{{Destination: nitro.Bytes32{0xff}, Amount: new(big.Int).Set(maxU256)}, {Destination: nitro.Bytes32{2}, Amount: new(big.Int)}}},
			{AssetHolder: nitro.Address{2}, Guarantee: &nitro.Guarantee{TargetChannelID: nitro.Bytes32{9}, Destinations: []nitro.Bytes32{{1}, {2}}}},
			{AssetHolder: nitro.Address{3}, Allocation: []nitro.AllocationItem{}},
		},
		TurnNum: nitro.MaxUint48, IsFinal: true,
	}
	sig := nitro.Signature{V: 28, R: nitro.Bytes32{0x11}, S: nitro.Bytes32{0x22}}
	full := core.Channel{
		ID: nitro.Bytes32{0xc0, 0xff, 0xee}, Participants: parts, MyIndex: 1, FundingStrategy: "Fake \u2603",
		Setup: st.Clone(), Joined: true, Creator: false,
		States: []core.StoredState{
			{State: st.Clone(), Hash: nitro.Bytes32{0x33}, Sigs: []nitro.Signature{sig, {}}},
		},
		Held:       []core.SignedState{{State: st.Clone(), Participants: parts, Signatures: []nitro.Signature{sig}}, {State: nitro.State{}, Participants: nil, Signatures: []nitro.Signature{}}},
		MyLastTurn: -1,
		Pending:    &core.Pending{State: st.Clone(), Hash: nitro.Bytes32{0x44}},
		Funding: []core.AssetFunding{
			{Asset: nitro.Address{1}, Holdings: new(big.Int).Set(maxU256), Deposits: map[int]core.TxStatus{0: core.TxRequested, 1: core.TxRetry, 7: core.TxDone, -1: core.TxNone}, PaidOut: true, Payouts: []*big.Int{new(big.Int).Set(maxU256), new(big.Int)}},
			{Asset: nitro.Address{2}, Holdings: new(big.Int), Deposits: map[int]core.TxStatus{}},
		},
		Conclude: core.TxRetry, Concluded: true, CloseInitiator: true, Now: -5, ClosedAt: 1<<62 + 3, TxWaitSince: 1<<40 + 9,
	}
	bare := core.Channel{ID: nitro.Bytes32{0xc0, 0xff, 0xef}, MyLastTurn: -1}
	effects := []core.Effect{
		core.SignState{ChannelID: full.ID, State: st.Clone(), Hash: nitro.Bytes32{0x44}},
		core.Send{ChannelID: full.ID, Message: core.Message{Recipient: "p\u00e9", Sender: "", Payload: core.Payload{
			WalletVersion: "x", SignedStates: []core.SignedState{{State: st.Clone(), Participants: parts, Signatures: []nitro.Signature{sig}}},
			Objectives: []core.Objective{{Type: core.ObjectiveFundGuarantor, Participants: parts, JointChannelID: nitro.Bytes32{5}, LedgerID: nitro.Bytes32{6}, GuarantorID: nitro.Bytes32{7}, Role: "app"}},
			Requests:   []core.Request{{Type: core.RequestGetChannel, ChannelID: full.ID}},
		}}},
		core.Deposit{ChannelID: full.ID, Asset: nitro.Address{1}, Item: 3, ExpectedHeld: new(big.Int).Set(maxU256), Amount: new(big.Int)},
		core.Conclude{ChannelID: full.ID, State: st.Clone(), Signatures: []nitro.Signature{sig, {}}},
		core.Watch{ChannelID: full.ID, Assets: []nitro.Address{{1}, {2}}},
		core.Watch{ChannelID: full.ID},
	}
	// Fake funding and a peer's CloseChannel objective (core/funding.go,
	// core/close.go), added after the format's first corpus: a new record.
	fakeClose := core.Channel{ID: nitro.Bytes32{0xc0, 0xff, 0xf0}, MyLastTurn: -1, FundingStrategy: core.FundingFake, Joined: true, CloseRequested: true}
	return []Snapshot{
		{Stage: "synthetic: every field set, extreme values", Channel: full, Effects: effects},
		{Stage: "synthetic: bare channel", Channel: bare},
		{Stage: "synthetic: Fake funding, close requested", Channel: fakeClose},
	}
}
