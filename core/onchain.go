// The chain and time inputs: a Tick (backup conclude, retries of failed or
// unseen transactions), a TxFailed and the chain events (Deposited;
// Concluded; AllocationUpdated, the payout). Each only records what
// happened; the crank (crank.go) then takes the actions it calls for.

package core

import (
	"math/big"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

func (s *stepper) tick(in Tick) {
	s.c.Now = in.Now
	if s.c.Status() == StatusClosed && s.c.ClosedAt == 0 {
		s.c.ClosedAt = in.Now
	}
	backup := in.BackupConcludeDelay
	if backup <= 0 {
		backup = BackupConcludeDelay
	}
	s.backupDue = s.c.ClosedAt > 0 && s.c.Now-s.c.ClosedAt >= backup
	// Failed transactions are retried on a tick.
	for i := range s.c.Funding {
		f := &s.c.Funding[i]
		retry := false
		for _, st := range f.Deposits {
			retry = retry || st == TxRetry
		}
		if !retry {
			continue
		}
		m := make(map[int]TxStatus, len(f.Deposits))
		for k, st := range f.Deposits {
			if st != TxRetry {
				m[k] = st
			}
		}
		f.Deposits = m
	}
	if s.c.Conclude == TxRetry {
		s.c.Conclude = TxNone
	}
	s.disputeTick(in.ChainTime)
	s.liveness(in.AutoChallengeAfter) // liveness.go
	retry := in.TxRetryDelay
	if retry <= 0 {
		retry = TxRetryDelay
	}
	s.retryUnseen(retry)
}

// retryUnseen submits again, once delay (TxRetryDelay unless the tick set
// it) has passed, the transactions of mine whose effect the chain has not
// shown: crank re-emits what it finds not requested.
func (s *stepper) retryUnseen(delay int64) {
	c := &s.c
	switch {
	case !c.waitingOnTx():
		c.TxWaitSince = 0
		return
	case c.TxWaitSince == 0:
		c.TxWaitSince = c.Now
		return
	case c.Now-c.TxWaitSince < delay:
		return
	}
	c.TxWaitSince = 0
	if c.Conclude == TxRequested && !c.Concluded {
		c.Conclude = TxNone
	}
	s.retryDispute()
	if c.depositsWatched() {
		c.dueDeposits(func(asset, item int, _, _ *big.Int) {
			if f := &c.Funding[asset]; f.Deposits[item] == TxRequested {
				setDeposit(f, item, TxNone)
			}
		})
	}
}

func (s *stepper) txFailed(in TxFailed) {
	st := TxRetry
	if in.Done {
		st = TxDone
	}
	switch in.Kind {
	case TxDeposit:
		if in.Done {
			// "Holdings already sufficient" was judged on the chain's head,
			// which a reorg may still take back (with the deposit that made
			// them sufficient). So the deposit stays requested, waiting for
			// the holdings to show it like any deposit on its way, and is
			// submitted again if they do not within the retry delay
			// (retryUnseen); marked done, a deposit that vanished so was
			// never made again and the channel never funded.
			return
		}
		for i := range s.c.Funding {
			if s.c.Funding[i].Asset == in.Asset && s.c.Funding[i].Deposits[in.Item] == TxRequested {
				setDeposit(&s.c.Funding[i], in.Item, st)
			}
		}
	case TxConclude:
		if s.c.Conclude == TxRequested {
			s.c.Conclude = st
		}
	default:
		s.disputeTxFailed(in, st)
	}
}

func (s *stepper) chainEvent(ev ChainEvent) {
	switch ev.Kind {
	case EventDeposited:
		for i := range s.c.Funding {
			f := &s.c.Funding[i]
			if f.Asset == ev.Asset && !f.PaidOut && ev.Holdings != nil && ev.Holdings.Cmp(f.Holdings) > 0 {
				// Holdings only grow until the payout, so the largest
				// report wins whatever order events arrive in.
				f.Holdings = new(big.Int).Set(ev.Holdings)
			}
		}
	case EventConcluded:
		s.c.Concluded = true
		if s.c.Conclude != TxDone {
			s.c.Conclude = TxDone
		}
		s.concludedDispute() // dispute.go
	case EventChallengeRegistered, EventChallengeCleared:
		s.challengeEvent(ev) // dispute.go
	case EventAllocationUpdated:
		s.c.Concluded = true
		s.c.Conclude = TxDone
		// A finalized challenge pays the challenged state, even when I
		// hold a final state not signed by all (a close cut short).
		var outcome nitro.Outcome
		final, ok := s.c.Final()
		if o, disputed := s.c.disputeOutcome(); disputed && !(ok && final.SignedByAll()) {
			outcome = o
		} else if ok {
			outcome = final.State.Outcome
		}
		if outcome == nil || ev.InitialHoldings == nil {
			return
		}
		for i := range s.c.Funding {
			f := &s.c.Funding[i]
			if f.Asset != ev.Asset || f.PaidOut {
				continue
			}
			var items []nitro.AllocationItem
			for _, a := range outcome {
				if a.AssetHolder == ev.Asset {
					items = a.Allocation
				}
			}
			surplus := new(big.Int).Set(ev.InitialHoldings)
			f.Payouts = make([]*big.Int, len(items))
			for k, it := range items {
				pay := new(big.Int).Set(it.Amount)
				if pay.Cmp(surplus) > 0 {
					pay.Set(surplus)
				}
				surplus.Sub(surplus, pay)
				f.Payouts[k] = pay
			}
			f.Holdings = surplus
			f.PaidOut = true
		}
	}
}
