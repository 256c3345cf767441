package sim

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/core/wire"
)

// A hostile peer proposing a transition its channel's app refuses. On its
// turn, a participant signs, with its own key, the next state of a running
// channel in which it takes another participant's money: a non-mover's
// allocation goes down and the mover's up by as much, totals kept, so only
// the app rule refuses it (SingleAssetPayments' "Nonmover balance
// decreased" for an app channel, core's no-app rule, ErrTakesFromOther,
// for an app-less one). The world pushes it straight to every other
// participant that holds the same latest state. Property: each of them
// refuses it with an error that is app.ErrInvalidTransition and its store
// is unchanged. The world steps the message first as the wallet will
// (World.call), so the prediction must refuse it too.
//
// The hostile peer's own wallet knows nothing of it and may sign another
// state for that turn later: a turn's refused proposal is no equivocation
// that honest wallets ever hold, so the channel is not poisoned.

// ProposeInvalid has the participant of the slot's channel whose turn it
// is (pick among them) propose a state that takes 1 + amount mod 3 units
// (or what there is) from another participant (amount also picks whom and
// which asset) to itself. It does nothing when no participant can move or
// nobody else has anything to take, and skips channels a hostile peer
// equivocated in (a held state of that turn would be refused as
// conflicting before the app is asked).
func (w *World) ProposeInvalid(slot, pick, amount int) {
	id, ws := w.candidates(slot, func(c core.Channel) bool {
		l, ok := c.Latest()
		return canMove(c) && ok && !l.State.IsFinal
	})
	if len(ws) == 0 || w.byz.poisoned[id] {
		return
	}
	by := ws[mod(pick, len(ws))]
	c, _ := w.View(by.Index, id)
	l, _ := c.Latest()
	st, what, ok := theft(c, l.State, amount)
	if !ok {
		return
	}
	_, sig, ok := w.sign(by.key, st)
	if !ok {
		return
	}
	ss := core.SignedState{State: st, Participants: c.Participants, Signatures: []nitro.Signature{sig}}
	w.stats.InvalidProposals++
	for i, p := range c.Participants {
		if i == c.MyIndex {
			continue
		}
		victim := w.byName[p.ParticipantID]
		vc, known := w.View(victim.Index, id)
		if vl, ok := vc.Latest(); !known || !ok || vl.Hash != l.Hash {
			continue // behind (it would hold the state for later) or elsewhere
		}
		data, err := wire.EncodeMessage(core.Message{Recipient: p.ParticipantID, Sender: by.Name, Payload: core.Payload{
			WalletVersion: wire.WalletVersion, SignedStates: []core.SignedState{ss}}})
		if err != nil {
			return
		}
		w.pushInvalid(victim, by, fmt.Sprintf("%s proposes %s turn %d: %s", by.Name, w.label(id), st.TurnNum, what), data)
	}
}

// theft builds the next state after latest (a turn of c's own wallet) in
// which the mover takes from another participant; what describes it.
func theft(c core.Channel, latest nitro.State, amount int) (nitro.State, string, bool) {
	n := len(c.Participants)
	mover := c.MyIndex
	// Try each other participant and asset in an order amount picks.
	for k := 0; k < n*len(latest.Outcome); k++ {
		x := mod(amount+k, n*len(latest.Outcome))
		asset, from := x/n, x%n
		if from == mover {
			continue
		}
		al := latest.Outcome[asset].Allocation
		if len(al) != n || al[from].Amount.Sign() <= 0 {
			continue
		}
		amt := big.NewInt(int64(1 + mod(amount, 3)))
		if al[from].Amount.Cmp(amt) < 0 {
			amt = new(big.Int).Set(al[from].Amount)
		}
		st := latest.Clone()
		st.TurnNum++
		st.AppData = []byte{0xbd, byte(st.TurnNum)}
		b := st.Outcome[asset].Allocation
		b[from].Amount = new(big.Int).Sub(b[from].Amount, amt)
		b[mover].Amount = new(big.Int).Add(b[mover].Amount, amt)
		return st, fmt.Sprintf("takes %v of asset %d from %s", amt, asset, c.Participants[from].ParticipantID), true
	}
	return nitro.State{}, "", false
}

// pushInvalid gives victim the app-invalid proposal, stepped first on a
// copy of its channel (World.call), and checks that it is refused as an
// invalid transition and changes nothing durable.
func (w *World) pushInvalid(victim, by *Wallet, what string, data []byte) {
	w.stats.Forged++
	w.line("Note over Wallet%s: %s", by.Name, what)
	before := w.durable(victim)
	jobs := func() []job {
		return receiveJobs(core.Receive{Me: victim.Address(), Deployment: victim.deployment()}, data)
	}
	_, err := w.call(victim, "pushMessage (app-invalid)", nitro.Bytes32{}, false, jobs, func(a *app.Wallet) (app.Result, error) {
		return a.PushMessage(w.ctx, data)
	})
	if errors.Is(err, errCrashed) {
		return
	}
	if err == nil {
		w.violate("wallet %s accepted an app-invalid proposal: %s", victim.Name, what)
		return
	}
	w.rejected(victim, what, before, err)
	if !errors.Is(err, app.ErrInvalidTransition) {
		w.violate("wallet %s refused an app-invalid proposal (%s) with %v, want app.ErrInvalidTransition", victim.Name, what, err)
		return
	}
	w.stats.InvalidRefused++
}
