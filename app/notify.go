package app

import (
	"sync"
	"sync/atomic"
)

// NotificationsDropped tells a subscriber that Dropped notifications were
// dropped just before this one because it did not read them in time; see
// Wallet.Subscribe for how to recover.
const NotificationsDropped NotificationType = "NotificationsDropped"

// DefaultNotificationQueue is the default Config.NotificationQueue.
const DefaultNotificationQueue = 1024

// hub fans notifications out to subscribers. Each subscriber's queue holds
// at most limit notifications (plus what its goroutine is handing over,
// at most feedBatch, and its channel's buffer, at most feedBatch); when it
// is full the oldest is dropped and counted, and the subscriber gets a
// NotificationsDropped notification with the count in its place.
// Notifications published while it is holding (during New, which resumes
// the effects a crash left pending before anyone can subscribe) are kept
// for the first subscriber, in a queue of the same bound, so messages
// resent on restart are not lost unless there are more than limit.
type hub struct {
	// mu guards subs and the holding state; publish, which every call
	// makes, only reads them (RLock), so calls on different channels do
	// not queue behind each other here.
	mu      sync.RWMutex
	limit   int
	subs    map[*subscriber]struct{}
	done    bool
	holding bool
	held    ring
	dropped atomic.Uint64 // over all queues, for Stats
}

type subscriber struct {
	mu    sync.Mutex
	cond  *sync.Cond
	queue ring
	out   chan Notification
	done  bool
}

// feedBatch bounds how many notifications a subscriber's goroutine takes
// from its queue at once, and its channel's buffer.
const feedBatch = 64

func newHub(limit int) *hub {
	if limit <= 0 {
		limit = DefaultNotificationQueue
	}
	return &hub{limit: limit, subs: map[*subscriber]struct{}{}}
}

func (h *hub) subscribe() (<-chan Notification, func()) {
	// A buffer lets the feeding goroutine hand over notifications in
	// bursts instead of one goroutine switch each.
	s := &subscriber{out: make(chan Notification, min(feedBatch, h.limit))}
	s.cond = sync.NewCond(&s.mu)
	h.mu.Lock()
	if h.done {
		h.mu.Unlock()
		close(s.out)
		return s.out, func() {}
	}
	h.subs[s] = struct{}{}
	s.queue, h.held = h.held, ring{}
	h.mu.Unlock()
	stop := make(chan struct{})
	go func() {
		defer close(s.out)
		batch := make([]Notification, 0, min(feedBatch, h.limit)+1)
		for {
			s.mu.Lock()
			for s.queue.empty() && !s.done {
				s.cond.Wait()
			}
			if s.done && s.queue.empty() {
				s.mu.Unlock()
				return
			}
			batch = s.queue.take(batch[:0], min(feedBatch, h.limit))
			s.mu.Unlock()
			for i, n := range batch {
				select {
				case s.out <- n:
				case <-stop:
					return
				}
				batch[i] = Notification{}
			}
		}
	}()
	var once sync.Once
	return s.out, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, s)
			h.mu.Unlock()
			close(stop)
			s.finish()
		})
	}
}

func (s *subscriber) finish() {
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
	s.cond.Broadcast()
}

// hold makes publish keep notifications for the first subscriber while no
// one is subscribed; release stops it (what is kept stays kept).
func (h *hub) hold() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.holding = true
}

func (h *hub) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.holding = false
}

func (h *hub) publish(n Notification) {
	h.mu.RLock()
	if h.holding && len(h.subs) == 0 {
		h.mu.RUnlock()
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.holding && len(h.subs) == 0 {
			if h.held.push(n, h.limit) {
				h.dropped.Add(1)
			}
			return
		}
	} else {
		defer h.mu.RUnlock()
	}
	for s := range h.subs {
		s.mu.Lock()
		full := s.queue.push(n, h.limit)
		s.mu.Unlock()
		if full {
			h.dropped.Add(1)
		}
		s.cond.Signal()
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.done = true
	for s := range h.subs {
		s.finish()
	}
	h.subs = map[*subscriber]struct{}{}
}

// ring is a bounded FIFO of notifications that drops its oldest when full
// and counts the drops not yet reported. Its buffer grows as needed, up to
// the bound.
type ring struct {
	buf     []Notification
	head, n int
	dropped uint64 // since the last take
}

func (r *ring) empty() bool { return r.n == 0 && r.dropped == 0 }

// push appends x, dropping the oldest if the ring holds limit already; it
// reports whether it dropped one.
func (r *ring) push(x Notification, limit int) bool {
	if r.n == limit {
		r.buf[r.head] = x
		r.head = (r.head + 1) % len(r.buf)
		r.dropped++
		return true
	}
	if r.n == len(r.buf) {
		grown := make([]Notification, min(max(2*len(r.buf), 16), limit))
		for i := 0; i < r.n; i++ {
			grown[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = grown, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = x
	r.n++
	return false
}

// take appends to dst a NotificationsDropped notice if notifications were
// dropped since the last take (they were older than any still queued), then
// up to max of the oldest queued.
func (r *ring) take(dst []Notification, max int) []Notification {
	if r.dropped > 0 {
		dst = append(dst, Notification{Type: NotificationsDropped, Dropped: r.dropped})
		r.dropped = 0
	}
	for ; max > 0 && r.n > 0; max-- {
		dst = append(dst, r.buf[r.head])
		r.buf[r.head] = Notification{}
		r.head = (r.head + 1) % len(r.buf)
		r.n--
	}
	if r.n == 0 && len(r.buf) > feedBatch {
		r.buf, r.head = nil, 0 // a drained queue gives its memory back
	}
	return dst
}
