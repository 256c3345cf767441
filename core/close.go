// Close and conclude: the mover of turn latest+1 signs an isFinal state
// with the latest outcome, every other participant countersigns it, and
// once all have signed it is concluded on chain and paid out.
//
// Input: Close (close), on my turn like an update (nextTurnCheck, run.go);
// on another's turn it is refused with ErrNotYourTurn and nothing changes
// (the TypeScript wallet instead queues its CloseChannel objective: see
// docs/api.md). A peer's CloseChannel objective (Receive) sets
// CloseRequested (closeRequested).
// Guard before a final state is held: closeOnTurn, once CloseRequested, on
// my turn of a running channel with no dispute, signs the final state as
// Close would (so a peer that asked to close on my turn is not left
// waiting).
// Guards, in protocol order (the crank, crank.go, runs them once a final
// state is held):
//  1. countersign: a final state I have not signed, once;
//  2. conclude: a final state signed by all and not concluded, at once by
//     its mover, by the others only once the backup delay has passed (a
//     Tick decides it: onchain.go), or at once while a challenge is
//     registered (a challenge with a final state concludes: waiting could
//     let it finalize on an older state).
// The Concluded and AllocationUpdated events (payout) are chain inputs
// (onchain.go).

package core

import "slices"

func (s *stepper) close() error {
	if err := s.signFinal(); err != nil {
		return err
	}
	s.c.CloseInitiator = true
	return nil
}

// signFinal asks to sign, on my turn, the final state keeping the latest
// outcome.
func (s *stepper) signFinal() error {
	l, err := s.nextTurnCheck()
	if err != nil {
		return err
	}
	next := l.State // shared: states are never modified in place
	next.TurnNum++
	next.IsFinal = true
	if err := s.checkRule(l.State, next); err != nil {
		return err
	}
	return s.requestSign(next)
}

// closeRequested notes a peer's CloseChannel objective for this channel,
// once joined (a proposal is not closed before it is joined), while no
// final state is held (one that is, is countersigned anyway), and only
// when the message's sender is the participantId of a participant other
// than me (as for GetChannel requests, sync.go), or the message came as a
// bare Payload, which names no sender: the TypeScript wallet's messages
// come so, and the caller of PushMessage, this wallet's operator, vouches
// for them (an envelope's sender is no stronger: it is not signed).
func (s *stepper) closeRequested(in Receive) {
	if _, final := s.c.Final(); final {
		return
	}
	peer := in.Bare
	for i, p := range s.c.Participants {
		peer = peer || i != s.c.MyIndex && p.ParticipantID == in.Sender
	}
	if !peer {
		return
	}
	for _, o := range in.Objectives {
		if o.Type == ObjectiveCloseChannel && o.TargetChannelID == s.c.ID && s.c.Joined {
			s.c.CloseRequested = true
		}
	}
}

// closeOnTurn signs the final state a peer asked for, once it is my turn
// on a running channel and no dispute runs. It reports whether it signed,
// which ends the crank.
func (s *stepper) closeOnTurn() bool {
	c := &s.c
	if !c.CloseRequested || c.Dispute != nil || c.Challenge == TxRequested || c.Challenge == TxRetry {
		return false
	}
	if _, final := c.Final(); final || !c.MyTurn() {
		return false
	}
	return s.signFinal() == nil // a rule that refuses it leaves the channel running
}

// countersign signs the final state unless I have signed or requested it.
// It reports whether I have not signed it yet, which ends the crank.
func (s *stepper) countersign(final StoredState) bool {
	c := &s.c
	if !final.SignedBy(c.MyIndex) {
		if c.MyLastTurn < int64(final.State.TurnNum) {
			_ = s.requestSign(final.State.Clone())
		}
		return true
	}
	return false
}

// conclude submits the final state, signed by all, unless it is concluded
// or submitted: the final state's mover at once, the others as a backup,
// or at once under a challenge.
func (s *stepper) conclude(final StoredState) {
	c := &s.c
	if c.fake() {
		return // Fake: nothing was deposited, nothing is concluded on chain
	}
	if final.SignedByAll() && !c.Concluded && c.Conclude == TxNone && !c.depositUnseen() {
		mover := c.mover(final.State.TurnNum) == c.MyIndex
		if mover || s.backupDue || c.Dispute != nil {
			c.Conclude = TxRequested
			s.emit(Conclude{ChannelID: c.ID, State: final.State.Clone(), Signatures: slices.Clone(final.Sigs)})
		}
	}
}
