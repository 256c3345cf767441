package app_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// entryPoints are every wallet call that can be refused, each made with
// arguments that would succeed (or at least reach the store) on an open
// wallet: A's turn, A's channel, a message from B.
func entryPoints(e *env, id nitro.Bytes32, fromB []byte) map[string]func(ctx context.Context) error {
	A := e.parties[0]
	return map[string]func(ctx context.Context) error{
		"CreateChannel": func(ctx context.Context) error {
			_, err := A.w.CreateChannel(ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(1, 1)})
			return err
		},
		"JoinChannel": func(ctx context.Context) error { _, err := A.w.JoinChannel(ctx, id); return err },
		"UpdateChannel": func(ctx context.Context) error {
			_, err := A.w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(4, 4)})
			return err
		},
		"CloseChannel": func(ctx context.Context) error { _, err := A.w.CloseChannel(ctx, id); return err },
		"SyncChannel":  func(ctx context.Context) error { _, err := A.w.SyncChannel(ctx, id); return err },
		"PushMessage":  func(ctx context.Context) error { _, err := A.w.PushMessage(ctx, fromB); return err },
		"GetState":     func(ctx context.Context) error { _, err := A.w.GetState(ctx, id); return err },
		"GetChannels":  func(ctx context.Context) error { _, err := A.w.GetChannels(ctx); return err },
		"Tick":         func(ctx context.Context) error { return A.w.Tick(ctx) },
		"Equivocations": func(ctx context.Context) error {
			_, err := A.w.Equivocations(ctx)
			return err
		},
	}
}

// syncFromB is a message B sends A: its states and a request for A's.
func syncFromB(t *testing.T, e *env, id nitro.Bytes32) []byte {
	t.Helper()
	r, err := e.parties[1].w.SyncChannel(e.ctx, id)
	if err != nil || len(r.Outbox) != 1 {
		t.Fatalf("B's sync: %v, %d messages", err, len(r.Outbox))
	}
	return r.Outbox[0].Data
}

// TestCallsAfterClose: once Close has returned, every entry point returns
// ErrClosed and changes nothing stored; Subscribe gives a closed stream.
func TestCallsAfterClose(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e, id := openRunningWith(t, withStore(t, k, nil))
		A := e.parties[0]
		fromB := syncFromB(t, e, id)
		if err := A.w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := A.w.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		before := e.snap(A)
		for name, call := range entryPoints(e, id, fromB) {
			err := call(e.ctx)
			if !errors.Is(err, app.ErrClosed) {
				t.Errorf("%s after Close: err %v, want ErrClosed", name, err)
			}
			if !reflect.DeepEqual(before, e.snap(A)) {
				t.Fatalf("%s after Close changed the store", name)
			}
		}
		notes, stop := A.w.Subscribe()
		defer stop()
		select {
		case n, ok := <-notes:
			if ok {
				t.Fatalf("Subscribe after Close delivered %+v", n)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Subscribe after Close: stream not closed")
		}
	})
}

// TestCloseWaitsForInFlightCall: a call that started before Close finishes
// normally (signs, stores, returns its message), Close returns only after
// it, and calls made while Close waits are refused.
func TestCloseWaitsForInFlightCall(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		var g *gateSigner
		e, id := openRunningWith(t, withStore(t, k, withGate(&g)))
		A, B := e.parties[0], e.parties[1]
		started, release := g.arm()
		defer release()
		type result struct {
			r   app.Result
			err error
		}
		done := make(chan result, 1)
		go func() {
			r, err := A.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(4, 4)})
			done <- result{r, err}
		}()
		<-started
		closed := make(chan error, 1)
		go func() { closed <- A.w.Close() }()
		select {
		case <-closed:
			t.Fatal("Close returned while a call was in flight")
		case <-time.After(100 * time.Millisecond):
		}
		// Close has begun: a new call is refused (polled, since Close
		// runs in its own goroutine).
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, err := A.w.GetChannels(e.ctx)
			if errors.Is(err, app.ErrClosed) {
				break
			}
			if err != nil || time.Now().After(deadline) {
				t.Fatalf("GetChannels while closing: %v", err)
			}
			time.Sleep(time.Millisecond)
		}
		release()
		res := <-done
		if res.err != nil {
			t.Fatalf("in-flight update: %v", res.err)
		}
		wantStatus(t, "A update", one(t, res.r, id), core.StatusRunning, 4)
		wantOutbox(t, "A update", res.r, "B")
		select {
		case err := <-closed:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Close did not return after the in-flight call")
		}
		if s := e.snap(A); s.pending != 0 {
			t.Fatalf("%d effects left pending by the in-flight call", s.pending)
		}
		r := e.push(res.r.Outbox[0])
		wantStatus(t, "B receives", one(t, r, id), core.StatusRunning, 4)
		_ = B
	})
}

// TestCallsRacingClose races every entry point against Close (run it with
// -race): each call either completes or gets ErrClosed, and once Close has
// returned nothing more is stored.
func TestCallsRacingClose(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e, id := openRunningWith(t, withStore(t, k, nil))
		A := e.parties[0]
		fromB := syncFromB(t, e, id)
		calls := entryPoints(e, id, fromB)
		var (
			wg       sync.WaitGroup
			closedAt = make(chan struct{})
			errs     = make(chan error, 4*len(calls))
		)
		for name, call := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					err := call(e.ctx)
					switch {
					case errors.Is(err, app.ErrClosed):
						return
					case err != nil && !errors.Is(err, app.ErrNotYourTurn) && !errors.Is(err, app.ErrAlreadyJoined) &&
						!errors.Is(err, app.ErrChannelClosed) && !errors.Is(err, app.ErrNotRunning):
						errs <- err
						return
					}
					select {
					case <-closedAt:
						// Close has returned: the next call must be refused.
						if err := call(e.ctx); !errors.Is(err, app.ErrClosed) {
							errs <- errors.Join(errors.New(name+" after Close returned"), err)
						}
						return
					default:
					}
				}
			}()
		}
		time.Sleep(20 * time.Millisecond)
		if err := A.w.Close(); err != nil {
			t.Fatal(err)
		}
		after := e.snap(A)
		close(closedAt)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if !reflect.DeepEqual(after, e.snap(A)) {
			t.Fatal("the store changed after Close returned")
		}
	})
}
