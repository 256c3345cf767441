//go:build unix

package postgres_test

// The dispute half of the crash test (crash_test.go): channel 2 (the 7/2
// one) ends by A's challenge instead of a cooperative close. B goes
// silent on it after its last update (and its wallet never defends it);
// A challenges with its supported state; the referee (in the parent) moves the memory chain's clock to
// the challenge's finalizesAt once it is registered; A's ticks push the
// outcome, which pays the challenged state's split. Before that, B makes
// a stale challenge with its postfund state once A's update is in (staleB)
// and A's wallet clears it with a checkpoint. Crash points then fall in
// every dispute phase: the challenge's commit and submission, the
// registered event, the checkpoint, the push and the payout events.

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// crashDisputed is the total of the channel that ends by A's challenge.
const crashDisputed = 9

// crashPhases are the phases a crash point is reported in, in the order
// channel 2 goes through them (phaseOf): B's stale challenge registered
// (challenged) and cleared by A's checkpoint, A's challenge asked for
// (challenge), registered (challenged again), pushed and paid; channel 1
// goes from running to closing.
var crashPhases = []string{"open", "funding", "running", "checkpoint", "challenge", "challenged", "push", "payout", "closing"}

// crashDisputePhases must each see a kill in TestCrashRecovery's runs.
var crashDisputePhases = []string{"checkpoint", "challenge", "challenged", "push"}

// crashDisputeSites are the dispute transactions' crash points, each the
// target of one kill.
var crashDisputeSites = []string{"chain.Checkpoint.before", "chain.Challenge.before", "chain.Challenge.after", "chain.Push.before", "chain.Push.after"}

// crashSignKills are the signatures (by count in a run) after which a run
// is killed, before their commit.
var crashSignKills = []int{1, 4, 7}

var phaseRank = map[string]int{"open": 0, "funding": 1, "running": 2, "challenge": 3, "checkpoint": 3, "challenged": 4, "push": 5, "payout": 6, "closing": 6}

// crashTarget is where a run's first kill falls: the at-th crash point,
// or when phase is set the at-th point of that phase or with that label
// (the dispute phases come late in a run, where a point's number varies
// with the interleaving).
type crashTarget struct {
	phase string
	at    int
}

func (c crashTarget) String() string {
	if c.phase != "" {
		return fmt.Sprintf("%s=%d", c.phase, c.at)
	}
	return fmt.Sprintf("point=%d", c.at)
}

// crashPoints chooses the kills: two in each dispute phase and in closing
// (its first point and one in its middle, by the dry run's count; closing
// comes last in a run, past the spread's reach), one after each of the
// signatures crashSignKills counts (before its commit), and one at each dispute
// transaction's submission (crashDisputeSites), the rest spread over the
// first 95% of a run's points (the count varies a little from run to run
// with the interleaving).
func crashPoints(dry []kill, runs int) []crashTarget {
	var targets []crashTarget
	for _, p := range append(crashDisputePhases[:len(crashDisputePhases):len(crashDisputePhases)], "closing") {
		n := 0
		for _, k := range dry {
			if k.phase == p {
				n++
			}
		}
		if n > 0 && len(targets)+2 <= runs/2 {
			targets = append(targets, crashTarget{p, 1})
			if n > 1 {
				targets = append(targets, crashTarget{p, 1 + n/2})
			}
		}
	}
	for _, l := range crashDisputeSites {
		if len(targets)+1 <= runs/2 {
			targets = append(targets, crashTarget{l, 1})
		}
	}
	// The wallet signs before it commits: kills between a signature and
	// its commit (the signature must be forgotten, never sent).
	for _, k := range crashSignKills {
		if len(targets)+1 <= runs/2 {
			targets = append(targets, crashTarget{"signer.after", k})
		}
	}
	span := len(dry) * 95 / 100
	spread := min(runs-len(targets), span)
	for i := 0; i < spread; i++ {
		targets = append(targets, crashTarget{at: 1 + i*span/spread})
	}
	return targets
}

// phaseOf names where a channel is: its status, with a dispute split into
// my challenge asked for and not yet registered (challenge), a stale one I
// answer with a checkpoint (checkpoint), a registered one running
// (challenged), one finalized by the chain's clock (push), and paid out
// (payout).
func phaseOf(c core.Channel) string {
	d := c.Dispute
	switch c.Status() {
	case core.StatusProposed, core.StatusOpening:
		return "open"
	case core.StatusFunding:
		return "funding"
	case core.StatusRunning:
		return "running"
	case core.StatusResponding:
		return "checkpoint"
	case core.StatusChallenging:
		switch {
		case d == nil:
			return "challenge"
		case d.Push != core.TxNone || d.FinalizesAt > 0 && d.ChainTime >= d.FinalizesAt:
			return "push"
		}
		return "challenged"
	case core.StatusClosed:
		if d != nil {
			return "payout"
		}
	}
	return "closing"
}

