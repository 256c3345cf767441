// App rules: the transition rule a channel's app definition imposes,
// consulted beside checkTransition on every running or final transition
// this wallet signs (Update, Close) or accepts (Receive, held states
// applied later). Guards, in order: the protocol checks of
// checkTransition, then the rule.

package core

import (
	"errors"
	"fmt"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// TransitionRule judges the transition from one supported state of a
// channel to the next, as the adjudicator's _requireValidTransition would
// (the app's validTransition included), returning nil for a valid one. It
// must be deterministic: the same states give the same verdict, so a Step
// replayed gives the same result. The app layer backs it with the
// channel's registered app (package apprules runs its bytecode in a local
// EVM); the core imports no EVM.
type TransitionRule func(from, to nitro.State) error

// ErrAppRule refines ErrInvalidTransition: the channel's TransitionRule
// refused the transition.
var ErrAppRule = fmt.Errorf("%w: the channel's app refuses it", ErrInvalidTransition)

// StepWith is Step with the channel's transition rule: every running or
// final transition the wallet signs or accepts in this Step must pass it,
// else Step refuses the input with ErrAppRule and changes nothing. A nil
// rule checks only the protocol (Step).
func StepWith(c Channel, in Input, rule TransitionRule) (Channel, []Effect, error) {
	return step(c, in, rule)
}

// checkRule applies the stepper's rule to a transition checkTransition
// already passed.
func (s *stepper) checkRule(from, to nitro.State) error {
	if s.rule == nil {
		if s.c.appless() {
			return s.noAppRule(from, to) // noapp.go
		}
		return nil
	}
	err := s.rule(from, to)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrAppRule):
		return err
	default:
		return fmt.Errorf("%w: turn %d → %d: %w", ErrAppRule, from.TurnNum, to.TurnNum, err)
	}
}
