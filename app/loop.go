package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// job is one input for one channel.
type job struct {
	id      nitro.Bytes32
	in      core.Input
	create  bool // may start a channel
	receive bool // may start a channel from a peer's state
}

// apply steps every job's channel, commits all the new states and effects in
// one store commit, then carries the effects out. If any Step fails nothing
// is committed.
func (w *Wallet) apply(ctx context.Context, jobs []job) (Result, error) {
	return w.applyThen(ctx, jobs, false, true)
}

// applyThen is apply; with handOff the committed effects go to the
// channels' workers (see effectWorkers) instead of being carried out here.
// call says that a client's call asked for it: the done marks of its
// effects then wait for the next commit (donelater.go), while background
// work writes its own at once.
func (w *Wallet) applyThen(ctx context.Context, jobs []job, handOff, call bool) (Result, error) {
	if len(jobs) == 1 {
		m := w.locks.lockOne(jobs[0].id)
		defer w.locks.unlockOne(jobs[0].id, m)
		return w.applyLocked(ctx, jobs, handOff, call)
	}
	ids := make([]nitro.Bytes32, 0, len(jobs))
	for _, j := range jobs {
		ids = append(ids, j.id)
	}
	unlock := w.locks.lock(ids)
	defer unlock()
	return w.applyLocked(ctx, jobs, handOff, call)
}

func (w *Wallet) applyLocked(ctx context.Context, jobs []job, handOff, call bool) (Result, error) {
	b := newBatch(w)
	defer b.release()
	var adm admission // proposal slots this call reserves
	defer adm.undo(w)
	changes := b.changeBuf[:0]
	for _, j := range jobs {
		cur, ok, err := b.load(ctx, j.id)
		if err != nil {
			return Result{}, err
		}
		if !ok {
			r, isReceive := j.in.(core.Receive)
			switch {
			case j.create:
			case j.receive && isReceive && len(r.States) == 0:
				continue // objectives or requests about a channel we do not know
			case !j.receive:
				return Result{}, fmt.Errorf("%w: %s", core.ErrChannelNotFound, j.id)
			case isReceive:
				r.Deployment = w.deployment() // a proposal must fit it
				j.in = r
			}
		} else if j.create {
			return Result{}, fmt.Errorf("%w: %s", core.ErrChannelExists, j.id)
		}
		next, effs, err := w.step(cur, j.in)
		if err == nil && !ok && j.receive {
			next, effs, err = w.admitProposal(j.in, next, effs, &adm)
		}
		if err != nil {
			w.noteEquivocation(ctx, cur, err)
			return Result{}, fmt.Errorf("channel %s: %w", j.id, err)
		}
		next, effs = b.signedNow(ctx, next, effs)
		b.set(next)
		changes = append(changes, ports.Change{Channel: next, Effects: effs})
	}
	if len(changes) == 0 {
		return Result{}, nil
	}
	// The last point where the call may stop: the commit honours the
	// caller's deadline (a commit abandoned mid-statement reports
	// ErrOutcomeUnknown: it may be durable, and then its effects are driven
	// by the next tick, and a retry of the call is idempotent); from a
	// successful commit on, its intent is durable and it is carried out
	// whatever the context's cancellation says, within its deadline
	// (effectContext).
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrContextDone, err)
	}
	// A commit that fails may still have taken effect (a lost connection):
	// the proposal slots stay counted, which errs on the side of the caps.
	adm.kept = true
	entries, err := b.commit(ctx, changes)
	if err != nil {
		return Result{}, err
	}
	if handOff {
		w.handOff(entries)
		return b.finish(), nil
	}
	ctx, cancel := w.effectContext(ctx)
	defer cancel()
	err = b.drain(ctx, entries)
	if call {
		b.markDoneLater()
	} else {
		b.markDone(ctx)
	}
	return b.finish(), incomplete(err)
}

