package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Defaults of the background work's Config fields.
const (
	// DefaultCloseTimeout is how long Close waits for calls in flight.
	DefaultCloseTimeout = 5 * time.Second
	// DefaultParallelism is how many channels background work drives at
	// once: a channel whose effect waits (a transaction for its receipt,
	// a slow signer) holds up no more than its own slot.
	DefaultParallelism = 8
)

func withBackgroundDefaults(cfg *Config) error {
	if cfg.CloseTimeout < 0 || cfg.Parallelism < 0 {
		return fmt.Errorf("%w: negative CloseTimeout or Parallelism", ErrInvalidParams)
	}
	if cfg.CloseTimeout == 0 {
		cfg.CloseTimeout = DefaultCloseTimeout
	}
	if cfg.Parallelism == 0 {
		cfg.Parallelism = DefaultParallelism
	}
	return nil
}

// effectContext is the context a call carries out its effects under once
// its intent is durable: the call's values, without its cancellation, but
// within its deadline if it has one (so that a call returns by its
// deadline even when a store call after the commit waits: a locked table,
// a server going down), and ended when Close stops the wallet. Effects it
// cuts short stay pending: the call returns ErrIncomplete, and the next
// Tick, a restart or a retry of the same call carries them out.
func (w *Wallet) effectContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ec := effectCtx{Context: w.bg, vals: context.WithoutCancel(ctx)}
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ec, deadline)
	}
	return ec, func() {}
}

// effectCtx takes Done, Err and Deadline from the wallet's background
// context and values from the call's. Values the call's context lacks
// (among them the context package's own key for its parent) come from the
// background context, so contexts derived from it are cancelled with it
// directly, without a goroutine watching it.
type effectCtx struct {
	context.Context
	vals context.Context
}

// Value returns the call's value for key, else the background context's.
func (c effectCtx) Value(key any) any {
	if v := c.vals.Value(key); v != nil {
		return v
	}
	return c.Context.Value(key)
}

// eachChannel runs f for every id, at most Config.Parallelism at once, and
// waits for them all; with Parallelism 1 it runs them in order.
func (w *Wallet) eachChannel(ids []nitro.Bytes32, f func(nitro.Bytes32)) {
	n := w.cfg.Parallelism
	if n <= 1 || len(ids) <= 1 {
		for _, id := range ids {
			f(id)
		}
		return
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(id)
		}()
	}
	wg.Wait()
}

// startResume carries out again the effects a crash left pending. The
// outbox is read before New returns (a store that cannot be read fails
// New); the effects are driven in the background by the channels'
// workers, several channels at once, so that a restart does not wait for them (with Parallelism 1,
// before New returns). The messages they queue are kept for the first
// subscriber.
func (w *Wallet) startResume(ctx context.Context) error {
	ids, err := w.pendingChannels(ctx)
	if err != nil {
		return err
	}
	w.subs.hold()
	if w.cfg.Parallelism == 1 || len(ids) == 0 {
		w.resumeChannels(ctx, ids)
		w.subs.release()
		return nil
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer w.subs.release()
		w.driveAll(w.bg, ids, true)
	}()
	return nil
}
