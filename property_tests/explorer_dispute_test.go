package propertytests

import (
	"fmt"
	"math/big"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// The explorer's adjudicator for its one channel, explored for k <= 2
// updates only (larger k explorations are unchanged): challenge,
// checkpoint and pushOutcomeAndTransferAll with the 0.17.0 contract's
// rules on the turn number record, and the moves that use them. Either
// wallet may call core.Challenge once per run, and B may submit (with its
// key, behind its core's back) a stale challenge with the oldest support
// proof it ever held; at most d challenges a run in all, in runs without
// network faults (disputeMoves). Time passes only
// when nothing is in flight (no message, transaction or event), so both
// wallets had their chance to answer first: a challenge may then finalize
// only on a state neither wallet holds newer support for.

// xChallengeDuration is the explored channel's challenge duration.
const xChallengeDuration = 100

// xrecord is the adjudicator's record of the channel: the turn number
// record and, while a challenge is registered, when it finalizes, who
// registered it and the challenged state.
type xrecord struct {
	TurnNumRecord uint64
	FinalizesAt   uint64
	Challenger    nitro.Address
	Challenged    *nitro.State
}

// disputes reports whether this exploration models the adjudicator.
func (x *explorer) disputes() bool { return x.k <= 2 && x.d > 0 }

// finalized reports whether the channel is finalized on chain: concluded,
// or a registered challenge timed out.
func (s *xstate) finalized() bool {
	return s.Concluded || s.Rec.FinalizesAt != 0 && s.ChainTime >= s.Rec.FinalizesAt
}

// challengeRunning reports whether a challenge is registered and not
// finalized yet.
func (s *xstate) challengeRunning() bool {
	return !s.Concluded && s.Rec.FinalizesAt != 0 && s.ChainTime < s.Rec.FinalizesAt
}

// observeStale records the oldest support proof B holds, the first time
// it holds one.
func (x *explorer) observeStale(s *xstate, i int) {
	if i != 1 || s.Stale != nil || !x.disputes() {
		return
	}
	if p, err := s.Nodes[1].SupportProof(); err == nil {
		s.Stale = &p
	}
}

// submitDispute checks a dispute transaction as a gas estimate would
// (a finalized channel reverts with "Channel finalized.", which the app
// reports as done), then queues it.
func (x *explorer) submitDispute(s *xstate, i int, tx xtx) error {
	switch {
	case tx.Push != nil && s.Pushed:
		return x.step(s, i, core.TxFailed{Kind: core.TxPushOutcome, Done: true, Err: "outcome already pushed"})
	case tx.Push == nil && s.finalized():
		kind := core.TxChallenge
		if tx.Check != nil {
			kind = core.TxCheckpoint
		}
		return x.step(s, i, core.TxFailed{Kind: kind, Done: true, Err: "Channel finalized."})
	}
	tx.By = i
	s.Pending = append(s.Pending, tx)
	return nil
}

// xfail is a transaction that reverted when mined, for its submitter.
type xfail struct {
	by int
	in core.TxFailed
}

// mineDispute executes a dispute transaction: its events, or the failure
// its submitter is told of (none for the hostile challenge).
func (x *explorer) mineDispute(s *xstate, tx xtx) ([]core.ChainEvent, *xfail) {
	fail := func(kind core.TxKind, done bool, why string) ([]core.ChainEvent, *xfail) {
		if tx.Hostile {
			return nil, nil
		}
		return nil, &xfail{tx.By, core.TxFailed{Kind: kind, Done: done, Err: why}}
	}
	switch {
	case tx.Chal != nil:
		p := tx.Chal.Proof
		last := p.States[len(p.States)-1].Clone()
		switch {
		case s.finalized():
			return fail(core.TxChallenge, true, "Channel finalized.")
		case s.challengeRunning() && last.TurnNum <= s.Rec.TurnNumRecord:
			return fail(core.TxChallenge, false, "turnNum not increased")
		case last.TurnNum < s.Rec.TurnNumRecord:
			return fail(core.TxChallenge, false, "turnNum decreased")
		}
		s.Rec = xrecord{TurnNumRecord: last.TurnNum, FinalizesAt: s.ChainTime + xChallengeDuration, Challenger: x.parts[tx.By].SigningAddress, Challenged: &last}
		return []core.ChainEvent{{Kind: core.EventChallengeRegistered, ChannelID: tx.Chal.ChannelID, Block: s.Block,
			TurnNumRecord: s.Rec.TurnNumRecord, FinalizesAt: s.Rec.FinalizesAt, Challenger: s.Rec.Challenger, Challenge: &p}}, nil
	case tx.Check != nil:
		turn := tx.Check.Proof.States[len(tx.Check.Proof.States)-1].TurnNum
		switch {
		case s.finalized():
			return fail(core.TxCheckpoint, true, "Channel finalized.")
		case turn <= s.Rec.TurnNumRecord:
			return fail(core.TxCheckpoint, false, "turnNum not increased")
		}
		s.Rec = xrecord{TurnNumRecord: turn}
		return []core.ChainEvent{{Kind: core.EventChallengeCleared, ChannelID: tx.Check.ChannelID, Block: s.Block, TurnNumRecord: turn}}, nil
	case tx.Push != nil:
		switch {
		case s.Pushed:
			return fail(core.TxPushOutcome, true, "outcome already pushed")
		case s.Concluded || !s.finalized() || tx.Push.TurnNumRecord != s.Rec.TurnNumRecord || tx.Push.FinalizesAt != s.Rec.FinalizesAt:
			return fail(core.TxPushOutcome, false, "Channel not finalized or status mismatch")
		}
		s.Pushed = true
		initial := new(big.Int).Set(s.Holdings)
		for k, it := range s.Rec.Challenged.Outcome[0].Allocation {
			pay := new(big.Int).Set(it.Amount)
			if pay.Cmp(s.Holdings) > 0 {
				pay.Set(s.Holdings)
			}
			s.Holdings.Sub(s.Holdings, pay)
			s.Paid[k].Add(s.Paid[k], pay)
		}
		return []core.ChainEvent{{Kind: core.EventAllocationUpdated, ChannelID: tx.Push.ChannelID, Asset: x.asset, Block: s.Block, InitialHoldings: initial}}, nil
	}
	return nil, nil
}

// disputeMoves lists the dispute moves enabled in s: a wallet's challenge,
// B's hostile stale challenge, and time passing past a running
// challenge's finalizesAt.
func (x *explorer) disputeMoves(s *xstate) []move {
	if !x.disputes() {
		return nil
	}
	var out []move
	// Disputes are explored apart from the network faults, to keep the
	// search small: a challenge only in a run without drops, duplicates,
	// syncs or forgeries so far, and none of those after it.
	if s.Challenges < x.d && s.Drops+s.Dups+s.Syncs+s.Forges == 0 {
		for i := range s.Nodes {
			c := s.Nodes[i]
			if s.Challenged[i] || !c.Joined || c.Status() == core.StatusClosed {
				continue
			}
			if _, _, err := x.coreStep(c, core.Challenge{}, "challenge"); err != nil {
				continue // refused by the API: nothing happens
			}
			label := x.parts[i].ParticipantID + " challenges"
			out = append(out, move{label, func(t *xstate) error {
				if err := x.step(t, i, core.Challenge{}); err != nil {
					return fmt.Errorf("%s: %w", label, err)
				}
				t.Challenges++
				t.Challenged[i] = true
				return nil
			}})
		}
		if p := s.Stale; p != nil && !s.Challenged[1] && !s.finalized() && !s.challengeRunning() {
			turn := p.States[len(p.States)-1].TurnNum
			if sup, ok := s.Nodes[0].Supported(); ok && sup.State.TurnNum > turn && turn >= s.Rec.TurnNumRecord {
				out = append(out, move{fmt.Sprintf("B challenges stale turn %d", turn), func(t *xstate) error {
					t.Pending = append(t.Pending, xtx{Chal: &core.SubmitChallenge{ChannelID: t.Nodes[0].ID, Proof: *p}, By: 1, Hostile: true})
					t.Challenges++
					t.Challenged[1] = true
					return nil
				}})
			}
		}
	}
	if s.challengeRunning() && len(s.Net) == 0 && len(s.Pending) == 0 && len(s.Events[0]) == 0 && len(s.Events[1]) == 0 {
		out = append(out, move{"time passes", x.timePasses})
	}
	return out
}

// timePasses moves the chain's time past the running challenge's
// finalizesAt and the backup delay, and ticks both wallets with it. Both
// had their chance to answer: neither may hold newer support than the
// challenged turn.
func (x *explorer) timePasses(s *xstate) error {
	for i := range s.Nodes {
		if sup, ok := s.Nodes[i].Supported(); ok && sup.State.TurnNum > s.Rec.TurnNumRecord {
			return fmt.Errorf("a challenge on turn %d finalizes while %s holds supported turn %d", s.Rec.TurnNumRecord, x.parts[i].ParticipantID, sup.State.TurnNum)
		}
	}
	s.ChainTime = s.Rec.FinalizesAt + core.BackupConcludeDelay
	for i := range s.Nodes {
		if err := x.step(s, i, core.Tick{Now: int64(s.ChainTime), ChainTime: s.ChainTime}); err != nil {
			return fmt.Errorf("tick: %w", err)
		}
	}
	return nil
}

// disputeDone: a channel closed by a finalized challenge is done when both
// wallets are closed and paid out, and each was paid at least what its
// supported state gives it from what was deposited.
func (x *explorer) disputeDone(s *xstate) bool {
	for i := range s.Nodes {
		c := &s.Nodes[i]
		if c.Status() != core.StatusClosed || c.FundingStatus() != core.FundingDefunded {
			return false
		}
		sup, ok := c.Supported()
		if !ok {
			return false
		}
		left := new(big.Int).Set(s.Deposited)
		for k, it := range sup.State.Outcome[0].Allocation {
			due := new(big.Int).Set(it.Amount)
			if due.Cmp(left) > 0 {
				due.Set(left)
			}
			left.Sub(left, due)
			if k == i && s.Paid[k].Cmp(due) < 0 {
				return false
			}
		}
	}
	return s.Holdings.Sign() == 0 && len(s.Pending) == 0
}

// stateTurn is the turn of a support proof's supported state.
func (*xstate) stateTurn(p *core.SupportProof) uint64 { return p.States[len(p.States)-1].TurnNum }