// challengeIntent journals a committed SubmitChallenge: the challenger
// signature it asks for is over the challenge hash of the proof's last
// state, told apart from state signatures in checkJournal.
func (c *crasher) challengeIntent(j *journal, e core.SubmitChallenge) {
	if len(e.Proof.States) == 0 {
		return
	}
	last := e.Proof.States[len(e.Proof.States)-1]
	h, err := last.Hash()
	if err != nil {
		return
	}
	ch := nitro.ChallengeHash(h)
	j.log("challenge %s %d %s", e.ChannelID.Hex(), last.TurnNum, ch.Hex())
	c.mu.Lock()
	c.hashes[ch] = e.ChannelID
	c.mu.Unlock()
}

func proofChannel(p ports.SupportProof) nitro.Bytes32 {
	if len(p.States) == 0 {
		return nitro.Bytes32{}
	}
	id, _ := p.States[len(p.States)-1].ChannelID()
	return id
}

func stateChannel(s nitro.State) nitro.Bytes32 {
	id, _ := s.ChannelID()
	return id
}

// Challenge implements ports.Disputes with crash points around it.
func (ch *crashChain) Challenge(ctx context.Context, req ports.ChallengeRequest) (ports.TxHash, error) {
	id := proofChannel(req.Proof)
	ch.c.point("chain.Challenge.before", id)
	tx, err := ch.Chain.Challenge(ctx, req)
	ch.c.point("chain.Challenge.after", id)
	return tx, err
}

// Checkpoint implements ports.Disputes with crash points around it.
func (ch *crashChain) Checkpoint(ctx context.Context, req ports.CheckpointRequest) (ports.TxHash, error) {
	id := proofChannel(req.Proof)
	ch.c.point("chain.Checkpoint.before", id)
	tx, err := ch.Chain.Checkpoint(ctx, req)
	ch.c.point("chain.Checkpoint.after", id)
	return tx, err
}

// Respond implements ports.Disputes with crash points around it.
func (ch *crashChain) Respond(ctx context.Context, req ports.RespondRequest) (ports.TxHash, error) {
	id := stateChannel(req.Challenged)
	ch.c.point("chain.Respond.before", id)
	tx, err := ch.Chain.Respond(ctx, req)
	ch.c.point("chain.Respond.after", id)
	return tx, err
}

// PushOutcomeAndTransferAll implements ports.Disputes with crash points
// around it.
func (ch *crashChain) PushOutcomeAndTransferAll(ctx context.Context, req ports.PushOutcomeRequest) (ports.TxHash, error) {
	id := stateChannel(req.Challenged)
	ch.c.point("chain.Push.before", id)
	tx, err := ch.Chain.PushOutcomeAndTransferAll(ctx, req)
	ch.c.point("chain.Push.after", id)
	return tx, err
}

// Record implements ports.Disputes with crash points around it.
func (ch *crashChain) Record(ctx context.Context, id nitro.Bytes32) (ports.ChannelRecord, error) {
	ch.c.point("chain.Record.before", id)
	r, err := ch.Chain.Record(ctx, id)
	ch.c.point("chain.Record.after", id)
	return r, err
}

// BlockTime implements ports.Disputes with crash points around it (every
// tick reads it).
func (ch *crashChain) BlockTime(ctx context.Context) (uint64, error) {
	ch.c.point("chain.BlockTime.before", nitro.Bytes32{})
	t, err := ch.Chain.BlockTime(ctx)
	ch.c.point("chain.BlockTime.after", nitro.Bytes32{})
	return t, err
}

// referee watches the parent's chain: it keeps each channel's running
// challenge (the last registered and not cleared) and, when A's challenge
// registers, moves the chain's clock to its finalizesAt, so A's next tick
// pushes the outcome (B's backup push waits 60 s more chain time).
type referee struct {
	mu         sync.Mutex
	registered map[nitro.Bytes32]core.ChainEvent
	challenges int // registrations seen, A's and others'
	cleared    int
}

