package ethereum_test

import (
	"fmt"
	"math/big"
	"sync"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/wireschema"
)

// router drives wallets without a script: it delivers every message (call
// outboxes and MessageQueued), joins every proposed channel, and tracks
// each party's view of each channel.
type router struct {
	w  *world
	mu sync.Mutex
	// views[party][channel] is the latest result a party reported.
	views   map[string]map[nitro.Bytes32]app.ChannelResult
	changed chan struct{}
	wg      sync.WaitGroup
	// muted parties get no messages (mute).
	muted map[string]bool
}

func newRouter(w *world) *router {
	r := &router{w: w, views: map[string]map[nitro.Bytes32]app.ChannelResult{}, changed: make(chan struct{}), muted: map[string]bool{}}
	for _, p := range w.parties {
		r.follow(p)
	}
	return r
}

// follow routes p's notifications until its stream ends.
func (r *router) follow(p *party) {
	r.mu.Lock()
	if r.views[p.name] == nil {
		r.views[p.name] = map[nitro.Bytes32]app.ChannelResult{}
	}
	r.mu.Unlock()
	notes := p.notes
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for n := range notes {
			switch n.Type {
			case app.MessageQueued:
				r.deliver(n.Message)
			case app.ChannelProposed:
				r.record(p, n.Channel)
				res, err := p.w.JoinChannel(r.w.ctx, n.Channel.ChannelID)
				if err != nil {
					r.w.t.Errorf("%s: join: %v", p.name, err)
					continue
				}
				r.deliverAll(res)
			default:
				r.record(p, n.Channel)
			}
		}
	}()
}

func (r *router) record(p *party, c app.ChannelResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.views[p.name][c.ChannelID] = c
	close(r.changed)
	r.changed = make(chan struct{})
}

// mute drops every message to p from now on (a peer gone silent, or one
// whose messages the test delivers itself); wait then ignores p's view.
func (r *router) mute(p *party) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.muted[p.name] = true
}

// deliver pushes m and, recursively, the recipient's answers, unless the
// recipient is muted.
func (r *router) deliver(m app.Message) {
	r.mu.Lock()
	muted := r.muted[m.Recipient]
	r.mu.Unlock()
	if muted {
		return
	}
	if err := wireschema.Validate(m.Data); err != nil {
		r.w.t.Errorf("message to %s fails the wire-format schema: %v", m.Recipient, err)
		return
	}
	var to *party
	for _, p := range r.w.parties {
		if p.name == m.Recipient {
			to = p
		}
	}
	res, err := to.w.PushMessage(r.w.ctx, m.Data)
	if err != nil {
		r.w.t.Errorf("push to %s: %v", m.Recipient, err)
		return
	}
	r.deliverAll(res)
}

func (r *router) deliverAll(res app.Result) {
	for _, m := range res.Outbox {
		r.deliver(m)
	}
}

// wait blocks until every party's view of id satisfies pred.
func (r *router) wait(id nitro.Bytes32, what string, pred func(app.ChannelResult) bool) error {
	for {
		r.mu.Lock()
		ok := true
		for _, p := range r.w.parties {
			c, seen := r.views[p.name][id]
			ok = ok && (r.muted[p.name] || seen && pred(c))
		}
		changed := r.changed
		r.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-r.w.ctx.Done():
			r.mu.Lock()
			defer r.mu.Unlock()
			var views []string
			for _, p := range r.w.parties {
				c := r.views[p.name][id]
				views = append(views, fmt.Sprintf("%s: %s turn %d funding %s", p.name, c.Status, c.TurnNum, c.FundingStatus))
			}
			return fmt.Errorf("channel %s: gave up waiting for %s; views %v", id, what, views)
		}
	}
}

func running(c app.ChannelResult) bool { return c.Status == core.StatusRunning }
func defunded(c app.ChannelResult) bool {
	return c.Status == core.StatusClosed && c.FundingStatus == core.FundingDefunded
}

// lifecycle opens a channel from parties[0] with allocs and waits until it
// runs; then every party in turn signs one update (round); then the next
// mover closes it, and lifecycle waits until every party sees it closed
// and paid out. It returns the channel and its final allocations. It is
// safe to run several at once.
func (r *router) lifecycle(allocs []app.Allocation) (nitro.Bytes32, []app.Allocation, error) {
	w := r.w
	id, err := r.openOne(allocs)
	if err != nil {
		return id, nil, err
	}
	turn, err := r.round(id, allocs)
	if err != nil {
		return id, nil, err
	}
	closer := w.parties[int((turn+1)%uint64(len(w.parties)))]
	res, err := closer.w.CloseChannel(w.ctx, id)
	if err != nil {
		return id, nil, fmt.Errorf("%s: close: %w", closer.name, err)
	}
	r.deliverAll(res)
	return id, allocs, r.wait(id, "closed and defunded", defunded)
}

// openOne creates a channel from parties[0] with allocs and waits until every
// party sees it running.
func (r *router) openOne(allocs []app.Allocation) (nitro.Bytes32, error) {
	w := r.w
	res, err := w.parties[0].w.CreateChannel(w.ctx, app.CreateChannelParams{Participants: w.participants(), Allocations: allocs})
	if err != nil {
		return nitro.Bytes32{}, err
	}
	id := res.ChannelResults[0].ChannelID
	r.deliverAll(res)
	return id, r.wait(id, "running", running)
}

// round has every party in turn, from the running channel's first turn,
// sign one update in which the mover pays part of its item of the first
// asset to the next participant (a channel without an app lets only the
// mover's items go down); allocs is changed to the last update's. It
// waits until every party has seen each update and returns the last turn.
func (r *router) round(id nitro.Bytes32, allocs []app.Allocation) (uint64, error) {
	w := r.w
	n := len(w.parties)
	turn := uint64(2*n - 1)
	for range w.parties {
		turn++
		mover := int(turn % uint64(n))
		items := allocs[0].AllocationItems
		next := (mover + 1) % n
		moved := new(big.Int).Div(items[mover].Amount, big.NewInt(int64(2*n)))
		items[mover].Amount = new(big.Int).Sub(items[mover].Amount, moved)
		items[next].Amount = new(big.Int).Add(items[next].Amount, moved)
		p := w.parties[mover]
		res, err := p.w.UpdateChannel(w.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: allocs})
		if err != nil {
			return turn, fmt.Errorf("%s: update to turn %d: %w", p.name, turn, err)
		}
		r.deliverAll(res)
		if err := r.wait(id, fmt.Sprintf("turn %d", turn), func(c app.ChannelResult) bool { return c.TurnNum >= turn }); err != nil {
			return turn, err
		}
	}
	return turn, nil
}
