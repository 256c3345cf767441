package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nitrowallet/nitrowallet/ports"
)

// lifecycle admits calls until Close and lets Close wait for the calls in
// flight. A call counts from enter to leave; Close first stops admitting
// (so no call can start once it has begun), then waits for the count to
// reach zero, so a call that started before Close finishes normally. The
// count and the closed flag share one atomic word: admitting a call takes
// no lock shared by all calls.
type lifecycle struct {
	state atomic.Int64  // calls in flight, plus closedBit once Close began
	idle  chan struct{} // closed by the last call to leave after Close began
	once  sync.Once
}

const closedBit = int64(1) << 62

// enter admits a call, or returns ErrClosed once Close has begun, or the
// context's error (wrapped in ErrContextDone) if it has already ended. A
// nil return must be paired with leave.
func (w *Wallet) enter(ctx context.Context) error {
	l := &w.life
	for {
		s := l.state.Load()
		if s&closedBit != 0 {
			return ErrClosed
		}
		if l.state.CompareAndSwap(s, s+1) {
			break
		}
	}
	if err := ctx.Err(); err != nil {
		w.leave()
		return fmt.Errorf("%w: %w", ErrContextDone, err)
	}
	return nil
}

// leave ends a call enter admitted.
func (w *Wallet) leave() {
	if w.life.state.Add(-1) == closedBit {
		close(w.life.idle) // the last call in flight once Close began
	}
}

// shut refuses new calls and returns a channel closed once the calls in
// flight have all left (nil when none is in flight).
func (l *lifecycle) shut() <-chan struct{} {
	l.idle = make(chan struct{}) // before the bit: leave reads it only after
	if l.state.Or(closedBit)&^closedBit == 0 {
		return nil // none in flight
	}
	return l.idle
}

// Close refuses every call from now on (they return ErrClosed; Subscribe
// returns a closed stream once Close has returned), waits up to
// Config.CloseTimeout for the calls in flight to finish, then stops the
// background work and what effects are still running (they stay pending
// in the store and are carried out on the next start), waits for both,
// and ends every subscription. It is safe to call more than once and from
// several goroutines: later calls wait for the first and return nil.
func (w *Wallet) Close() error {
	w.life.once.Do(func() {
		idle := w.life.shut()
		if idle != nil {
			t := time.NewTimer(w.cfg.CloseTimeout)
			select {
			case <-idle:
			case <-t.C:
				w.log.Warn("close: calls still in flight after CloseTimeout; stopping their effects, which resume on the next start")
			}
			t.Stop()
		}
		w.cancel()
		if idle != nil {
			<-idle
		}
		w.wg.Wait()
		// The done marks still waiting (a crash would only repeat them).
		ctx, cancel := context.WithTimeout(context.Background(), w.cfg.CloseTimeout)
		_ = w.flushDone(ctx) // logged
		cancel()
		w.subs.close()
	})
	return nil
}

// incomplete reports effects that failed after their call's commit.
func incomplete(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrIncomplete, err)
}

// storeErr wraps a store failure in ErrStore; a failure that is the
// call's context ending is reported as ErrContextDone instead (nothing
// changed), unless the store says the write's outcome is unknown: then it
// stays ErrStore (and ErrOutcomeUnknown), since the write may be durable.
func storeErr(op string, err error) error {
	if errors.Is(err, ports.ErrOutcomeUnknown) {
		return fmt.Errorf("%w: %s: %w", ErrStore, op, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s: %w", ErrContextDone, op, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrStore, op, err)
}
