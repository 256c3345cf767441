// The crank: after every input, unless I have not joined or a signature is
// pending, the guards of every phase in protocol order, each either waiting
// or emitting effects (signing requests, deposits, a conclude):
//  1. open (open.go): signPrefund; all prefund states signed; deposit;
//     signPostfund;
//  2. run, for an app-less channel (noapp.go): countersign the latest
//     running state of another mover;
//  3. close (close.go): no final state held: closeOnTurn (a peer's
//     CloseChannel objective); else countersign; conclude.
// Updates (run.go) and sync (sync.go) are inputs only: no guard waits on
// them.

package core

// crank takes every protocol action the channel's state now calls for, in
// protocol order; each guard either waits or emits effects.
func (s *stepper) crank() {
	c := &s.c
	if !c.Joined || c.Pending != nil {
		return
	}
	// A dispute (dispute.go): a finalized one ends the channel.
	if s.defend() {
		return
	}
	// Open (open.go).
	if s.signPrefund() {
		return
	}
	if !c.PrefundComplete() {
		return
	}
	// No new deposit while a challenge runs or mine is on its way: the
	// channel may finalize with the challenged outcome any time, and a
	// deposit mined after its payout would be stranded. Funding resumes
	// once the challenge is cleared.
	if c.Dispute == nil && c.Challenge != TxRequested && c.Challenge != TxRetry {
		s.deposit()
	}
	if s.signPostfund() {
		return
	}
	// Run, app-less channels only (noapp.go).
	if s.countersignRunning() {
		return
	}
	// Close (close.go).
	final, ok := c.Final()
	if !ok {
		s.closeOnTurn()
		return
	}
	if s.countersign(final) {
		return
	}
	s.conclude(final)
}