func startReferee(ctx context.Context, chain *memory.Chain, a nitro.Address) (*referee, error) {
	evs, err := chain.Account(nitro.Address{}).Events(ctx, ports.Cursor{})
	if err != nil {
		return nil, err
	}
	r := &referee{registered: map[nitro.Bytes32]core.ChainEvent{}}
	go func() {
		for ev := range evs {
			r.mu.Lock()
			switch ev.Kind {
			case core.EventChallengeRegistered:
				r.registered[ev.ChannelID] = ev
				r.challenges++
				if now := chain.Now(); ev.Challenger == a && ev.FinalizesAt > now {
					chain.AdjustTime(ev.FinalizesAt - now)
				}
			case core.EventChallengeCleared:
				delete(r.registered, ev.ChannelID)
				r.cleared++
			}
			r.mu.Unlock()
		}
	}()
	return r, nil
}

// disputed is the challenge that finalized on a channel, if any.
func (r *referee) disputed(id nitro.Bytes32) (core.ChainEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev, ok := r.registered[id]
	return ev, ok && ev.Challenge != nil && len(ev.Challenge.States) > 0
}

// split is what a state's ETH outcome pays A's and B's destinations.
func split(s nitro.State) (a, b int64) {
	da, db := nitro.AddressToDestination(crashDest("A")), nitro.AddressToDestination(crashDest("B"))
	for _, o := range s.Outcome {
		for _, it := range o.Allocation {
			switch it.Destination {
			case da:
				a += it.Amount.Int64()
			case db:
				b += it.Amount.Int64()
			}
		}
	}
	return a, b
}

// expectedPayouts: the cooperative channel pays its final split (the
// initial one, B's last update), the disputed one the challenged state's;
// want counts the (channel, turn, signer) signatures the stores hold (no
// final state on the disputed channel).
func expectedPayouts(t *testing.T, ref *referee, chans []core.Channel) (wantA, wantB int64, sigs int) {
	t.Helper()
	for _, c := range chans {
		var tot int64
		if s, ok := c.Latest(); ok {
			a, b := split(s.State)
			tot = a + b
		}
		ev, disputed := ref.disputed(c.ID)
		switch {
		case tot == crashDisputed && disputed:
			st := ev.Challenge.States[len(ev.Challenge.States)-1]
			if ev.Challenger != crashSigner("A").Address() || st.TurnNum < 4 || st.TurnNum > crashLastTurn {
				t.Fatalf("channel %s: finalized challenge by %s on turn %d, want A's on turn 4..%d", c.ID, ev.Challenger, st.TurnNum, crashLastTurn)
			}
			a, b := split(st)
			wantA, wantB = wantA+a, wantB+b
			sigs += crashLastTurn + 1 + (crashLastTurn - 3)
		case tot == crashDisputed:
			t.Fatalf("channel %s (total %d) closed without a finalized challenge", c.ID, tot)
		case disputed:
			t.Fatalf("channel %s (total %d) was challenged: %+v", c.ID, tot, ev)
		default:
			a := crashAllocs[tot]
			wantA, wantB = wantA+a[0], wantB+a[1]
			sigs += crashLastTurn + 1 + (crashLastTurn - 3) + 2
		}
	}
	return wantA, wantB, sigs
}

// checkJournal: every state signature the child's key made was for a
// state it then committed (signed before the commit, released only after
// it: app's signnow.go) or for its intent committed first (the path taken
// when the signer fails); a signature that neither followed, made by a run
// killed before its commit, never left the process (the stores' check in
// checkOutcome would see it in B's store otherwise) and is only counted.
// Per channel and turn the key committed one state, always with the same
// signature. Challenger signatures are told apart: each is over the
// challenge hash of a committed SubmitChallenge's state, and per channel
// and turn the key signed one challenge. A run must have signed both kinds.
func checkJournal(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type ct struct {
		ch   string
		turn string
	}
	lines := strings.Split(string(b), "\n")
	intent, challenge := map[string]ct{}, map[string]ct{}
	for _, l := range lines {
		w := strings.Fields(l)
		switch {
		case len(w) == 4 && (w[0] == "intent" || w[0] == "commit"):
			intent[w[3]] = ct{w[1], w[2]}
		case len(w) == 4 && w[0] == "challenge":
			challenge[w[3]] = ct{w[1], w[2]}
		}
	}
	signed, challenged := map[ct]map[string]bool{}, map[ct]map[string]bool{}
	committed := map[ct]map[string]bool{}
	for h, c := range intent {
		if committed[c] == nil {
			committed[c] = map[string]bool{}
		}
		committed[c][h] = true
	}
	sigOf := map[string]string{}
	forgotten := 0
	for _, l := range lines {
		w := strings.Fields(l)
		if len(w) != 3 || w[0] != "signed" {
			continue
		}
		// A state signature, or a challenger signature over the
		// challenge hash of a committed SubmitChallenge's state.
		kind := signed
		c, ok := intent[w[1]]
		if !ok {
			c, ok = challenge[w[1]]
			kind = challenged
		}
		if !ok {
			forgotten++ // signed, then killed before the commit
			continue
		}
		if kind[c] == nil {
			kind[c] = map[string]bool{}
		}
		kind[c][w[1]] = true
		if prev, ok := sigOf[w[1]]; ok && prev != w[2] {
			t.Errorf("hash %s signed two ways", w[1])
		}
		sigOf[w[1]] = w[2]
	}
	for c, hs := range committed {
		if len(hs) != 1 {
			t.Errorf("A committed %d different signed states for channel %s turn %s", len(hs), c.ch, c.turn)
		}
	}
	for c, hs := range challenged {
		if len(hs) != 1 {
			t.Errorf("A's key signed %d different challenges for channel %s turn %s", len(hs), c.ch, c.turn)
		}
	}
	if len(signed) == 0 || len(challenged) == 0 {
		t.Errorf("journal records %d signed turns and %d signed challenges, want both", len(signed), len(challenged))
	}
	t.Logf("journal: %d signed turns, %d signed challenges, %d signatures forgotten by a kill before their commit", len(signed), len(challenged), forgotten)
}

