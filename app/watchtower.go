package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Bounds for handing proofs to a watchtower (Config.Watchtower).
const (
	watchCallTimeout = 10 * time.Second
	watchMinBackoff  = 50 * time.Millisecond
	watchMaxBackoff  = 30 * time.Second
)

// towerHand hands the support proof of each channel's supported state to
// Config.Watchtower whenever a commit raises that state's turn (note, the
// one hook, called after every successful commit). Proofs wait in a queue
// that keeps the newest per channel and are handed over in the
// background, retried with backoff while the watchtower fails, until the
// wallet closes: a wallet never waits for its watchtower. A nil
// *towerHand (no watchtower) does nothing.
type towerHand struct {
	tower ports.Watchtower
	log   *slog.Logger
	wake  chan struct{}

	mu     sync.Mutex
	turns  map[nitro.Bytes32]uint64 // supported turn last queued, per channel
	queued map[nitro.Bytes32]ports.WatchProof
}

func newTowerHand(t ports.Watchtower, log *slog.Logger) *towerHand {
	return &towerHand{tower: t, log: log, wake: make(chan struct{}, 1),
		turns: map[nitro.Bytes32]uint64{}, queued: map[nitro.Bytes32]ports.WatchProof{}}
}

// note queues c's proof if its supported turn went up since the last one
// queued (after a restart, the first commit of each channel queues it
// again: the watchtower ignores a proof no newer than the one it holds).
func (h *towerHand) note(c *core.Channel) {
	if h == nil {
		return
	}
	sup, ok := c.Supported()
	if !ok {
		return
	}
	turn := sup.State.TurnNum
	h.mu.Lock()
	defer h.mu.Unlock()
	if last, ok := h.turns[c.ID]; ok && last >= turn {
		return
	}
	p, err := c.SupportProof()
	if err != nil {
		return // not provable on chain yet
	}
	h.turns[c.ID] = turn
	h.queued[c.ID] = ports.WatchProof{ChannelID: c.ID, Fixed: sup.State.FixedPart(), Proof: p}
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// run hands queued proofs over until ctx ends.
func (h *towerHand) run(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	backoff := watchMinBackoff
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		}
		for !h.handAll(ctx) {
			h.log.Warn("watchtower unavailable; retrying", "in", backoff)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, watchMaxBackoff)
		}
		backoff = watchMinBackoff
	}
}

// handAll hands every queued proof over; a proof the watchtower did not
// take goes back in the queue unless a newer one took its place. It
// reports whether all were taken.
func (h *towerHand) handAll(ctx context.Context) bool {
	h.mu.Lock()
	batch := h.queued
	h.queued = map[nitro.Bytes32]ports.WatchProof{}
	h.mu.Unlock()
	ok := true
	for id, p := range batch {
		cctx, cancel := context.WithTimeout(ctx, watchCallTimeout)
		err := h.tower.Watch(cctx, p)
		cancel()
		if err == nil {
			continue
		}
		ok = false
		h.log.Warn("hand proof to watchtower failed", "channel", id, "turn", p.Turn(), "err", err)
		h.mu.Lock()
		if _, newer := h.queued[id]; !newer {
			h.queued[id] = p
		}
		h.mu.Unlock()
	}
	return ok
}
