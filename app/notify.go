package app

import "sync"

// hub fans notifications out to subscribers without ever dropping one.
// Notifications published while it is holding (during New, which resumes
// the effects a crash left pending before anyone can subscribe) are kept
// for the first subscriber, so messages resent on restart are not lost.
type hub struct {
	mu      sync.Mutex
	subs    map[*subscriber]struct{}
	done    bool
	holding bool
	held    []Notification
}

type subscriber struct {
	mu    sync.Mutex
	cond  *sync.Cond
	queue []Notification
	out   chan Notification
	done  bool
}

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}} }

func (h *hub) subscribe() (<-chan Notification, func()) {
	// A buffer lets the feeding goroutine hand over notifications in
	// bursts instead of one goroutine switch each.
	s := &subscriber{out: make(chan Notification, 64)}
	s.cond = sync.NewCond(&s.mu)
	h.mu.Lock()
	if h.done {
		h.mu.Unlock()
		close(s.out)
		return s.out, func() {}
	}
	h.subs[s] = struct{}{}
	s.queue, h.held = h.held, nil
	h.mu.Unlock()
	stop := make(chan struct{})
	go func() {
		defer close(s.out)
		var batch []Notification
		for {
			s.mu.Lock()
			for len(s.queue) == 0 && !s.done {
				s.cond.Wait()
			}
			if s.done && len(s.queue) == 0 {
				s.mu.Unlock()
				return
			}
			// Take everything queued; publish appends to a new slice.
			batch, s.queue = s.queue, batch[:0]
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
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.holding && len(h.subs) == 0 {
		h.held = append(h.held, n)
		return
	}
	for s := range h.subs {
		s.mu.Lock()
		s.queue = append(s.queue, n)
		s.mu.Unlock()
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
