package app

import (
	"bytes"
	"context"
	"slices"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// intent tells whether a state of this wallet's is the one a call asks for.
type intent func(c *core.Channel, st nitro.State) bool

// updateIntent matches a running state with the given outcome and appData.
func updateIntent(o nitro.Outcome, appData []byte) intent {
	return func(c *core.Channel, st nitro.State) bool {
		return st.TurnNum >= uint64(2*c.N()) && !st.IsFinal && st.Outcome.Equal(o) && bytes.Equal(st.AppData, appData)
	}
}

// closeIntent matches the final state this wallet made with CloseChannel.
func closeIntent(c *core.Channel, st nitro.State) bool { return st.IsFinal && c.CloseInitiator }

// finishOther completes a countersignature the channel waits for (a
// state another participant moved, which this wallet signs on receipt),
// whose effect a failure left pending: the call can then be applied
// again. A pending state of my own move stays as it is: the call that
// asked for it, retried, completes it (retried). It reports whether it
// completed one.
func (w *Wallet) finishOther(ctx context.Context, id nitro.Bytes32, want intent) bool {
	m := w.locks.lockOne(id)
	defer w.locks.unlockOne(id, m)
	b := newBatch(w)
	defer b.release()
	c, found, err := b.load(ctx, id)
	if err != nil || !found || c.Pending == nil || want(&c, c.Pending.State) || c.N() == 0 ||
		int(c.Pending.State.TurnNum%uint64(c.N())) == c.MyIndex {
		return false
	}
	res, err := w.drivePending(ctx, b, id)
	for _, m := range res.Outbox {
		w.subs.publish(Notification{Type: MessageQueued, Message: m})
	}
	if err != nil {
		w.log.Warn("finishing a pending signature failed", "channel", id, "err", err)
		return false
	}
	c, _, err = b.load(ctx, id)
	return err == nil && c.Pending == nil
}

// drivePending carries out id's pending outbox entries in b, with the
// effects' deadline, and returns b's result. An entry a worker carries
// out now (a transaction waiting for its receipt) is its: it is not run
// twice.
func (w *Wallet) drivePending(ctx context.Context, b *batch, id nitro.Bytes32) (Result, error) {
	dctx, cancel := w.effectContext(ctx)
	defer cancel()
	pending, err := w.cfg.Store.Pending(dctx)
	if err != nil {
		return Result{}, storeErr("read outbox", err)
	}
	pending = slices.DeleteFunc(pending, func(e ports.OutboxEntry) bool {
		return e.ChannelID != id || w.effects.inFlight(e.ID) || w.doneq.has(e.ID)
	})
	err = b.drain(dctx, pending)
	b.markDone(dctx)
	return b.finish(), err
}

// retried answers a call the core refused (not my turn, a signature in
// progress, closed) when the wallet already holds what the call asks for:
// the call is a retry of one whose intent became durable. If that state
// still waits for its signature, its pending effects are carried out now;
// either way the result is the channel's, with my state (re)sent to every
// peer. ok is false when the channel holds no such state: the refusal
// stands.
func (w *Wallet) retried(ctx context.Context, id nitro.Bytes32, want intent) (_ Result, ok bool, _ error) {
	m := w.locks.lockOne(id)
	defer w.locks.unlockOne(id, m)
	b := newBatch(w)
	defer b.release()
	c, found, err := b.load(ctx, id)
	if err != nil || !found {
		return Result{}, false, nil
	}
	if p := c.Pending; p != nil {
		if !want(&c, p.State) {
			return Result{}, false, nil
		}
		res, err := w.drivePending(ctx, b, id) // the intent is durable: complete it
		if err != nil {
			return res, true, incomplete(err)
		}
		if len(res.ChannelResults) == 0 { // nothing moved (cannot happen once signed)
			res.ChannelResults = []ChannelResult{ResultOf(c)}
		}
		return res, true, nil
	}
	if c.MyLastTurn < 0 {
		return Result{}, false, nil
	}
	k := slices.IndexFunc(c.States, func(s core.StoredState) bool { return s.State.TurnNum == uint64(c.MyLastTurn) })
	if k < 0 || !c.States[k].SignedBy(c.MyIndex) || !want(&c, c.States[k].State) {
		return Result{}, false, nil
	}
	st := c.States[k]
	ss := core.SignedState{State: st.State, Participants: c.Participants}
	for _, sig := range st.Sigs {
		if sig.V != 0 {
			ss.Signatures = append(ss.Signatures, sig)
		}
	}
	payload := core.Payload{SignedStates: []core.SignedState{ss}}
	if st.State.IsFinal && c.CloseInitiator {
		payload.Objectives = []core.Objective{{Type: core.ObjectiveCloseChannel, Participants: c.Participants, TargetChannelID: c.ID, FundingStrategy: c.FundingStrategy}}
	}
	for i, p := range c.Participants {
		if i != c.MyIndex {
			b.out.add(c.ID, core.Message{Recipient: p.ParticipantID, Sender: c.Me().ParticipantID, Payload: payload})
		}
	}
	return Result{ChannelResults: []ChannelResult{ResultOf(c)}, Outbox: b.out.messages()}, true, nil
}
