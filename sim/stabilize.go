package sim

import (
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// maxRounds bounds Stabilize's rounds; each delivers everything, mines,
// gives out the events, ticks past the backup-conclude delay and syncs.
const maxRounds = 12

// waitStep is how far the clock jumps for wallets that wait on time: past
// the backup-conclude delay and the transaction retry delay alike.
const waitStep = max(core.BackupConcludeDelay, core.TxRetryDelay) + 1

// Stabilize stops every fault (lagging, armed crashes, injected transaction
// failures), then runs rounds of delivering every message, mining and
// confirming, giving every wallet its events, ticking and syncing, until a
// round changes nothing. With complete it then also creates every channel,
// joins every proposal and closes every running channel, stabilizing after
// each step. It returns the liveness violations: channels whose
// participants disagree, and closed channels not concluded and paid out
// exactly; with complete, any channel not closed and paid out.
func (w *World) Stabilize(complete bool) error {
	w.line("Note over %s: stabilize", w.span())
	w.stabilizing = true
	defer func() { w.stabilizing = false }()
	w.Chain.FailNext(0, nil)
	w.allBack()
	for _, wal := range w.Wallets {
		wal.lagging = false
		w.mu.Lock()
		wal.store.countdown = 0
		w.mu.Unlock()
	}
	w.settle()
	if complete {
		for slot := range w.ids {
			w.CreateChannel(slot)
		}
		w.settle()
		for slot := range w.ids {
			for range w.cfg.Channels[slot].Participants {
				w.JoinChannel(slot, 0)
			}
		}
		w.settle()
		for slot := range w.ids {
			w.CloseChannel(slot, 0)
		}
		w.settle()
	}
	if err := w.Check(); err != nil {
		return err
	}
	return w.liveness(complete)
}

// settle runs rounds until nothing changes any more: deliver every
// message, mine and confirm the pending transactions, give every wallet its
// events, tick the wallets that wait on time past the backup-conclude delay;
// when a round changes nothing, sync the channels whose participants still
// differ, once.
func (w *World) settle() {
	synced := false
	for round := 0; round < maxRounds; round++ {
		before := w.fingerprint()
		w.deliverAll()
		for w.Chain.Pending() > 0 || w.Chain.ConfirmedBlock() < w.lastEventBlock() {
			w.Mine()
		}
		for _, wal := range w.Wallets {
			w.Events(wal.Index, 0)
		}
		w.deliverAll()
		if ws := w.waitingOnTime(); len(ws) > 0 {
			w.clock.advance(waitStep)
			for _, wal := range ws {
				w.tick(wal)
			}
			w.deliverAll()
		}
		if w.fingerprint() != before {
			synced = false
			continue
		}
		if w.advanceDisputes() { // every wallet has answered: time may run out
			synced = false
			continue
		}
		if synced {
			return
		}
		synced = true
		if !w.syncDiffering() {
			return
		}
	}
}

// lastEventBlock is the newest block with an event.
func (w *World) lastEventBlock() uint64 {
	logs := w.canonical()
	if len(logs) == 0 {
		return 0
	}
	return logs[len(logs)-1].Block
}

// waitingOnTime returns the wallets with a channel that waits on a tick or
// an effect left pending.
func (w *World) waitingOnTime() []*Wallet {
	var out []*Wallet
	for _, wal := range w.Wallets {
		pending, _ := wal.store.mem.Pending(w.ctx)
		wait := len(pending) > 0
		w.mu.Lock()
		for _, c := range wal.view {
			wait = wait || c.NeedsTick()
		}
		w.mu.Unlock()
		if wait {
			out = append(out, wal)
		}
	}
	return out
}

// syncDiffering syncs each channel whose participants hold different
// states. The participants that are behind (a lower latest turn) sync
// alone, as a wallet that notices it is behind would: asking its peers for
// their states must be enough. When none is behind, or a participant does
// not know the channel at all, every participant that knows it syncs. It
// reports whether it synced any.
func (w *World) syncDiffering() bool {
	any := false
	for slot, id := range w.ids {
		if id == (nitro.Bytes32{}) || w.byz.poisoned[id] {
			continue
		}
		var states []string
		var knowers, behind []*Wallet
		unknown := false
		top := uint64(0)
		turns := map[*Wallet]uint64{}
		for _, wal := range w.members(slot) {
			c, ok := w.View(wal.Index, id)
			if !ok {
				unknown = true
				continue
			}
			knowers = append(knowers, wal)
			states = append(states, fmt.Sprint(c.Status(), " ", Canonical(c.States)))
			turns[wal] = c.TurnNum()
			top = max(top, c.TurnNum())
		}
		same := !unknown
		for _, st := range states {
			same = same && st == states[0]
		}
		if same {
			continue
		}
		for _, wal := range knowers {
			if turns[wal] < top {
				behind = append(behind, wal)
			}
		}
		syncers := knowers
		if !unknown && len(behind) > 0 {
			syncers = behind
		}
		for _, wal := range syncers {
			w.syncBy(wal, id)
			any = true
		}
	}
	return any
}

// Calm lets the world run without faults for a while: every message in
// flight is delivered, in order, with the answers; the pending transactions
// are mined and confirmed and every wallet gets its events (lagging ones
// too); the wallets waiting on time are ticked. Nobody syncs.
func (w *World) Calm() {
	w.deliverAll()
	for w.Chain.Pending() > 0 || w.Chain.ConfirmedBlock() < w.lastEventBlock() {
		w.Mine()
	}
	for _, wal := range w.Wallets {
		w.Events(wal.Index, 0)
	}
	if ws := w.waitingOnTime(); len(ws) > 0 {
		w.clock.advance(waitStep)
		for _, wal := range ws {
			w.tick(wal)
		}
	}
	w.deliverAll()
}

// deliverAll delivers messages in order until none is left (bounded).
func (w *World) deliverAll() {
	for k := 0; k < 5000 && w.deliverable() > 0; k++ {
		w.Deliver(0)
	}
}

// deliverable counts the messages in flight whose recipient is online.
func (w *World) deliverable() int {
	w.netMu.Lock()
	defer w.netMu.Unlock()
	return len(w.deliverableLocked())
}

// fingerprint summarizes every wallet's channels and the chain.
func (w *World) fingerprint() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "head %d pending %d\n", w.Chain.BlockNumber(), w.Chain.Pending())
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, wal := range w.Wallets {
		for _, id := range w.ids {
			c, ok := wal.view[id]
			if !ok {
				continue
			}
			l, _ := c.Latest()
			sigs := 0
			for _, s := range c.States {
				for _, g := range s.Sigs {
					if g.V != 0 {
						sigs++
					}
				}
			}
			fmt.Fprintf(&sb, "%s %s %s %d %x %d %v %d %t\n", wal.Name, w.label(id), c.Status(), c.TurnNum(), l.Hash[:4], sigs, c.FundingStatus(), c.Conclude, c.Concluded)
		}
	}
	return sb.String()
}

