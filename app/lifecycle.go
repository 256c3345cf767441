package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// lifecycle admits calls until Close and lets Close wait for the calls in
// flight. A call counts from enter to leave; Close first stops admitting
// (so no call can start once it has begun), then waits for the count to
// reach zero, so a call that started before Close finishes normally.
type lifecycle struct {
	mu     sync.Mutex
	closed bool
	calls  sync.WaitGroup
	once   sync.Once
}

// enter admits a call, or returns ErrClosed once Close has begun, or the
// context's error (wrapped) if it has already ended. A nil return must be
// paired with leave.
func (w *Wallet) enter(ctx context.Context) error {
	l := &w.life
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("app: %w", err)
	}
	l.calls.Add(1) // under mu, so never after shut's Wait has begun with a zero count
	return nil
}

// leave ends a call enter admitted.
func (w *Wallet) leave() { w.life.calls.Done() }

// shut refuses new calls and waits for those in flight.
func (l *lifecycle) shut() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.calls.Wait()
}

// Close refuses every call from now on (they return ErrClosed; Subscribe
// returns a closed stream once Close has returned), waits for the calls in
// flight to finish, then stops the background work and waits for it, and
// ends every subscription. It is safe to call more than once and from
// several goroutines: later calls wait for the first and return nil.
func (w *Wallet) Close() error {
	w.life.once.Do(func() {
		w.life.shut()
		w.cancel()
		w.wg.Wait()
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
// call's context ending is reported as that instead.
func storeErr(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("app: %s: %w", op, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrStore, op, err)
}
