package app

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// effectWorkers carry out the effects of background work (chain events,
// ticks, effects resumed at start) once it has committed them, so that the
// chain follower and the ticker never wait for a transaction's receipt.
// Work is keyed by channel: one worker at a time per channel, taking its
// pending outbox entries in commit order, and at most Config.Parallelism
// workers at once (more channels queue, first come first served). What a
// worker has not finished stays pending in the store, so a restart carries
// it out. With Parallelism 1 there are none: effects run inline, in order.
type effectWorkers struct {
	mu       sync.Mutex
	limit    int
	running  int
	active   map[nitro.Bytes32]*channelWork // running or queued
	queue    []nitro.Bytes32
	inflight map[uint64]bool // entries whose transaction runs outside the channel's lock
}

// channelWork is one channel's turn with a worker.
type channelWork struct {
	again bool          // more was committed while the worker ran
	idle  chan struct{} // closed when the worker has nothing more to do
}

func newEffectWorkers(limit int) *effectWorkers {
	return &effectWorkers{limit: limit, active: map[nitro.Bytes32]*channelWork{}, inflight: map[uint64]bool{}}
}

// inFlight reports whether a worker carries out entry id now.
func (x *effectWorkers) inFlight(id uint64) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.inflight[id]
}

func (x *effectWorkers) setInFlight(id uint64, on bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if on {
		x.inflight[id] = true
	} else {
		delete(x.inflight, id)
	}
}

// busy reports whether id's effects are being carried out (or queued).
func (x *effectWorkers) busy(id nitro.Bytes32) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.active[id] != nil
}

// drive has id's pending effects carried out by its worker and returns a
// channel closed once the worker has nothing more to do for it: every
// entry done, one failed (a tick or a restart drives it again), or the
// wallet stopping.
func (w *Wallet) drive(id nitro.Bytes32) <-chan struct{} {
	x := w.effects
	x.mu.Lock()
	defer x.mu.Unlock()
	if cw := x.active[id]; cw != nil {
		cw.again = true
		return cw.idle
	}
	cw := &channelWork{idle: make(chan struct{})}
	if w.bg.Err() != nil {
		close(cw.idle)
		return cw.idle
	}
	x.active[id] = cw
	if x.running < x.limit {
		x.running++
		w.wg.Add(1) // Close waits for workers after the follower, ticks and calls
		go w.effectWorker(id)
	} else {
		x.queue = append(x.queue, id)
	}
	return cw.idle
}

// driveAll drives every channel of ids and, if wait, waits until their
// workers are idle or ctx ends.
func (w *Wallet) driveAll(ctx context.Context, ids []nitro.Bytes32, wait bool) {
	idle := make([]<-chan struct{}, 0, len(ids))
	for _, id := range ids {
		idle = append(idle, w.drive(id))
	}
	if !wait {
		return
	}
	for _, c := range idle {
		select {
		case <-c:
		case <-ctx.Done():
			return
		}
	}
}

// handOff drives the channels of committed outbox entries.
func (w *Wallet) handOff(entries []ports.OutboxEntry) {
	var last nitro.Bytes32
	for i, e := range entries {
		if i == 0 || e.ChannelID != last {
			w.drive(e.ChannelID)
			last = e.ChannelID
		}
	}
}

// effectWorker drives channel id, then the queued channels, until none is
// left or the wallet stops.
func (w *Wallet) effectWorker(id nitro.Bytes32) {
	defer w.wg.Done()
	x := w.effects
	for {
		w.driveChannel(w.bg, id)
		x.mu.Lock()
		cw := x.active[id]
		if cw.again && w.bg.Err() == nil {
			cw.again = false
			x.mu.Unlock()
			continue
		}
		delete(x.active, id)
		close(cw.idle)
		if w.bg.Err() != nil { // stopping: what is queued stays pending
			for _, q := range x.queue {
				close(x.active[q].idle)
				delete(x.active, q)
			}
			x.queue = nil
		}
		if len(x.queue) == 0 {
			x.running--
			x.mu.Unlock()
			return
		}
		id = x.queue[0]
		x.queue = x.queue[1:]
		x.mu.Unlock()
	}
}

// driveChannel carries out id's pending entries one by one, in commit
// order, until none is left, one fails, or ctx ends.
func (w *Wallet) driveChannel(ctx context.Context, id nitro.Bytes32) {
	did := map[uint64]bool{} // done here, even should marking them done fail
	for ctx.Err() == nil {
		more, err := w.driveNext(ctx, id, did)
		if err != nil {
			w.log.Warn("effect failed; it runs again on a tick or restart", "channel", id, "err", err)
			return
		}
		if !more {
			return
		}
	}
}

