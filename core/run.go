// Run: take turns. The mover of turn latest+1 signs a new state that keeps
// each asset's total.
//
// Input: Update (update). Guards, in order (nextTurnCheck, then
// checkTransition): not closing or closed, running, no signature pending,
// my turn; then the same assets, valid amounts, the same totals, and a final
// state keeps the outcome. A received state passes checkTransition too
// (receive.go).

package core

import (
	"fmt"
	"slices"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// nextTurnCheck returns the latest state if this wallet may move next.
func (s *stepper) nextTurnCheck() (StoredState, error) {
	c := &s.c
	if c.Status() == StatusClosing || c.Status() == StatusClosed {
		return StoredState{}, ErrChannelClosed
	}
	if c.Status() != StatusRunning {
		return StoredState{}, ErrNotRunning
	}
	if c.Pending != nil {
		return StoredState{}, ErrSigningInProgress
	}
	l, _ := c.Latest()
	if !c.MyTurn() {
		return StoredState{}, ErrNotYourTurn
	}
	return l, nil
}

func (s *stepper) update(in Update) error {
	if (s.c.Dispute != nil || s.c.Challenge == TxRequested || s.c.Challenge == TxRetry) && s.c.Status() != StatusClosed {
		return ErrDisputed // dispute.go
	}
	l, err := s.nextTurnCheck()
	if err != nil {
		return err
	}
	next := l.State // the fixed part is shared; the variable part is new
	next.TurnNum++
	next.Outcome = in.Outcome.Clone()
	next.AppData = slices.Clone(in.AppData)
	if err := checkTransition(l.State, next); err != nil {
		return err
	}
	if err := s.checkRule(l.State, next); err != nil {
		return err
	}
	return s.requestSign(next)
}

// checkTransition checks a running or final transition from a to b.
func checkTransition(a, b nitro.State) error {
	if a.IsFinal {
		return ErrChannelClosed
	}
	if len(a.Outcome) != len(b.Outcome) {
		return fmt.Errorf("%w: asset count changed", ErrTotalsChanged)
	}
	if err := checkFundingOutcome(b.Outcome); err != nil {
		return err
	}
	for i := range a.Outcome {
		if a.Outcome[i].AssetHolder != b.Outcome[i].AssetHolder {
			return fmt.Errorf("%w: asset holder changed", ErrTotalsChanged)
		}
		if !sameTotal(a.Outcome[i].Allocation, b.Outcome[i].Allocation) {
			return ErrTotalsChanged
		}
	}
	if b.IsFinal && !a.Outcome.Equal(b.Outcome) {
		return ErrFinalOutcome
	}
	return nil
}
