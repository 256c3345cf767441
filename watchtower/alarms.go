package watchtower

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// checkAlarms checks every alarm against the adjudicator's record and acts
// on it (decide), the most urgent (earliest finalizesAt) first, up to
// CheckConcurrency at once: a checkpoint waits for its block, and a peer
// that registers many stale challenges at once must not have them
// answered one block after another. An alarm whose check is still under
// way from an earlier pass is left to it. The pass returns once every
// alarm's check has started; Run waits for them when it ends. Failures
// are logged; the alarm stays and is checked again.
func (w *Watcher) checkAlarms(ctx context.Context) {
	alarms, err := w.cfg.Store.Alarms(ctx)
	if err != nil {
		w.log.Warn("read alarms failed", "err", err)
		return
	}
	w.mu.Lock()
	early := len(w.early)
	w.mu.Unlock()
	if len(alarms) == 0 && early == 0 {
		return
	}
	tctx, cancel := context.WithTimeout(ctx, defaultCheckCallLimit)
	now, err := w.cfg.Chain.BlockTime(tctx)
	cancel()
	if err != nil {
		w.log.Warn("read the chain's time failed", "err", err)
		return
	}
	w.pruneEarly(now)
	slices.SortFunc(alarms, func(a, b Alarm) int {
		if c := cmp.Compare(a.FinalizesAt, b.FinalizesAt); c != 0 {
			return c
		}
		return bytes.Compare(a.ChannelID[:], b.ChannelID[:])
	})
	for _, a := range alarms {
		if !w.startCheck(a.ChannelID) {
			continue // still under way
		}
		select {
		case w.slots <- struct{}{}:
		case <-ctx.Done():
			w.endCheck(a.ChannelID)
			return
		}
		w.checks.Add(1)
		go func() {
			defer w.checks.Done()
			defer func() { <-w.slots }()
			defer w.endCheck(a.ChannelID)
			cctx, cancel := context.WithTimeout(ctx, defaultCheckCallLimit)
			defer cancel()
			w.checkAlarm(cctx, a, now)
		}()
	}
}

// startCheck marks id's check under way; false if it already was.
func (w *Watcher) startCheck(id nitro.Bytes32) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.checking[id] {
		return false
	}
	w.checking[id] = true
	return true
}

func (w *Watcher) endCheck(id nitro.Bytes32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.checking, id)
}

// checkAlarm reads one channel's record and proof and carries out the
// verdict.
func (w *Watcher) checkAlarm(ctx context.Context, a Alarm, now uint64) {
	p, err := w.cfg.Store.Get(ctx, a.ChannelID)
	held := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		w.log.Warn("read proof failed", "channel", a.ChannelID, "err", err)
		return
	}
	rec, err := w.cfg.Chain.Record(ctx, a.ChannelID)
	if err != nil {
		w.log.Warn("read adjudicator record failed", "channel", a.ChannelID, "err", err)
		return
	}
	switch decide(a, p, held, rec, now) {
	case drop:
		if rec.FinalizesAt != 0 && rec.FinalizesAt == a.FinalizesAt && rec.TurnNumRecord < p.Turn() {
			w.log.Error("a stale challenge finalized before the watcher could clear it", "channel", a.ChannelID, "turn", rec.TurnNumRecord, "proof_turn", p.Turn())
		}
		if err := w.cfg.Store.ClearAlarm(ctx, a.ChannelID); err != nil {
			w.log.Warn("clear alarm failed", "channel", a.ChannelID, "err", err)
		}
		w.forget(a)
	case keep:
	case checkpoint:
		if !w.due(a) {
			return
		}
		if _, err := w.cfg.Chain.Checkpoint(ctx, ports.CheckpointRequest{Proof: p.Proof}); err != nil {
			w.failed.Add(1)
			w.log.Warn("checkpoint failed; retrying", "channel", a.ChannelID, "turn", p.Turn(), "err", err)
			return
		}
		w.checkpoints.Add(1)
		w.log.Info("checkpoint submitted", "channel", a.ChannelID, "turn", p.Turn(), "stale_turn", rec.TurnNumRecord)
		w.mu.Lock()
		w.next[a.ChannelID] = time.Now().Add(w.cfg.ResubmitDelay)
		w.mu.Unlock()
	}
}

// due reports whether a checkpoint for a's channel may be submitted now.
func (w *Watcher) due(a Alarm) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.next[a.ChannelID]
	return !ok || !time.Now().Before(t)
}

func (w *Watcher) forget(a Alarm) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.next, a.ChannelID)
}

// pruneEarly forgets the challenges without a proof that finalized by now.
func (w *Watcher) pruneEarly(now uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, a := range w.early {
		if a.FinalizesAt <= now {
			delete(w.early, id)
		}
	}
}
