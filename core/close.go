// Close and conclude: the mover of turn latest+1 signs an isFinal state
// with the latest outcome, every other participant countersigns it, and
// once all have signed it is concluded on chain and paid out.
//
// Input: Close (close), on my turn like an update (nextTurnCheck, run.go).
// Guards, in protocol order (run by the crank, crank.go):
//  1. countersign: a final state I have not signed, once;
//  2. conclude: a final state signed by all and not concluded, at once by
//     its mover, by the others only once the backup delay has passed (a
//     Tick decides it: onchain.go).
// The Concluded and AllocationUpdated events (payout) are chain inputs
// (onchain.go).

package core

func (s *stepper) close() error {
	l, err := s.nextTurnCheck()
	if err != nil {
		return err
	}
	next := l.State // shared: states are never modified in place
	next.TurnNum++
	next.IsFinal = true
	s.c.CloseInitiator = true
	return s.requestSign(next)
}
