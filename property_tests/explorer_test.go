package propertytests

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"fmt"
	"math/big"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/sim"
)

// The explorer runs two pure cores, A and B, over one channel and
// enumerates every interleaving of: the API calls of the script (A
// creates, B joins, k updates by whoever's turn it is, a close, and up to d
// syncs by either), the delivery of any message in flight, the loss of one
// (at most d) or its duplication (at most d), up to d forgeries (a wallet
// signing the next turn although it is not its mover, which the other must
// reject), mining the pending transactions, and the delivery of each
// wallet's next chain event. Global states are keyed by
// their canonical rendering, so each is expanded once. Every reachable
// state is checked; every state without a move left (and every 16th state
// by hash) is driven to the end with syncs, which must close the channel
// and pay it out exactly. For k <= 2 the chain model has an adjudicator
// too (explorer_dispute_test.go): challenges by either wallet, a stale one
// by B, checkpoints, time passing and pushOutcome, explored in runs
// without network faults; a channel a finalized challenge closed must pay
// each wallet at least what its supported state gives it. The search is
// breadth first: a failure comes with a shortest sequence of moves that
// leads to it.

type explorer struct {
	k, d     int
	keys     [2]*ecdsa.PrivateKey
	parts    []core.Participant
	asset    nitro.Address
	amounts  [2]int64
	seen     map[[32]byte]bool
	signers  map[[97]byte]nitro.Address // recovered signers by hash and signature
	memo     map[[32]byte]stepResult
	steps    int
	hits     int
	states   int
	edges    int
	liveness int
	// disputed counts the states with a challenge on chain.
	disputed int
	failure  string
	// failPath is the moves that led to the first failure.
	failPath []string
}

// xmsg is a message in flight with what the explorer derives from it once:
// its key and the signatures it carries.
type xmsg struct {
	m      core.Message
	key    string
	sigs   []signedTurn
	forged bool
}

// signedTurn is one signature: who signed which turn's state.
type signedTurn struct {
	signer nitro.Address
	turn   uint64
	hash   nitro.Bytes32
}

func (x *explorer) newMsg(m core.Message) (*xmsg, error) {
	xm := &xmsg{m: m, key: digest(sim.Canonical(m))}
	for _, ss := range m.Payload.SignedStates {
		h, err := ss.State.Hash()
		if err != nil {
			return nil, err
		}
		for _, sig := range ss.Signatures {
			who, err := x.recover(h, sig)
			if err != nil {
				return nil, err
			}
			xm.sigs = append(xm.sigs, signedTurn{who, ss.State.TurnNum, h})
		}
	}
	return xm, nil
}

// digest shortens a canonical rendering to a hash.
func digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return string(h[:])
}

// xtx is a transaction waiting to be mined. By is the wallet that
// submitted a dispute transaction; Hostile marks the stale challenge the
// explorer submits with B's key behind B's core.
type xtx struct {
	Dep     *core.Deposit
	Concl   *core.Conclude
	Chal    *core.SubmitChallenge
	Check   *core.SubmitCheckpoint
	Push    *core.PushOutcome
	By      int
	Hostile bool
}

// xstate is a global state. It is a value: successors copy it.
type xstate struct {
	Nodes     [2]core.Channel
	Net       []*xmsg
	Pending   []xtx
	Events    [2][]core.ChainEvent
	Holdings  *big.Int
	Deposited *big.Int
	Paid      [2]*big.Int
	Concluded bool
	Block     uint64
	Updates   int
	Closed    bool
	Drops     int
	Dups      int
	Syncs     int
	Forges    int
	// The adjudicator (k <= 2 only, explorer_dispute_test.go): the chain's
	// time, the channel's record, whether a challenge's outcome was pushed,
	// the challenges made so far (and by whom), and the oldest support
	// proof B ever held (for the hostile stale challenge).
	ChainTime  uint64
	Rec        xrecord
	Pushed     bool
	Challenges int
	Challenged [2]bool
	Stale      *core.SupportProof
}

func newExplorer(k, d int) *explorer {
	x := &explorer{k: k, d: d, asset: nitro.Address{0xee}, amounts: [2]int64{5, 3}, seen: map[[32]byte]bool{}, signers: map[[97]byte]nitro.Address{}, memo: map[[32]byte]stepResult{}}
	for i := range x.keys {
		key, err := crypto.ToECDSA(crypto.Keccak256([]byte(fmt.Sprintf("explorer-%d", i))))
		if err != nil {
			panic(err)
		}
		x.keys[i] = key
		a := crypto.PubkeyToAddress(key.PublicKey)
		x.parts = append(x.parts, core.Participant{ParticipantID: string(rune('A' + i)), SigningAddress: a, Destination: nitro.AddressToDestination(a)})
	}
	return x
}

