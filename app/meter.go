package app

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// StateCounts counts states by kind: Setup are the prefund and postfund
// states (turns below twice the number of participants), Update the
// running states after them, Final those marked final.
type StateCounts struct {
	Setup, Update, Final uint64
}

// TxCounts counts the chain transactions the wallet handed to its chain
// port (deposits, concludes, challenges, checkpoints, outcome pushes) by
// what the port answered.
type TxCounts struct {
	// Submitted counts every transaction handed to the port.
	Submitted uint64
	// Mined counts those the port reported done (mined, at its
	// confirmation depth).
	Mined uint64
	// Reverted counts those that reverted (in the estimate or on chain).
	Reverted uint64
	// Failed counts the others that did not succeed: the chain unreachable,
	// not mined in time, funds short.
	Failed uint64
}

// CommitInfo describes one Store.Commit the wallet made (see
// ObserveCommits).
type CommitInfo struct {
	// Changes is the number of channel changes the commit carried.
	Changes int
	// Duration is how long Store.Commit took.
	Duration time.Duration
	// Err is what it returned.
	Err error
}

// meter holds the wallet's counters for Stats: atomic, so the hot path
// takes no lock.
type meter struct {
	signed                                     [3]atomic.Uint64 // by stateKind
	received                                   [3]atomic.Uint64
	txSubmitted, txMined, txReverted, txFailed atomic.Uint64
	commits                                    atomic.Pointer[func(CommitInfo)]
}

const (
	kindSetup = iota
	kindUpdate
	kindFinal
)

func stateKind(s *nitro.State) int {
	switch {
	case s.IsFinal:
		return kindFinal
	case s.TurnNum < 2*uint64(len(s.Participants)):
		return kindSetup
	}
	return kindUpdate
}

func counts(c *[3]atomic.Uint64) StateCounts {
	return StateCounts{Setup: c[kindSetup].Load(), Update: c[kindUpdate].Load(), Final: c[kindFinal].Load()}
}

// tx counts one transaction handed to the chain port and what it answered.
func (m *meter) tx(err error) {
	m.txSubmitted.Add(1)
	switch {
	case err == nil:
		m.txMined.Add(1)
	case errors.Is(err, ports.ErrReverted):
		m.txReverted.Add(1)
	default:
		m.txFailed.Add(1)
	}
}

// received counts the signed states of a message PushMessage accepted.
func (m *meter) receivedStates(msg *core.Message) {
	for i := range msg.Payload.SignedStates {
		m.received[stateKind(&msg.Payload.SignedStates[i].State)].Add(1)
	}
}

// ObserveCommits has f called after every Store.Commit the wallet makes,
// with its size and duration, until ObserveCommits is called again (nil
// stops it). f runs on the calls' path, under the channel's lock: it must
// be quick and must not call the wallet. Without an observer the wallet
// does not time its commits.
func (w *Wallet) ObserveCommits(f func(CommitInfo)) {
	if f == nil {
		w.meter.commits.Store(nil)
		return
	}
	w.meter.commits.Store(&f)
}

// ObserveStoreBatches has f called after each transaction of a store that
// groups commits (ports.BatchObserver, such as the PostgreSQL store), as
// ObserveCommits does for the wallet's commits. It reports false, and
// does nothing, when the store does not group commits.
func (w *Wallet) ObserveStoreBatches(f func(ports.CommitBatch)) bool {
	o, ok := w.cfg.Store.(ports.BatchObserver)
	if ok {
		o.ObserveBatches(f)
	}
	return ok
}

// commitStore is Store.Commit, timed for the commit observer if there is one.
func (w *Wallet) commitStore(ctx context.Context, changes []ports.Change) ([]ports.OutboxEntry, error) {
	finish := w.withDone(changes)
	obs := w.meter.commits.Load()
	if obs == nil {
		entries, err := w.cfg.Store.Commit(ctx, changes)
		finish(err)
		return entries, err
	}
	start := time.Now()
	entries, err := w.cfg.Store.Commit(ctx, changes)
	finish(err)
	(*obs)(CommitInfo{Changes: len(changes), Duration: time.Since(start), Err: err})
	return entries, err
}

// Snapshot is what the store holds now, for an operator's gauges.
type Snapshot struct {
	// PendingEffects is the number of outbox entries not yet carried out.
	PendingEffects int
	// Channels counts the channels by their client API status.
	Channels map[core.Status]int
}

// Snapshot counts the store's channels by status and its pending outbox
// entries: with the store's Counts when it is a ports.Counter (PostgreSQL:
// two aggregate queries), else by reading every channel and the outbox
// (List, Pending). It is meant for a metrics scrape, not the hot path. It
// returns ErrStore if the store cannot answer and ErrClosed after Close.
func (w *Wallet) Snapshot(ctx context.Context) (Snapshot, error) {
	if err := w.enter(ctx); err != nil {
		return Snapshot{}, apiError(err)
	}
	defer w.leave()
	_ = w.flushDone(ctx) // entries carried out are not pending; logged
	if c, ok := w.cfg.Store.(ports.Counter); ok {
		n, err := c.Counts(ctx)
		if err != nil {
			return Snapshot{}, apiError(storeErr("count channels and outbox", err))
		}
		return Snapshot{PendingEffects: n.PendingEffects, Channels: n.Channels}, nil
	}
	pending, err := w.cfg.Store.Pending(ctx)
	if err != nil {
		return Snapshot{}, apiError(storeErr("read outbox", err))
	}
	cs, err := w.cfg.Store.List(ctx)
	if err != nil {
		return Snapshot{}, apiError(storeErr("list channels", err))
	}
	s := Snapshot{PendingEffects: len(pending), Channels: map[core.Status]int{}}
	for i := range cs {
		s.Channels[cs[i].Status()]++
	}
	return s, nil
}
