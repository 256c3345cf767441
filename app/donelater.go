package app

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nitrowallet/nitrowallet/ports"
)

// Done marks, written late (Config.DoneFlushDelay). A call's effects are carried out once its
// commit is durable (a message handed to the caller); marking their outbox
// entries done used to be a store write of its own after every call. Now
// the marks wait in the wallet and ride on its next commit (ports.Change
// Done), so an update costs one store commit per wallet; marks that no
// commit takes within doneFlushDelay are written on their own, and Close
// writes what is left. An entry whose mark is lost in a crash is carried
// out again on restart, which is harmless: a message resent, which its
// receiver already holds. While an entry waits for its mark the wallet's
// own readers of the outbox (resume, the effect workers, retries) skip it,
// so it is not carried out twice by a running wallet.

// doneFlushDelay is how long done marks wait for a commit to carry them
// before they are written on their own.
const doneFlushDelay = 20 * time.Millisecond

// doneQueue holds the ids of outbox entries carried out but not yet marked
// done in the store.
type doneQueue struct {
	mu      sync.Mutex
	waiting []uint64            // not yet handed to a store write
	held    map[uint64]struct{} // waiting or being written
	kick    chan struct{}       // wakes the flusher (capacity 1)
}

func newDoneQueue() *doneQueue {
	return &doneQueue{held: map[uint64]struct{}{}, kick: make(chan struct{}, 1)}
}

// add queues ids and wakes the flusher.
func (q *doneQueue) add(ids []uint64) {
	if len(ids) == 0 {
		return
	}
	q.mu.Lock()
	for _, id := range ids {
		if _, ok := q.held[id]; !ok {
			q.held[id] = struct{}{}
			q.waiting = append(q.waiting, id)
		}
	}
	q.mu.Unlock()
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// take hands every waiting id to a store write; they stay held until
// settle.
func (q *doneQueue) take() []uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiting) == 0 {
		return nil
	}
	ids := q.waiting
	q.waiting = nil
	return ids
}

// settle ends a write of ids: written, they are forgotten; else they wait
// for the next write.
func (q *doneQueue) settle(ids []uint64, written bool) {
	if len(ids) == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if !written {
		q.waiting = append(q.waiting, ids...)
		select { // the flusher tries again
		case q.kick <- struct{}{}:
		default:
		}
		return
	}
	for _, id := range ids {
		delete(q.held, id)
	}
}

// idle reports whether no done mark waits or is being written.
func (q *doneQueue) idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.held) == 0
}

// has reports whether id is carried out and waits for its mark.
func (q *doneQueue) has(id uint64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.held[id]
	return ok
}

// markDoneLater is markDone for a client's call: the marks wait for the
// wallet's next commit.
func (b *batch) markDoneLater() {
	defer b.disown()
	b.w.doneq.add(b.done)
	b.done = nil
}

// skipDone drops from entries those carried out and waiting for their mark.
func (w *Wallet) skipDone(entries []ports.OutboxEntry) []ports.OutboxEntry {
	return slices.DeleteFunc(entries, func(e ports.OutboxEntry) bool { return w.doneq.has(e.ID) })
}

// withDone gives the waiting done marks to a commit of changes (on its
// first change); finish settles them with the commit's outcome.
func (w *Wallet) withDone(changes []ports.Change) (finish func(error)) {
	if len(changes) == 0 {
		return func(error) {}
	}
	ids := w.doneq.take()
	if len(ids) == 0 {
		return func(error) {}
	}
	prev := changes[0].Done
	changes[0].Done = append(slices.Clip(prev), ids...)
	return func(err error) {
		changes[0].Done = prev
		w.doneq.settle(ids, err == nil)
	}
}

// Flush writes the done marks that wait for the wallet's next commit
// (outbox entries carried out: messages handed over, transactions sent),
// and waits for those a commit is writing, so that the store's outbox
// holds only what is still to be done: for a count, a backup or a test
// that compares what is stored. The wallet does this by itself within
// milliseconds; a crash before it only repeats harmless work. It returns
// ErrStore if the store refuses the marks, or ctx's error.
func (w *Wallet) Flush(ctx context.Context) error {
	for {
		if err := w.flushDone(ctx); err != nil {
			return apiError(err)
		}
		if w.doneq.idle() {
			return nil
		}
		select {
		case <-ctx.Done():
			return apiError(fmt.Errorf("%w: %w", ErrContextDone, ctx.Err()))
		case <-time.After(time.Millisecond):
		}
	}
}

// flushDone writes the waiting done marks on their own.
func (w *Wallet) flushDone(ctx context.Context) error {
	ids := w.doneq.take()
	if len(ids) == 0 {
		return nil
	}
	err := w.cfg.Store.Done(ctx, ids)
	w.doneq.settle(ids, err == nil)
	if err != nil {
		err = storeErr("mark effects done", err)
		w.log.Warn("mark effects done failed; retried", "entries", len(ids), "err", err)
	}
	return err
}

// doneFlusher writes done marks that no commit took within delay,
// until ctx ends.
func (w *Wallet) doneFlusher(ctx context.Context, delay time.Duration) {
	defer w.wg.Done()
	t := time.NewTimer(delay)
	t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.doneq.kick:
		}
		t.Reset(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		_ = w.flushDone(ctx) // logged; retried on the next kick
	}
}