// batch tracks the channels one call touches and what their effects
// produce. A call touches few channels, so they are kept in slices.
type batch struct {
	w     *Wallet
	chans []batchChannel // by first load
	order []int          // indexes into chans, by first set
	out   *outbox
	done  []uint64 // outbox entries carried out, to mark done
	owns  []uint64 // entries this batch committed, in w.owned until disown
	// Room for the usual call (one channel) in the batch's own allocation.
	chanBuf   [1]batchChannel
	orderBuf  [1]int
	doneBuf   [4]uint64
	ownsBuf   [4]uint64
	changeBuf [1]ports.Change
	outBuf    outbox
	// Channels whose signer failed in this call (signnow.go).
	signFailed []signFailure
}

// batchChannel is one channel a call touches.
type batchChannel struct {
	id     nitro.Bytes32
	known  bool    // the channel existed before the call
	before summary // when known
	c      core.Channel
	set    bool // c is the call's latest value
}

// summary is what notifications compare of a channel before and after a call.
type summary struct {
	status  core.Status
	turn    uint64
	funding core.FundingStatus
}

func summarize(c *core.Channel) summary {
	return summary{status: c.Status(), turn: c.TurnNum(), funding: c.FundingStatus()}
}

// batches recycles batches: a batch is about a kilobyte, one per call.
var batches = sync.Pool{New: func() any { return new(batch) }}

func newBatch(w *Wallet) *batch {
	b := batches.Get().(*batch)
	b.w = w
	b.outBuf.version = w.cfg.WalletVersion
	b.out = &b.outBuf
	b.chans, b.order, b.done, b.owns = b.chanBuf[:0], b.orderBuf[:0], b.doneBuf[:0], b.ownsBuf[:0]
	return b
}

// release returns b to the pool once its call has its result (nothing of
// the result refers to b).
func (b *batch) release() {
	b.disown()
	*b = batch{}
	batches.Put(b)
}

// disown hands the entries b committed back to the ticker (ownedEntries):
// they are carried out and marked done, or left pending by a failure.
func (b *batch) disown() {
	for _, id := range b.owns {
		b.w.owned.remove(id)
	}
	b.owns = b.owns[:0]
}

// entry returns the index of id's entry, adding it if needed.
func (b *batch) entry(id nitro.Bytes32) int {
	for i := range b.chans {
		if b.chans[i].id == id {
			return i
		}
	}
	b.chans = append(b.chans, batchChannel{id: id})
	return len(b.chans) - 1
}

func (b *batch) load(ctx context.Context, id nitro.Bytes32) (core.Channel, bool, error) {
	e := &b.chans[b.entry(id)]
	if e.set {
		return e.c, true, nil
	}
	c, ok := b.w.cache.get(id)
	if !ok {
		var err error
		c, err = b.w.cfg.Store.Get(ctx, id)
		if errors.Is(err, ports.ErrNotFound) {
			e.known = false
			return core.Channel{}, false, nil
		}
		if err != nil {
			return core.Channel{}, false, storeErr("load channel", err)
		}
		b.w.cache.put(c)
	}
	e.known, e.before = true, summarize(&c)
	return c, true, nil
}

func (b *batch) set(c core.Channel) {
	i := b.entry(c.ID)
	e := &b.chans[i]
	if !e.set {
		b.order = append(b.order, i)
	}
	e.c, e.set = c, true
}

// commit commits changes, keeping the cache and the set of channels that
// wait on time up to date.
func (b *batch) commit(ctx context.Context, changes []ports.Change) ([]ports.OutboxEntry, error) {
	entries, err := b.w.commitStore(ctx, changes)
	now := b.w.cfg.Clock.Now()
	for _, ch := range changes {
		b.w.props.note(&ch.Channel, err == nil, now)
		if err != nil {
			b.w.cache.drop(ch.Channel.ID)
			b.w.ticks.unsure()
			continue
		}
		b.w.cache.put(ch.Channel)
		b.w.ticks.note(&ch.Channel)
		b.w.tower.note(&ch.Channel) // a newer supported state goes to the watchtower
	}
	if err != nil {
		return nil, storeErr("commit", err)
	}
	for _, e := range entries {
		b.w.owned.add(e.ID)
		b.owns = append(b.owns, e.ID)
	}
	return entries, nil
}

