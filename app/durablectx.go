package app

import "context"

// durableContext is the context a call carries out its effects under once
// its intent is durable: cancelling the caller's context no longer stops
// it, but the caller's deadline, if any, still bounds it, so that a call
// returns by its deadline even when a store call after the commit waits
// (a locked table, a server going down). Effects the deadline cuts short
// stay pending: the call returns ErrIncomplete, and the next Tick, a
// restart or a retry of the same call carries them out.
func durableContext(ctx context.Context) (context.Context, context.CancelFunc) {
	wc := context.WithoutCancel(ctx)
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(wc, deadline)
	}
	return wc, func() {}
}
