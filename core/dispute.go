// Disputes: a challenge on the adjudicator, the wallet's own or a peer's,
// and what the wallet does about it. A live dispute is a mode the crank
// checks first (crank.go).
//
// Input: Challenge (challenge), ChallengeChannel in the client API. Guards,
// in order: joined; no final state signed by all (conclude instead); not
// Fake-funded (nothing on chain); no challenge of mine requested or running; a support proof of my supported
// state (SupportProof). Then SubmitChallenge: the app signs the challenge
// hash and calls challenge.
//
// Chain inputs (onchain.go hands them here): ChallengeRegistered records
// the dispute (turn number record, finalizesAt, challenger, the challenged
// state); ChallengeCleared ends it, and so does Concluded (a conclude
// finalizes the channel with the final state I hold); AllocationUpdated
// after a finalized dispute pays the challenged state's outcome.
//
// Guards of the crank while a dispute is recorded (defend), in protocol
// order:
//  1. finalized (a Tick at or past finalizesAt): pushOutcomeAndTransferAll,
//     by the challenger's wallet at once and by the others as a backup
//     after BackupConcludeDelay; nothing else happens on the channel;
//  2. stale (my supported state is newer than the record): checkpoint with
//     my supported state's proof, once (retried after a failure on a
//     Tick), unless I hold a final state signed by all (close's conclude
//     answers then);
//  3. otherwise the challenge runs to its end: it is a force-close on a
//     state I hold no newer support for.
//
// No respond: whenever I hold turn t+1 of a challenge on turn t, I can
// prove it, so checkpoint answers. On a channel with an app my latest state
// is supported (its last n states, each signed by its mover, as accept
// requires); without an app respond cannot run (the adjudicator would call
// validTransition at address zero), and a state signed by all is what
// checkpoint takes. A respond would only add a new move of mine, which the
// app's user, not the wallet, decides.

package core