// drain carries out outbox entries, stepping each result back into its
// channel and committing it; markDone then marks the entries done. The
// entries go in rounds: every entry queued is carried out, then the
// results of the round are stepped and committed in one store commit
// (one change per channel), and the entries that commit queues make the
// next round. So a call on many channels (a batch, a message about many
// channels) commits once per round, not once per channel.
func (b *batch) drain(ctx context.Context, queue []ports.OutboxEntry) error {
	var firstErr error
	for len(queue) > 0 {
		var results []effectResult
		for _, e := range queue {
			follow, err := b.execute(ctx, e)
			if err != nil {
				// The entry stays pending; a tick or a restart drives it again.
				b.w.log.Warn("effect failed", "channel", e.ChannelID, "effect", fmt.Sprintf("%T", e.Effect), "err", err)
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			if follow == nil {
				b.done = append(b.done, e.ID)
				continue
			}
			results = append(results, effectResult{entry: e.ID, channel: e.ChannelID, in: follow})
		}
		more, err := b.stepResults(ctx, results)
		if err != nil {
			return err
		}
		queue = more
	}
	return firstErr
}

// markDone marks the entries drain carried out as done, in one store call.
// An entry is done only after what it produced is committed; should the
// wallet stop before this, the entries are carried out again on restart,
// which is harmless (a resent message, a signature of a committed state
// that gives the same signature and is then refused as unexpected). So a
// failure here is only logged: the effects took place, and a caller must
// never be told that a call failed when it took effect.
func (b *batch) markDone(ctx context.Context) {
	defer b.disown()
	if len(b.done) == 0 {
		return
	}
	ids := b.done
	b.done = nil
	if err := b.w.cfg.Store.Done(ctx, ids); err != nil {
		b.w.log.Warn("mark effects done failed; they run again on the next tick or restart", "entries", len(ids), "err", storeErr("mark effect done", err))
	}
}

// execute carries out one effect and returns the input it produces, if any.
func (b *batch) execute(ctx context.Context, e ports.OutboxEntry) (core.Input, error) {
	w := b.w
	switch eff := e.Effect.(type) {
	case core.SignState:
		if err := b.failedSign(eff.ChannelID); err != nil {
			return nil, err // tried once in this call already
		}
		sig, err := w.cfg.Signer.SignState(ctx, eff.Hash)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSigner, err)
		}
		w.meter.signed[stateKind(&eff.State)].Add(1)
		return core.Signed{Hash: eff.Hash, Signature: sig}, nil
	case core.Send:
		b.out.add(eff.ChannelID, eff.Message)
		return nil, nil
	case core.Deposit:
		refused, err := b.depositAllowed(ctx, eff.ChannelID)
		if err != nil {
			return nil, err // the channel could not be read: the effect runs again later
		}
		if refused != nil {
			w.log.Error("deposit refused", "channel", eff.ChannelID, "err", refused)
			return core.TxFailed{Kind: core.TxDeposit, Asset: eff.Asset, Item: eff.Item, Err: refused.Error()}, nil
		}
		_, err = w.cfg.Chain.Deposit(ctx, ports.DepositRequest{ChannelID: eff.ChannelID, Asset: eff.Asset, ExpectedHeld: eff.ExpectedHeld, Amount: eff.Amount})
		w.meter.tx(err)
		if err != nil {
			w.log.Warn("deposit failed", "channel", eff.ChannelID, "err", err)
			return core.TxFailed{Kind: core.TxDeposit, Asset: eff.Asset, Item: eff.Item, Done: isRevert(err, ports.ReasonHoldingsSufficient), Err: err.Error()}, nil
		}
		return nil, nil
	case core.Conclude:
		_, err := w.cfg.Chain.ConcludeAndTransferAll(ctx, ports.ConcludeRequest{State: eff.State, Signatures: eff.Signatures})
		w.meter.tx(err)
		if err != nil {
			w.log.Warn("conclude failed", "channel", eff.ChannelID, "err", err)
			return core.TxFailed{Kind: core.TxConclude, Done: isRevert(err, ports.ReasonChannelFinalized), Err: err.Error()}, nil
		}
		return nil, nil
	case core.SubmitChallenge, core.SubmitCheckpoint, core.PushOutcome:
		return w.dispute(ctx, eff), nil // disputes.go
	case core.Watch:
		// Report current holdings; later changes arrive as chain events.
		for _, a := range eff.Assets {
			h, err := w.cfg.Chain.Holdings(ctx, a, eff.ChannelID)
			if err != nil {
				w.log.Warn("read holdings failed", "channel", eff.ChannelID, "err", err)
				continue
			}
			if h.Sign() > 0 {
				c, _, _ := b.load(ctx, eff.ChannelID)
				next, effs, err := w.step(c, core.ChainEvent{Kind: core.EventDeposited, ChannelID: eff.ChannelID, Asset: a, Holdings: h})
				if err == nil {
					next, effs = b.signedNow(ctx, next, effs)
					more, cerr := b.commit(ctx, []ports.Change{{Channel: next, Effects: effs}})
					if cerr != nil {
						return nil, cerr
					}
					b.set(next)
					if err := b.drain(ctx, more); err != nil {
						return nil, err
					}
				}
			}
		}
		return nil, nil
	}
	return nil, fmt.Errorf("app: unknown effect %T", e.Effect)
}

