// No app: the rule and the countersignature for a channel whose
// appDefinition is the zero address.
//
// The adjudicator's _requireValidTransition calls the app's validTransition
// for every running transition (turn 2n and later, not final); at the zero
// address that call reverts. So a running state of such a channel can be
// proven on chain only alone, signed by every participant (a support proof
// of one state checks no transition). Hence, for an app-less channel:
//  1. the rule (noAppRule, where StepWith's TransitionRule would apply, on
//     every running transition signed or accepted): each asset keeps its
//     allocation's destinations in order, and only the mover's items may
//     go down. The mover pays; no one is paid from another's balance. It is
//     SingleAssetPayments' rule for any number of participants and assets,
//     so a countersignature never costs its signer anything;
//  2. the countersignature (countersignRunning, a crank guard after open's):
//     a participant holding a running state of another mover that it has
//     not signed signs that same state, so it holds the state signed by
//     all. The countersignature goes to every participant but the mover
//     (none with two participants): a state only ever lowers its mover's
//     items, so the mover gains nothing from proving it;
//  3. support (Channel.Supported): the latest state signed by every
//     participant, or the latest setup state, is the one the wallet can
//     prove on chain.
//
// A channel with an app proves a running state by the last n states, each
// signed by its mover, which accept already requires: its latest state is
// supported, and nobody countersigns.

package core

import (
	"fmt"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// ErrTakesFromOther refines ErrAppRule: without an app, a running state may
// lower only its mover's allocation items, keeping every asset's
// destinations in order.
var ErrTakesFromOther = fmt.Errorf("%w: without an app, a running state may lower only its mover's allocations", ErrAppRule)

// appless reports whether the channel has no app (appDefinition zero).
func (c *Channel) appless() bool { return c.Setup.AppDefinition == (nitro.Address{}) }

// noAppRule is the transition rule of an app-less channel: see the file
// comment. checkTransition has passed (same assets, same totals).
func (s *stepper) noAppRule(from, to nitro.State) error {
	n := uint64(s.c.N())
	if to.IsFinal || to.TurnNum < 2*n {
		return nil
	}
	mover := s.c.Participants[s.c.mover(to.TurnNum)].Destination
	for i := range to.Outcome {
		a, b := from.Outcome[i].Allocation, to.Outcome[i].Allocation
		if len(a) != len(b) {
			return fmt.Errorf("%w: asset %d has %d allocation items, had %d", ErrTakesFromOther, i, len(b), len(a))
		}
		for k := range b {
			if a[k].Destination != b[k].Destination {
				return fmt.Errorf("%w: asset %d item %d changed destination", ErrTakesFromOther, i, k)
			}
			if a[k].Destination != mover && b[k].Amount.Cmp(a[k].Amount) < 0 {
				return fmt.Errorf("%w: turn %d lowers asset %d item %d of %s", ErrTakesFromOther, to.TurnNum, i, k, a[k].Destination)
			}
		}
	}
	return nil
}

// countersignRunning signs the latest running state of an app-less channel
// when another participant moved it and I have not signed it. It reports
// whether it asked for a signature, which ends the crank.
func (s *stepper) countersignRunning() bool {
	c := &s.c
	if !c.appless() {
		return false
	}
	l, ok := c.Latest()
	if !ok || l.State.IsFinal || l.State.TurnNum < 2*uint64(c.N()) || l.SignedBy(c.MyIndex) {
		return false
	}
	if c.MyLastTurn >= int64(l.State.TurnNum) {
		return false
	}
	return s.requestSign(l.State.Clone()) == nil
}

// Supported returns the latest state this wallet can prove on chain: for a
// channel with an app, the latest state held (each of the last n turns is
// signed by its mover, as accept requires); for an app-less channel, the
// latest state signed by every participant or, failing one, the latest
// setup state (setup transitions never consult the app, so the movers'
// signatures prove it).
func (c *Channel) Supported() (StoredState, bool) {
	if !c.appless() {
		return c.Latest()
	}
	n := 2 * uint64(c.N())
	for i := len(c.States) - 1; i >= 0; i-- {
		if c.States[i].SignedByAll() || c.States[i].State.TurnNum < n {
			return c.States[i], true
		}
	}
	return StoredState{}, false
}
