package sim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Offline wallets (issue 13 item 7). GoOffline stops a participant's
// wallet: its process closes, and until ComeBack it receives no messages
// (those addressed to it stay queued, and may still be dropped, duplicated
// or reordered), no chain events and no ticks, and makes no calls (an
// action that picks it does nothing). ComeBack starts it again on its
// store, as after a crash, gives it the chain events it missed and has it
// sync every channel it knows.
//
// An offline wallet cannot answer a stale challenge, which may then
// finalize (no watcher is modelled): the dispute property is checked for
// the online participants only (checkFinalized). Stabilize brings every
// wallet back before it settles, so that no channel's funds stay locked.

// errOffline is what a call to an offline wallet answers; it wraps
// errCrashed, so that callers take it as a call that never happened.
var errOffline = fmt.Errorf("%w: offline", errCrashed)

// GoOffline stops a participant of the slot's channel (pick among those
// online that know it).
func (w *World) GoOffline(slot, pick int) {
	_, ws := w.candidates(slot, func(c core.Channel) bool { return true })
	if len(ws) == 0 {
		return
	}
	wal := ws[mod(pick, len(ws))]
	_ = wal.app.Close()
	wal.offline = true
	w.stats.Offline++
	w.line("Note over Wallet%s: goes offline", wal.Name)
}

// ComeBack restarts an offline participant of the slot's channel (pick
// among them) on its store, gives it its chain events and has it sync its
// channels.
func (w *World) ComeBack(slot, pick int) {
	if len(w.ids) == 0 {
		return
	}
	var ws []*Wallet
	for _, wal := range w.members(mod(slot, len(w.ids))) {
		if wal.offline {
			ws = append(ws, wal)
		}
	}
	if len(ws) == 0 {
		return
	}
	w.comeBack(ws[mod(pick, len(ws))])
}

func (w *World) comeBack(wal *Wallet) {
	w.mu.Lock()
	wal.store.dead, wal.store.countdown = false, 0
	w.mu.Unlock()
	wal.offline = false
	wal.backAt = w.Chain.Now()
	w.line("Note over Wallet%s: comes back", wal.Name)
	if err := w.start(wal); err != nil {
		w.violate("%v", err)
		return
	}
	w.Events(wal.Index, 0)
	w.mu.Lock()
	ids := make([]nitro.Bytes32, 0, len(wal.view))
	for id := range wal.view {
		ids = append(ids, id)
	}
	w.mu.Unlock()
	slices.SortFunc(ids, func(a, b nitro.Bytes32) int { return strings.Compare(a.Hex(), b.Hex()) })
	for _, id := range ids {
		if !wal.offline && slices.Contains(w.ids, id) && !w.byz.poisoned[id] {
			w.syncBy(wal, id)
		}
	}
}

// allBack brings every offline wallet back (Stabilize).
func (w *World) allBack() {
	for _, wal := range w.Wallets {
		if wal.offline {
			w.comeBack(wal)
		}
	}
}

// Offline reports whether wallet i is offline.
func (w *World) Offline(i int) bool { return w.Wallets[mod(i, len(w.Wallets))].offline }

// deliverableLocked returns the indices of the messages in flight whose
// recipient is online. Called with netMu held.
func (w *World) deliverableLocked() []int {
	var out []int
	for i, e := range w.net {
		if wal := w.byName[e.To]; wal == nil || !wal.offline {
			out = append(out, i)
		}
	}
	return out
}

// candidates returns the slot's online participants whose view satisfies ok.
func (w *World) candidates(slot int, ok func(c core.Channel) bool) (nitro.Bytes32, []*Wallet) {
	return w.candidatesOf(slot, false, ok)
}

// candidatesOf returns the slot's participants (with all, offline ones
// too) whose view satisfies ok.
func (w *World) candidatesOf(slot int, all bool, ok func(c core.Channel) bool) (nitro.Bytes32, []*Wallet) {
	if len(w.ids) == 0 {
		return nitro.Bytes32{}, nil
	}
	slot = mod(slot, len(w.ids))
	id := w.ids[slot]
	if id == (nitro.Bytes32{}) {
		return id, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*Wallet
	for _, wal := range w.members(slot) {
		if c, known := wal.view[id]; known && ok(c) && (all || !wal.offline) {
			out = append(out, wal)
		}
	}
	return id, out
}

// takeDeliverable takes message i among those whose recipient is online.
func (w *World) takeDeliverable(i int) *Envelope {
	w.netMu.Lock()
	defer w.netMu.Unlock()
	idx := w.deliverableLocked()
	if len(idx) == 0 {
		return nil
	}
	k := idx[mod(i, len(idx))]
	env := w.net[k]
	w.net = slices.Delete(w.net, k, k+1)
	return env
}
