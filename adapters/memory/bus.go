package memory

import (
	"context"
	"fmt"
	"sync"
)

// Envelope is a wire message addressed to a participant.
type Envelope struct {
	Recipient string
	Data      []byte
}

// Handler delivers a message to a wallet and returns the messages its
// answer queues (the call's outbox).
type Handler func(ctx context.Context, data []byte) ([]Envelope, error)

// Bus is an in-process message bus between wallets for demos and tests:
// messages queue in send order and Run delivers them, with the answers,
// until none is left. Safe for concurrent use.
type Bus struct {
	mu       sync.Mutex
	handlers map[string]Handler
	queue    []Envelope
	// Filter, if set, decides per message: deliver (true) or drop (false).
	Filter func(Envelope) bool
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{handlers: map[string]Handler{}} }

// Register routes messages for participant id to h.
func (b *Bus) Register(id string, h Handler) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handlers[id] = h
}

// Send queues messages.
func (b *Bus) Send(envs ...Envelope) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queue = append(b.queue, envs...)
}

// Len is the number of messages queued.
func (b *Bus) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// Run delivers queued messages in order, queuing their answers, until the
// queue is empty. It returns how many it delivered and the first error.
func (b *Bus) Run(ctx context.Context) (int, error) {
	n := 0
	for {
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.mu.Unlock()
			return n, nil
		}
		e := b.queue[0]
		b.queue = b.queue[1:]
		h := b.handlers[e.Recipient]
		filter := b.Filter
		b.mu.Unlock()
		if filter != nil && !filter(e) {
			continue
		}
		if h == nil {
			return n, fmt.Errorf("memory bus: no wallet for recipient %q", e.Recipient)
		}
		out, err := h(ctx, e.Data)
		n++
		if err != nil {
			return n, fmt.Errorf("memory bus: deliver to %s: %w", e.Recipient, err)
		}
		b.Send(out...)
	}
}
