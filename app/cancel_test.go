package app_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
)

// TestEndedContextChangesNothing: a call whose context has already ended
// (cancelled, or past its deadline) returns the context's error and stores
// nothing, on every entry point.
func TestEndedContextChangesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e, id := openRunningWith(t, withStore(t, k, nil))
		A, B := e.parties[0], e.parties[1]
		fromB := syncFromB(t, e, id)
		cancelled, cancel := context.WithCancel(e.ctx)
		cancel()
		expired, cancel2 := context.WithDeadline(e.ctx, time.Now().Add(-time.Second))
		defer cancel2()
		for _, c := range []struct {
			name string
			ctx  context.Context
			want error
		}{{"cancelled", cancelled, context.Canceled}, {"deadline", expired, context.DeadlineExceeded}} {
			for name, call := range entryPoints(e, id, fromB) {
				beforeA, beforeB := e.snap(A), e.snap(B)
				if err := call(c.ctx); !errors.Is(err, c.want) || !errors.Is(err, app.ErrContextDone) {
					t.Errorf("%s with a %s context: err %v, want ErrContextDone and %v", name, c.name, err, c.want)
				}
				if !reflect.DeepEqual(beforeA, e.snap(A)) || !reflect.DeepEqual(beforeB, e.snap(B)) {
					t.Errorf("%s with a %s context changed the store", name, c.name)
				}
			}
		}
		// The channel is untouched: A can still make turn 4.
		r, err := A.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(4, 4)})
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "A update", one(t, r, id), core.StatusRunning, 4)
	})
}

// TestCancelledWhileSigning: the wallet signs before it commits
// (signnow.go), so a context cancelled while the signer works ends the
// call before its commit: ErrContextDone, nothing stored, nothing sent.
// The same call made again signs the same state (RFC 6979) and commits it;
// a retry of that with the same parameters returns the same result and
// stores nothing more; one with other parameters is refused.
func TestCancelledWhileSigning(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		var g *gateSigner
		e, id := openRunningWith(t, withStore(t, k, withGate(&g)))
		A, B := e.parties[0], e.parties[1]
		params := app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(4, 4), AppData: []byte{7}}
		started, release := g.arm()
		ctx, cancel := context.WithCancel(e.ctx)
		type result struct {
			r   app.Result
			err error
		}
		done := make(chan result, 1)
		before := e.snap(A)
		go func() {
			r, err := A.w.UpdateChannel(ctx, params)
			done <- result{r, err}
		}()
		<-started
		cancel()
		release()
		cut := <-done
		if !errors.Is(cut.err, app.ErrContextDone) || len(cut.r.Outbox) != 0 {
			t.Fatalf("update cancelled while signing: %v, %d messages; want ErrContextDone and none", cut.err, len(cut.r.Outbox))
		}
		if !reflect.DeepEqual(before, e.snap(A)) {
			t.Fatal("the cancelled update changed the store")
		}
		res := result{}
		res.r, res.err = A.w.UpdateChannel(e.ctx, params)
		if res.err != nil {
			t.Fatalf("update after the cancelled one: %v (code %d)", res.err, app.Code(res.err))
		}
		wantStatus(t, "A update", one(t, res.r, id), core.StatusRunning, 4)
		wantOutbox(t, "A update", res.r, "B")
		if s := e.snap(A); s.pending != 0 {
			t.Fatalf("%d effects left pending", s.pending)
		}
		// A retry returns the same result (its message again), storing
		// nothing.
		before = e.snap(A)
		r, err := A.w.UpdateChannel(e.ctx, params)
		if err != nil {
			t.Fatalf("retry: %v (code %d)", err, app.Code(err))
		}
		if !reflect.DeepEqual(r.ChannelResults, res.r.ChannelResults) {
			t.Fatalf("retry result %+v, want %+v", r.ChannelResults, res.r.ChannelResults)
		}
		wantOutbox(t, "A retry", r, "B")
		if !reflect.DeepEqual(before, e.snap(A)) {
			t.Fatal("the retry changed the store")
		}
		// Other parameters are a new update, and it is B's turn.
		_, err = A.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(3, 5)})
		if !errors.Is(err, app.ErrNotYourTurn) || app.Code(err) != app.CodeNotYourTurnUpdate {
			t.Fatalf("different update: %v (code %d), want ErrNotYourTurn (403)", err, app.Code(err))
		}
		// B takes either copy of the state, once.
		wantStatus(t, "B receives", one(t, e.push(res.r.Outbox[0]), id), core.StatusRunning, 4)
		before = e.snap(B)
		e.push(r.Outbox[0])
		if !reflect.DeepEqual(before, e.snap(B)) {
			t.Fatal("the retry's message changed B's store")
		}
	})
}

// TestSigningFailedIntentCompletes: when the state is committed but its
// signature cannot be made, the caller gets ErrIncomplete (the intent is
// durable and will be carried out), and a retry with the same parameters
// completes it and returns the result instead of ErrSigningInProgress.
func TestSigningFailedIntentCompletes(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		var g *gateSigner
		e, id := openRunningWith(t, withStore(t, k, withGate(&g)))
		A := e.parties[0]
		params := app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(2, 6)}
		g.fail()
		_, err := A.w.UpdateChannel(e.ctx, params)
		if !errors.Is(err, app.ErrIncomplete) || !errors.Is(err, app.ErrSigner) || !errors.Is(err, errSignerDown) {
			t.Fatalf("update with a failing signer: %v, want ErrIncomplete wrapping ErrSigner and the signer's error", err)
		}
		if s := e.snap(A); s.pending == 0 {
			t.Fatal("the intent is not durable")
		}
		r, err := A.w.UpdateChannel(e.ctx, params)
		if err != nil {
			t.Fatalf("retry: %v (code %d)", err, app.Code(err))
		}
		wantStatus(t, "A retry", one(t, r, id), core.StatusRunning, 4)
		wantOutbox(t, "A retry", r, "B")
		if s := e.snap(A); s.pending != 0 {
			t.Fatalf("%d effects left pending after the retry", s.pending)
		}
		wantStatus(t, "B receives", one(t, e.push(r.Outbox[0]), id), core.StatusRunning, 4)
	})
}

// TestCloseChannelRetry: CloseChannel retried after it succeeded (say its
// caller's context ended and it could not tell) returns the channel's
// result, not ErrChannelClosed.
func TestCloseChannelRetry(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e, id := openRunningWith(t, withStore(t, k, nil))
		A, B := e.parties[0], e.parties[1]
		first, err := A.w.CloseChannel(e.ctx, id)
		if err != nil {
			t.Fatalf("close: %v", err)
		}
		before := e.snap(A)
		r, err := A.w.CloseChannel(e.ctx, id)
		if err != nil {
			t.Fatalf("close retry: %v (code %d)", err, app.Code(err))
		}
		wantStatus(t, "A close retry", one(t, r, id), core.StatusClosing, 4)
		wantOutbox(t, "A close retry", r, "B")
		if !reflect.DeepEqual(before, e.snap(A)) {
			t.Fatal("the retry changed the store")
		}
		// B countersigns; B's own CloseChannel is not a retry of anything.
		e.push(first.Outbox[0])
		if _, err := B.w.CloseChannel(e.ctx, id); !errors.Is(err, app.ErrChannelClosed) {
			t.Fatalf("B's close: %v, want ErrChannelClosed", err)
		}
		// An update is not a retry of a close.
		_, err = A.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(5, 3)})
		if !errors.Is(err, app.ErrChannelClosed) {
			t.Fatalf("update after close: %v, want ErrChannelClosed", err)
		}
	})
}