func isRevert(err error, reason string) bool {
	var r *ports.RevertError
	return errors.As(err, &r) && r.Reason == reason
}

// finish builds the call's result and publishes channel notifications.
func (b *batch) finish() Result {
	res := Result{Outbox: b.out.messages()}
	if len(b.order) > 0 {
		res.ChannelResults = make([]ChannelResult, 0, len(b.order))
	}
	for _, i := range b.order {
		e := &b.chans[i]
		r := ResultOf(e.c)
		res.ChannelResults = append(res.ChannelResults, r)
		switch {
		case !e.known && r.Status == core.StatusProposed:
			b.w.subs.publish(Notification{Type: ChannelProposed, Channel: r})
		case e.known && e.before.status != core.StatusClosed && r.Status == core.StatusClosed:
			b.w.subs.publish(Notification{Type: ChannelClosed, Channel: r})
		case !e.known || changed(e.before, r):
			b.w.subs.publish(Notification{Type: ChannelUpdated, Channel: r})
		}
	}
	return res
}

func changed(a summary, b ChannelResult) bool {
	return a.status != b.Status || a.turn != b.TurnNum || a.funding != b.FundingStatus
}

// applyAsync applies inputs that no call asked for (ticks) and publishes
// the messages they produce. With Parallelism above 1 their effects go to
// the channels' workers.
func (w *Wallet) applyAsync(ctx context.Context, jobs []job) {
	res, err := w.applyThen(ctx, jobs, w.cfg.Parallelism > 1, false)
	if err != nil && !errors.Is(err, core.ErrChannelNotFound) {
		w.log.Warn("background step failed", "err", err)
	}
	w.publishQueued(res)
}

func (w *Wallet) tickLoop(ctx context.Context) {
	defer w.wg.Done()
	t := time.NewTicker(w.cfg.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.tick(ctx, false)
		}
	}
}

// Tick gives every channel that waits on time the current time (retrying
// failed transactions, backing up a stalled conclude) and drives effects left
// pending by a failure. The wallet calls it every TickInterval. It returns
// ErrStore if it cannot list the channels (failures of single channels are
// logged and retried on the next tick), and after Close it does nothing
// and returns ErrClosed. It returns once the effects it drives are carried
// out (or have failed), or ctx has ended; effects still running then go on
// in the background.
func (w *Wallet) Tick(ctx context.Context) error { return w.tick(ctx, true) }