// driveNext carries out id's first pending entry not in did, steps its
// result into the channel and marks it done; it reports false when none is
// left. It holds the channel's lock, except while a transaction waits for
// its receipt: meanwhile the channel's chain events and ticks are applied
// (the core takes a transaction's failure only while it still waits for
// it), and the entry is in flight, which keeps others from running it.
func (w *Wallet) driveNext(ctx context.Context, id nitro.Bytes32, did map[uint64]bool) (bool, error) {
	m := w.locks.lockOne(id)
	defer func() { w.locks.unlockOne(id, m) }()
	pending, err := w.cfg.Store.Pending(ctx)
	if err != nil {
		return false, storeErr("read outbox", err)
	}
	i := slices.IndexFunc(pending, func(e ports.OutboxEntry) bool { return e.ChannelID == id && !did[e.ID] && !w.doneq.has(e.ID) })
	if i < 0 {
		return false, nil
	}
	e := pending[i]
	b := newBatch(w)
	defer b.release()
	var follow core.Input
	if isTransaction(e.Effect) {
		w.effects.setInFlight(e.ID, true)
		w.locks.unlockOne(id, m)
		follow, err = b.execute(ctx, e)
		m = w.locks.lockOne(id)
		w.effects.setInFlight(e.ID, false)
	} else {
		follow, err = b.execute(ctx, e)
	}
	if err != nil {
		return false, err
	}
	if follow != nil {
		if _, err := b.stepResults(ctx, []effectResult{{entry: e.ID, channel: e.ChannelID, in: follow}}); err != nil {
			return false, err
		}
	} else {
		b.done = append(b.done, e.ID)
	}
	b.markDone(ctx)
	did[e.ID] = true
	w.publishQueued(b.finish())
	return true, nil
}

// isTransaction reports whether an effect sends a transaction (which may
// wait long for its receipt).
func isTransaction(eff core.Effect) bool {
	switch eff.(type) {
	case core.Deposit, core.Conclude, core.SubmitChallenge, core.SubmitCheckpoint, core.PushOutcome:
		return true
	}
	return false
}

// effectResult is the input an outbox entry's effect produced.
type effectResult struct {
	entry   uint64
	channel nitro.Bytes32
	in      core.Input
}

// stepResults steps each result into its channel, in order, and commits
// the channels they changed in one store commit (one change per channel,
// its effects in order); the entries are then done, and the entries the
// commit queued are returned. A result the core rejects is logged and its
// entry is done (the effect took place; its result changes nothing).
func (b *batch) stepResults(ctx context.Context, results []effectResult) ([]ports.OutboxEntry, error) {
	if len(results) == 0 {
		return nil, nil
	}
	var (
		changes []ports.Change
		at      map[nitro.Bytes32]int // channel -> its change, once there are several
	)
	find := func(id nitro.Bytes32) int {
		if at != nil {
			if i, ok := at[id]; ok {
				return i
			}
			return -1
		}
		for i := range changes {
			if changes[i].Channel.ID == id {
				return i
			}
		}
		return -1
	}
	for _, r := range results {
		i := find(r.channel)
		var c core.Channel
		if i >= 0 {
			c = changes[i].Channel
		} else {
			cur, ok, err := b.load(ctx, r.channel)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("%w: %s", core.ErrChannelNotFound, r.channel)
			}
			c = cur
		}
		next, effs, err := b.w.step(c, r.in)
		if err != nil {
			b.w.log.Warn("effect result rejected", "channel", r.channel, "input", fmt.Sprintf("%T", r.in), "err", err)
			continue
		}
		next, effs = b.signedNow(ctx, next, effs)
		if i >= 0 {
			changes[i].Channel = next
			changes[i].Effects = append(changes[i].Effects, effs...)
			continue
		}
		changes = append(changes, ports.Change{Channel: next, Effects: effs})
		switch {
		case at != nil:
			at[next.ID] = len(changes) - 1
		case len(changes) > 16:
			at = make(map[nitro.Bytes32]int, 2*len(changes))
			for j := range changes {
				at[changes[j].Channel.ID] = j
			}
		}
	}
	var more []ports.OutboxEntry
	if len(changes) > 0 {
		var err error
		if more, err = b.commit(ctx, changes); err != nil {
			return nil, err
		}
		for _, ch := range changes {
			b.set(ch.Channel)
		}
	}
	for _, r := range results {
		b.done = append(b.done, r.entry)
	}
	return more, nil
}

// publishQueued publishes the messages of background work's result.
func (w *Wallet) publishQueued(res Result) {
	for _, m := range res.Outbox {
		w.subs.publish(Notification{Type: MessageQueued, Message: m})
	}
}