import (
	"errors"
	"fmt"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// ErrDisputed: a challenge of mine is requested or one is registered on
// the channel; updates wait for its end.
var ErrDisputed = errors.New("core: a challenge is running on the channel")

// ErrNoSupport: the wallet holds no state it can prove on chain yet (the
// prefund states are not all signed).
var ErrNoSupport = errors.New("core: no supported state to challenge with")

// ErrNotOnChain: a Fake-funded channel is never watched on chain (its
// funds are not there), so a challenge of it would never be seen
// registered, and would be submitted again and again.
var ErrNotOnChain = errors.New("core: a Fake-funded channel has nothing on chain to challenge")

// Challenge asks the wallet to challenge on chain with its supported state
// (client API ChallengeChannel).
type Challenge struct{}

func (Challenge) isInput() {}

// Dispute is a challenge registered on the adjudicator for the channel and
// what this wallet does about it.
type Dispute struct {
	// TurnNumRecord, FinalizesAt and Challenger are ChallengeRegistered's;
	// Challenged is the registered state (its outcome is paid if the
	// challenge finalizes).
	TurnNumRecord uint64
	FinalizesAt   uint64
	Challenger    nitro.Address
	Challenged    nitro.State
	// Checkpoint tracks my checkpoint of a newer supported state; Push my
	// pushOutcomeAndTransferAll once the challenge finalized.
	Checkpoint TxStatus
	Push       TxStatus
	// ChainTime is the latest block time a Tick reported (Tick.ChainTime),
	// the clock finalizesAt is read on; 0 until one does (Tick.Now then).
	ChainTime uint64
}

// SubmitChallenge asks the app to sign the challenge hash of the proof's
// last state with this wallet's key and submit challenge.
type SubmitChallenge struct {
	ChannelID nitro.Bytes32
	Proof     SupportProof
}

// SubmitCheckpoint asks the app to submit checkpoint with the proof.
type SubmitCheckpoint struct {
	ChannelID nitro.Bytes32
	Proof     SupportProof
}

// PushOutcome asks the app to submit pushOutcomeAndTransferAll for a
// finalized challenge.
type PushOutcome struct {
	ChannelID     nitro.Bytes32
	Challenged    nitro.State
	TurnNumRecord uint64
	FinalizesAt   uint64
	Challenger    nitro.Address
}

func (SubmitChallenge) isEffect()  {}
func (SubmitCheckpoint) isEffect() {}
func (PushOutcome) isEffect()      {}

func (s *stepper) challenge() error {
	c := &s.c
	if !c.Joined {
		return ErrNotRunning
	}
	if f, ok := c.Final(); ok && f.SignedByAll() {
		return ErrChannelClosed
	}
	if c.fake() {
		return ErrNotOnChain
	}
	if c.Dispute != nil || c.Challenge == TxRequested || c.Challenge == TxRetry {
		return ErrDisputed
	}
	p, err := c.SupportProof()
	if err != nil {
		return err
	}
	c.Challenge = TxRequested
	s.emit(SubmitChallenge{ChannelID: c.ID, Proof: p})
	return nil
}

// SupportProof returns the shortest support proof of my supported state
// the adjudicator accepts: the fewest consecutive states ending at it in
// which every participant signed one (whoSignedWhat names the latest each
// signed).
func (c *Channel) SupportProof() (SupportProof, error) {
	sup, ok := c.Supported()
	if !ok {
		return SupportProof{}, ErrNoSupport
	}
	end, _ := c.stateAt(sup.State.TurnNum)
	n := c.N()
	who := make([]int, n)
	for i := range who {
		who[i] = -1
	}
	missing := n
	start := end
	for k := end; k >= 0 && missing > 0; k-- {
		if k < end && c.States[k].State.TurnNum+1 != c.States[k+1].State.TurnNum {
			break // a gap: no older state can be part of the proof
		}
		for i := range who {
			if who[i] < 0 && c.States[k].SignedBy(i) {
				who[i] = k
				missing--
			}
		}
		start = k
	}
	if missing > 0 {
		return SupportProof{}, fmt.Errorf("%w: turn %d lacks signatures", ErrNoSupport, sup.State.TurnNum)
	}
	p := SupportProof{Signatures: make([]nitro.Signature, n), WhoSignedWhat: make([]uint8, n)}
	for k := start; k <= end; k++ {
		p.States = append(p.States, c.States[k].State.Clone())
	}
	for i, k := range who {
		p.Signatures[i] = c.States[k].Sigs[i]
		p.WhoSignedWhat[i] = uint8(k - start)
	}
	return p, nil
}

// me is this wallet's signing address.
func (c *Channel) me() nitro.Address { return c.Participants[c.MyIndex].SigningAddress }

// finalized reports whether the recorded challenge has timed out by the
// latest Tick's time.
func (c *Channel) finalized() bool {
	d := c.Dispute
	return d != nil && d.FinalizesAt > 0 && c.disputeNow() >= int64(d.FinalizesAt)
}

// disputeNow is the time a dispute is judged on: the chain's block time
// when a Tick reported one, else the Tick's time.
func (c *Channel) disputeNow() int64 {
	if c.Dispute != nil && c.Dispute.ChainTime > 0 {
		return int64(c.Dispute.ChainTime)
	}
	return c.Now
}

// disputePaid reports whether a finalized challenge's outcome was paid out
// in every asset.
func (c *Channel) disputePaid() bool {
	if c.Dispute == nil || len(c.Funding) == 0 {
		return false
	}
	for _, f := range c.Funding {
		if !f.PaidOut {
			return false
		}
	}
	return true
}

// setDispute replaces the dispute with a copy changed by f: Step never
// changes its argument's dispute in place.
func (s *stepper) setDispute(f func(d *Dispute)) {
	d := *s.c.Dispute
	f(&d)
	s.c.Dispute = &d
}

// challengeEvent applies ChallengeRegistered and ChallengeCleared.
func (s *stepper) challengeEvent(ev ChainEvent) {
	c := &s.c
	switch ev.Kind {
	case EventChallengeRegistered:
		if c.Dispute != nil && c.Dispute.TurnNumRecord > ev.TurnNumRecord {
			return // an older challenge's event, replayed
		}
		d := &Dispute{TurnNumRecord: ev.TurnNumRecord, FinalizesAt: ev.FinalizesAt, Challenger: ev.Challenger}
		if p := ev.Challenge; p != nil && len(p.States) > 0 {
			d.Challenged = p.States[len(p.States)-1].Clone()
		}
		c.Dispute = d
		if ev.Challenger == c.me() {
			c.Challenge = TxDone
		}
	case EventChallengeCleared:
		if c.Dispute != nil && ev.TurnNumRecord >= c.Dispute.TurnNumRecord {
			c.Dispute = nil
			c.Challenge = TxNone
		}
	}
}

// concludedDispute ends the dispute when the channel is concluded: the
// conclude finalized it on chain with the final state's outcome (which I
// hold: it bears my signature), whatever challenge was running. The
// adjudicator emits no ChallengeCleared then.
func (s *stepper) concludedDispute() {
	if _, ok := s.c.Final(); ok && (s.c.Dispute != nil || s.c.Challenge != TxNone) {
		s.c.Dispute = nil
		s.c.Challenge = TxNone
	}
}

// defend runs the dispute guards (see the file comment). It reports
// whether the crank must stop: a finalized challenge ends the channel.
func (s *stepper) defend() bool {
	c := &s.c
	d := c.Dispute
	if d == nil {
		return false
	}
	if c.finalized() {
		if d.Push == TxNone && !c.disputePaid() && (d.Challenger == c.me() || c.disputeNow()-int64(d.FinalizesAt) >= BackupConcludeDelay) {
			s.setDispute(func(d *Dispute) { d.Push = TxRequested })
			s.emit(PushOutcome{ChannelID: c.ID, Challenged: d.Challenged.Clone(), TurnNumRecord: d.TurnNumRecord, FinalizesAt: d.FinalizesAt, Challenger: d.Challenger})
		}
		return true
	}
	if f, ok := c.Final(); ok && f.SignedByAll() {
		return false // close's conclude answers any challenge
	}
	sup, ok := c.Supported()
	if !ok || sup.State.TurnNum <= d.TurnNumRecord || d.Checkpoint != TxNone {
		return false
	}
	p, err := c.SupportProof()
	if err != nil {
		return false
	}
	s.setDispute(func(d *Dispute) { d.Checkpoint = TxRequested })
	s.emit(SubmitCheckpoint{ChannelID: c.ID, Proof: p})
	return false
}

// disputeTxFailed records the failure of a dispute transaction.
func (s *stepper) disputeTxFailed(in TxFailed, st TxStatus) {
	c := &s.c
	switch in.Kind {
	case TxChallenge:
		if c.Challenge == TxRequested {
			c.Challenge = st
		}
	case TxCheckpoint:
		if c.Dispute != nil && c.Dispute.Checkpoint == TxRequested {
			s.setDispute(func(d *Dispute) { d.Checkpoint = st })
		}
	case TxPushOutcome:
		if c.Dispute != nil && c.Dispute.Push == TxRequested {
			s.setDispute(func(d *Dispute) { d.Push = st })
		}
	}
}

// disputeTick records the chain's time and retries failed dispute
// transactions: my challenge at once (it was asked for), a checkpoint or
// push through the crank.
func (s *stepper) disputeTick(chainTime uint64) {
	c := &s.c
	if d := c.Dispute; d != nil && chainTime > d.ChainTime {
		s.setDispute(func(d *Dispute) { d.ChainTime = chainTime })
	}
	if c.Challenge == TxRetry {
		c.Challenge = TxNone
		if c.Dispute == nil {
			_ = s.challenge()
		}
	}
	if d := c.Dispute; d != nil && (d.Checkpoint == TxRetry || d.Push == TxRetry) {
		s.setDispute(func(d *Dispute) {
			if d.Checkpoint == TxRetry {
				d.Checkpoint = TxNone
			}
			if d.Push == TxRetry {
				d.Push = TxNone
			}
		})
	}
}

// disputeWaiting reports whether a dispute transaction of mine was
// submitted and its event is not seen yet: my challenge without its
// ChallengeRegistered, a checkpoint while the stale challenge still runs,
// a push without the payout. A transaction a reorg dropped is so submitted
// again (retryDispute).
func (c *Channel) disputeWaiting() bool {
	if c.Challenge == TxRequested && c.Dispute == nil {
		return true
	}
	d := c.Dispute
	return d != nil && (d.Checkpoint == TxRequested && !c.finalized() || d.Push == TxRequested && !c.disputePaid())
}

// retryDispute submits again, through the crank or the next Tick, the
// dispute transactions disputeWaiting found unseen for too long.
func (s *stepper) retryDispute() {
	c := &s.c
	if c.Challenge == TxRequested && c.Dispute == nil {
		c.Challenge = TxRetry // disputeTick challenges again
	}
	if d := c.Dispute; d != nil && (d.Checkpoint == TxRequested && !c.finalized() || d.Push == TxRequested && !c.disputePaid()) {
		s.setDispute(func(d *Dispute) {
			if d.Checkpoint == TxRequested {
				d.Checkpoint = TxNone
			}
			if d.Push == TxRequested {
				d.Push = TxNone
			}
		})
	}
}

// disputeOutcome is the outcome a payout follows when the channel has no
// final state: a payout then comes from a finalized challenge (a conclude
// needs a final state, which would bear my signature), whether or not my
// Ticks have reached finalizesAt yet.
func (c *Channel) disputeOutcome() (nitro.Outcome, bool) {
	if c.Dispute == nil || c.Dispute.Challenged.Outcome == nil {
		return nil, false
	}
	return c.Dispute.Challenged.Outcome, true
}

// cloneDispute deep-copies a dispute.
func cloneDispute(d *Dispute) *Dispute {
	if d == nil {
		return nil
	}
	out := *d
	out.Challenged = d.Challenged.Clone()
	return &out
}

// rewoundDispute drops a recorded challenge the chain no longer shows
// after a rewind (its ChallengeRegistered left the chain): the record
// holds no challenge, or one on an older turn. My own challenge is then
// submitted again on the next Tick; a challenge still on chain comes back
// with its events, which the rewind delivers again.
func (s *stepper) rewoundDispute(r *Record) {
	c := &s.c
	if r == nil || c.Dispute == nil {
		return
	}
	if r.FinalizesAt != 0 && r.TurnNumRecord >= c.Dispute.TurnNumRecord {
		return
	}
	mine := c.Dispute.Challenger == c.me()
	c.Dispute = nil
	if mine && c.Challenge == TxDone {
		c.Challenge = TxRetry
	}
}