// tick is Tick; the ticker's (wait false) returns without waiting for the
// effects, and leaves out the channels whose effects are still being
// carried out (a transaction that waits for its receipt): they get the
// time on the first tick after, so a retry is never queued behind the
// transaction it retries.
func (w *Wallet) tick(ctx context.Context, wait bool) error {
	if err := w.enter(ctx); err != nil {
		return apiError(err)
	}
	defer w.leave()
	ids, ok := w.ticks.list()
	if !ok {
		// The first tick (or the first after a failed commit) reads every
		// channel; later ones only visit those the commits marked.
		gen := w.ticks.generation()
		cs, err := w.cfg.Store.List(ctx)
		if err != nil {
			w.log.Warn("tick: list channels failed", "err", err)
			return apiError(storeErr("tick: list channels", err))
		}
		ids = ids[:0]
		for _, c := range cs {
			if w.ticks.needs(&c) {
				ids = append(ids, c.ID)
			}
		}
		w.ticks.listed(ids, gen)
	}
	if !wait && w.cfg.Parallelism > 1 {
		ids = slices.DeleteFunc(ids, w.effects.busy)
	}
	tick := core.Tick{
		Now:                 w.cfg.Clock.Now().Unix(),
		TxRetryDelay:        ceilSeconds(w.cfg.TxRetryDelay),
		BackupConcludeDelay: ceilSeconds(w.cfg.BackupConcludeDelay),
		AutoChallengeAfter:  ceilSeconds(w.cfg.AutoChallengeAfter),
	}
	if len(ids) > 0 {
		tick.ChainTime = w.chainTime(ctx) // challenges finalize on it
	}
	w.eachChannel(ids, func(id nitro.Bytes32) { w.applyAsync(ctx, []job{{id: id, in: tick}}) })
	w.expireProposals(ctx)
	_ = w.flushDone(ctx) // logged; the marks wait for the next commit or tick
	if err := w.resume(ctx, wait); err != nil {
		w.log.Warn("tick: resume failed", "err", err)
	}
	return nil
}

// ceilSeconds is d in whole seconds, rounded up (a positive delay stays
// positive).
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d-1)/time.Second) + 1
}

// resume drives outbox entries left pending (by a crash or a failure):
// with Parallelism 1 here, else by the channels' workers, waiting for them
// if wait.
func (w *Wallet) resume(ctx context.Context, wait bool) error {
	ids, err := w.pendingChannels(ctx)
	if err != nil {
		return err
	}
	if w.cfg.Parallelism == 1 {
		w.resumeChannels(ctx, ids)
		return nil
	}
	w.driveAll(ctx, ids, wait)
	return nil
}

// pendingChannels lists the channels with outbox entries not yet done, in
// the order of their first entry.
func (w *Wallet) pendingChannels(ctx context.Context) ([]nitro.Bytes32, error) {
	pending, err := w.cfg.Store.Pending(ctx)
	if err != nil {
		return nil, storeErr("read outbox", err)
	}
	pending = w.skipDone(pending)
	byChannel := map[nitro.Bytes32]bool{}
	var ids []nitro.Bytes32
	for _, e := range pending {
		if !byChannel[e.ChannelID] && !w.owned.has(e.ID) {
			byChannel[e.ChannelID] = true
			ids = append(ids, e.ChannelID)
		}
	}
	return ids, nil
}

// resumeChannels drives the pending entries of each channel, several
// channels at once (Config.Parallelism).
func (w *Wallet) resumeChannels(ctx context.Context, ids []nitro.Bytes32) {
	w.eachChannel(ids, func(id nitro.Bytes32) {
		unlock := w.locks.lock([]nitro.Bytes32{id})
		// Re-read under the lock: a running call may have done them.
		entries, err := w.cfg.Store.Pending(ctx)
		if err == nil {
			entries = slices.DeleteFunc(entries, func(e ports.OutboxEntry) bool { return e.ChannelID != id || w.doneq.has(e.ID) })
			b := newBatch(w)
			if _, _, err = b.load(ctx, id); err == nil {
				err = b.drain(ctx, entries)
				b.markDone(ctx)
			}
			res := b.finish()
			for _, m := range res.Outbox {
				w.subs.publish(Notification{Type: MessageQueued, Message: m})
			}
		}
		unlock()
		if err != nil {
			w.log.Warn("resume failed", "channel", id, "err", err)
		}
	})
}