// clone copies a state for a successor. The channels are shared: Step
// never changes its argument and the explorer only ever replaces a node's
// channel, so sharing them keeps the frontier small.
func (s *xstate) clone() *xstate {
	c := *s
	for i := range c.Nodes {
		c.Events[i] = slices.Clone(s.Events[i])
	}
	c.Net = slices.Clone(s.Net)
	c.Pending = slices.Clone(s.Pending)
	c.Holdings = new(big.Int).Set(s.Holdings)
	c.Deposited = new(big.Int).Set(s.Deposited)
	for i := range c.Paid {
		c.Paid[i] = new(big.Int).Set(s.Paid[i])
	}
	return &c
}

// key identifies a global state, with the messages in flight as a
// multiset.
func (s *xstate) key() [32]byte {
	net := make([]string, len(s.Net))
	for i, m := range s.Net {
		net[i] = m.key
	}
	slices.Sort(net)
	h := sha256.New()
	for i := range s.Nodes {
		h.Write(nodeKey(&s.Nodes[i]))
	}
	c := *s
	c.Net, c.Nodes = nil, [2]core.Channel{}
	if c.Stale != nil {
		// B's oldest support proof is keyed by its turn: the states of a
		// turn are unique (check) and signatures deterministic.
		c.Stale = nil
		h.Write(strconv.AppendUint([]byte("stale"), c.stateTurn(s.Stale), 10))
	}
	h.Write([]byte(sim.Canonical(c)))
	h.Write([]byte(strings.Join(net, "|")))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// nodeKey renders what can differ between two states of one core in the
// explorer (the setup and participants are fixed once created).
func nodeKey(c *core.Channel) []byte {
	b := append([]byte{byte(c.MyIndex)}, c.ID[:]...)
	flags := []bool{c.Joined, c.Creator, c.Concluded, c.CloseInitiator, c.Pending != nil}
	for _, f := range flags {
		if f {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	num := func(tag byte, x int64) { b = strconv.AppendInt(append(b, tag), x, 10) }
	num('l', c.MyLastTurn)
	num('c', int64(c.Conclude))
	num('n', c.Now)
	num('a', c.ClosedAt)
	num('w', c.TxWaitSince)
	num('r', c.ReplyWaitSince)
	num('x', int64(c.Challenge))
	if d := c.Dispute; d != nil {
		b = append(b, sim.Canonical(d)...)
	}
	if c.Pending != nil {
		b = append(b, c.Pending.Hash[:]...)
	}
	sig := func(g nitro.Signature) { b = append(append(append(b, g.R[:]...), g.S[:]...), g.V) }
	for _, st := range c.States {
		num('s', int64(st.State.TurnNum))
		b = append(b, st.Hash[:]...)
		for _, g := range st.Sigs {
			sig(g)
		}
	}
	for _, h := range c.Held {
		num('h', int64(h.State.TurnNum))
		for _, g := range h.Signatures {
			sig(g)
		}
	}
	for _, f := range c.Funding {
		b = f.Holdings.Append(append(b, 'f'), 10)
		if f.PaidOut {
			b = append(b, 'p')
		}
		for _, p := range f.Payouts {
			b = p.Append(append(b, '/'), 10)
		}
		for k := 0; k < 4; k++ {
			num('d', int64(f.Deposits[k]))
		}
	}
	return b
}

// deployment is the explored chain: its one asset, any challenge duration.
func (x *explorer) deployment() core.Deployment {
	return core.Deployment{ChainID: big.NewInt(sim.ChainID), AssetHolders: []nitro.Address{x.asset}, MinChallengeDuration: 1, MaxChallengeDuration: nitro.MaxUint48}
}

func (x *explorer) outcome(a, b int64) nitro.Outcome {
	return nitro.Outcome{{AssetHolder: x.asset, Allocation: []nitro.AllocationItem{
		{Destination: x.parts[0].Destination, Amount: big.NewInt(a)},
		{Destination: x.parts[1].Destination, Amount: big.NewInt(b)},
	}}}
}

// check verifies a state's invariants, and that nothing went back since its
// parent.
func (x *explorer) check(s, parent *xstate) error {
	type who struct {
		signer nitro.Address
		turn   uint64
	}
	sigs := map[who]nitro.Bytes32{} // signer and turn -> state hash
	byTurn := map[uint64]nitro.Bytes32{}
	for i := range s.Nodes {
		c := &s.Nodes[i]
		for _, st := range c.States {
			if !st.SignedBy(int(st.State.TurnNum % 2)) {
				return fmt.Errorf("%s stores turn %d without its mover's signature", x.parts[i].ParticipantID, st.State.TurnNum)
			}
			if h, ok := byTurn[st.State.TurnNum]; ok && h != st.Hash {
				return fmt.Errorf("A and B hold different states for turn %d", st.State.TurnNum)
			}
			byTurn[st.State.TurnNum] = st.Hash
			for j, g := range st.Sigs {
				if g.V != 0 {
					k := who{x.parts[j].SigningAddress, st.State.TurnNum}
					if prev, ok := sigs[k]; ok && prev != st.Hash {
						return fmt.Errorf("%s signed two states for turn %d", x.parts[j].ParticipantID, st.State.TurnNum)
					}
					sigs[k] = st.Hash
				}
			}
		}
		for _, f := range c.Funding {
			if !f.PaidOut && f.Holdings.Cmp(s.Deposited) > 0 {
				return fmt.Errorf("%s believes holdings %v, the chain received %v", x.parts[i].ParticipantID, f.Holdings, s.Deposited)
			}
		}
		if parent != nil && parent.Nodes[i].ID != (nitro.Bytes32{}) {
			p := &parent.Nodes[i]
			if !disputeStatus(c.Status()) && !disputeStatus(p.Status()) && statusRankOf(c.Status()) < statusRankOf(p.Status()) || c.TurnNum() < p.TurnNum() || c.MyLastTurn < p.MyLastTurn {
				return fmt.Errorf("%s went back: %s turn %d -> %s turn %d", x.parts[i].ParticipantID, p.Status(), p.TurnNum(), c.Status(), c.TurnNum())
			}
		}
	}
	for _, m := range s.Net {
		for _, st := range m.sigs {
			k := who{st.signer, st.turn}
			if prev, ok := sigs[k]; ok && prev != st.hash {
				return fmt.Errorf("%s signed two states for turn %d", st.signer, st.turn)
			}
			sigs[k] = st.hash
		}
	}
	paid := new(big.Int).Add(s.Paid[0], s.Paid[1])
	if new(big.Int).Add(s.Holdings, paid).Cmp(s.Deposited) != 0 {
		return fmt.Errorf("funds: deposited %v != holdings %v + payouts %v", s.Deposited, s.Holdings, paid)
	}
	return nil
}

func (x *explorer) recover(h nitro.Bytes32, sig nitro.Signature) (nitro.Address, error) {
	var k [97]byte
	copy(k[:32], h[:])
	copy(k[32:], sig.Bytes())
	if a, ok := x.signers[k]; ok {
		return a, nil
	}
	a, err := nitro.RecoverSigner(h, sig)
	if err == nil {
		x.signers[k] = a
	}
	return a, err
}

var statusOrder = []core.Status{core.StatusProposed, core.StatusOpening, core.StatusFunding, core.StatusRunning, core.StatusClosing, core.StatusClosed}

func statusRankOf(s core.Status) int { return slices.Index(statusOrder, s) }

// disputeStatus: a dispute's statuses, which end where the channel was
// (a cleared challenge) or closed.
func disputeStatus(s core.Status) bool {
	return s == core.StatusChallenging || s == core.StatusResponding
}

// finish drives a state to its end: every move but drops and duplicates,
// in order, until none is left; then both sync; until the channel is done.
// It must end closed, concluded and paid out exactly.
func (x *explorer) finish(s *xstate) error {
	s = s.clone()
	x.liveness++
	for round := 0; round < 6; round++ {
		for n := 0; n < 10000; n++ {
			var mv *move
			for _, m := range x.moves(s) {
				if !strings.HasPrefix(m.label, "drop") && !strings.Contains(m.label, "challenges") && !strings.HasPrefix(m.label, "duplicate") && !strings.HasSuffix(m.label, "syncs") && !strings.Contains(m.label, "forges") {
					mv = &m
					break
				}
			}
			if mv == nil {
				break
			}
			if err := mv.apply(s); err != nil {
				return fmt.Errorf("finishing: %w", err)
			}
		}
		if x.done(s) {
			return nil
		}
		for i := range s.Nodes {
			if s.Nodes[i].ID != (nitro.Bytes32{}) {
				if err := x.step(s, i, core.Sync{}); err != nil {
					return fmt.Errorf("sync: %w", err)
				}
			}
		}
	}
	return fmt.Errorf("stuck: A %s turn %d, B %s turn %d, %d in flight", s.Nodes[0].Status(), s.Nodes[0].TurnNum(), s.Nodes[1].Status(), s.Nodes[1].TurnNum(), len(s.Net))
}

// done: both closed, concluded and paid out exactly the final outcome.
func (x *explorer) done(s *xstate) bool {
	if s.Pushed {
		return x.disputeDone(s)
	}
	for i := range s.Nodes {
		if s.Nodes[i].Status() != core.StatusClosed || s.Nodes[i].FundingStatus() != core.FundingDefunded {
			return false
		}
	}
	f, _ := s.Nodes[0].Final()
	for k, it := range f.State.Outcome[0].Allocation {
		if s.Paid[k].Cmp(it.Amount) != 0 {
			return false
		}
	}
	return s.Concluded && s.Holdings.Sign() == 0 && len(s.Pending) == 0
}

// run explores breadth first, so that a failure is reported with a
// shortest path to it. Each state is checked when it is reached (against
// the state it was reached from), expanded once, and, if no move is left or
// one in 16 by its key, driven to the end.
func (x *explorer) run() {
	root := &xstate{Holdings: new(big.Int), Deposited: new(big.Int), Paid: [2]*big.Int{new(big.Int), new(big.Int)}}
	type edge struct {
		from  [32]byte
		label string
	}
	parents := map[[32]byte]edge{}
	path := func(k [32]byte, last ...string) []string {
		var p []string
		for {
			e, ok := parents[k]
			if !ok {
				break
			}
			p = append(p, e.label)
			k = e.from
		}
		slices.Reverse(p)
		return append(p, last...)
	}
	rootKey := root.key()
	x.seen[rootKey] = true
	queue := []*xstate{root}
	keys := [][32]byte{rootKey}
	for len(queue) > 0 && x.failure == "" {
		s, key := queue[0], keys[0]
		queue, keys = queue[1:], keys[1:]
		x.states++
		ms := x.moves(s)
		if len(ms) == 0 || key[0]%16 == 0 {
			if err := x.finish(s); err != nil {
				x.fail(err, path(key, "(then driven to the end)"))
				return
			}
		}
		for _, mv := range ms {
			x.edges++
			t := s.clone()
			if err := mv.apply(t); err != nil {
				x.fail(err, path(key, mv.label))
				return
			}
			if err := x.check(t, s); err != nil {
				x.fail(err, path(key, mv.label))
				return
			}
			k := t.key()
			if x.seen[k] {
				continue
			}
			x.seen[k] = true
			if t.Rec.FinalizesAt != 0 {
				x.disputed++
			}
			parents[k] = edge{key, mv.label}
			queue = append(queue, t)
			keys = append(keys, k)
		}
	}
}

func (x *explorer) fail(err error, path []string) {
	if x.failure == "" {
		x.failure = err.Error()
		x.failPath = slices.Clone(path)
	}
}

// TestExplore explores every delivery order of two wallets opening a
// channel, making k = 2 updates and closing it, with up to d = 1 drop,
// duplicate, sync and forgery. NITROWALLET_EXPLORE lists other "k,d"
// bounds to explore instead, space separated (make soak).
func TestExplore(t *testing.T) {
	t.Parallel()
	bounds := [][2]int{{0, 0}, {2, 1}}
	if env := os.Getenv("NITROWALLET_EXPLORE"); env != "" {
		bounds = nil
		for _, f := range strings.Fields(env) {
			var k, d int
			if _, err := fmt.Sscanf(f, "%d,%d", &k, &d); err != nil {
				t.Fatalf("NITROWALLET_EXPLORE=%q: want k,d pairs: %v", env, err)
			}
			bounds = append(bounds, [2]int{k, d})
		}
	}
	for _, b := range bounds {
		k, d := b[0], b[1]
		if testing.Short() && k+d > 1 {
			continue
		}
		t.Run(fmt.Sprintf("k=%d,d=%d", k, d), func(t *testing.T) {
			start := time.Now()
			x := newExplorer(k, d)
			x.run()
			if x.failure != "" {
				t.Fatalf("%s\nafter:\n  %s", x.failure, strings.Join(x.failPath, "\n  "))
			}
			t.Logf("k=%d d=%d: %d states (%d with a challenge on chain), %d transitions explored, %d driven to the end (%d Steps computed, %d memoized), in %v",
				k, d, x.states, x.disputed, x.edges, x.liveness, x.steps, x.hits, time.Since(start).Round(time.Millisecond))
		})
	}
}
