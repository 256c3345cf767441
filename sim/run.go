package sim

import (
	"errors"
	"fmt"
	"math/big"
	"math/rand"
	"time"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// RunOptions describe a simulation run (nitrowallet sim).
type RunOptions struct {
	Wallets  int
	Channels int
	// Updates is how many updates each channel makes before it is closed.
	Updates int
	// Drop, Dup and Crash are probabilities: that a message about to be
	// delivered is lost, that it is duplicated, and that a wallet crashes
	// at a step (half the time in the middle of its next operation).
	Drop, Dup, Crash float64
	// Apps is the share of channels whose app is SingleAssetPayments
	// (AppAddress); the others have none.
	Apps float64
	// Invalid is the probability, at each step, that the participant
	// whose turn it is in some channel proposes a state the channel's app
	// refuses (ProposeInvalid), which honest wallets must refuse.
	Invalid float64
	Seed    int64
	// Trace records the Mermaid diagram.
	Trace bool
	// MaxSteps bounds the run (default 20000 + 2000 per channel).
	MaxSteps int
}

// Report is what a run did.
type Report struct {
	Stats
	Steps int
	// Retries counts the stalls the run broke with a sync round.
	Retries int
	// Closed counts the channels closed and paid out.
	Closed int
	// Payouts is each wallet's destination balance in wei at the end.
	Payouts  map[string]*big.Int
	Wall     time.Duration
	Diagram  string
	DiagLine int
}

// Run runs a deterministic simulation: the channels open, make their
// updates and close, driven by a random scheduler seeded with Seed that
// interleaves API calls, deliveries (with drops and duplicates), mining and
// crashes; a stall (nothing in flight, nothing to mine, nobody able to move)
// is broken by a sync round. The run then stabilizes and every safety and
// liveness property of the package is checked.
func Run(opt RunOptions) (Report, error) {
	start := time.Now()
	if opt.Channels < 1 || opt.Updates < 0 {
		return Report{}, errors.New("sim: at least one channel, and no negative number of updates")
	}
	if opt.Wallets < 2 || opt.Wallets > 26 {
		return Report{}, fmt.Errorf("sim: %d wallets, want 2 to 26", opt.Wallets)
	}
	if opt.MaxSteps == 0 {
		opt.MaxSteps = 20000 + 2000*opt.Channels
	}
	r := rand.New(rand.NewSource(opt.Seed))
	cfg := Config{Wallets: opt.Wallets, Trace: opt.Trace}
	for j := 0; j < opt.Channels; j++ {
		k := 2
		if opt.Wallets > 2 {
			k += r.Intn(min(opt.Wallets, 4) - 1)
		}
		spec := ChannelSpec{Participants: r.Perm(opt.Wallets)[:k]}
		if opt.Wallets == 2 {
			spec.Participants = []int{j % 2, (j + 1) % 2}
		}
		for i := 0; i < k; i++ {
			spec.ETH = append(spec.ETH, int64(1+r.Intn(9)))
		}
		// Drawn only for a share above 0: runs without apps stay as they were.
		spec.App = opt.Apps > 0 && r.Float64() < opt.Apps
		cfg.Channels = append(cfg.Channels, spec)
	}
	w, err := New(cfg)
	if err != nil {
		return Report{}, err
	}
	defer w.Close()
	rep := Report{}
	for ; rep.Steps < opt.MaxSteps && !w.allClosed(); rep.Steps++ {
		if opt.Crash > 0 && r.Float64() < opt.Crash {
			i := r.Intn(opt.Wallets)
			if r.Intn(2) == 0 {
				w.Crash(i)
			} else {
				w.CrashDuring(i, 1+r.Intn(4))
			}
		}
		if opt.Invalid > 0 && r.Float64() < opt.Invalid {
			w.ProposeInvalid(r.Intn(opt.Channels), 0, r.Intn(6))
		}
		api := w.scriptMoves(opt.Updates)
		var choices []func()
		for _, a := range api {
			choices = append(choices, a)
		}
		if n := w.InFlight(); n > 0 {
			deliver := func() {
				i := r.Intn(w.InFlight())
				switch x := r.Float64(); {
				case x < opt.Drop:
					w.Drop(i)
				case x < opt.Drop+opt.Dup:
					w.Duplicate(i)
					w.Deliver(i)
				default:
					w.Deliver(i)
				}
			}
			for k := 0; k < 2+n; k++ {
				choices = append(choices, deliver)
			}
		}
		if w.Chain.Pending() > 0 || w.Chain.ConfirmedBlock() < w.lastEventBlock() {
			choices = append(choices, w.Mine, w.Mine)
		}
		if ws := w.waitingOnTime(); len(ws) > 0 {
			choices = append(choices, func() { w.Tick(ws[r.Intn(len(ws))].Index, core.BackupConcludeDelay+1) })
		}
		if len(choices) == 0 {
			rep.Retries++
			w.line("Note over %s: stalled: sync", w.span())
			w.syncUnfinished()
			continue
		}
		choices[r.Intn(len(choices))]()
		if err := w.Check(); err != nil {
			return w.report(rep, start), fmt.Errorf("step %d: %w", rep.Steps, err)
		}
	}
	if err := w.Stabilize(false); err != nil {
		return w.report(rep, start), err
	}
	rep = w.report(rep, start)
	if rep.Closed != opt.Channels {
		return rep, fmt.Errorf("sim: %d of %d channels closed after %d steps", rep.Closed, opt.Channels, rep.Steps)
	}
	return rep, nil
}

func (w *World) report(rep Report, start time.Time) Report {
	rep.Stats = w.Stats()
	rep.Closed = 0
	for _, id := range w.ids {
		if id != (nitro.Bytes32{}) && w.closedEverywhere(id) && w.Chain.Finalized(id) {
			rep.Closed++
		}
	}
	rep.Payouts = map[string]*big.Int{}
	for _, wal := range w.Wallets {
		rep.Payouts[wal.Name] = w.Chain.Balance(wal.dest)
	}
	rep.Diagram = w.Diagram()
	rep.DiagLine = w.DiagramLines()
	rep.Wall = time.Since(start)
	return rep
}

// scriptMoves returns the API calls that advance some channel along its
// script: create, join, Updates updates, close.
func (w *World) scriptMoves(updates int) []func() {
	var out []func()
	for slot, id := range w.ids {
		slot := slot
		if id == (nitro.Bytes32{}) {
			out = append(out, func() { w.CreateChannel(slot) })
			continue
		}
		if _, ws := w.candidates(slot, func(c core.Channel) bool { return !c.Joined }); len(ws) > 0 {
			out = append(out, func() { w.JoinChannel(slot, 0) })
		}
		_, ws := w.candidates(slot, canMove)
		if len(ws) == 0 {
			continue
		}
		c, _ := w.View(ws[0].Index, id)
		n := uint64(c.N())
		if c.TurnNum() < 2*n-1+uint64(updates) {
			out = append(out, func() { w.UpdateChannel(slot, 0, int(c.TurnNum())) })
		} else {
			out = append(out, func() { w.CloseChannel(slot, 0) })
		}
	}
	return out
}

func (w *World) allClosed() bool {
	for _, id := range w.ids {
		if id == (nitro.Bytes32{}) || !w.closedEverywhere(id) || !w.Chain.Finalized(id) {
			return false
		}
	}
	return true
}

func (w *World) closedEverywhere(id nitro.Bytes32) bool {
	for slot, x := range w.ids {
		if x != id {
			continue
		}
		for _, wal := range w.members(slot) {
			c, ok := w.View(wal.Index, id)
			if !ok || c.Status() != core.StatusClosed || c.FundingStatus() != core.FundingDefunded {
				return false
			}
		}
	}
	return true
}

// syncUnfinished has every participant of every unfinished channel sync it.
func (w *World) syncUnfinished() {
	for slot, id := range w.ids {
		if id == (nitro.Bytes32{}) || w.closedEverywhere(id) {
			continue
		}
		for _, wal := range w.members(slot) {
			if _, ok := w.View(wal.Index, id); ok {
				w.syncBy(wal, id)
			}
		}
	}
	for _, wal := range w.waitingOnTime() {
		w.Tick(wal.Index, core.BackupConcludeDelay+1)
	}
}
