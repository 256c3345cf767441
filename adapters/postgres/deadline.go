package postgres

// Deadlines. A caller waits for its request only as long as its context
// lets it. A request still queued when the caller gives up is dropped (it
// is never written, and the caller is told so: a timeout, outcome known);
// one a committer has already taken into a statement may still commit, so
// its caller is told the outcome is unknown (ports.ErrOutcomeUnknown), and
// until that statement ends, Get, List and Pending of its channels wait
// for it (within their own deadlines): what they return after an unknown
// outcome is what is durable. A statement runs until the last deadline of
// its batch's callers, or statementTimeout, then it is cancelled.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// statementTimeout bounds a commit statement whose callers wait without
// a deadline.
const statementTimeout = time.Minute

// A request's life: queued, then taken by a committer and answered; or
// dropped while queued (by its caller, or by a committer that finds its
// context ended); or abandoned by its caller after it was taken.
const (
	reqQueued int32 = iota
	reqTaken
	reqAnswered
	reqDropped
	reqAbandoned
)

// abandoned tracks the requests with channels whose callers gave up while
// their statement ran, by channel.
type abandoned struct {
	mu   sync.Mutex
	n    atomic.Int64 // requests in byID, readable without mu
	byID map[nitro.Bytes32][]*request
}

// submit queues a request and waits for its answer or for ctx to end.
func (s *Store) submit(ctx context.Context, req *request) ([]uint64, error) {
	if err := s.fenced(); err != nil {
		return nil, err
	}
	// A commit of a channel waits for an abandoned write of it to end, so
	// writes of one channel never overtake each other.
	for i := range req.channels {
		if err := s.settle(ctx, &req.channels[i].id); err != nil {
			return nil, err
		}
	}
	req.resp = make(chan result, 1)
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return nil, ErrClosed
	}
	select {
	case s.queue <- req:
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return nil, fmt.Errorf("postgres store: queue write: %w: %w", ports.ErrStoreTimeout, ctx.Err())
	}
	s.closeMu.RUnlock()
	select {
	case r := <-req.resp:
		return r.ids, withCallContext(ctx, r.err)
	case <-ctx.Done():
	}
	if req.state.CompareAndSwap(reqQueued, reqDropped) {
		return nil, fmt.Errorf("postgres store: write not started: %w: %w", ports.ErrStoreTimeout, ctx.Err())
	}
	if s.abandon(req) {
		return nil, fmt.Errorf("postgres store: write under way: %w (%w): %w", ports.ErrStoreTimeout, ports.ErrOutcomeUnknown, ctx.Err())
	}
	// Answered (or dropped by a committer) just now.
	r := <-req.resp
	return r.ids, withCallContext(ctx, r.err)
}

// withCallContext adds the caller's context error to a write's timeout:
// the statement's deadline is its batch's latest, so when it was the
// caller's that passed, the driver's cancellation (57014) reaches the
// caller before (or instead of) its own ctx.Done, and must still match
// context.DeadlineExceeded.
func withCallContext(ctx context.Context, err error) error {
	if err == nil || !errors.Is(err, ports.ErrStoreTimeout) {
		return err
	}
	cerr := ctx.Err()
	if d, ok := ctx.Deadline(); cerr == nil && ok && !time.Now().Before(d) {
		cerr = context.DeadlineExceeded // its timer has not fired yet
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", err, cerr)
	}
	return err
}

// abandon marks a taken request abandoned and records it, unless its
// statement has already ended.
func (s *Store) abandon(req *request) bool {
	a := &s.inflight
	a.mu.Lock()
	defer a.mu.Unlock()
	if !req.state.CompareAndSwap(reqTaken, reqAbandoned) {
		return false
	}
	req.resolved = make(chan struct{})
	if a.byID == nil {
		a.byID = map[nitro.Bytes32][]*request{}
	}
	for i := range req.channels {
		id := req.channels[i].id
		a.byID[id] = append(a.byID[id], req)
	}
	if len(req.channels) > 0 {
		a.n.Add(1)
	}
	return true
}

// answer gives a taken request its result; if its caller abandoned it,
// the waits on its channels end instead.
func (s *Store) answer(req *request, res result) {
	if req.state.CompareAndSwap(reqTaken, reqAnswered) {
		req.resp <- res
		return
	}
	a := &s.inflight
	a.mu.Lock()
	defer a.mu.Unlock()
	if req.state.Load() != reqAbandoned {
		return
	}
	remove := func(rs []*request) []*request {
		for i, r := range rs {
			if r == req {
				return append(rs[:i:i], rs[i+1:]...)
			}
		}
		return rs
	}
	for i := range req.channels {
		id := req.channels[i].id
		if a.byID[id] = remove(a.byID[id]); len(a.byID[id]) == 0 {
			delete(a.byID, id)
		}
	}
	if len(req.channels) > 0 {
		a.n.Add(-1)
	}
	close(req.resolved)
}

// settle waits until no abandoned write of channel id (of any channel if
// id is nil) is still under way, or ctx ends.
func (s *Store) settle(ctx context.Context, id *nitro.Bytes32) error {
	a := &s.inflight
	if a.n.Load() == 0 {
		return nil
	}
	var waits []chan struct{}
	a.mu.Lock()
	if id != nil {
		for _, r := range a.byID[*id] {
			waits = append(waits, r.resolved)
		}
	} else {
		for _, rs := range a.byID {
			for _, r := range rs {
				waits = append(waits, r.resolved)
			}
		}
	}
	a.mu.Unlock()
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
			return fmt.Errorf("postgres store: wait for an abandoned write to end: %w: %w", ports.ErrStoreTimeout, ctx.Err())
		}
	}
	return nil
}

// run commits a batch and answers its requests. Requests dropped or whose
// context ended while queued are not written. If the batch fails on a data
// or constraint error, each request is retried alone so one bad write
// cannot fail the others.
func (s *Store) run(batch []*request) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			if r.state.CompareAndSwap(reqQueued, reqDropped) {
				r.resp <- result{err: fmt.Errorf("postgres store: write not started: %w: %w", ports.ErrStoreTimeout, err)}
			}
			continue
		}
		if r.state.CompareAndSwap(reqQueued, reqTaken) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	ids, err := s.commitRetrying(live)
	if errors.Is(err, ErrLocked) {
		s.setFenced(err)
	}
	if err != nil && len(live) > 1 && isStatementError(err) {
		for _, r := range live {
			ids, err := s.commitRetrying([]*request{r})
			if err != nil {
				s.answer(r, result{err: err})
				continue
			}
			s.answer(r, result{ids: ids[0]})
		}
		return
	}
	for i, r := range live {
		if err != nil {
			s.answer(r, result{err: err})
			continue
		}
		s.answer(r, result{ids: ids[i]})
	}
}

// statementContext is the context a batch's statement runs under: it ends
// when the store closes, after statementTimeout, or once the last deadline
// of its requests has passed (every caller has given up by then), whichever
// comes first. A caller that cancels without a deadline returns at once
// but leaves the statement running to its limit.
func (s *Store) statementContext(batch []*request) (context.Context, context.CancelFunc) {
	limit := time.Now().Add(statementTimeout)
	var latest time.Time
	for _, r := range batch {
		d, ok := r.ctx.Deadline()
		if !ok || d.After(limit) {
			latest = limit
			break
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(s.ctx, latest)
}
