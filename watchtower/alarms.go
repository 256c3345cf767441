package watchtower

import (
	"context"
	"errors"
	"time"

	"github.com/nitrowallet/nitrowallet/ports"
)

// checkAlarms checks every alarm against the adjudicator's record and acts
// on it (decide). Failures are logged; the alarm stays and is checked
// again.
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
	cctx, cancel := context.WithTimeout(ctx, defaultCheckCallLimit)
	defer cancel()
	now, err := w.cfg.Chain.BlockTime(cctx)
	if err != nil {
		w.log.Warn("read the chain's time failed", "err", err)
		return
	}
	w.pruneEarly(now)
	for _, a := range alarms {
		if ctx.Err() != nil {
			return
		}
		w.checkAlarm(cctx, a, now)
	}
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