// staleB plays B's stale challenge on channel 2: B's store keeps the
// support proof of its postfund (turn 3); once A's update (turn 4) is in,
// B challenges with that proof through its own chain account, and holds
// its own update until the challenge is cleared. B's wallet does not
// defend (its checkpoints are dropped, see silentChain), so A's wallet
// must clear it with a checkpoint of turn 4.
type staleB struct {
	mu     sync.Mutex
	proof  *ports.SupportProof
	issued bool
	chain  ports.Chain
	signer ports.Signer
	ref    *referee
}

// staleStore keeps B's channel-2 proof of turn 3 as commits go by.
type staleStore struct {
	ports.Store
	s *staleB
}

func (st *staleStore) Commit(ctx context.Context, changes []ports.Change) ([]ports.OutboxEntry, error) {
	entries, err := st.Store.Commit(ctx, changes)
	if err != nil {
		return entries, err
	}
	for _, ch := range changes {
		c := ch.Channel
		l, ok := c.Latest()
		if !ok {
			continue
		}
		if a, b := split(l.State); a+b != crashDisputed {
			continue
		}
		if sup, ok := c.Supported(); ok && sup.State.TurnNum == 3 {
			if p, err := c.SupportProof(); err == nil {
				st.s.mu.Lock()
				if st.s.proof == nil {
					st.s.proof = &p
				}
				st.s.mu.Unlock()
			}
		}
	}
	return entries, nil
}

// silentChain is B's chain without checkpoints: B's wallet would clear its
// own stale challenge otherwise. The dropped transaction never reaches
// the chain, as if B's node lost it.
type silentChain struct{ ports.Chain }

// Checkpoint implements ports.Disputes: dropped.
func (silentChain) Checkpoint(context.Context, ports.CheckpointRequest) (ports.TxHash, error) {
	return ports.TxHash{}, nil
}

// hold reports whether B must leave channel c alone this round: B
// challenges channel 2 at turn 4 with its stale proof, then waits until the
// challenge is cleared before its own update.
func (s *staleB) hold(ctx context.Context, c app.ChannelResult) bool {
	if total(c) != crashDisputed || c.Status != core.StatusRunning && c.Status != core.StatusChallenging {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.issued {
		s.ref.mu.Lock()
		defer s.ref.mu.Unlock()
		return s.ref.cleared == 0
	}
	if c.TurnNum != 4 || c.Status != core.StatusRunning || s.proof == nil {
		return false
	}
	last := s.proof.States[len(s.proof.States)-1]
	h, err := last.Hash()
	if err != nil {
		return false
	}
	sig, err := s.signer.SignState(ctx, nitro.ChallengeHash(h))
	if err != nil {
		return false
	}
	if _, err := s.chain.Challenge(ctx, ports.ChallengeRequest{Proof: *s.proof, ChallengerSignature: sig}); err != nil {
		return false
	}
	s.issued = true
	return true
}

// staleDone reports whether B's stale challenge was made and cleared.
func (s *staleB) staleDone() (issued bool, cleared int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ref.mu.Lock()
	defer s.ref.mu.Unlock()
	return s.issued, s.ref.cleared
}