func (w *World) span() string {
	if len(w.Wallets) == 0 {
		return "Chain"
	}
	return "Wallet" + w.Wallets[0].Name + ",Wallet" + w.Wallets[len(w.Wallets)-1].Name
}

// liveness checks the settled world.
func (w *World) liveness(complete bool) error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	expected := map[nitro.Address]map[nitro.Address]*big.Int{} // asset -> destination -> payout
	for _, a := range w.assets() {
		expected[a] = map[nitro.Address]*big.Int{}
		for _, wal := range w.Wallets {
			expected[a][wal.dest] = new(big.Int)
		}
	}
	unchecked := map[nitro.Address]bool{} // destinations paid by poisoned channels
	for slot, id := range w.ids {
		if id == (nitro.Bytes32{}) {
			if complete {
				bad("ch%d was never created", slot+1)
			}
			continue
		}
		if w.byz.poisoned[id] {
			// A hostile peer equivocated: no agreement to expect, and
			// its payouts, if any, are not the honest ones.
			if w.Chain.Finalized(id) {
				for _, wal := range w.members(slot) {
					unchecked[wal.dest] = true
				}
			}
			continue
		}
		label := w.label(id)
		var views []core.Channel
		for _, wal := range w.members(slot) {
			c, ok := w.View(wal.Index, id)
			if !ok {
				bad("%s: %s never learnt of it", label, wal.Name)
				continue
			}
			views = append(views, c)
			if complete && (c.Status() != core.StatusClosed || c.FundingStatus() != core.FundingDefunded) {
				bad("%s: %s is %s/%s, want closed/Defunded", label, wal.Name, c.Status(), c.FundingStatus())
			}
		}
		if len(views) == 0 {
			continue
		}
		l0, _ := views[0].Latest()
		closed := true
		for i, c := range views {
			l, _ := c.Latest()
			if l.State.TurnNum != l0.State.TurnNum || l.Hash != l0.Hash {
				bad("%s: participants disagree: %s has turn %d, %s turn %d", label, views[0].Me().ParticipantID, l0.State.TurnNum, views[i].Me().ParticipantID, l.State.TurnNum)
			}
			closed = closed && c.Status() == core.StatusClosed
		}
		if !closed {
			continue
		}
		if !w.Chain.Finalized(id) {
			bad("%s: closed everywhere but not concluded on chain", label)
		}
		rec, _ := w.record(id)
		for _, a := range paidOutcome(views[0], rec) {
			if h := w.Chain.ChannelHoldings(a.AssetHolder, id); h.Sign() != 0 {
				bad("%s: closed but still holds %v %s", label, h, w.assetName(a.AssetHolder))
			}
			for _, it := range a.Allocation {
				to := nitro.DestinationToAddress(it.Destination)
				if e, ok := expected[a.AssetHolder][to]; ok {
					e.Add(e, it.Amount)
				} else {
					bad("%s: pays an unknown destination %s", label, to)
				}
			}
		}
		for _, c := range views {
			if c.FundingStatus() != core.FundingDefunded {
				bad("%s: %s is closed but %s", label, c.Me().ParticipantID, c.FundingStatus())
			}
		}
	}
	for _, a := range w.assets() {
		for _, wal := range w.Wallets {
			if got, want := w.balance(a, wal.dest), expected[a][wal.dest]; got.Cmp(want) != 0 && !unchecked[wal.dest] {
				bad("%s's destination has %v %s, want exactly %v from the closed channels", wal.Name, got, w.assetName(a), want)
			}
		}
	}
	if len(errs) > 0 {
		return errors.New("liveness: " + strings.Join(errs, "\n"))
	}
	return nil
}
