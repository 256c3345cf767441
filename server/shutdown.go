package server

import (
	"context"
	"sync"
	"time"
)

// CodeShuttingDown answers a call made after Shutdown began: the server
// finishes the calls in flight and takes no new ones.
const CodeShuttingDown = -32003

const msgShuttingDown = "Server shutting down"

// shutdownLinger is how long Shutdown keeps the sessions open once every
// response and notification is written.
const shutdownLinger = 100 * time.Millisecond

// inflight counts the calls being handled, over POST and WebSocket alike,
// and refuses new ones once draining.
type inflight struct {
	mu       sync.Mutex
	n        int
	draining bool
	idle     chan struct{} // closed when n reaches 0 while draining
}

// enter admits a call unless the server is draining; exit must follow.
func (f *inflight) enter() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.draining {
		return false
	}
	f.n++
	return true
}

func (f *inflight) exit() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n--
	if f.draining && f.n == 0 && f.idle != nil {
		close(f.idle)
		f.idle = nil
	}
}

// isDraining reports whether Shutdown began.
func (f *inflight) isDraining() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.draining
}

// drain refuses new calls and returns a channel closed once none is in
// flight.
func (f *inflight) drain() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.draining = true
	ch := make(chan struct{})
	if f.n == 0 {
		close(ch)
	} else {
		f.idle = ch
	}
	return ch
}

// Shutdown ends the server gracefully: new calls (over POST and
// WebSocket) and new WebSocket sessions are refused, the calls in flight
// finish, the notifications they queued are written to their sessions,
// and then Close ends the sessions. When ctx ends first, Shutdown closes
// at once and returns ctx's error. Run http.Server.Shutdown after it (it
// does not track WebSocket connections).
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	select {
	case <-s.calls.drain():
		err = s.conns.flush(ctx)
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil {
		// Let the clients take in what was written before the sessions
		// close: jrpc2's client hands each message it reads to a goroutine
		// of its own, and a close read meanwhile fails the calls still
		// waiting for their (already read) responses.
		select {
		case <-time.After(shutdownLinger):
		case <-ctx.Done():
		}
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// flush waits until every response and notification owed to a session
// is written to its connection, or ctx ends.
func (cs *connSet) flush(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		cs.mu.Lock()
		pending := 0
		for c := range cs.conns {
			pending += int(c.unsent.Load()) + int(c.owed.Load())
		}
		cs.mu.Unlock()
		if pending == 0 {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
